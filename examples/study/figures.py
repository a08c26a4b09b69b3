"""The study's figures (matplotlib, optional): each function draws one file and returns its name.

Every function takes the study's results and a folder, writes a PNG (or the GIF) there, and
returns the file's name; ``available()`` says whether matplotlib is installed at all.
"""

import os

import numpy as np

from .plan import OPTIMIZERS
from .surfaces import SURFACES

COLORS = dict(zip(OPTIMIZERS, ["#7f7f7f", "#1f77b4", "#17becf", "#9467bd", "#d62728", "#ff7f0e",
                               "#2ca02c", "#e377c2", "#8c564b"], strict=True))


def available():
    """Whether matplotlib can be imported (then the Agg backend is selected: files only)."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    return True


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _save(fig, folder, name):
    fig.savefig(os.path.join(folder, name), dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return name


def _grid(count, width=3.4, height=2.6):
    columns = min(4, count)
    rows = -(-count // columns)
    fig, axes = _plt().subplots(rows, columns, figsize=(width * columns, height * rows),
                                squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes.flat


def _legend(fig, names, columns=10, **extra):
    handles = [_plt().Line2D([], [], color=COLORS[n], label=n) for n in names]
    handles += [_plt().Line2D([], [], label=k, **v) for k, v in extra.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), columns), fontsize=8,
               bbox_to_anchor=(0.5, 0.0))


def sensitivity(results, folder):
    """Final held-out loss (mean of the tuning seeds) against learning rate, a panel per task."""
    tasks = results["tuning"]
    fig, axes = _grid(len(tasks))
    for ax, (task, per_optimizer) in zip(axes, tasks.items()):
        for name, tuned in per_optimizer.items():
            ax.plot(tuned["lrs"], tuned["scores"], "-", color=COLORS[name], linewidth=1.2)
            ax.plot(tuned["best_lr"], tuned["best_score"], "o", color=COLORS[name], ms=3)
        ax.axhline(results["tasks"][task]["trivial"], color="k", linestyle=":", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_title(task, fontsize=9)
        ax.tick_params(labelsize=7)
    _legend(fig, OPTIMIZERS, **{"trivial loss": {"color": "k", "linestyle": ":"}})
    fig.suptitle("Final held-out loss against learning rate (dot: best; capped at the trivial "
                 "loss)", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return _save(fig, folder, "sensitivity.png")


def training_curves(results, folder):
    """Mean training loss along training at each optimizer's best rate, a panel per task."""
    evaluation = results["evaluation"]
    fig, axes = _grid(len(evaluation))
    for ax, (task, per_optimizer) in zip(axes, evaluation.items()):
        steps = results["tasks"][task]["steps"]
        for name, runs in per_optimizer.items():
            curve = runs["best"]["curve"]
            if curve:
                x = (np.arange(len(curve)) + 0.5) * steps / len(curve)
                ax.plot(x, curve, color=COLORS[name], linewidth=1.2)
        ax.set_yscale("log")
        ax.set_title(task, fontsize=9)
        ax.tick_params(labelsize=7)
    _legend(fig, OPTIMIZERS)
    fig.suptitle("Training loss (window means, mean over seeds) at each optimizer's best rate",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return _save(fig, folder, "training_curves.png")


def overfitting(results, folder):
    """Held-out loss along training on the overfit task: Adam, decays, SGD family, AdaBelief."""
    evaluation, decay = results["evaluation"]["overfit"], results["decay"]
    lines = {"adam (no decay)": (evaluation["adam"]["best"], COLORS["adam"], "-"),
             "momentum": (evaluation["momentum"]["best"], COLORS["momentum"], "-"),
             "adabelief": (evaluation["adabelief"]["best"], COLORS["adabelief"], "-"),
             "adamw, decay 0.01": (decay["adamw"], COLORS["adamw"], "-"),
             "adamw, decay 0.1": (decay["adamw-wd0.1"], COLORS["adamw"], "--"),
             "adamw, decay 1": (decay["adamw-wd1"], COLORS["adamw"], ":"),
             "adam, L2 1e-3": (decay["adam-l2-1e-3"], COLORS["adam"], "--")}
    fig, ax = _plt().subplots(figsize=(6.5, 4))
    for label, (runs, color, style) in lines.items():
        if "eval_curve" in runs:
            steps, values = zip(*runs["eval_curve"])
            ax.plot(steps, values, style, color=color, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("held-out loss (mean over seeds)")
    ax.set_title("Overfitting task: held-out loss along training", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, folder, "overfitting.png")


def finder_curves(results, folder, task):
    """The range test on ``task`` for every optimizer: curve, suggestion, grid best, good range."""
    finder, tuning = results["finder"][task], results["tuning"][task]
    fig, axes = _grid(len(finder), 3.2, 2.4)
    for ax, (name, runs) in zip(axes, finder.items()):
        curve = runs[0]["curve"]
        ax.plot(curve["lrs"], curve["losses"], color="0.75", linewidth=0.7)
        ax.plot(curve["lrs"], curve["smoothed"], color=COLORS[name], linewidth=1.4)
        tuned = tuning[name]
        ax.axvspan(tuned["good_low"], tuned["good_high"], color="g", alpha=0.12)
        ax.axvline(tuned["best_lr"], color="g", linewidth=1)
        ax.axvline(runs[0]["suggested_lr"], color="r", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        top = min(max(curve["losses"]), 3 * min(curve["smoothed"]))
        ax.set_ylim(top=max(top, curve["smoothed"][0] * 1.1))
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Range test on {task} (seed 0): red dashed = suggestion, green = grid best and "
                 "its good range", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, folder, "lr_finder.png")


def finder_accuracy(rows, folder):
    """Suggested against grid-best learning rate for every task and optimizer (log-log)."""
    fig, ax = _plt().subplots(figsize=(5, 5))
    lows = [min(r["grid_best_lr"], r["suggested_lr"]) for r in rows]
    highs = [max(r["grid_best_lr"], r["suggested_lr"]) for r in rows]
    line = np.array([min(lows) / 3, max(highs) * 3])
    ax.fill_between(line, line / 3, line * 3, color="g", alpha=0.12, label="within 3x")
    ax.plot(line, line, color="g", linewidth=0.8)
    for name in OPTIMIZERS:
        mine = [r for r in rows if r["optimizer"] == name]
        ax.plot([r["grid_best_lr"] for r in mine], [r["suggested_lr"] for r in mine], "o",
                color=COLORS[name], ms=4, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("grid-best learning rate")
    ax.set_ylabel("finder's suggestion (median over seeds)")
    ax.legend(fontsize=7)
    return _save(fig, folder, "lr_finder_accuracy.png")


def escape(results, folder, lrs):
    """Escape share against learning rate on Rastrigin, a panel per amplitude."""
    data = results["escape"]
    fig, axes = _grid(len(data), 3.6, 2.6)
    for ax, (amplitude, rows) in zip(axes, data.items()):
        for name, row in rows.items():
            ax.plot(lrs, row["tuning_shares"], color=COLORS[name], linewidth=1.2)
        ax.set_xscale("log")
        ax.set_title(f"Rastrigin, A = {amplitude}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    _legend(fig, list(next(iter(data.values()))))
    fig.suptitle("Share of random starts that end in the global minimum's basin", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    return _save(fig, folder, "escape.png")


def _contours(ax, surface):
    x0, x1, y0, y1 = surface.window
    x, y = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    z = surface.f(x, y)
    levels = np.quantile(z, np.linspace(0, 1, 30) ** 2)
    ax.contour(x, y, z, levels=np.unique(levels), colors="0.8", linewidths=0.6)
    ax.plot(*surface.minimum, "k*", ms=8)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def trajectories(results, folder, name):
    """Paths of every optimizer (and Newton's) on one surface, clean and noisy side by side."""
    surface, data = SURFACES[name], results["surfaces"][name]
    fig, axes = _plt().subplots(1, 2, figsize=(11, 4.6))
    for ax, key in zip(axes, ("clean", "noisy")):
        _contours(ax, surface)
        for optimizer, entry in data[key].items():
            path = np.array(entry["path"])
            ax.plot(path[:, 0], path[:, 1], color=COLORS[optimizer], linewidth=1.1,
                    label=f"{optimizer} ({entry['lr']:.2g})")
        if key == "clean" and data["newton"]:
            path = np.array(data["newton"])
            ax.plot(path[:, 0], path[:, 1], "k--o", ms=2, linewidth=1, label="Newton")
        ax.plot(*surface.start, "ko", ms=4)
        ax.set_title(f"{name}{', noisy gradients' if key == 'noisy' else ''}", fontsize=10)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, folder, f"trajectories_{name}.png")


def race(results, folder, frames=40):
    """An animated GIF of every optimizer's path on the four clean surfaces at once.

    matplotlib draws the still parts once (contours, titles, legend); Pillow draws the growing
    paths onto copies of that picture and writes the GIF. Redrawing the whole figure with
    matplotlib for every frame takes ~50 times longer.
    """
    from PIL import Image, ImageDraw

    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(7.5, 6.6), dpi=72)
    for ax, name in zip(axes.flat, SURFACES):
        _contours(ax, SURFACES[name])
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=6)
    _legend(fig, OPTIMIZERS, columns=5)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.canvas.draw()
    background = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    height = background.height
    panels = []  # (box in image pixels, [(colour, path in box pixels)])
    for ax, name in zip(axes.flat, SURFACES):
        x0, y0, x1, y1 = ax.get_window_extent().extents
        box = (int(x0), int(height - y1), int(x1), int(height - y0))
        paths = []
        for optimizer, entry in results["surfaces"][name]["clean"].items():
            pixels = ax.transData.transform(np.array(entry["path"], dtype=np.float64))
            pixels = np.nan_to_num(pixels, nan=-1e4, posinf=1e4, neginf=-1e4).clip(-1e4, 1e4)
            local = np.column_stack([pixels[:, 0] - box[0], height - pixels[:, 1] - box[1]])
            paths.append((COLORS[optimizer], local))
        panels.append((box, paths))
    plt.close(fig)
    steps = len(panels[0][1][0][1]) - 1
    # Later steps move little, so frames are spaced evenly in sqrt(step): the start is detailed.
    marks = np.unique(np.round(np.linspace(0, 1, frames) ** 2 * steps).astype(int))
    images = []
    for end in marks:
        frame = background.copy()
        for box, paths in panels:
            layer = frame.crop(box)
            draw = ImageDraw.Draw(layer)
            for colour, path in paths:
                points = [tuple(p) for p in path[:end + 1]]
                if len(points) > 1:
                    draw.line(points, fill=colour, width=2)
                x, y = points[-1]
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=colour)
            frame.paste(layer, box[:2])
        images.append(frame.quantize(colors=64))
    images[0].save(os.path.join(folder, "race.gif"), save_all=True, append_images=images[1:],
                   duration=[120] * (len(images) - 1) + [2000], loop=0, optimize=True)
    return "race.gif"
