"""perf/bench_optim.py --quick runs and writes the documented JSON fields."""

import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "perf", "bench_optim.py")
ROW_FIELDS = {"algorithm", "impl", "size", "case", "dtype", "median_s", "spread_s", "scaled",
              "elements_per_s", "bytes_moved", "gb_per_s", "copy_fraction"}


def test_quick_bench_writes_documented_json(tmp_path):
    subprocess.run([sys.executable, SCRIPT, "--quick", "--out", str(tmp_path), "--threads", "2"],
                   check=True, capture_output=True, text=True, timeout=180)
    report = json.loads((tmp_path / "optim.json").read_text())
    assert "minigrad-numba" in (tmp_path / "optim.txt").read_text()
    assert set(report) == {"machine", "copyto", "compile", "results", "torch"}
    assert {"cpu", "cores", "python", "numpy", "numba", "torch", "threads"} <= set(
        report["machine"])
    assert report["compile"]["Adam"]["cold_s"] > 0 and report["compile"]["Adam"]["warm_s"] > 0
    rows = report["results"]
    assert {r["impl"] for r in rows} >= {"minigrad-numba", "minigrad-numpy", "minigrad-python"}
    assert {r["case"] for r in rows} == {"one-tensor", "many-small"}
    for row in rows:
        assert ROW_FIELDS <= set(row)
        assert row["median_s"] > 0 and row["bytes_moved"] > 0
        if row["impl"] == "minigrad-numba":
            assert row["speedup_vs_python"] > 0 and row["speedup_vs_numpy"] > 0
        if row["impl"].startswith("torch"):  # the faster of 1 and 2 threads
            assert row["threads"] in (1, 2)
    assert any(r["scaled"] for r in rows if r["impl"] == "minigrad-python")
