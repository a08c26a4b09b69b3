"""Train a recurrent network (--cell rnn, lstm or gru) on one of two tasks.

    python examples/train_rnn.py                     # character-level language model
    python examples/train_rnn.py --text book.txt     # ... on your own text
    python examples/train_rnn.py --task adding       # the adding problem, sequences of 50

lm (default): predict the next character. With no --text the corpus is text every Python
install already has: the Zen of Python (the ``this`` module) and the docstrings of a fixed list
of standard-library modules, gathered at run time (so it changes a little between Python
versions). Reports validation bits per character against the unigram baseline (the entropy of
the character frequencies alone: what a model that ignores context achieves), then samples.

adding (Hochreiter & Schmidhuber, 1997): each step holds a random number in [0, 1] and a marker;
exactly two steps are marked, one in each half of the sequence, and the target is the sum of the
two marked numbers. Always answering 1.0 scores MSE 1/6 = 0.167; the task counts as solved
below 0.0167. The network must carry a number across up to --seq-len steps while ignoring the
rest, the long-range memory that plain RNNs lack and LSTM and GRU were designed for.
"""

import codecs
import contextlib
import importlib
import inspect
import io
import math
import os
import warnings

import cli
import loop
import numpy as np
import optimizers
from cli import ExampleError

import minigrad
import minigrad.nn.functional as F
from minigrad import data, nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
#: Per-task defaults, measured on a 2-core machine (see the README for the figures).
TASKS = {
    "lm": {"epochs": 6, "batch_size": 32, "seq_len": 64, "hidden": 128, "lr": {"adam": 3e-3}},
    "adding": {"epochs": 12, "batch_size": 50, "seq_len": 50, "hidden": 64,
               "lr": {"adam": 3e-3}},
}
GRAD_CLIP = 1.0  # RNN gradients can explode over long sequences; clip their joint norm
#: The modules whose docstrings make up the default corpus: fixed, so the text is the same on
#: every run of the same Python version.
STDLIB_MODULES = (
    "abc", "argparse", "array", "base64", "bisect", "calendar", "collections", "contextlib",
    "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions",
    "functools", "glob", "gzip", "hashlib", "heapq", "inspect", "io", "ipaddress", "itertools",
    "json", "logging", "math", "operator", "os", "pathlib", "pickle", "pprint", "queue",
    "random", "re", "shutil", "statistics", "string", "subprocess", "tempfile", "textwrap",
    "threading", "typing", "unittest", "urllib.parse", "uuid", "warnings", "zipfile",
)
ADDING_TRAIN, ADDING_TEST = 10_000, 1_000


# ------------------------------------------------------------------------------ the corpus
def zen_of_python():
    """The Zen of Python, without the print that ``import this`` does."""
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return codecs.decode(this.s, "rot13")


def stdlib_docstrings():
    """The docstrings of ``STDLIB_MODULES`` and of their public members, in a fixed order."""
    texts = []
    with warnings.catch_warnings():  # touching deprecated aliases (typing.io...) warns
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in STDLIB_MODULES:
            module = importlib.import_module(name)
            members = [getattr(module, attr) for attr in sorted(vars(module))
                       if not attr.startswith("_")]
            for obj in [module, *members]:
                documented = inspect.ismodule(obj) or inspect.isclass(obj) or \
                    inspect.isroutine(obj)
                doc = inspect.getdoc(obj) if documented else None
                if doc and doc not in texts:  # a member re-exported elsewhere counts once
                    texts.append(doc)
    return texts


def default_corpus():
    """Text every Python install has: the Zen, then standard-library docstrings."""
    return "\n\n".join([zen_of_python(), *stdlib_docstrings()])


