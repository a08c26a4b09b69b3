"""The optimizer study (examples/optimizer_study.py) on a tiny configuration, end to end.

Every task runs a handful of steps, so the whole plan (tuning, evaluation, finder, decay
variants, surfaces, escape test, memory, claims, report) runs in a few seconds; the checks are
on its structure, its rules, resumption and the optimizers' paths against their equations.
"""

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import optimizer_study  # noqa: E402 - lives in examples/, importable once that is on the path
from study import claims, plan, report, runs, surfaces, tasks  # noqa: E402

TINY = {**plan.CONFIGS["quick"], "mode": "tiny", "backend": "numba", "grid_points": 2,
        "max_extend": 1, "tuning_seeds": [0], "eval_seeds": [0, 1], "finder_seeds": [0],
        "finder_steps": 8, "surface_steps": 5, "surface_repeats": 2, "escape_starts": 10,
        "escape_steps": 5, "escape_amplitudes": [1.0, 2.0], "memory_elements": 4096,
        "timing_repeats": 2}
STEPS = {"spirals": 10, "adding-gru": 6, "charlm-rnn": 4, "overfit": 12, "exploding": 6,
         "exploding-clip": 6}


def tiny_tasks():
    specs = tasks.make_tasks("quick", include_mnist1d=False)
    return {name: dataclasses.replace(specs[name], steps=steps) for name, steps in STEPS.items()}


def run_tiny(folder, resume=False):
    """The study as main() runs it, on TINY; returns (study.json document, results)."""
    specs = tiny_tasks()
    config = {**TINY, "tasks": list(specs)}
    store = runs.Store(str(Path(folder) / "cells.jsonl"), config, resume)
    results = optimizer_study.run_study(config, specs, store, plan.Progress())
    verdicts = claims.Judge(results).judge()
    rows = plan.finder_accuracy(results["finder"], results["tuning"])
    return report.study_json(verdicts, rows, config), results, verdicts, rows


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    return folder, *run_tiny(folder)


def test_study_json_has_exactly_the_documented_schema(tiny):
    _, document, results, _, _ = tiny
    assert set(document) == {"claims", "lr_finder", "config"}
    assert [c["id"] for c in document["claims"]] == [c[0] for c in claims.CLAIMS]
    for claim in document["claims"]:
        assert set(claim) == {"id", "claim", "verdict", "evidence"}
        assert claim["verdict"] in ("supported", "not supported", "mixed")
        assert claim["evidence"] and all(isinstance(p, dict) for p in claim["evidence"].values())
    assert len(document["lr_finder"]) == sum(len(plan.optimizers_for(t)) for t in STEPS)
    for row in document["lr_finder"]:
        assert set(row) == {"task", "optimizer", "suggested_lr", "grid_best_lr"}
        assert row["suggested_lr"] > 0 and row["grid_best_lr"] > 0
    assert document["config"]["tasks"] == list(STEPS)
    json.dumps(document, allow_nan=False)  # valid JSON: no NaN or infinity anywhere


