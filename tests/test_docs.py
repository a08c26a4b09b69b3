"""The READMEs tell the truth: their snippet prints what they say, their numbers come from the
code, and following their commands leaves the checkout as it was."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README, PERF_README = ROOT / "README.md", ROOT / "perf" / "README.md"
sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT / "perf"))

import tables  # noqa: E402 - perf/tables.py, importable once perf/ is on the path
import update_readme  # noqa: E402

#: Extra arguments that make each documented command quick (later flags win in argparse).
QUICK = {
    "examples/train_mlp.py": ["--epochs", "1", "--backend", "numpy"],
    "examples/train_rnn.py": ["--epochs", "1", "--hidden", "8", "--seq-len", "16",
                              "--sample-length", "10", "--train-size", "100"],
    "examples/compare_optimizers.py": ["--epochs", "1", "--train-size", "100", "--batch-size",
                                       "100", "--optimizer", "sgd", "--backend", "numpy"],
    "examples/autograd_tour.py": [],
    "perf/bench_end_to_end.py": ["--quick"],
    "perf/bench_optim.py": ["--quick", "--only", "SGD"],
    "perf/bench_train.py": ["--quick"],
    "perf/plot.py": [],
    "docs/update_readme.py": ["--quick"],
    "examples/curvature.py": ["--steps", "20", "--every", "10", "--iterations", "3"],
    "examples/train_mnist1d.py": ["--epochs", "1", "--model", "logistic"],
    "examples/optimizer_study.py": ["--quick", "--quiet"],
    "perf/bench_func.py": ["--quick"],
    "perf/bench_compile.py": ["--quick", "--skip", "first", "spirals"],
    "perf/bench_mnist1d.py": ["--models", "logistic", "--seeds", "0", "--steps", "20",
                              "--speed-steps", "10", "--repeats", "1"],
}


def python(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


def test_readme_snippet_prints_what_the_readme_says(tmp_path):
    text = README.read_text()
    (tmp_path / "snippet.py").write_text(update_readme.readme_snippet(text))
    result = python(tmp_path / "snippet.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    quoted = re.search(r"<!-- begin snippet-output -->\nIt prints `([^`]*)`", text).group(1)
    assert result.stdout.strip() == quoted


def test_readme_default_spirals_row_is_what_train_mlp_prints(tmp_path):
    result = python("examples/train_mlp.py", "--quiet", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    final = json.loads((tmp_path / "metrics.json").read_text())["final"]
    row = next(line for line in README.read_text().splitlines()
               if line.startswith("| `python examples/train_mlp.py` |"))
    assert (f"{final['accuracy']:.1%} training accuracy ({final['test_accuracy']:.1%} on "
            "held-out points)") in row


def documented_commands():
    """Every `python examples|perf|docs/...` command in the two READMEs, with its arguments,
    except those with --commit (the explicit request to rewrite committed files)."""
    commands = []
    for path in (README, PERF_README):
        text = path.read_text()
        code = re.findall(r"```bash\n(.*?)```", text, re.DOTALL) + re.findall(r"`([^`\n]+)`", text)
        for block in code:
            for line in block.splitlines():
                for match in re.finditer(r"python ((?:examples|perf|docs)/\S+\.py)([^#&|;]*)",
                                         line):
                    args = match.group(2).split()
                    if "--commit" not in args:
                        commands.append((match.group(1), args))
    return list(dict.fromkeys((script, tuple(args)) for script, args in commands))


def test_every_documented_script_has_a_quick_form():
    scripts = {script for script, _ in documented_commands()}
    assert scripts <= set(QUICK), "add the new documented script to QUICK, or fix the docs"
    assert {"examples/train_mlp.py", "perf/bench_optim.py", "docs/update_readme.py"} <= scripts


def _status():
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="not a git checkout")
def test_documented_commands_leave_the_checkout_clean(tmp_path):
    # runs/ is ignored by git; the commands' runs/ folders go to a temporary one instead, so
    # that this test neither needs nor leaves them.
    for ignored in ("runs/x", "perf/out/x"):
        assert subprocess.run(["git", "check-ignore", "-q", ignored], cwd=ROOT).returncode == 0
    before = _status()
    for script, args in documented_commands():
        args = [str(tmp_path / a) if a.startswith("runs/") else a for a in args]
        result = python(script, *args, *QUICK[script])
        assert result.returncode == 0, (script, args, result.stderr)
        assert _status() == before, f"python {script} {' '.join(args)} changed the checkout"


def test_replace_block_touches_only_the_marked_lines():
    text = "a\n<!-- begin x -->\nold\nlines\n<!-- end x -->\nb\n"
    assert update_readme.replace_block(text, "x", "new\n") == \
        "a\n<!-- begin x -->\nnew\n<!-- end x -->\nb\n"
    with pytest.raises(SystemExit, match="no block 'y'"):
        update_readme.replace_block(text, "y", "new")


def test_every_generated_block_has_a_place_in_the_readmes():
    committed = tables.blocks(ROOT / "perf" / "results")
    names = set(committed) | {"snippet-output", "default-runs", "compare-table",
                              "compare-summary"}
    text = README.read_text() + PERF_README.read_text()
    for name in names:
        assert f"<!-- begin {name} -->" in text and f"<!-- end {name} -->" in text, name
    assert {"answer", "end-to-end", "train-table", "optim-big", "optim-small"} <= set(committed)


@pytest.mark.parametrize("script", ["perf/bench_optim.py", "perf/bench_train.py",
                                    "perf/bench_end_to_end.py", "perf/plot.py",
                                    "docs/update_readme.py"])
def test_bench_help_shows_defaults_once(script):
    result = python(script, "--help")
    assert result.returncode == 0, result.stderr
    assert "(default:" in result.stdout and "(default: None)" not in result.stdout
    assert "(default: False)" not in result.stdout
