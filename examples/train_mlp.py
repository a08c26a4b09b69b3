"""Train an MLP classifier with minigrad: three interleaved spirals (built in) or MNIST.

    python examples/train_mlp.py                      # spirals: >= 97% training accuracy
    python examples/train_mlp.py --dataset mnist      # downloads MNIST once, ~98% test accuracy
    python examples/train_mlp.py --optimizer lion --out runs/lion

The spirals are generated (no download): three arms of points winding around the origin, which
no straight line separates, so the network has to bend its decision boundaries around them.
"""

import cli
import loop
import mnist
import numpy as np
import optimizers

import minigrad
import minigrad.nn.functional as F
from minigrad import data, nn, optim

#: Per-dataset defaults. Spirals: two hidden layers of 64 are enough to wrap around the arms;
#: Adam at 0.01 (ten times its usual rate) gets there fast on this small problem, and the rate
#: decays by ``gamma`` each epoch so that the last epochs settle instead of bouncing around.
#: MNIST: the classic 784-256-128-10 ReLU net at Adam's usual rate.
DATASETS = {
    "spirals": {"epochs": 60, "batch_size": 32, "hidden": (64, 64), "lr": {"adam": 0.01},
                "gamma": 0.95},
    "mnist": {"epochs": 10, "batch_size": 128, "hidden": (256, 128), "lr": {}, "gamma": 0.8},
}
SPIRAL_POINTS, SPIRAL_NOISE, SPIRAL_TURNS = 1500, 0.02, 1.0


def make_mlp(sizes):
    """Linear layers of the given widths with ReLU between them (none after the last)."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


class Classification:
    """A classification task for ``loop.fit``: shuffled mini-batches, cross-entropy, accuracy."""

    def __init__(self, model, train, evaluation, batch_size, seed, extra=None):
        self.model, self.batch_size, self.seed = model, batch_size, seed
        self.X, self.y = train
        self.eval_X, self.eval_y = evaluation
        self.extra = extra or {}  # more named (X, y) sets to report accuracy on

    def num_batches(self):
        return -(-len(self.X) // self.batch_size)

    def batches(self, epoch):
        # The order depends only on (seed, epoch): that is what makes --resume exact.
        return data.DataLoader(self.X, self.y, batch_size=self.batch_size, shuffle=True,
                               seed=[self.seed, epoch])

    def loss(self, batch):
        x, y = batch
        return F.cross_entropy(self.model(x), y)

    def _scores(self, X, y):
        logits = self.model(minigrad.tensor(X))
        loss = F.cross_entropy(logits, minigrad.tensor(y)).item()
        return loss, float(np.mean(logits.data.argmax(axis=1) == y))

    def evaluate(self):
        loss, accuracy = self._scores(self.eval_X, self.eval_y)
        metrics = {"loss": loss, "accuracy": accuracy}
        for name, (X, y) in self.extra.items():
            metrics[f"{name}_accuracy"] = self._scores(X, y)[1]
        return metrics


def spirals(seed):
    """Training and held-out test points of the three-arm spiral, from ``seed``."""
    def make(part):
        return data.spirals(SPIRAL_POINTS, classes=3, noise=SPIRAL_NOISE, turns=SPIRAL_TURNS,
                            seed=[seed, part])
    return make(0), make(1)


def mnist_arrays():
    """MNIST as flat float32 pixels scaled to [0, 1] and int64 labels: (train, test)."""
    train_x, train_y, test_x, test_y = mnist.load()

    def prepare(images, labels):
        return ((images.reshape(len(images), -1) / np.float32(255)).astype(np.float32),
                labels.astype(np.int64))
    return prepare(train_x, train_y), prepare(test_x, test_y)


def build_task(dataset, seed, batch_size, hidden=None):
    """The model (initialised from ``seed``) and data of ``dataset`` as a task for ``loop.fit``.

    On spirals the reported metrics are on the training points (what the network fits), with
    the accuracy on held-out points beside them; on MNIST they are on the 10,000 test images.
    """
    hidden = tuple(hidden or DATASETS[dataset]["hidden"])
    if dataset == "spirals":
        train, test = spirals(seed)
        evaluation, extra = train, {"test": test}
    else:
        train, test = mnist_arrays()
        evaluation, extra = test, {}
    classes = int(train[1].max()) + 1
    minigrad.manual_seed(seed)
    model = make_mlp((train[0].shape[1], *hidden, classes))
    return Classification(model, train, evaluation, batch_size, seed, extra)


def parse_args(argv=None):
    parser = cli.make_parser(__doc__.splitlines()[0], epochs=None, batch_size=None)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="spirals",
                        help="built-in spirals, or MNIST (downloaded once into the cache)")
    parser.add_argument("--hidden", type=cli.positive_int, nargs="+", default=None,
                        help="hidden layer widths (default: 64 64 for spirals, 256 128 for MNIST)")
    parser.add_argument("--gamma", type=cli.positive_float, default=None,
                        help="multiply the learning rate by this after every epoch "
                             "(default: 0.95 for spirals, 0.8 for MNIST; 1 keeps it constant)")
    parser.epilog = ("--epochs and --batch-size default to 60 and 32 on spirals, 10 and 128 on "
                     "MNIST; --lr to 0.01 for Adam on spirals, else the optimizer's usual rate.")
    args = parser.parse_args(argv)
    defaults = DATASETS[args.dataset]
    cli.fill_defaults(args, defaults, ["epochs", "batch_size", "hidden", "gamma"])
    args.lr = optimizers.resolve_lr(args.optimizer, args.lr, defaults["lr"])
    cli.check_resume(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    task = build_task(args.dataset, args.seed, args.batch_size, args.hidden)
    optimizer = optimizers.build(args.optimizer, task.model.parameters(), args.lr, args.backend)
    # Exponential decay, not cosine: its rate at epoch e does not depend on --epochs, so a run
    # continued with --resume --epochs M follows the same schedule as one started with M.
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, args.gamma)
    settings = loop.Settings(epochs=args.epochs, out=args.out, resume=args.resume,
                             quiet=args.quiet, compile=args.compile, config=vars(args))
    result = loop.fit(task, optimizer, settings, scheduler)
    final = result.final
    where = "training" if args.dataset == "spirals" else "test"
    extra = (f", held-out accuracy {final['test_accuracy']:.1%}"
             if "test_accuracy" in final else "")
    print(f"{args.dataset}: {where} accuracy {final['accuracy']:.1%} (loss {final['loss']:.4f})"
          f"{extra} after {args.epochs} epochs; {result.seconds:.1f} s training"
          f"{' (compiled)' if args.compile else ''} with "
          f"{args.optimizer} (lr {args.lr:g}, {args.backend} backend)")


if __name__ == "__main__":
    cli.run_main(main)
