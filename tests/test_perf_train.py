"""perf/bench_train.py --quick runs and writes its documented JSON; its floors do the same work
as minigrad; plot.py charts the results, with nothing empty when PyTorch is absent."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import nn

PERF = os.path.join(os.path.dirname(__file__), "..", "perf")
sys.path.insert(0, PERF)

import bench_train  # noqa: E402 - lives in perf/, importable once that is on the path
import plot  # noqa: E402


def test_quick_train_bench_writes_documented_json(tmp_path):
    subprocess.run([sys.executable, os.path.join(PERF, "bench_train.py"), "--quick", "--out",
                    str(tmp_path), "--threads", "1"],
                   check=True, capture_output=True, text=True, timeout=180)
    report = json.loads((tmp_path / "train.json").read_text())
    assert "ratio = minigrad median" in (tmp_path / "train.txt").read_text()
    assert set(report) == {"machine", "rows", "ratios"}
    assert {"cpu", "cores", "threads", "python", "numpy", "numba", "torch"} <= set(
        report["machine"])
    assert {r["model"] for r in report["rows"]} == {"mlp", "rnn"}
    for row in report["rows"]:
        assert {"model", "shape", "impl", "median_ms", "spread_ms", "samples"} <= set(row)
        assert row["median_ms"] > 0 and row["spread_ms"][0] <= row["spread_ms"][1]
        if row["impl"] == "torch":  # timed at 1 thread only, as --threads 1 allows
            assert row["threads"] == 1 and row["other_threads_ms"] == {}
    for ratio in report["ratios"]:
        assert ratio["minigrad_vs_numpy"] > 0 and "minigrad_vs_torch" in ratio
    pytest.importorskip("matplotlib")
    subprocess.run([sys.executable, os.path.join(PERF, "plot.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True, text=True, timeout=120)
    assert (tmp_path / "train_step_time.png").stat().st_size > 0


def test_torch_is_timed_at_one_and_two_threads_and_the_faster_counts(monkeypatch):
    counts = []
    monkeypatch.setattr(bench_train, "IMPLEMENTATIONS",
                        {"fake": (lambda case: lambda: None, counts.append)})
    rows = bench_train.time_case(bench_train.Case("mlp", (4, 2, 3, 2)), 2, 3, 0.01)
    assert set(counts) == {1, 2}  # each block sets its thread count first
    assert rows["fake"]["threads"] in (1, 2) and len(rows["fake"]["other_threads_ms"]) == 1


def test_adding_a_column_is_one_function(monkeypatch):
    monkeypatch.setattr(bench_train, "IMPLEMENTATIONS",
                        {"minigrad": bench_train.IMPLEMENTATIONS["minigrad"]})
    bench_train.implementation("twice")(
        lambda case: (lambda: [bench_train.minigrad_step(case)() for _ in range(2)])
        if case.model == "mlp" else None)
    mlp = bench_train.time_case(bench_train.Case("mlp", (4, 2, 3, 2)), 1, 3, 0.01)
    rnn = bench_train.time_case(bench_train.Case("rnn", (3, 2, 2, 4)), 1, 3, 0.01)
    assert "twice" in mlp and "twice" not in rnn


def test_train_chart_without_torch_has_no_empty_entries(tmp_path):
    pytest.importorskip("matplotlib")
    rows = [{"model": model, "shape": [1, 2, 3, 4], "impl": impl, "median_ms": ms}
            for model, impl, ms in [("mlp", "minigrad", 1.0), ("mlp", "numpy", 0.8),
                                    ("lstm", "minigrad", 20.0)]]
    ax = plot.train_step_time({"rows": rows}, tmp_path / "chart.png", plot.pyplot())
    _, labels = ax.get_legend_handles_labels()
    assert labels == ["minigrad", "numpy"]
    heights = [patch.get_height() for patch in ax.patches]
    assert len(heights) == 3 and min(heights) > 0
    # The lstm case has one bar, centred on its tick: no gap where numpy would be.
    lstm_bar = [patch for patch in ax.patches if patch.get_height() == 20.0][0]
    assert lstm_bar.get_x() + lstm_bar.get_width() / 2 == pytest.approx(1.0)


def test_numpy_floor_computes_the_same_gradients_as_minigrad():
    # The floor is only a fair comparison if it does the same work: check its RNN gradients.
    case = bench_train.Case("rnn", (5, 3, 4, 6))
    d_w_ih, d_w_hh, d_b, d_x = bench_train.numpy_rnn(case)()
    T, B, I, H = case.shape
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(H)
    layer = nn.RNN(I, H)
    layer.weight_ih_l0.data[...] = rng.uniform(-bound, bound, (H, I))
    layer.weight_hh_l0.data[...] = rng.uniform(-bound, bound, (H, H))
    layer.bias_ih_l0.data[...] = rng.uniform(-bound, bound, H)
    layer.bias_hh_l0.data[...] = 0
    x = minigrad.tensor(case.sequence, requires_grad=True)
    output, _ = layer(x)
    output.mean().backward()
    np.testing.assert_allclose(layer.weight_ih_l0.grad, d_w_ih, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(layer.weight_hh_l0.grad, d_w_hh, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(layer.bias_ih_l0.grad, d_b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(x.grad, d_x, rtol=1e-4, atol=1e-6)


def test_numpy_mlp_floor_makes_the_same_update_as_minigrad():
    case = bench_train.Case("mlp", (8, 3, 5, 4))
    step, params = bench_train.compiled_columns.minigrad_mlp(case)
    floor_weights = [w.copy() for w in case.mlp_weights]
    loss = step()
    floor_loss = bench_train.numpy_mlp(case, floor_weights)()
    assert float(loss.item()) == pytest.approx(float(floor_loss), rel=1e-5)
    for mine, floor in zip(params, floor_weights):
        np.testing.assert_allclose(mine.data, floor, rtol=1e-5, atol=1e-6)
