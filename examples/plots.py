"""The pictures a training script leaves in its --out folder (needs matplotlib, optional).

``training_curves`` draws the losses and accuracies of every epoch; ``decision_boundary``
colours the plane by the class a 2-D classifier predicts, with the points on top (the picture
micrograd's demo made familiar). Without matplotlib each says so once and returns False.
"""

import sys

import numpy as np

import minigrad

CURVES = "curves.png"
BOUNDARY = "decision_boundary.png"
_told = False  # whether the "no matplotlib" note was printed already


def pyplot():
    """matplotlib.pyplot drawing to files only, or None (after a one-time note) if missing."""
    global _told
    try:
        import matplotlib
    except ImportError:
        if not _told:
            print("note: matplotlib is not installed, so no plots are drawn "
                  "(pip install matplotlib, or the [examples] extra)", file=sys.stderr)
            _told = True
        return None
    matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    return plt



def training_curves(history, path, title=None, labels=None):
    """Loss (log scale) and, if there is one, accuracy against the epoch; False without
    matplotlib. ``labels`` maps a metric's name to what the legend should call it."""
    plt = pyplot()
    if plt is None or not history:
        return False
    from matplotlib.ticker import MaxNLocator

    labels = {"train_loss": "mean batch loss while training", **(labels or {})}
    epochs = [entry["epoch"] for entry in history]
    losses = [key for key in history[0] if key == "train_loss" or key in ("loss", "mse")]
    accuracies = [key for key in history[0] if key.endswith("accuracy")]
    panels = 2 if accuracies else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.8), squeeze=False)
    for key in losses:
        axes[0, 0].plot(epochs, [entry[key] for entry in history], marker=".",
                        label=labels.get(key, key))
    axes[0, 0].set_yscale("log")
    axes[0, 0].set_ylabel("loss")
    for key in accuracies:
        axes[0, 1].plot(epochs, [100 * entry[key] for entry in history], marker=".",
                        label=labels.get(key, key))
    if accuracies:
        axes[0, 1].set_ylabel("accuracy (%)")
    for ax in axes[0]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def decision_boundary(model, X, y, path, title=None, resolution=300):
    """The plane coloured by ``model``'s predicted class, with the points (X, y) on top; False
    without matplotlib."""
    plt = pyplot()
    if plt is None:
        return False
    margin = 0.1 * (X.max(axis=0) - X.min(axis=0))
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(X.dtype)
    model.eval()
    with minigrad.no_grad():
        predicted = model(minigrad.tensor(grid)).data.argmax(axis=1).reshape(resolution, -1)
    classes = int(y.max()) + 1
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(xs, ys, predicted, levels=np.arange(classes + 1) - 0.5, cmap="Pastel1",
                vmin=0, vmax=8)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Set1", vmin=0, vmax=8, s=6, edgecolors="none")
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
