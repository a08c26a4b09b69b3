"""perf/bench_optim.py --quick runs and writes the documented JSON fields."""

import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "perf", "bench_optim.py")
ROW_FIELDS = {"algorithm", "impl", "size", "case", "dtype", "median_s", "spread_s", "scaled",
              "elements_per_s", "bytes_moved", "gb_per_s", "copy_fraction"}


def test_quick_bench_writes_documented_json(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, SCRIPT, "--quick", "--json", str(out), "--threads", "2"],
                   check=True, capture_output=True, text=True, timeout=120)
    report = json.loads(out.read_text())
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
    assert any(r["scaled"] for r in rows if r["impl"] == "minigrad-python")
