#!/usr/bin/env python3
"""Fails when a td_error_set/td_error_append call formats the message of the
td_error it writes into (td_error_set(err, r, "...: %s", err->msg)): vsnprintf
then reads the buffer it is writing, which is undefined behaviour and garbled
matchd's full-disk message ("writing the state after the Kafka commit:
writing the state after the Kafka commit: ce"). td_error_prefix is the way.

usage: lint_error_alias.py SOURCE_ROOT"""
import os
import re
import sys

CALL = re.compile(r'td_error_(set|append)\(\s*&?([\w>.\-]+)\s*,')


def args_of(text, start):
    depth, i = 1, start
    while depth and i < len(text):
        if text[i] == '(':
            depth += 1
        elif text[i] == ')':
            depth -= 1
        i += 1
    return text[start:i - 1]


def scan(path):
    text = open(path, encoding='utf-8', errors='replace').read()
    found = []
    for m in CALL.finditer(text):
        var = m.group(2)
        args = args_of(text, m.end())
        own = re.escape(var)
        if (re.search(r'(?<![\w>.])&?' + own + r'(->|\.)msg\b', args) or
                re.search(r'td_error_msg\(\s*&?' + own + r'\s*\)', args)):
            line = text.count('\n', 0, m.start()) + 1
            found.append('%s:%d: %s formats its own message; use td_error_prefix'
                         % (path, line, ' '.join(text[m.start():m.end() + len(args) + 1].split())[:120]))
    return found


def main():
    root = sys.argv[1]
    problems, files = [], 0
    for top in ('lib', 'connectors', 'daemon', 'tools', 'tests'):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith('.c'):
                    files += 1
                    problems += scan(os.path.join(d, n))
    # the check itself must see the pattern it looks for
    probe = 'x(void){return td_error_set(err, r, "a: %s", err->msg);}'
    tmp = CALL.search(probe)
    assert tmp and re.search(r'err->msg', args_of(probe, tmp.end()))
    if files < 50:
        print('lint_error_alias: only %d C files under %s: wrong root?' % (files, root))
        return 1
    for p in problems:
        print(p)
    print('lint_error_alias: %d C files, %d self-formatting td_error calls' % (files, len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