def read_text(path):
    """The text of ``path`` (UTF-8, undecodable bytes replaced), or a one-line ExampleError."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except OSError as error:
        raise ExampleError(f"--text: cannot read {path}: {error.strerror}") from None
    if len(text) < 1000:
        raise ExampleError(f"--text: {path} has {len(text)} characters; give at least 1000")
    return text


# ------------------------------------------------------------------------------ the models
class CharModel(nn.Module):
    """Embedding -> recurrent layer -> Linear: next-character logits at every position."""

    def __init__(self, vocab, cell, hidden, embedding=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, embedding)
        self.rnn = CELLS[cell](embedding, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, indices, state=None):
        """indices (B, T) -> logits (B, T, vocab), and the recurrent state to continue from."""
        output, state = self.rnn(self.embed(indices), state)
        return self.head(output), state


class AddingModel(nn.Module):
    """A recurrent layer reading (value, marker) pairs, and a Linear readout of its last state."""

    def __init__(self, cell, hidden):
        super().__init__()
        self.rnn = CELLS[cell](2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        """x (B, T, 2) -> predicted sums (B, 1)."""
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


# ------------------------------------------------------------------------------ the tasks
class _Shuffled:
    """Shared by both tasks: (inputs, targets) arrays visited in a (seed, epoch)-fixed order."""

    def num_batches(self):
        return -(-len(self.inputs) // self.batch_size)

    def batches(self, epoch):
        return data.DataLoader(self.inputs, self.targets, batch_size=self.batch_size,
                               shuffle=True, seed=[self.seed, epoch])


class LanguageModel(_Shuffled):
    """Next-character prediction on a text: 90% to train on, the last 10% to validate."""

    def __init__(self, text, cell, hidden, seq_len, batch_size, seed):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        codes = np.array([self.index[c] for c in text], dtype=np.int64)
        split = int(0.9 * len(codes))
        self.inputs, self.targets = self._windows(codes[:split], seq_len)
        self.val_inputs, self.val_targets = self._windows(codes[split:], seq_len)
        self.batch_size, self.seed = batch_size, seed
        self.unigram_bpc = self._unigram_bpc(codes[:split], codes[split:])
        minigrad.manual_seed(seed)
        self.model = CharModel(len(self.chars), cell, hidden)

    @staticmethod
    def _windows(codes, seq_len):
        """Cut ``codes`` into non-overlapping windows: inputs and the same shifted by one."""
        count = (len(codes) - 1) // seq_len
        if count < 1:
            raise ExampleError(f"the text is too short for --seq-len {seq_len}")
        inputs = codes[:count * seq_len].reshape(count, seq_len)
        targets = codes[1:count * seq_len + 1].reshape(count, seq_len)
        return inputs, targets

    def _unigram_bpc(self, train, val):
        """Bits per character of predicting ``val`` from ``train``'s character frequencies."""
        counts = np.bincount(train, minlength=len(self.chars)) + 1.0  # +1: no zero probabilities
        log2_p = np.log2(counts / counts.sum())
        return float(-log2_p[val].mean())

    def loss(self, batch):
        x, y = batch
        logits, _ = self.model(x)
        return F.cross_entropy(logits.reshape(-1, len(self.chars)), y.reshape(-1))

    def evaluate(self):
        # One batch of all validation windows, each starting from a zero state, as in training.
        logits, _ = self.model(minigrad.tensor(self.val_inputs))
        flat = logits.reshape(-1, len(self.chars))
        targets = self.val_targets.reshape(-1)
        nats = F.cross_entropy(flat, minigrad.tensor(targets)).item()
        accuracy = float(np.mean(flat.data.argmax(axis=1) == targets))
        return {"loss": nats, "bpc": nats / math.log(2), "accuracy": accuracy,
                "unigram_bpc": self.unigram_bpc}

    def sample(self, prompt, length, temperature, seed):
        """Continue ``prompt`` by ``length`` characters drawn from the model's predictions.

        Uses its own generator (from ``seed``), so sampling never disturbs training's.
        """
        rng = np.random.default_rng(seed)
        codes = [self.index[c] for c in prompt if c in self.index] or [0]
        out = []
        self.model.eval()
        with minigrad.no_grad():
            logits, state = self.model(minigrad.tensor(np.array([codes])))
            for _ in range(length):
                last = logits.data[0, -1].astype(np.float64) / temperature
                p = np.exp(last - last.max())
                code = int(rng.choice(len(p), p=p / p.sum()))
                out.append(self.chars[code])
                logits, state = self.model(minigrad.tensor(np.array([[code]])), state)
        return prompt + "".join(out)


def adding_problem(n, seq_len, seed):
    """``n`` adding-problem sequences: X (n, seq_len, 2) float32, y (n, 1) float32.

    Channel 0 holds U(0, 1) numbers, channel 1 the two markers: one at a uniform position in
    the first half, one in the second half. y is the sum of the two marked numbers.
    """
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (n, seq_len))
    half = seq_len // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, seq_len, n)
    markers = np.zeros((n, seq_len))
    rows = np.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=2).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)[:, None]
    return X, y


