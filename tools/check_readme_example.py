#!/usr/bin/env python3
"""Fails when the C block of README.md after the marker
'<!-- examples/minimal.c -->' differs from examples/minimal.c."""
import sys

readme, source = open(sys.argv[1]).read(), open(sys.argv[2]).read()
marker = '<!-- examples/minimal.c -->'
if marker not in readme:
    sys.exit(f'{sys.argv[1]}: marker {marker} not found')
block = readme.split(marker, 1)[1].split('```c\n', 1)[1].split('```', 1)[0]
if block != source:
    sys.exit('README.md example differs from examples/minimal.c')
print('README example matches examples/minimal.c')