def test_every_cell_of_the_plan_ran(tiny):
    folder, _, results, _, _ = tiny
    for task, per_optimizer in results["tuning"].items():
        assert set(per_optimizer) == set(plan.optimizers_for(task))
        for optimizer, tuned in per_optimizer.items():
            # Two points, and the best is always at an end of two: grown once, to three.
            assert len(tuned["lrs"]) == 3 and tuned["best_lr"] in tuned["lrs"]
            assert len(tuned["scores"]) == 3
            assert all(s <= results["tasks"][task]["trivial"] + 1e-12 for s in tuned["scores"])
            for which in ("best", "default"):
                summary = results["evaluation"][task][optimizer][which]
                assert summary["final"]["n"] == len(TINY["eval_seeds"])
    assert results["evaluation"]["spirals"]["adam"]["default"]["lr"] == 1e-3
    assert results["evaluation"]["spirals"]["lion"]["default"]["lr"] == 1e-4
    assert set(results["decay"]) == {"adamw", *plan.DECAY_VARIANTS}
    assert "rise" in results["evaluation"]["overfit"]["adam"]["best"]
    lines = (Path(folder) / "cells.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["config"]["mode"] == "tiny"


def test_report_builds_without_figures(tiny):
    _, _, results, verdicts, rows = tiny
    run = {"command": "python examples/optimizer_study.py", "mode": "tiny",
           "figure_dir": "optimizer_study", "minutes": 0.1, "machine": "test", "load": "0",
           "resumed": ""}
    text = report.Report(report.clean(results), verdicts, rows, {}, run).build()
    for heading in ("## Verdicts", "## How the verdicts are decided", "## Claim by claim",
                    "## Learning-rate sensitivity", "## The learning-rate finder",
                    "## Trajectories on 2-D test functions", "## Memory and step time"):
        assert heading in text
    assert "MNIST-1D was skipped" in text


def test_resumed_study_equals_an_uninterrupted_one(tiny, tmp_path, monkeypatch):
    folder, document, _, _, _ = tiny
    lines = (Path(folder) / "cells.jsonl").read_text().splitlines()
    header, records = lines[0], lines[1:]
    # An interruption: every other training cell is lost, and the last line is cut short.
    kept = [r for i, r in enumerate(records) if i % 2 or json.loads(r)["key"].count("|") != 3]
    (tmp_path / "cells.jsonl").write_text("\n".join([header, *kept, records[0][:30]]) + "\n")
    ran = []
    real = plan.run_cell
    monkeypatch.setattr(plan, "run_cell", lambda *args: ran.append(args) or real(*args))
    resumed, *_ = run_tiny(tmp_path, resume=True)
    assert resumed == document
    assert 0 < len(ran) < len(records)  # only the missing cells ran again


def test_resume_refuses_a_store_of_another_configuration(tiny, tmp_path):
    folder = tiny[0]
    (tmp_path / "cells.jsonl").write_text((Path(folder) / "cells.jsonl").read_text())
    with pytest.raises(ValueError, match="eval_seeds"):
        runs.Store(str(tmp_path / "cells.jsonl"), {**TINY, "tasks": list(STEPS),
                                                    "eval_seeds": [0]}, resume=True)


def test_cells_are_deterministic():
    spec = tiny_tasks()["adding-gru"]
    first, second = (runs.run_cell(spec, "lookahead", 3e-3, 7) for _ in range(2))
    for record in (first, second):
        del record["seconds"]
    assert first == second


# ------------------------------------------------------------------------------ the rules
def test_compare_tests_the_seed_by_seed_differences():
    a = {"values": [1.0, 2.0, 3.0, 4.0]}
    # Differences 0.1 on every seed: beats, although the spread across seeds is far larger.
    assert claims.compare(a, {"values": [1.1, 2.1, 3.1, 4.1]}) == 1
    assert claims.compare({"values": [1.1, 2.1, 3.1, 4.1]}, a) == -1
    # Differences +0.3, -0.1, +0.3, -0.1: mean 0.1, standard error 0.115: a tie.
    assert claims.compare(a, {"values": [1.3, 1.9, 3.3, 3.9]}) == 0
    assert claims.compare(a, a) == 0


def test_tally_follows_the_two_thirds_rule():
    assert claims.tally([1] * 6 + [0, -1]) == "supported"
    assert claims.tally([1] * 6 + [-1, -1]) == "mixed"
    assert claims.tally([1] * 5 + [0] * 3) == "mixed"
    assert claims.tally([1, 1, 0, 0, 0, 0, 0, 0]) == "not supported"
    assert claims.tally([1] * 5 + [-1] * 3) == "not supported"
    assert claims.combine({"a": {"verdict": "supported"}, "b": {"verdict": None}}) == "supported"
    assert claims.combine({"a": {"verdict": "supported"},
                           "b": {"verdict": "not supported"}}) == "mixed"


def test_good_range_is_interpolated_between_grid_points():
    # Trivial 1, best 0: good means <= 0.2. Scores cross 0.2 half way on each side.
    exponents = [-4.0, -3.5, -3.0, -2.5, -2.0]
    width, low, high, open_low, open_high = plan.good_range(
        exponents, [1.0, 0.4, 0.0, 0.1, 0.3], 0.0, 1.0)
    assert low == pytest.approx(-3.25) and high == pytest.approx(-2.25)
    assert width == pytest.approx(1.0) and not open_low and not open_high


# ------------------------------------------------------------------------------ the paths
def _quadratic():
    a, b = 1.0, 10.0
    return surfaces.Surface("quadratic", lambda x, y: 0.5 * (a * x**2 + b * y**2),
                            lambda x, y: (a * x, b * y), (1.0, 1.0), (0.0, 0.0),
                            (-2, 2, -2, 2), 0.0)


def _expected_path(name, lr, start, steps, grad):
    """The optimizer's equations, written out (defaults of each constructor)."""
    p = np.array(start, dtype=np.float64)
    m = np.zeros(2)
    v = np.zeros(2)
    slow = p.copy()
    path = [p.copy()]
    for t in range(1, steps + 1):
        g = np.array(grad(*p))
        if name == "sgd":
            p = p - lr * g
        elif name in ("momentum", "nesterov"):
            m = g if t == 1 else 0.9 * m + g
            p = p - lr * (g + 0.9 * m if name == "nesterov" else m)
        elif name == "rmsprop":
            v = 0.99 * v + 0.01 * g * g
            p = p - lr * g / (np.sqrt(v) + 1e-8)
        elif name in ("adam", "adamw", "lookahead"):
            if name == "adamw":
                p = p * (1 - lr * 0.01)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p = p - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            if name == "lookahead" and t % 5 == 0:
                slow = slow + 0.5 * (p - slow)
                p = slow.copy()
        elif name == "adabelief":
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * (g - m) ** 2 + 1e-16
            p = p - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-16)
        elif name == "lion":
            p = p - lr * np.sign(0.9 * m + 0.1 * g)
            m = 0.99 * m + 0.01 * g
        path.append(p.copy())
    return np.array(path)


