#!/usr/bin/env python3
"""Counts test results from meson testlog.json files: every cmocka test of a cmocka
program, read from its per-test lines on stdout ("[ RUN      ] name" then
"[       OK ] name", or "[  SKIPPED ] name" for skip(); a test that started and did
neither failed, crashes included), and one result for any other test. Files ending in
.xml are JUnit XML reports (pytest --junitxml): one result per <testcase>, failed when it
has a <failure> or <error> (collection errors included), skipped with <skipped>. Prints
per-log counts and ends with 'N passed, N failed, N skipped'. Exit 1 if any test failed
or a log is missing or empty."""
import json
import re
import sys
import xml.etree.ElementTree as ET

RUN = re.compile(r'^\[ RUN      \] ', re.M)
OK = re.compile(r'^\[       OK \] ', re.M)
SKIP = re.compile(r'^\[  SKIPPED \] ', re.M)


def count_log(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            ok = t.get('result', '') in ('OK', 'EXPECTEDFAIL')
            out = t.get('stdout') or ''
            runs = len(RUN.findall(out))
            if runs == 0:
                if t.get('result') == 'SKIP':
                    skipped += 1
                elif ok:
                    passed += 1
                else:
                    failed += 1
                continue
            p, s = len(OK.findall(out)), len(SKIP.findall(out))
            bad = runs - p - s
            passed += p
            skipped += s
            # A program that failed after its last test (a sanitizer report at exit)
            # still counts as one failure.
            failed += bad if bad or ok else 1
    return passed, failed, skipped


def count_junit(path):
    passed = failed = skipped = 0
    for case in ET.parse(path).getroot().iter('testcase'):
        tags = {child.tag for child in case}
        if tags & {'failure', 'error'}:
            failed += 1
        elif 'skipped' in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(paths):
    total = [0, 0, 0]
    ok = True
    for p in paths:
        try:
            c = count_junit(p) if p.endswith('.xml') else count_log(p)
        except (OSError, ET.ParseError):
            c = (0, 0, 0)
        if sum(c) == 0:
            # A lane that did not build or ran nothing counts as one failure.
            print(f'{p}: missing or empty (the lane did not build or run)')
            c = (0, 1, 0)
            ok = False
        print(f'{p}: {c[0]} passed, {c[1]} failed, {c[2]} skipped')
        total = [a + b for a, b in zip(total, c)]
    print(f'{total[0]} passed, {total[1]} failed, {total[2]} skipped')
    return 0 if ok and total[1] == 0 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
