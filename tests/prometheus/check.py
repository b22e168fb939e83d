#!/usr/bin/env python3
"""check: the shipped Prometheus files (deploy/prometheus/) work as shipped.

1. promtool check config deploy/prometheus/prometheus.yml (and the rules
   file it names, relative to itself, as installed);
2. promtool check rules deploy/prometheus/tuodi-rules.yml;
3. promtool test rules tests/prometheus/tuodi-rules.test.yml;
4. every alerting rule has a severity label (critical or warning), summary,
   description and a runbook_url docs/monitoring.md#<alert in lower case>
   whose heading (### <Alert>) exists in docs/monitoring.md, and the unit
   tests have, for each alert, a case where it fires (exp_alerts not empty)
   and one where it does not (exp_alerts: []); every recording rule is used
   by an alert;
5. every tuodi_connector_* and tuodi_matchd_* metric the rules or their tests
   name is one the daemons register (td_metrics_counter/gauge/histogram in
   connectors/ and daemon/, or td_metrics' own
   *_metrics_refused_label_values_total): a renamed metric fails here,
   not silently in production.

promtool is Debian's prometheus package (deploy/setup installs it): without
it this fails, it does not skip. Exit 0 when all hold.

usage: check.py SOURCE_ROOT
"""
import os
import re
import shutil
import subprocess
import sys

import yaml


def daemon_metrics(root):
    """Full names of the metrics the connector and matchd register."""
    names = set()
    call = re.compile(r'td_metrics_(?:counter|gauge|histogram)\(\s*[^,()]+,\s*"([a-z0-9_]+)"')
    for sub, prefix in (('connectors', 'tuodi_connector_'), ('daemon', 'tuodi_matchd_')):
        names.add(prefix + 'metrics_refused_label_values_total')  # lib/td_metrics.c
        for d, _, files in os.walk(os.path.join(root, sub)):
            for fn in files:
                if fn.endswith('.c'):
                    with open(os.path.join(d, fn), encoding='utf-8') as f:
                        names |= set(prefix + n for n in call.findall(f.read()))
    return names


def main():
    root = sys.argv[1]
    cfg = os.path.join(root, 'deploy/prometheus/prometheus.yml')
    rules_path = os.path.join(root, 'deploy/prometheus/tuodi-rules.yml')
    tests_path = os.path.join(root, 'tests/prometheus/tuodi-rules.test.yml')
    doc_path = os.path.join(root, 'docs/monitoring.md')
    problems = []

    promtool = shutil.which('promtool')
    if not promtool:
        print('promtool not found: install Debian\'s prometheus package (deploy/setup)')
        return 1
    for args in (['check', 'config', cfg], ['check', 'rules', rules_path],
                 ['test', 'rules', tests_path]):
        r = subprocess.run([promtool] + args, capture_output=True, text=True)
        print('promtool %s: exit %d' % (' '.join(args[:2]), r.returncode))
        if r.returncode != 0:
            print(r.stdout + r.stderr)
            problems.append('promtool %s failed' % ' '.join(args))

    with open(rules_path, encoding='utf-8') as f:
        rules = yaml.safe_load(f)
    with open(tests_path, encoding='utf-8') as f:
        tests = yaml.safe_load(f)
    with open(doc_path, encoding='utf-8') as f:
        headings = set(m.group(1) for m in re.finditer(r'^### (\S+)\s*$', f.read(), re.M))

    alerts, records, exprs = [], [], []
    for g in rules['groups']:
        for r in g['rules']:
            if 'alert' in r:
                alerts.append(r)
                exprs.append(r['expr'])
            else:
                records.append(r['record'])
    if not alerts:
        problems.append('%s: no alerting rule' % rules_path)

    fires, silent = set(), set()
    for t in tests['tests']:
        for c in t.get('alert_rule_test') or []:
            (fires if c.get('exp_alerts') else silent).add(c['alertname'])

    names = set()
    for r in alerts:
        a = r['alert']
        names.add(a)
        sev = (r.get('labels') or {}).get('severity')
        if sev not in ('critical', 'warning'):
            problems.append('%s: severity %r, not critical or warning' % (a, sev))
        ann = r.get('annotations') or {}
        for k in ('summary', 'description', 'runbook_url'):
            if not ann.get(k):
                problems.append('%s: no %s annotation' % (a, k))
        want = 'docs/monitoring.md#' + a.lower()
        if ann.get('runbook_url') != want:
            problems.append('%s: runbook_url %r, not %r' % (a, ann.get('runbook_url'), want))
        if a not in headings:
            problems.append('%s: docs/monitoring.md has no heading "### %s" (its runbook)' % (a, a))
        if a not in fires:
            problems.append('%s: no unit test where it fires (exp_alerts not empty)' % a)
        if a not in silent:
            problems.append('%s: no unit test where it does not fire (exp_alerts: [])' % a)
    for h in sorted(headings - names):
        if h.startswith('Tuodi'):
            problems.append('docs/monitoring.md: "### %s" is the runbook of no rule' % h)
    for rec in records:
        if not any(rec in e for e in exprs):
            problems.append('recording rule %s is used by no alert' % rec)

    registered = daemon_metrics(root)
    used = set()
    for path in (rules_path, tests_path):
        with open(path, encoding='utf-8') as f:
            used |= set(re.findall(r'\btuodi_(?:connector|matchd)_[a-z0-9_]+', f.read()))
    # the regex over both names in TuodiMetricsLabelRefused
    used.discard('tuodi_connector_')
    for name in sorted(used):
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        if name not in registered and base not in registered:
            problems.append('%s: used by the rules, registered by no daemon' % name)

    for p in problems:
        print(p)
    print('%d alerting rules, %d recording rules, %d problems'
          % (len(alerts), len(records), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
