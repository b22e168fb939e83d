#!/usr/bin/env python3
"""Fails on code that GCC builds but clang, which the fuzz build needs
(CC=clang meson setup build-fuzz -Dfuzzer=true, werror), refuses:

- librdkafka's rd_kafka_producev() with its RD_KAFKA_V_* macros: they are GNU
  statement expressions (-Wgnu-statement-expression under -Wpedantic); GCC
  says nothing for macros from system headers, so the plain build never
  showed it, and the fuzz build stopped at connectors/tdc_connector.c. Use
  td_kafka_produce() (lib/td_kafka.h) or rd_kafka_produceva();
- CU_ASSERT_PTR_NULL / CU_ASSERT_PTR_NOT_NULL of a condition (a && b): CUnit
  casts it to a pointer (-Wint-to-void-pointer-cast). Use CU_ASSERT.
- a /* fall through */ comment: GCC takes it for -Wimplicit-fallthrough,
  clang does not (lib/td_kafka.c broke the fuzz build so). Write
  __attribute__((fallthrough));

usage: lint_clang.py SOURCE_ROOT"""
import os
import re
import sys

USE = re.compile(r'\brd_kafka_producev\s*\(|\bRD_KAFKA_V_[A-Z_]+\s*\(')
FALL_COMMENT = re.compile(r'/[*/]\s*-*\s*fall(?:s|ing)?[\s-]*thr(?:ough|u)\b', re.I)
PTR_COND = re.compile(r'\bCU_ASSERT_PTR_(?:NOT_)?NULL(?:_FATAL)?\s*\(([^;]*?)\)\s*;')


def strip_comments(text):
    # keep line numbers: replace comments by as many newlines
    return re.sub(r'/\*.*?\*/|//[^\n]*',
                  lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)


def is_condition(arg):
    """True when arg, outside strings and parentheses, is a comparison or a
    logical operation (a value of type int, not a pointer)."""
    arg = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', arg)
    while re.search(r'\([^()]*\)', arg):
        arg = re.sub(r'\([^()]*\)', '', arg)
    return re.search(r'&&|\|\||==|!=|<=|>=|<|(?<!-)>', arg) is not None


def main():
    root = sys.argv[1]
    problems, files = [], 0
    for top in ('lib', 'connectors', 'daemon', 'tools', 'tests'):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if not n.endswith(('.c', '.h')):
                    continue
                path = os.path.join(d, n)
                files += 1
                raw = open(path, encoding='utf-8', errors='replace').read()
                for m in FALL_COMMENT.finditer(raw):
                    line = raw.count('\n', 0, m.start()) + 1
                    problems.append('%s:%d: a fall-through comment: clang wants '
                                    '__attribute__((fallthrough));' % (path, line))
                text = strip_comments(raw)
                for m in USE.finditer(text):
                    line = text.count('\n', 0, m.start()) + 1
                    problems.append('%s:%d: %s: use td_kafka_produce() or rd_kafka_produceva()'
                                    % (path, line, m.group(0).rstrip('( ')))
                for m in PTR_COND.finditer(text):
                    if is_condition(m.group(1)):
                        line = text.count('\n', 0, m.start()) + 1
                        problems.append('%s:%d: a pointer assert of a condition: use CU_ASSERT'
                                        % (path, line))
    # the check itself must see the pattern it looks for
    assert FALL_COMMENT.search('        /* fall through */') and FALL_COMMENT.search('// FALLTHROUGH')
    assert not FALL_COMMENT.search('__attribute__((fallthrough));')
    assert USE.search(strip_comments('e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(t));'))
    assert not USE.search(strip_comments('/* rd_kafka_producev(x) */ rd_kafka_produceva(rk, vu, 2);'))
    assert is_condition(PTR_COND.search('CU_ASSERT_PTR_NOT_NULL(log && strstr(log, "x"));').group(1))
    assert not is_condition(PTR_COND.search('CU_ASSERT_PTR_NOT_NULL(strstr(g, i == 1 ? "a" : "b"));').group(1))
    assert not is_condition(PTR_COND.search('CU_ASSERT_PTR_NULL(p->next);').group(1))
    if files < 50:
        print('lint_clang: only %d C files under %s: wrong root?' % (files, root))
        return 1
    for p in problems:
        print(p)
    print('lint_clang: %d C files, %d problems' % (files, len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
