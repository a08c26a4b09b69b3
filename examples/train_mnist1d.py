"""Train a classifier on MNIST-1D, the benchmark's four models, with the reference recipe.

    python examples/train_mnist1d.py --model cnn          # one model: ~94% test accuracy
    python examples/train_mnist1d.py --all --out runs/m1d # all four, the table and a plot

MNIST-1D (Greydanus, 2020, "Scaling Down Deep Learning") is generated offline by the ``mnist1d``
package (``pip install mnist1d``): 4000 training and 1000 test signals of length 40, 10 digit
classes. It separates model families the way MNIST no longer does; its published test
accuracies are logistic regression 32%, MLP 68%, CNN 94%, GRU 91%.

The reference recipe (the mnist1d repository's notebooks/train.py and models.py), the default:
Adam at lr 0.01, batches of 100 taken in order (with 4000 signals, the reference's wrap-around
is one epoch per 40 steps), 8000 steps = 200 epochs, cross-entropy, PyTorch's default
initialisation; the models are

    logistic  Linear(40, 10)
    mlp       h = relu(l1(x)); h = h + relu(l2(h)); l3(h)        hidden 100
    cnn       3 x (Conv1d: 1->25 k5, 25->25 k3, 25->25 k3; stride 2, padding 1; ReLU),
              flatten (125), Linear(125, 10)
    gru       GRU(1, 6, batch_first, bidirectional) over the 40 steps, every output
              flattened (480), Linear(480, 10)

Test accuracy (percent of the 1000 test signals) is measured after every epoch; the final one
is reported, as the reference's last evaluation.
"""

import math
import os

import checkpoints
import cli
import learning_rates
import loop
import numpy as np
import optimizers
from cli import ExampleError

import minigrad
import minigrad.nn.functional as F
from minigrad import data, nn

#: The published test accuracies (the mnist1d README), in percent.
PUBLISHED = {"logistic": 32, "mlp": 68, "cnn": 94, "gru": 91}
MODELS = tuple(PUBLISHED)
EPOCHS, BATCH_SIZE = 200, 100


