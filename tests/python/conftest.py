"""Makes the in-tree package importable (python/ on sys.path) when PYTHONPATH does not
already provide one; the library is found as recur/_lib.py says (RECUR_LIBRARY first)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    import recur  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, 'python'))
