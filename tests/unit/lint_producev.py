#!/usr/bin/env python3
"""Fails when C code uses librdkafka's rd_kafka_producev() with its
RD_KAFKA_V_* macros: they are GNU statement expressions, which clang refuses
under the project's -Wpedantic and werror (-Wgnu-statement-expression), so
the documented fuzz build (CC=clang meson setup build-fuzz -Dfuzzer=true)
stopped at connectors/tdc_connector.c. Use td_kafka_produce() (lib/td_kafka.h)
or rd_kafka_produceva(). GCC does not warn for macros from system headers,
which is why the plain build never showed it.

usage: lint_producev.py SOURCE_ROOT"""
import os
import re
import sys

USE = re.compile(r'\brd_kafka_producev\s*\(|\bRD_KAFKA_V_[A-Z_]+\s*\(')


def strip_comments(text):
    # keep line numbers: replace comments by as many newlines
    return re.sub(r'/\*.*?\*/|//[^\n]*',
                  lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)


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
                text = strip_comments(open(path, encoding='utf-8', errors='replace').read())
                for m in USE.finditer(text):
                    line = text.count('\n', 0, m.start()) + 1
                    problems.append('%s:%d: %s: use td_kafka_produce() or rd_kafka_produceva()'
                                    % (path, line, m.group(0).rstrip('( ')))
    # the check itself must see the pattern it looks for
    assert USE.search(strip_comments('e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(t));'))
    assert not USE.search(strip_comments('/* rd_kafka_producev(x) */ rd_kafka_produceva(rk, vu, 2);'))
    if files < 50:
        print('lint_producev: only %d C files under %s: wrong root?' % (files, root))
        return 1
    for p in problems:
        print(p)
    print('lint_producev: %d C files, %d uses of producev or its macros' % (files, len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