# ------------------------------------------------------------------------------ the models
class Logistic(nn.Module):
    """Multinomial logistic regression: one Linear layer on the raw signal."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(40, 10)

    def forward(self, x):
        return self.linear(x)


class MLP(nn.Module):
    """Three Linear layers, the middle one with a residual connection."""

    def __init__(self, hidden=100):
        super().__init__()
        self.linear1 = nn.Linear(40, hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, 10)

    def forward(self, x):
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


class CNN(nn.Module):
    """Three strided convolutions with ReLU, then a Linear classifier on the flattened maps."""

    def __init__(self, channels=25):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(channels * 5, 10)  # 40 -> 19 -> 10 -> 5 positions

    def forward(self, x):
        h = x.reshape(x.shape[0], 1, x.shape[-1])
        h = self.conv1(h).relu()
        h = self.conv2(h).relu()
        h = self.conv3(h).relu()
        return self.linear(self.flatten(h))


class GRU(nn.Module):
    """A bidirectional GRU reading the signal one value per step; a Linear on all its outputs."""

    def __init__(self, hidden=6, steps=40):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden * steps, 10)

    def forward(self, x):
        output, _ = self.gru(x.reshape(x.shape[0], x.shape[1], 1))
        return self.linear(output.reshape(output.shape[0], -1))


BUILDERS = {"logistic": Logistic, "mlp": MLP, "cnn": CNN, "gru": GRU}


def build_model(name, seed):
    """The model called ``name``, initialised from ``seed`` (PyTorch's default init)."""
    minigrad.manual_seed(seed)
    return BUILDERS[name]()


# ------------------------------------------------------------------------------- the task
class MNIST1D:
    """A task for ``loop.fit``: batches in order, cross-entropy, test loss and accuracy."""

    def __init__(self, model, dataset, batch_size):
        (self.x, self.y), (self.x_test, self.y_test) = dataset
        self.model, self.batch_size = model, batch_size

    def num_batches(self):
        return math.ceil(len(self.x) / self.batch_size)

    def batches(self, epoch):
        return data.DataLoader(self.x, self.y, batch_size=self.batch_size)

    def loss(self, batch):
        x, y = batch
        return F.cross_entropy(self.model(x), y)

    def evaluate(self):
        logits = self.model(minigrad.tensor(self.x_test))
        loss = F.cross_entropy(logits, minigrad.tensor(self.y_test)).item()
        return {"loss": loss, "accuracy": accuracy(logits.data, self.y_test)}

    def train_accuracy(self):
        """Percent of the training signals classified correctly (once, at the end)."""
        with minigrad.no_grad():
            return accuracy(self.model(minigrad.tensor(self.x)).data, self.y)


def accuracy(logits, labels):
    """Percent of rows whose largest logit is the label."""
    return float(100 * np.mean(logits.argmax(axis=1) == labels))


def load_dataset(seed):
    """MNIST-1D from ``seed``, or a one-line ExampleError saying what to install."""
    try:
        return data.mnist1d(seed=seed)
    except ImportError as error:
        raise ExampleError(str(error)) from None


def train(name, dataset, args, out):
    """Train model ``name`` as ``args`` says; return loop.fit's Result and the task."""
    model = build_model(name, args.seed)
    optimizer = optimizers.build(args.optimizer, model.parameters(), args.lr, args.backend)
    if not args.quiet:
        print(f"{name}: {args.optimizer} at lr {args.lr:g}, {args.lr_reason}. ({args.backend} "
              "backend)", flush=True)
    config = {**vars(args), "model": name, "out": out}
    settings = loop.Settings(epochs=args.epochs, out=out, resume=args.resume, force=args.force,
                             quiet=args.quiet, compile=args.compile, config=config)
    task = MNIST1D(model, dataset, args.batch_size)
    return loop.fit(task, optimizer, settings), task


# -------------------------------------------------------------------------- the table, plot
def table(results, steps):
    """Markdown: each model's final test accuracy beside the published figure."""
    lines = ["| model | test accuracy | published | training time |", "|---|---|---|---|"]
    for name, result in results.items():
        lines.append(f"| {name} | {result.final['accuracy']:.1f}% | {PUBLISHED[name]}% | "
                     f"{result.seconds:.1f} s |")
    lines.append("")
    lines.append(f"{steps} steps of Adam (lr 0.01, batches of 100) per model; test accuracy on "
                 "the 1000 test signals after the last step.")
    return "\n".join(lines)


def plot(results, steps_per_epoch, path):
    """Test accuracy against steps for every model, as a PNG; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, result in results.items():
        steps = [entry["epoch"] * steps_per_epoch for entry in result.history]
        ax.plot(steps, [entry["accuracy"] for entry in result.history], label=name)
        ax.axhline(PUBLISHED[name], color=ax.lines[-1].get_color(), linestyle=":", linewidth=1)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("MNIST-1D with minigrad (dotted: published figures)")
    ax.legend(loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------ the script
def parse_args(argv=None):
    parser = cli.make_parser(__doc__.splitlines()[0], epochs=EPOCHS, batch_size=BATCH_SIZE)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", choices=MODELS, default="cnn", help="the model to train")
    which.add_argument("--all", action="store_true",
                       help="train the four models; write the table (results.md) and a plot "
                            "(test_accuracy.png) into --out (default: runs/mnist1d)")
    parser.add_argument("--data-seed", type=cli.non_negative_int, default=42,
                        help="seed of the generated data set (42: the published one)")
    parser.epilog = ("The reference recipe: 200 epochs of 40 batches = 8000 steps of Adam, "
                     "lr 0.01; the other optimizers' rates are in learning_rates.py.")
    args = parser.parse_args(argv)
    args.lr, args.lr_reason = learning_rates.choose("mnist1d", args.optimizer, args.lr)
    if args.all and args.out is None:
        args.out = os.path.join("runs", "mnist1d")
    cli.check_out_flags(args)
    for name in MODELS if args.all else (args.model,):
        out = os.path.join(args.out, name) if args.all else args.out
        checkpoints.check_out(out, args.resume, args.force)
    return args


def main(argv=None):
    args = parse_args(argv)
    dataset = load_dataset(args.data_seed)
    steps_per_epoch = math.ceil(len(dataset[0][0]) / args.batch_size)
    steps = args.epochs * steps_per_epoch
    if not args.all:
        result, task = train(args.model, dataset, args, args.out)
        print(f"mnist1d {args.model}: test accuracy {result.final['accuracy']:.1f}% (published "
              f"{PUBLISHED[args.model]}%), train {task.train_accuracy():.1f}%, after {steps} "
              f"steps; {result.seconds:.1f} s training with {args.optimizer} (lr {args.lr:g}, "
              f"{args.backend} backend)")
        return
    results = {}
    for name in MODELS:
        results[name], _ = train(name, dataset, args, os.path.join(args.out, name))
        if not args.quiet:
            print(f"{name}: test accuracy {results[name].final['accuracy']:.1f}%", flush=True)
    text = table(results, steps)
    print(text)
    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write(text + "\n")
    png = os.path.join(args.out, "test_accuracy.png")
    if plot(results, steps_per_epoch, png):
        print(f"wrote {os.path.join(args.out, 'results.md')} and {png}")
    else:
        print(f"wrote {os.path.join(args.out, 'results.md')} (no plot: matplotlib is not "
              "installed)")


if __name__ == "__main__":
    cli.run_main(main)
