#!/usr/bin/env python3
"""lint_runbook: every command of the runbook is one a test runs.

docs/operations.md promises that each command in its ```sh blocks is run by
the install test, tests/install/run: as written (the line appears in the
script), or, where systemd would run it (systemctl), through the installed
unit's lines, marked in the script by a comment `# runbook: COMMAND` at the
place that stands for it. This fails, naming docs/operations.md:LINE, for a
command that is in neither form, so the runbook and the test cannot drift.

usage: lint_runbook.py SOURCE_ROOT
"""
import re
import sys


def commands(path):
    """(line number, command) of every command line in the ```sh blocks."""
    out, inside = [], False
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if s.startswith('```'):
                inside = (not inside) and s == '```sh'
                continue
            if not inside or not s or s.startswith('#'):
                continue
            # a trailing comment (two spaces or more, then #) is not the command
            s = re.split(r'\s{2,}#', s)[0].strip()
            out.append((n, s))
    return out


def main():
    root = sys.argv[1]
    doc = root + '/docs/operations.md'
    test = root + '/tests/install/run'
    with open(test, encoding='utf-8') as f:
        script = f.read()
    marked = set(m.strip() for m in re.findall(r'#\s*runbook:\s*(.+)', script))
    code = '\n'.join(l for l in script.splitlines() if not l.lstrip().startswith('#'))
    cmds = commands(doc)
    bad = [(n, c) for n, c in cmds if c not in code and c not in marked]
    for n, c in bad:
        print('docs/operations.md:%d: "%s" is run by no test (tests/install/run: '
              'the line as written, or "# runbook: %s" where the unit runs it)' % (n, c, c))
    if not cmds:
        print('docs/operations.md: no ```sh block found')
        return 1
    print('%d runbook commands, %d not run by tests/install/run' % (len(cmds), len(bad)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
