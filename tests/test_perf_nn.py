"""perf/bench_mnist1d.py runs, in its smallest configuration."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

PERF = Path(__file__).resolve().parent.parent / "perf"


def run(script, *args):
    result = subprocess.run([sys.executable, str(PERF / script), *map(str, args)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bench_mnist1d_measures_accuracy_and_speed(tmp_path):
    pytest.importorskip("mnist1d")
    run("bench_mnist1d.py", "--models", "logistic", "--seeds", "0", "--steps", "20",
        "--speed-steps", "10", "--repeats", "1", "--out", tmp_path)
    out, table = tmp_path / "mnist1d.json", tmp_path / "mnist1d.md"
    results = json.loads(out.read_text())
    frameworks = {row["framework"] for row in results["accuracy"]}
    assert "minigrad" in frameworks
    assert all(0 <= row["accuracy"] <= 100 and row["seconds"] > 0
               for row in results["accuracy"])
    assert results["speed"]["logistic"]["minigrad"]
    assert "| logistic |" in table.read_text()
