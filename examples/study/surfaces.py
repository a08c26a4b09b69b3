"""Optimizers on 2-D test functions: trajectories, a race, and the Rastrigin escape test.

Each function is written once, as an expression in ``x`` and ``y`` that works on NumPy arrays
(for the contour plots and the gradients), with its gradient written out beside it. The
optimizers get those gradients through ``p.grad`` and move ``p.data``, as in training; many
starting points or learning rates run at once as the rows of one parameter (every update here
is elementwise, so rows never interact).

Noisy versions follow DeepOBS's 2-D problems: each step adds ``noise * (u x + v y)`` with fresh
u, v ~ N(0, 1) to the function, so the gradient gets N(0, noise^2) noise per coordinate, as a
mini-batch gradient would.

Newton's method (x <- x - H^-1 g) is drawn as a reference path when ``minigrad.func.hessian``
exists, with the Hessian taken by minigrad's own higher-order autograd from the same expression.
"""

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np

import minigrad

from .runs import build_optimizer


def rosenbrock(x, y):
    """Rosenbrock's banana valley: minimum 0 at (1, 1) at the end of a long curved valley."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(x, y):
    return -2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)


def beale(x, y):
    """Beale's function: minimum 0 at (3, 0.5), flat plateaus and steep walls around it."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def beale_grad(x, y):
    a, b, c = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    return (2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
            2 * a * x + 4 * b * x * y + 6 * c * x * y**2)


def saddle(x, y):
    """x^2/2 - y^2/2 + y^4/4: a saddle at the origin between minima -1/4 at (0, +-1)."""
    return 0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4


def saddle_grad(x, y):
    return x, y**3 - y


def rastrigin(x, y, amplitude=10.0):
    """Rastrigin's function: minimum 0 at the origin among a grid of local minima.

    2A + x^2 + y^2 - A (cos 2 pi x + cos 2 pi y); the usual A is 10, and the local minima near
    the integer points get shallower as A shrinks.
    """
    return (2 * amplitude + x**2 + y**2
            - amplitude * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))


def rastrigin_grad(x, y, amplitude=10.0):
    return (2 * x + 2 * np.pi * amplitude * np.sin(2 * np.pi * x),
            2 * y + 2 * np.pi * amplitude * np.sin(2 * np.pi * y))


@dataclass(frozen=True)
class Surface:
    """A test function with its gradient, plot window, start, minimum and noise level."""

    name: str
    f: object
    grad: object
    start: tuple
    minimum: tuple
    window: tuple  # (xmin, xmax, ymin, ymax)
    noise: float  # the standard deviation of the gradient noise of the noisy version
    polynomial: bool = True  # written with + - * ** only, so minigrad can differentiate it


SURFACES = {
    "rosenbrock": Surface("rosenbrock", rosenbrock, rosenbrock_grad, (-1.5, 2.0), (1.0, 1.0),
                          (-2.0, 2.0, -1.0, 3.0), 5.0),
    "beale": Surface("beale", beale, beale_grad, (0.5, 2.5), (3.0, 0.5),
                     (-1.0, 4.5, -1.5, 3.0), 1.0),
    "saddle": Surface("saddle", saddle, saddle_grad, (1.5, 1e-3), (0.0, 1.0),
                      (-1.7, 1.7, -1.7, 1.7), 0.3),
    "rastrigin": Surface("rastrigin", rastrigin, rastrigin_grad, (-2.7, 3.3), (0.0, 0.0),
                         (-4.5, 4.5, -4.5, 4.5), 10.0, polynomial=False),
}


def descend(surface, optimizer_name, lrs, starts, steps, noise=0.0, seed=0, backend="numba"):
    """Run the optimizer from each start at each learning rate; return paths (L, S, steps+1, 2).

    One parameter per learning rate, holding every start as a row, each in its own parameter
    group; the noise (when ``noise`` > 0) is drawn from ``seed``, the same for every rate.
    float64, so that the paths show the algorithms rather than rounding.
    """
    starts = np.asarray(starts, dtype=np.float64)
    params = [minigrad.tensor(starts.copy(), requires_grad=True) for _ in lrs]
    groups = [{"params": [p], "lr": float(lr)} for p, lr in zip(params, lrs)]
    optimizer = _with_groups(optimizer_name, groups, backend)
    rng = np.random.default_rng(seed)
    paths = np.empty((len(lrs), len(starts), steps + 1, 2))
    paths[:, :, 0] = starts
    with np.errstate(all="ignore"):
        for step in range(1, steps + 1):
            kick = noise * rng.standard_normal(starts.shape) if noise else 0.0
            for p in params:
                gx, gy = surface.grad(p.data[:, 0], p.data[:, 1])
                p.grad = np.stack([gx, gy], axis=1) + kick
            optimizer.step()
            for i, p in enumerate(params):
                paths[i, :, step] = p.data
    return paths


def _with_groups(name, groups, backend):
    """The optimizer ``name`` over parameter groups that each carry their own lr."""
    first = build_optimizer(name, groups[0]["params"], groups[0]["lr"], backend)
    for group in groups[1:]:
        first.add_param_group(dict(group))
    return first