@pytest.mark.parametrize("name", plan.OPTIMIZERS)
def test_paths_on_a_quadratic_follow_each_optimizers_equations(name):
    surface = _quadratic()
    lrs = [0.01, 0.05]
    starts = [[1.0, 1.0], [-0.5, 0.3]]
    paths = surfaces.descend(surface, name, lrs, starts, 12)
    assert paths.shape == (2, 2, 13, 2)
    for i, lr in enumerate(lrs):
        for j, start in enumerate(starts):
            expected = _expected_path(name, lr, start, 12, surface.grad)
            np.testing.assert_allclose(paths[i, j], expected, rtol=1e-10, atol=1e-13)


def test_surface_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1.5, 1.5, (20, 2))
    for surface in [*surfaces.SURFACES.values(), surfaces.rastrigin_surface(2.0)]:
        x, y = points[:, 0], points[:, 1]
        gx, gy = surface.grad(x, y)
        h = 1e-6
        fx = (surface.f(x + h, y) - surface.f(x - h, y)) / (2 * h)
        fy = (surface.f(x, y + h) - surface.f(x, y - h)) / (2 * h)
        np.testing.assert_allclose(gx, fx, rtol=1e-5, atol=1e-4, err_msg=surface.name)
        np.testing.assert_allclose(gy, fy, rtol=1e-5, atol=1e-4, err_msg=surface.name)


def test_newton_path_is_drawn_only_with_minigrad_func():
    import minigrad

    path = surfaces.newton_path(surfaces.SURFACES["rosenbrock"], 10)
    if not hasattr(getattr(minigrad, "func", None), "hessian"):
        assert path is None
    else:  # Newton on Rosenbrock reaches the minimum in a handful of steps
        assert np.allclose(path[-1], [1.0, 1.0], atol=1e-6)
    assert surfaces.newton_path(surfaces.SURFACES["rastrigin"], 10) is None
    assert math.isfinite(surfaces.SURFACES["beale"].f(3.0, 0.5))
