"""The course's example from Python (examples/python/cuisine.py) must still learn
sushi -> japanese (exit 0)."""
import os
import subprocess
import sys

import recur

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cuisine_example():
    env = dict(os.environ)
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(recur.__file__)))
    env['PYTHONPATH'] = os.pathsep.join([pkg] + [p for p in [env.get('PYTHONPATH')] if p])
    env.setdefault('RECUR_LIBRARY', recur.library_path)
    out = subprocess.run([sys.executable, os.path.join(ROOT, 'examples', 'python', 'cuisine.py')],
                         env=env, capture_output=True, text=True, timeout=600)
    print(out.stdout)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert 'OK: sushi -> japanese' in out.stdout
