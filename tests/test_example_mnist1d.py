"""examples/train_mnist1d.py as a user runs it, reduced to one epoch (40 steps) per model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad

pytest.importorskip("mnist1d")  # the data set's generator is an optional extra

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import train_mnist1d  # noqa: E402 - lives in examples/, importable once that is on the path


def run(*args, env=None, check=True):
    result = subprocess.run([sys.executable, str(EXAMPLES / "train_mnist1d.py"), *map(str, args)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_all_four_models_write_the_table_and_the_plot(tmp_path):
    out = tmp_path / "runs"
    result = run("--all", "--epochs", "1", "--quiet", "--out", out)
    table = (out / "results.md").read_text()
    for name, published in train_mnist1d.PUBLISHED.items():
        assert f"| {name} | " in table and f"| {published}% |" in table
        metrics = json.loads((out / name / "metrics.json").read_text())
        assert metrics["config"]["model"] == name and len(metrics["history"]) == 1
        assert 10 < metrics["final"]["accuracy"] <= 100  # better than chance after 40 steps
    assert (out / "test_accuracy.png").stat().st_size > 1000
    assert "| model | test accuracy | published |" in result.stdout



def test_resuming_continues_the_same_run(tmp_path, capsys):
    """One more epoch from the checkpoint equals two epochs from the start, bit for bit."""
    resumed, straight = tmp_path / "resumed", tmp_path / "straight"
    common = ["--model", "logistic", "--quiet", "--backend", "numpy"]
    train_mnist1d.main([*common, "--epochs", "1", "--out", str(resumed)])
    train_mnist1d.main([*common, "--epochs", "2", "--out", str(resumed), "--resume"])
    train_mnist1d.main([*common, "--epochs", "2", "--out", str(straight)])
    first, second = (minigrad.load(d / "checkpoint.npz")["model"] for d in (resumed, straight))
    for key in second:
        np.testing.assert_array_equal(first[key], second[key])
    assert "test accuracy" in capsys.readouterr().out


def test_missing_package_is_one_line_and_a_failure_status(tmp_path):
    fake = tmp_path / "mnist1d"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'mnist1d'\")\n")
    paths = [str(tmp_path), os.environ.get("PYTHONPATH", "")]
    result = run("--model", "mlp", "--epochs", "1", env={"PYTHONPATH": os.pathsep.join(paths)},
                 check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "pip install mnist1d" in result.stderr


def test_the_models_have_the_reference_shapes():
    sizes = {name: sum(p.size for p in train_mnist1d.build_model(name, 0).parameters())
             for name in train_mnist1d.MODELS}
    # The parameter counts the mnist1d models print (LinearBase, MLPBase, ConvBase, GRUBase).
    assert sizes == {"logistic": 410, "mlp": 15210, "cnn": 5210, "gru": 5134}
    x = minigrad.zeros((3, 40))
    for name in train_mnist1d.MODELS:
        assert train_mnist1d.build_model(name, 0)(x).shape == (3, 10)


def test_bad_flags_are_refused():
    result = run("--model", "vgg", check=False)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run("--all", "--model", "cnn", check=False)
    assert result.returncode == 2 and "not allowed with" in result.stderr
