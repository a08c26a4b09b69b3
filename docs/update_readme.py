"""Regenerate every number README.md and perf/README.md quote, by running the code behind them.

    python docs/update_readme.py                  # dry run: runs/readme/, and the diff
    python docs/update_readme.py --commit         # rewrite README.md, perf/README.md and
                                                  # docs/compare_optimizers.png
    python docs/update_readme.py --commit --perf  # first rerun perf/'s benchmarks (--commit)

Each generated part of a README sits between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``
lines; everything else is left as written. The parts:

- snippet: README's training-loop snippet, run from the README's own text; its output is quoted.
- defaults: the examples' default runs (train_mlp.py, the adding problem, the char LM), ~2 min.
- compare: compare_optimizers.py's full run, table, figure and summary, 4-12 min.
- perf: the tables and answers of perf/README.md and the speed lines of README.md, from the
  committed benchmark results (perf/results/*.json; with --perf, from a fresh run of
  bench_optim.py, bench_train.py, bench_end_to_end.py and plot.py, another ~15 min).

Accuracies and losses are deterministic; times depend on the machine and its load.
"""

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README, PERF_README = os.path.join(ROOT, "README.md"), os.path.join(ROOT, "perf", "README.md")
DRY_RUN = os.path.join(ROOT, "runs", "readme")
FIGURE = os.path.join(ROOT, "docs", "compare_optimizers.png")
PARTS = ("snippet", "defaults", "compare", "perf")
sys.path.insert(0, os.path.join(ROOT, "examples"))


