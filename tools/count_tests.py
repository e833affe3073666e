#!/usr/bin/env python3
"""Counts test results from meson testlog.json files: every TAP line of a TAP test
(cmocka's per-test 'ok' / 'not ok' / '# SKIP'), and one result for other tests.
Prints per-log counts and ends with 'N passed, N failed, N skipped'. Exit 1 if any
test failed or a log is missing or empty."""
import json
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')
PLAN = re.compile(r'^1\.\.\d+', re.M)  # a TAP plan line marks a TAP test


def count_log(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            res = t.get('result', '')
            stdout = t.get('stdout') or ''
            if PLAN.search(stdout):
                bad = 0
                for out in stdout.splitlines():
                    m = TAP.match(out.strip())
                    if not m:
                        continue
                    if m.group(1) == 'not ok':
                        bad += 1
                    elif re.search(r'#\s*SKIP', m.group(2), re.I):
                        skipped += 1
                    else:
                        passed += 1
                # A test program that failed without a 'not ok' line (a crash,
                # a sanitizer report at exit) still counts as one failure.
                if res not in ('OK', 'SKIP', 'EXPECTEDFAIL') and bad == 0:
                    bad = 1
                failed += bad
            elif res in ('OK', 'EXPECTEDFAIL'):
                passed += 1
            elif res == 'SKIP':
                skipped += 1
            else:
                failed += 1
    return passed, failed, skipped


def main(paths):
    total = [0, 0, 0]
    ok = True
    for p in paths:
        try:
            c = count_log(p)
        except OSError:
            print(f'{p}: missing')
            ok = False
            continue
        if sum(c) == 0:
            print(f'{p}: no test ran')
            ok = False
        print(f'{p}: {c[0]} passed, {c[1]} failed, {c[2]} skipped')
        total = [a + b for a, b in zip(total, c)]
    print(f'{total[0]} passed, {total[1]} failed, {total[2]} skipped')
    return 0 if ok and total[1] == 0 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
