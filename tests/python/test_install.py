"""The package as `meson install` leaves it: it must load the installed librecur by
itself (through the generated _config.py), with neither RECUR_LIBRARY nor the source
tree to help. Runs when RECUR_TEST_PREFIX names the prefix of an installed build (the
python lane of tools/run-tests.sh installs into build-python/inst)."""
import glob
import os
import subprocess
import sys

import pytest

PREFIX = os.environ.get('RECUR_TEST_PREFIX')


@pytest.mark.skipif(not PREFIX, reason='RECUR_TEST_PREFIX is not set')
def test_installed_package_finds_installed_library(tmp_path):
    inits = glob.glob(os.path.join(PREFIX, '**', 'recur', '__init__.py'), recursive=True)
    assert len(inits) == 1, f'installed package not found under {PREFIX}: {inits}'
    site = os.path.dirname(os.path.dirname(inits[0]))
    env = {k: v for k, v in os.environ.items() if k not in ('RECUR_LIBRARY', 'PYTHONPATH')}
    env['PYTHONPATH'] = site
    code = ('import recur, numpy as np; r = recur.RNN(2, 3); '
            'print(recur.library_path); print(r.forward(np.ones((2, 1, 2), np.float32))[0].shape)')
    out = subprocess.run([sys.executable, '-c', code], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lib, shape = out.stdout.split('\n')[:2]
    assert os.path.realpath(lib).startswith(os.path.realpath(PREFIX)), lib
    assert shape == '(2, 1, 3)'
