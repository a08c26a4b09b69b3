"""perf/bench_train.py --quick runs, writes its documented JSON, and plot.py charts it."""

import json
import os
import subprocess
import sys

import pytest

PERF = os.path.join(os.path.dirname(__file__), "..", "perf")


def test_quick_train_bench_writes_documented_json(tmp_path):
    out = tmp_path / "train.json"
    subprocess.run([sys.executable, os.path.join(PERF, "bench_train.py"), "--quick", "--json",
                    str(out), "--threads", "1", "--repeats", "1"],
                   check=True, capture_output=True, text=True, timeout=120)
    report = json.loads(out.read_text())
    assert set(report) == {"machine", "rows", "ratios"}
    assert {"cpu", "cores", "threads", "python", "numpy", "numba", "torch"} <= set(
        report["machine"])
    assert {r["model"] for r in report["rows"]} == {"mlp", "rnn"}
    for row in report["rows"]:
        assert {"model", "shape", "impl", "median_ms", "spread_ms", "steps"} <= set(row)
        assert row["median_ms"] > 0 and row["spread_ms"][0] <= row["spread_ms"][1]
    for ratio in report["ratios"]:
        assert ratio["minigrad_vs_numpy"] > 0
    pytest.importorskip("matplotlib")
    charts = tmp_path / "charts"
    subprocess.run([sys.executable, os.path.join(PERF, "plot.py"), "--train", str(out), "--out",
                    str(charts)], check=True, capture_output=True, text=True, timeout=120)
    assert (charts / "train_step_time.png").stat().st_size > 0


def test_numpy_floor_computes_the_same_gradients_as_minigrad():
    # The floor is only a fair comparison if it does the same work: check its RNN gradients.
    sys.path.insert(0, PERF)
    try:
        import bench_train
    finally:
        sys.path.remove(PERF)
    import numpy as np

    import minigrad
    from minigrad import nn

    shape = (5, 3, 4, 6)
    floor = bench_train.numpy_rnn(shape, seed=0)
    d_w_ih, d_w_hh, d_b, d_x = floor()
    T, B, I, H = shape
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(H)
    layer = nn.RNN(I, H)
    layer.weight_ih_l0.data[...] = rng.uniform(-bound, bound, (H, I))
    layer.weight_hh_l0.data[...] = rng.uniform(-bound, bound, (H, H))
    layer.bias_ih_l0.data[...] = rng.uniform(-bound, bound, H)
    layer.bias_hh_l0.data[...] = 0
    x = minigrad.tensor(bench_train._sequence(shape, 0), requires_grad=True)
    output, _ = layer(x)
    output.mean().backward()
    np.testing.assert_allclose(layer.weight_ih_l0.grad, d_w_ih, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(layer.weight_hh_l0.grad, d_w_hh, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(layer.bias_ih_l0.grad, d_b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(x.grad, d_x, rtol=1e-4, atol=1e-6)


def test_numpy_mlp_floor_makes_the_same_update_as_minigrad():
    sys.path.insert(0, PERF)
    try:
        import bench_train
    finally:
        sys.path.remove(PERF)
    import numpy as np

    shape = (8, 3, 5, 4)
    step, params = bench_train.minigrad_mlp(shape, seed=0)
    floor_weights = [p.data.copy() for p in params]
    loss = step()
    floor_loss = bench_train.numpy_mlp(shape, 0, floor_weights)()
    assert float(loss.item()) == pytest.approx(float(floor_loss), rel=1e-5)
    for mine, floor in zip(params, floor_weights):
        np.testing.assert_allclose(mine.data, floor, rtol=1e-5, atol=1e-6)