# ----------------------------------------------------------------------------- plumbing
def replace_block(text, name, content):
    """``text`` with the lines between the markers of block ``name`` replaced by ``content``."""
    name = re.escape(name)
    pattern = re.compile(rf"(<!-- begin {name} -->\n).*?(<!-- end {name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"no block {name!r} between <!-- begin --> and <!-- end --> markers")
    return pattern.sub(lambda m: m.group(1) + content.rstrip("\n") + "\n" + m.group(2), text)


def run(*args, cwd=ROOT):
    """Run ``python args...`` with this checkout's minigrad first on the path; its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def readme_snippet(text):
    """The Python code block of README's "A training loop" section."""
    section = text.split("## A training loop", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


# ----------------------------------------------------------------------------- the parts
def snippet(text):
    """README: what the training-loop snippet prints, run from the README itself."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "snippet.py")
        with open(path, "w") as file:
            file.write(readme_snippet(text))
        started = time.perf_counter()
        output = run(path).strip()
    return {"snippet-output": f"It prints `{output}` (in {time.perf_counter() - started:.0f} s, "
                              "starting Python included)."}


def defaults(work):
    """README: the default runs of the training scripts."""
    rows = []
    mlp = _metrics(work, "mlp", "examples/train_mlp.py")
    final = mlp["final"]
    rows.append(f"| `python examples/train_mlp.py` | {final['accuracy']:.1%} training accuracy "
                f"({final['test_accuracy']:.1%} on held-out points) | "
                f"{len(mlp['history'])} epochs, {_seconds(mlp)} |")
    adding = _metrics(work, "adding", "examples/train_rnn.py", "--task", "adding")
    solved = [e["epoch"] for e in adding["history"] if e["mse"] < 1 / 60]
    since = f", below 0.0167 (solved) from epoch {solved[0]}" if solved else " (not solved)"
    rows.append(f"| `python examples/train_rnn.py --task adding` | LSTM, T=50: test MSE "
                f"{adding['final']['mse']:.4f}{since} | {len(adding['history'])} epochs, "
                f"{_seconds(adding)} |")
    lm = _metrics(work, "lm", "examples/train_rnn.py")
    rows.append(f"| `python examples/train_rnn.py` | LSTM char model on Python's own docstrings: "
                f"validation {lm['final']['bpc']:.2f} bits/char against "
                f"{lm['baseline']['unigram_bpc']:.2f} for the unigram baseline, then a sample | "
                f"{len(lm['history'])} epochs, {_seconds(lm)} |")
    table = ["| command | result | epochs, training time |", "|---|---|---|", *rows]
    return {"default-runs": "\n".join(table)}


def _metrics(work, name, script, *args):
    out = os.path.join(work, name)
    run(script, *args, "--quiet", "--force", "--out", out)
    with open(os.path.join(out, "metrics.json")) as file:
        return json.load(file)


def _seconds(metrics):
    return f"{sum(e['seconds'] for e in metrics['history']):.0f} s"


def compare(work, commit):
    """README: compare_optimizers.py's table, figure and summary."""
    out = os.path.join(work, "compare")
    printed = run("examples/compare_optimizers.py", "--quiet", "--force", "--out", out)
    with open(os.path.join(out, "histories.json")) as file:
        results = json.load(file)
    table = open(os.path.join(out, "table.md")).read()
    seconds = re.search(r"in (\d+) s \(", printed).group(1)
    if commit:
        shutil.copyfile(os.path.join(out, "compare_optimizers.png"), FIGURE)
    return {"compare-table": table, "compare-summary": compare_summary(results, seconds)}


def compare_summary(results, seconds):
    """The paragraph that reads the comparison's table, from its numbers."""
    mlp = {name: run["final"]["accuracy"] for name, run in results["mlp"].items()}
    rnn = {name: run["final"]["mse"] for name, run in results["rnn"].items()}
    solved = [name for name, mse in rnn.items() if mse < 1 / 60]
    stuck = [name for name, mse in rnn.items() if mse > 0.15]
    between = [f"{name} ({mse:.3f})" for name, mse in rnn.items()
               if name not in solved and name not in stuck]
    words = [f"On the MLP every optimizer reaches {min(mlp.values()):.1%} to "
             f"{max(mlp.values()):.1%} training accuracy. On the adding problem "
             f"{_names(solved) or 'none'} {'solves' if len(solved) == 1 else 'solve'} it "
             f"within {results['rnn']['adam']['epochs']} epochs (test MSE below 0.0167)"]
    if between:
        words.append(f"; {_names(between)} left the plateau but "
                     f"{'is' if len(between) == 1 else 'are'} still on the way down")
    if stuck:
        words.append(f"; {_names(stuck)} {'stays' if len(stuck) == 1 else 'stay'} at the mean "
                     "(about 0.167)")
    words.append(f". The whole comparison took {seconds} s.")
    return "".join(words)


def _names(names):
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] \
        if names else ""


def perf(results_folder):
    """Both READMEs: the perf tables and answers, from the benchmarks' JSON."""
    sys.path.insert(0, os.path.join(ROOT, "perf"))
    import tables

    return tables.blocks(results_folder)


# ----------------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", action="store_true",
                        help="rewrite README.md, perf/README.md and the comparison figure "
                             "(without it, only runs/readme/ is written; this never runs git)")
    parser.add_argument("--perf", action="store_true",
                        help="rerun perf/'s benchmarks first (into perf/results with --commit, "
                             "perf/out without)")
    parser.add_argument("--only", metavar="PARTS", default=",".join(PARTS),
                        help=f"comma-separated parts to regenerate, of {', '.join(PARTS)} "
                             "(default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="only the snippet (seconds), e.g. to check that this script runs")
    args = parser.parse_args(argv)
    parts = ["snippet"] if args.quick else args.only.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    os.makedirs(DRY_RUN, exist_ok=True)
    texts = {path: open(path).read() for path in (README, PERF_README)}
    started = time.perf_counter()
    blocks = {}
    if "snippet" in parts:
        blocks.update(snippet(texts[README]))
    if "defaults" in parts:
        blocks.update(defaults(DRY_RUN))
    if "compare" in parts:
        blocks.update(compare(DRY_RUN, args.commit))
    if "perf" in parts:
        folder = os.path.join(ROOT, "perf", "results" if args.commit or not args.perf else "out")
        if args.perf:
            for script in ("bench_optim.py", "bench_train.py", "bench_end_to_end.py", "plot.py"):
                print(f"running perf/{script} ...", flush=True)
                run(os.path.join("perf", script), *(["--commit"] if args.commit else []))
        blocks.update(perf(folder))
    for path, text in texts.items():
        new = text
        for name, content in blocks.items():
            if f"<!-- begin {name} -->" in text:
                new = replace_block(new, name, content)
        target = path if args.commit else os.path.join(DRY_RUN, os.path.relpath(path, ROOT)
                                                       .replace(os.sep, "-"))
        with open(target, "w") as file:
            file.write(new)
        changed = list(difflib.unified_diff(text.splitlines(), new.splitlines(), lineterm="",
                                            n=0))[2:]
        where = "" if args.commit else f" (written to {os.path.relpath(target, ROOT)})"
        print(f"{os.path.relpath(path, ROOT)}: {sum(c[:1] == '+' for c in changed)} lines "
              f"changed{where}")
        for line in changed:
            print("  " + line)
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
