"""The example scripts, run as a user runs them (in small configurations), plus their helpers.

Each script is started with subprocess, so argument parsing, exit codes and what reaches
stdout/stderr are tested for real. Resumption is checked for bit-identical results, after a
clean stop between epochs and after a Ctrl-C in the middle of one.
"""

import csv
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import mnist  # noqa: E402 - lives in examples/, importable once that is on the path
import train_rnn  # noqa: E402

# A small, quick MLP run: spirals, two epochs on the vectorised backend (no compile wait).
MLP_SMALL = ["--epochs", "2", "--backend", "numpy", "--quiet"]
ADDING_SMALL = ["--task", "adding", "--cell", "gru", "--train-size", "200", "--seq-len", "10",
                "--hidden", "8", "--batch-size", "20", "--quiet"]


def run(script, *args, cwd=None, env=None, check=True):
    """Run examples/<script> with ``args``; return the CompletedProcess (text output)."""
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                            capture_output=True, text=True, cwd=cwd, timeout=300,
                            env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def read_metrics(folder):
    with open(Path(folder) / "metrics.json") as file:
        return json.load(file)


def without_timing(metrics):
    """metrics.json minus what legitimately differs between two runs: times and run flags."""
    history = [{k: v for k, v in entry.items() if k != "seconds"} for entry in metrics["history"]]
    config = {k: v for k, v in metrics["config"].items() if k not in ("out", "resume")}
    return {"config": config, "final": metrics["final"], "history": history}


def assert_same_checkpoint(a, b):
    """Two checkpoints hold bit-identical model and optimizer state, position and history."""
    first, second = (minigrad.load(Path(folder) / "checkpoint.npz") for folder in (a, b))
    for key in ("epoch", "batch", "loss_sum"):
        assert first[key] == second[key], key
    assert first["model"].keys() == second["model"].keys()
    for name in first["model"]:
        np.testing.assert_array_equal(first["model"][name], second["model"][name], err_msg=name)

    def arrays(obj, prefix=""):
        if isinstance(obj, np.ndarray):
            yield prefix, obj
        elif isinstance(obj, dict):
            for key, value in obj.items():
                yield from arrays(value, f"{prefix}/{key}")
        elif isinstance(obj, list | tuple):
            for i, value in enumerate(obj):
                yield from arrays(value, f"{prefix}/{i}")

    state_a, state_b = dict(arrays(first["optimizer"])), dict(arrays(second["optimizer"]))
    assert state_a.keys() == state_b.keys() and state_a
    for name in state_a:
        np.testing.assert_array_equal(state_a[name], state_b[name], err_msg=name)


# ------------------------------------------------------------------------- end to end
def test_train_mlp_runs_and_writes_metrics(tmp_path):
    result = run("train_mlp.py", *MLP_SMALL, "--out", tmp_path)
    assert "spirals: training accuracy" in result.stdout
    metrics = read_metrics(tmp_path)
    assert metrics["config"]["optimizer"] == "adam" and metrics["config"]["epochs"] == 2
    assert set(metrics["final"]) >= {"loss", "accuracy"}
    assert 0 <= metrics["final"]["accuracy"] <= 1
    assert [entry["epoch"] for entry in metrics["history"]] == [1, 2]
    assert (tmp_path / "checkpoint.npz").exists()
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_train_mlp_learns(tmp_path):
    # Eight epochs already fit most of the spiral: far above the 33% of guessing.
    result = run("train_mlp.py", "--epochs", "8", "--backend", "numpy", "--quiet",
                 "--out", tmp_path)
    metrics = read_metrics(tmp_path)
    assert metrics["final"]["accuracy"] > 0.8, result.stdout
    assert metrics["history"][-1]["loss"] < metrics["history"][0]["loss"]