class Adding(_Shuffled):
    """The adding problem: a fixed training set, and a test set drawn independently."""

    def __init__(self, cell, hidden, seq_len, batch_size, seed, train_size=ADDING_TRAIN):
        self.inputs, self.targets = adding_problem(train_size, seq_len, [seed, 0])
        self.test_inputs, self.test_targets = adding_problem(ADDING_TEST, seq_len, [seed, 1])
        self.batch_size, self.seed = batch_size, seed
        minigrad.manual_seed(seed)
        self.model = AddingModel(cell, hidden)

    def loss(self, batch):
        x, y = batch
        return F.mse_loss(self.model(x), y)

    def evaluate(self):
        prediction = self.model(minigrad.tensor(self.test_inputs))
        return {"mse": F.mse_loss(prediction, minigrad.tensor(self.test_targets)).item()}


def build_task(task, cell, hidden, seq_len, batch_size, seed, text=None, train_size=None):
    """The task object for ``loop.fit``, its model initialised from ``seed``."""
    if task == "adding":
        return Adding(cell, hidden, seq_len, batch_size, seed,
                      train_size=train_size or ADDING_TRAIN)
    return LanguageModel(text if text is not None else default_corpus(), cell, hidden, seq_len,
                         batch_size, seed)


# ------------------------------------------------------------------------------ the script
def parse_args(argv=None):
    parser = cli.make_parser(__doc__.splitlines()[0], epochs=None, batch_size=None)
    parser.add_argument("--task", choices=sorted(TASKS), default="lm",
                        help="character-level language model, or the adding problem")
    parser.add_argument("--cell", choices=sorted(CELLS), default="lstm",
                        help="recurrent layer: Elman RNN (tanh), LSTM or GRU")
    parser.add_argument("--hidden", type=cli.positive_int, default=None,
                        help="hidden units (default: 128 for lm, 64 for adding)")
    parser.add_argument("--seq-len", type=cli.positive_int, default=None,
                        help="sequence length (default: 64 characters for lm, 50 for adding)")
    parser.add_argument("--text", metavar="FILE", default=None,
                        help="lm: train on this UTF-8 text instead of the built-in corpus")
    parser.add_argument("--train-size", type=cli.positive_int, default=ADDING_TRAIN,
                        help="adding: number of training sequences")
    parser.add_argument("--sample-length", type=int, default=300,
                        help="lm: characters to generate at the end (0: none)")
    parser.add_argument("--temperature", type=cli.positive_float, default=0.7,
                        help="lm: sampling temperature (lower is more conservative)")
    parser.epilog = ("Defaults: lm 6 epochs, batches of 32; adding 12 epochs, batches of 50. "
                     "--lr: 0.003 for Adam, else the optimizer's usual rate.")
    args = parser.parse_args(argv)
    defaults = TASKS[args.task]
    cli.fill_defaults(args, defaults, ["epochs", "batch_size", "hidden", "seq_len"])
    args.lr = optimizers.resolve_lr(args.optimizer, args.lr, defaults["lr"])
    if args.task == "adding" and args.seq_len < 2:
        parser.error("--seq-len must be >= 2 for the adding problem (one marker per half)")
    if args.text is not None and args.task != "lm":
        parser.error("--text is for --task lm")
    cli.check_resume(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    text = read_text(args.text) if args.text is not None else None
    if args.text is not None:
        args.text = os.path.abspath(args.text)  # recorded in the config, checked on --resume
    task = build_task(args.task, args.cell, args.hidden, args.seq_len, args.batch_size,
                      args.seed, text, args.train_size)
    optimizer = optimizers.build(args.optimizer, task.model.parameters(), args.lr, args.backend)
    settings = loop.Settings(epochs=args.epochs, out=args.out, resume=args.resume,
                             quiet=args.quiet, grad_clip=GRAD_CLIP, compile=args.compile,
                             config=vars(args))
    result = loop.fit(task, optimizer, settings)
    final, how = result.final, f"{args.cell.upper()}, {args.optimizer} (lr {args.lr:g})"
    timing = f"{args.epochs} epochs; {result.seconds:.1f} s training"
    if args.task == "adding":
        verdict = "solved" if final["mse"] < 0.0167 else "not solved"
        print(f"adding problem, T={args.seq_len}: test MSE {final['mse']:.4f} ({verdict}: "
              f"predicting 1.0 scores 0.167, solved is < 0.0167) with {how}; {timing}")
        return
    if args.sample_length > 0 and not args.quiet:
        print("sample:", task.sample("The ", args.sample_length, args.temperature, args.seed))
    print(f"char LM on {len(task.inputs) * args.seq_len} training characters: validation "
          f"{final['bpc']:.3f} bits/char vs {final['unigram_bpc']:.3f} for the unigram baseline "
          f"({final['accuracy']:.1%} next-char accuracy) with {how}; {timing}")


if __name__ == "__main__":
    cli.run_main(main)
