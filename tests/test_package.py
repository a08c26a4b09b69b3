"""Packaging promises: a quick import that leaves Numba unloaded."""

import subprocess
import sys


def test_import_minigrad_does_not_load_numba():
    code = "import sys, minigrad, minigrad.nn, minigrad.optim; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_import_minigrad_is_fast():
    code = (
        "import time; t = time.perf_counter(); import minigrad; "
        "print(time.perf_counter() - t)"
    )
    seconds = min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(3)
    )
    assert seconds < 0.5