def test_train_rnn_language_model_on_a_text_file(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat. " * 200)
    result = run("train_rnn.py", "--text", text, "--epochs", "1", "--hidden", "16",
                 "--seq-len", "16", "--sample-length", "20", "--out", tmp_path / "run")
    metrics = read_metrics(tmp_path / "run")
    assert set(metrics["final"]) >= {"loss", "bpc", "unigram_bpc", "accuracy"}
    assert metrics["final"]["bpc"] == pytest.approx(metrics["final"]["loss"] / np.log(2))
    assert "bits/char" in result.stdout and "sample: The " in result.stdout


def test_default_corpus_is_python_own_text():
    text = train_rnn.default_corpus()
    assert text.startswith("The Zen of Python") and "Beautiful is better than ugly." in text
    assert len(text) > 100_000
    assert train_rnn.default_corpus() == text  # the same text on every call


def test_train_rnn_adding_problem(tmp_path):
    result = run("train_rnn.py", *ADDING_SMALL, "--epochs", "1", "--out", tmp_path)
    metrics = read_metrics(tmp_path)
    assert set(metrics["final"]) == {"mse"} and metrics["final"]["mse"] > 0
    assert "adding problem, T=10: test MSE" in result.stdout


def test_adding_problem_data():
    X, y = train_rnn.adding_problem(100, 20, seed=0)
    assert X.shape == (100, 20, 2) and y.shape == (100, 1)
    markers = X[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :10].sum(axis=1) == 1)  # one marker in each half
    np.testing.assert_allclose(y[:, 0], (X[:, :, 0] * markers).sum(axis=1), rtol=1e-6)


def test_compare_optimizers(tmp_path):
    result = run("compare_optimizers.py", "--optimizer", "sgd", "lookahead", "--epochs", "1",
                 "--batch-size", "500", "--train-size", "1000", "--backend", "numpy", "--quiet",
                 "--out", tmp_path)
    rows = [line for line in result.stdout.splitlines() if line.startswith("| mlp")
            or line.startswith("| rnn")]
    assert len(rows) == 4
    state = {tuple(cell.strip() for cell in row.split("|")[1:3]): float(row.split("|")[7])
             for row in rows}
    # float32 parameters: SGD keeps nothing, Lookahead(Adam) two moments and the slow weights.
    assert state[("mlp", "sgd")] == 0
    assert state[("mlp", "lookahead")] == pytest.approx(12, abs=0.5)
    histories = json.loads((tmp_path / "histories.json").read_text())
    assert set(histories) == {"mlp", "rnn"} and set(histories["mlp"]) == {"sgd", "lookahead"}
    assert len(histories["mlp"]["sgd"]["step_loss"]) == 3  # 1500 points / 500
    with open(tmp_path / "histories.csv") as file:
        assert len(list(csv.DictReader(file))) == 4  # one epoch per task and optimizer
    assert (tmp_path / "compare_optimizers.png").stat().st_size > 1000
    assert read_metrics(tmp_path)["final"]["rnn"]["sgd"]["mse"] > 0


def test_autograd_tour(tmp_path):
    result = run("autograd_tour.py", "--dot", tmp_path / "g.dot")
    assert "DIFFERS" not in result.stdout and result.stdout.count(" ok") == 7
    assert "gradcheck agrees" in result.stdout
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert "dL/dw as a graph" in result.stdout and "BroadcastTo" in result.stdout
    assert "Hessian-vector product H v" in result.stdout
    assert result.stdout.count("Jacobians equal") == 2


def test_curvature_example_newton_converges_and_lambda_max_is_measured(tmp_path):
    result = run("curvature.py", "--steps", "20", "--every", "10", "--iterations", "5",
                 "--plot", tmp_path / "c.png")
    newton = [line for line in result.stdout.splitlines() if "Newton step 7:" in line]
    assert float(newton[0].split("|gradient|")[1]) < 1e-10
    assert result.stdout.count("lambda_max") >= 4 and "2/lr 4.000" in result.stdout
    assert (tmp_path / "c.png").stat().st_size > 1000


