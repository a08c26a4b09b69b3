"""What minigrad.compile shows: the program printout, the generated code, the examples' flag."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import training_step

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim

pytest.importorskip("numba")

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


@pytest.fixture
def tiny_step(rng):
    """The tiny MLP's training step, compiled and called until it replays."""
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x = minigrad.tensor(rng.standard_normal((4, 2)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 3, 4))

    step = minigrad.compile(training_step(model, optimizer, F.cross_entropy))
    for _ in range(3):
        step(x, y)
    return step


def test_program_reads_as_code_forward_backward_update(tiny_step):
    text = str(tiny_step.program)
    lines = text.splitlines()
    assert lines[0] == "def step(x: f32[4,2], y: i64[4]):"
    assert "#   w0: f32[8,2] = model.0.weight" in text
    sections = [line.strip() for line in lines if line.strip() in
                ("# forward", "# backward", "# update")]
    assert sections == ["# forward", "# backward", "# update"]
    body = [line for line in lines if " = " in line and not line.lstrip().startswith("#")]
    # one line per operation, each with its result's type and the operation it comes from
    assert any("matmul(x, t0)" in line and "f32[4,8]" in line and "Linear" in line
               for line in body)
    assert any("vjp CrossEntropy" in line for line in body)
    assert any("vjp ReLU" in line and "t" in line for line in body)
    assert "model.0.weight.grad = dw0" in text
    assert lines[-1].strip().startswith("return t")


def test_generated_code_fuses_a_layer_into_one_loop(tiny_step):
    source = tiny_step.source
    assert "@jit" in source and "def call(args, kwargs):" in source
    # x @ w0.T, + b0 and relu computed in one loop nest: the sum's result never stored
    nest = source[source.index("# t1 = matmul(x, t0)"):]
    nest = nest[:nest.index("\n\n")]
    assert "# t2 = t1 + b0" in nest and "# t3 = maximum(t2, 0.0)" in nest
    assert "t1[" not in nest.replace("# t1", "")  # t1 lives in a local, not in memory
    assert "cache=True" in source


def test_new_shapes_print_their_own_program(tiny_step, rng):
    x = minigrad.tensor(rng.standard_normal((6, 2)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 3, 6))
    tiny_step(x, y)
    assert str(tiny_step.program).startswith("def step(x: f32[6,2], y: i64[6]):")
    assert not tiny_step.compiled  # traced once so far at this shape


def test_import_does_not_load_numba():
    code = "import sys, minigrad; print('numba' in sys.modules, callable(minigrad.compile))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(EXAMPLES)))
    assert out.stdout.split() == ["False", "True"]


def test_example_with_compile_gives_the_same_numbers(tmp_path):
    results = []
    for flag in ([], ["--compile"]):
        out = tmp_path / ("compiled" if flag else "eager")
        subprocess.run([sys.executable, os.path.join(EXAMPLES, "train_mlp.py"), "--epochs", "2",
                        "--quiet", "--out", str(out), *flag], check=True, capture_output=True,
                       text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=os.path.dirname(EXAMPLES)))
        results.append(json.loads((out / "metrics.json").read_text()))
    eager, compiled = results
    for key, value in eager["final"].items():
        assert compiled["final"][key] == pytest.approx(value, rel=1e-5)
    assert compiled["config"]["compile"] is True