def path_values(surface, paths):
    """f along each path (..., steps+1); points that ran away (non-finite, |x| > 1e3) are +inf."""
    with np.errstate(all="ignore"):
        values = surface.f(paths[..., 0], paths[..., 1])
    return np.where(np.isfinite(values) & (np.abs(paths).max(axis=-1) < 1e3), values, np.inf)


def tuned_paths(surface, optimizer_name, lrs, steps, noise=0.0, repeats=1, seed=0):
    """The path from the surface's start at the learning rate whose path is lowest on average.

    The mean of f along the path rewards getting low early as well as ending low; the end value
    alone ties on surfaces every rate ends at the minimum of, and then picks among wild paths.
    With noise the score is also averaged over ``repeats`` noise draws (rows), and the path shown
    is the first draw. Returns (lr, path (steps+1, 2), mean final value), the value None if every
    rate ran away.
    """
    starts = np.repeat(np.asarray([surface.start]), repeats, axis=0)
    paths = descend(surface, optimizer_name, lrs, starts, steps, noise, seed)
    values = path_values(surface, paths)
    best = int(np.argmin(values.mean(axis=(1, 2))))
    final = float(values[best, :, -1].mean())
    return float(lrs[best]), paths[best, 0], final if np.isfinite(final) else None


def newton_path(surface, steps):
    """Newton's method from the surface's start, or None without ``minigrad.func.hessian``.

    Hessians come from minigrad's higher-order autograd, so only the polynomial surfaces (whose
    expressions minigrad can differentiate twice) get a path.
    """
    func = getattr(minigrad, "func", None)
    if func is None or not hasattr(func, "hessian") or not surface.polynomial:
        return None

    def f(point):
        return surface.f(point[0], point[1])

    hessian = func.hessian(f)
    point = np.asarray(surface.start, dtype=np.float64)
    path = [point]
    for _ in range(steps):
        h = np.asarray(getattr(H := hessian(minigrad.tensor(point)), "data", H), np.float64)
        g = np.asarray(surface.grad(point[0], point[1]), dtype=np.float64)
        try:
            point = point - np.linalg.solve(h.reshape(2, 2), g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(point)) or np.abs(point).max() > 1e3:
            break
        path.append(point)
    return np.array(path)


def rastrigin_surface(amplitude):
    """Rastrigin's function with local minima of ``amplitude`` (see ``rastrigin``)."""
    return dataclasses.replace(
        SURFACES["rastrigin"], name=f"rastrigin A={amplitude:g}",
        f=functools.partial(rastrigin, amplitude=amplitude),
        grad=functools.partial(rastrigin_grad, amplitude=amplitude))


def escape_shares(surface, optimizer_name, lrs, starts, steps):
    """Per lr, the share of runs (one per start) ending in the global minimum's basin.

    The basin of the origin is |x|, |y| < 0.5, between the neighbouring maxima.
    """
    paths = descend(surface, optimizer_name, lrs, starts, steps)
    return np.all(np.abs(paths[..., -1, :]) < 0.5, axis=-1).mean(axis=1)


def escape_study(optimizers, amplitudes, starts, steps, lrs):
    """Momentum's claim to escape local minima, on Rastrigin at several amplitudes.

    Per amplitude and optimizer, the learning rate with the largest escape share is picked on
    ``starts`` random starting points, then the share is measured again at that rate on twice as
    many fresh ones (so the pick does not flatter it). Starts are uniform in [-3, 3]^2.
    """
    rng = np.random.default_rng(0)
    tune_starts = rng.uniform(-3, 3, (starts, 2))
    test_starts = rng.uniform(-3, 3, (2 * starts, 2))
    out = {}
    for amplitude in amplitudes:
        surface = rastrigin_surface(amplitude)
        out[f"{amplitude:g}"] = rows = {}
        for name in optimizers:
            shares = escape_shares(surface, name, lrs, tune_starts, steps)
            best = int(np.argmax(shares))
            share = float(escape_shares(surface, name, lrs[best:best + 1], test_starts,
                                        steps)[0])
            rows[name] = {"lr": float(lrs[best]), "share": share, "starts": len(test_starts),
                          "tuning_shares": [float(v) for v in shares]}
    return out


def trajectory_study(optimizers, steps, repeats, lrs):
    """Every optimizer's tuned path on every surface, clean and noisy, and Newton's paths."""
    out = {}
    for name, surface in SURFACES.items():
        entry = {"newton": None, "clean": {}, "noisy": {}}
        for noisy, key in ((False, "clean"), (True, "noisy")):
            for optimizer in optimizers:
                lr, path, value = tuned_paths(surface, optimizer, lrs, steps,
                                              noise=surface.noise if noisy else 0.0,
                                              repeats=repeats if noisy else 1)
                entry[key][optimizer] = {"lr": lr, "final": value,
                                         "path": np.round(path, 5).tolist()}
        newton = newton_path(surface, steps)
        entry["newton"] = None if newton is None else np.round(newton, 5).tolist()
        out[name] = entry
    return out


def lr_grid(low, high, per_decade=2):
    """Learning rates from ``low`` to ``high``, ``per_decade`` to a decade, on a fixed lattice."""
    first, last = round(per_decade * math.log10(low)), round(per_decade * math.log10(high))
    return np.array([10 ** (k / per_decade) for k in range(first, last + 1)])