# ------------------------------------------------------------------------------ resume
@pytest.mark.parametrize("script, args", [
    ("train_mlp.py", ["--quiet"]),  # the default numba backend
    ("train_rnn.py", ADDING_SMALL + ["--optimizer", "lookahead"]),
])
def test_resume_is_bit_identical(tmp_path, script, args):
    run(script, *args, "--epochs", "2", "--out", tmp_path / "split")
    run(script, *args, "--epochs", "4", "--out", tmp_path / "split", "--resume")
    run(script, *args, "--epochs", "4", "--out", tmp_path / "whole")
    assert_same_checkpoint(tmp_path / "split", tmp_path / "whole")
    split, whole = read_metrics(tmp_path / "split"), read_metrics(tmp_path / "whole")
    assert len(split["history"]) == 4
    assert without_timing(split) == without_timing(whole)


def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(tmp_path):
    args = ["train_mlp.py", "--epochs", "40", "--batch-size", "8", "--backend", "numpy",
            "--quiet"]
    process = subprocess.Popen([sys.executable, str(EXAMPLES / args[0]), *args[1:], "--out",
                                str(tmp_path / "split")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "split" / "checkpoint.npz"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline:  # the end of epoch 1
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "checkpoint saved" in stderr and "Traceback" not in stderr
    assert len(read_metrics(tmp_path / "split")["history"]) < 40  # it really stopped early
    run(*args, "--out", tmp_path / "split", "--resume")
    run(*args, "--out", tmp_path / "whole")
    assert_same_checkpoint(tmp_path / "split", tmp_path / "whole")
    assert without_timing(read_metrics(tmp_path / "split")) == \
        without_timing(read_metrics(tmp_path / "whole"))


def test_seed_makes_runs_repeatable_and_different(tmp_path):
    for name, seed in [("a", 1), ("b", 1), ("c", 2)]:
        run("train_mlp.py", *MLP_SMALL, "--seed", seed, "--out", tmp_path / name)
    a, b, c = (without_timing(read_metrics(tmp_path / n)) for n in "abc")
    assert a["final"] == b["final"] and a["history"] == b["history"]
    assert a["final"] != c["final"]


# ------------------------------------------------------------------------------- MNIST
def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in .gz)."""
    codes = {np.dtype(dtype).newbyteorder("="): code for code, dtype in mnist.IDX_TYPES.items()}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    body = array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as file:
        file.write(header + body)


@pytest.mark.parametrize("name, array", [
    ("images.gz", np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)),
    ("labels", np.array([7, 2, 1, 0, 4], dtype=np.uint8)),
    ("floats.gz", np.array([[1.5, -2.25], [3.0, 1e-3]], dtype=np.float32)),
    ("ints", np.array([-70000, 5, 70000], dtype=np.int32)),
])
def test_read_idx(tmp_path, name, array):
    write_idx(tmp_path / name, array)
    parsed = mnist.read_idx(str(tmp_path / name))
    assert parsed.shape == array.shape and parsed.dtype == array.dtype
    np.testing.assert_array_equal(parsed, array)


def test_read_idx_matches_the_mnist_layout_byte_for_byte(tmp_path):
    # The first bytes of train-labels-idx1-ubyte as the MNIST page describes them:
    # magic 0x00000801, count, then one unsigned byte per label.
    raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4])
    (tmp_path / "labels").write_bytes(raw)
    np.testing.assert_array_equal(mnist.read_idx(str(tmp_path / "labels")), [5, 0, 4])


@pytest.mark.parametrize("raw, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "type code"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05", "1 data bytes, expected 3"),
])
def test_read_idx_rejects_broken_files(tmp_path, raw, message):
    (tmp_path / "bad").write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        mnist.read_idx(str(tmp_path / "bad"))


def test_mnist_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert mnist.cache_dir() == str(tmp_path / "minigrad" / "mnist")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "minigrad",
                                             "mnist")


def test_mnist_checksums_are_sha256_hex():
    assert len(mnist.FILES) == 4
    assert all(len(digest) == 64 and int(digest, 16) >= 0 for digest in mnist.FILES.values())


def fake_mirror(folder):
    """Four small IDX files under MNIST's names, and their SHA-256 sums."""
    folder.mkdir()
    arrays = {
        "train-images-idx3-ubyte.gz": np.arange(4 * 28 * 28, dtype=np.uint8).reshape(4, 28, 28),
        "train-labels-idx1-ubyte.gz": np.array([0, 1, 2, 3], dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": np.zeros((2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.array([4, 5], dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in arrays}


def test_mnist_download_verifies_and_caches(monkeypatch, tmp_path):
    sums = fake_mirror(tmp_path / "mirror")
    monkeypatch.setattr(mnist, "FILES", sums)
    monkeypatch.setenv("MINIGRAD_MNIST_MIRROR", (tmp_path / "mirror").as_uri() + "/")
    train_x, train_y, test_x, test_y = mnist.load(str(tmp_path / "cache"))
    assert train_x.shape == (4, 28, 28) and list(test_y) == [4, 5]
    # Once cached and verified, the mirror is not needed any more.
    monkeypatch.setenv("MINIGRAD_MNIST_MIRROR", "http://127.0.0.1:9/")
    assert list(mnist.load(str(tmp_path / "cache"))[1]) == [0, 1, 2, 3]


def test_mnist_checksum_mismatch_is_refused(tmp_path):
    fake_mirror(tmp_path / "mirror")  # right names, wrong bytes for the real sums
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"),
           "MINIGRAD_MNIST_MIRROR": (tmp_path / "mirror").as_uri() + "/"}
    result = run("train_mlp.py", "--dataset", "mnist", env=env, check=False)
    assert result.returncode == 1
    assert "SHA-256" in result.stderr and len(result.stderr.splitlines()) == 1
    assert os.listdir(tmp_path / "cache" / "minigrad" / "mnist") == []  # nothing bad was kept


def test_mnist_offline_is_one_line(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "MINIGRAD_MNIST_MIRROR": "http://127.0.0.1:9/"}
    result = run("train_mlp.py", "--dataset", "mnist", env=env, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: could not download MNIST")
    assert "offline" in result.stderr and len(result.stderr.splitlines()) == 1


# ------------------------------------------------------------------------ bad arguments
def garbage_checkpoint(tmp_path):
    (tmp_path / "checkpoint.npz").write_bytes(b"not a checkpoint")
    return tmp_path


@pytest.mark.parametrize("script, args, expected", [
    ("train_mlp.py", ["--optimizer", "adagrad"], "invalid choice: 'adagrad'"),
    ("train_mlp.py", ["--lr", "-0.1"], "--lr: must be > 0"),
    ("train_mlp.py", ["--epochs", "0"], "--epochs: must be > 0"),
    ("train_mlp.py", ["--backend", "cuda"], "--backend: invalid choice"),
    ("train_rnn.py", ["--text", "/no/such/file.txt"], "cannot read /no/such/file.txt"),
    ("train_rnn.py", ["--cell", "transformer"], "--cell: invalid choice"),
    ("train_mlp.py", ["--resume"], "--resume needs --out"),
    ("train_mlp.py", ["--resume", "--out", "EMPTY"], "no checkpoint"),
    ("train_mlp.py", ["--resume", "--out", "GARBAGE"], "cannot read"),
    ("compare_optimizers.py", ["--optimizer", "sgd", "nadam"], "invalid choice: 'nadam'"),
    ("autograd_tour.py", ["--seed", "x"], "expected an integer"),
])
def test_bad_arguments_exit_with_one_line(tmp_path, script, args, expected):
    folders = {"EMPTY": tmp_path / "empty", "GARBAGE": garbage_checkpoint(tmp_path)}
    args = [str(folders.get(a, a)) for a in args]
    result = run(script, *args, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr


def test_resume_with_other_settings_is_refused(tmp_path):
    run("train_mlp.py", *MLP_SMALL, "--out", tmp_path)
    result = run("train_mlp.py", *MLP_SMALL, "--out", tmp_path, "--resume", "--lr", "0.5",
                 check=False)
    assert result.returncode != 0 and len(result.stderr.splitlines()) == 1
    assert "lr=0.01 (now 0.5)" in result.stderr
