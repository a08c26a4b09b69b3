"""Command-line plumbing shared by the example scripts: the common flags and one-line failures.

Every script builds its parser with ``make_parser`` and runs its ``main`` through ``run_main``,
so a user sees the same flags everywhere and a mistake (a negative learning rate, a missing
file, an unreadable checkpoint) ends in one line on stderr and a non-zero exit, never a
traceback: a traceback is for bugs in minigrad, not for a typo on the command line.
"""

import argparse
import sys

from optimizers import BACKENDS, OPTIMIZERS

#: Exit status for a bad command line (argparse's own), for a failure while running, and for
#: Ctrl-C (128 + SIGINT, as shells report a process killed by it).
EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130


class ExampleError(Exception):
    """A problem to report to the user in one line (bad input, no network, corrupt file)."""

    def __init__(self, message, status=EXIT_FAILURE):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: argparse's default adds the usage text."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive(kind):
    """An argparse type: ``kind`` (int or float) that must be > 0."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value > 0:  # also rejects nan
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def non_negative_int(text):
    """An argparse type: an int >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


positive_int = _positive(int)
positive_float = _positive(float)


def make_parser(description, *, epochs, batch_size, comparison=False):
    """An argument parser with the flags every example shares, given this script's defaults.

    ``--lr`` defaults to None, meaning "the usual learning rate for the chosen optimizer"
    (see ``optimizers.OPTIMIZERS``); scripts resolve it with ``optimizers.resolve_lr``.
    With ``comparison`` (for compare_optimizers.py) ``--optimizer`` takes several names and
    there is no ``--lr`` or ``--resume``: each optimizer has its own rate there, and a
    comparison is rerun rather than resumed.
    """
    parser = Parser(description=description,
                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    group = parser.add_argument_group("training (shared by all examples)")
    names = sorted(OPTIMIZERS)
    if comparison:
        group.add_argument("--optimizer", nargs="+", default=names, choices=names,
                           metavar="NAME", help=f"the optimizers to compare, from {names}")
    else:
        group.add_argument("--optimizer", default="adam", choices=names,
                           help="optimization algorithm ('lookahead' wraps Adam)")
        group.add_argument("--lr", type=positive_float, default=None,
                           help="learning rate (default: a usual value for the optimizer)")
    group.add_argument("--epochs", type=positive_int, default=epochs, help="passes over the data")
    group.add_argument("--batch-size", type=positive_int, default=batch_size,
                       help="examples per step")
    group.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed for initialisation and data order; same seed, same result")
    group.add_argument("--backend", choices=BACKENDS, default="numba",
                       help="how the optimizer's update loops run")
    group.add_argument("--compile", action="store_true",
                       help="replay the training step compiled (minigrad.compile): same "
                            "numbers, less time")
    group.add_argument("--out", metavar="DIR", default=None,
                       help="write metrics.json and a checkpoint after every epoch into DIR")
    if not comparison:
        group.add_argument("--resume", action="store_true",
                           help="continue from the checkpoint in --out DIR")
    group.add_argument("--quiet", action="store_true",
                       help="print only the summary line (no progress bar, no epoch lines)")
    return parser


def fill_defaults(args, defaults, names):
    """Give each option in ``names`` left unset on the command line its value from ``defaults``.

    Sequences are copied into lists, so the config recorded (and compared on --resume) is the
    same whether a value came from the command line or from here.
    """
    for name in names:
        if getattr(args, name) is None:
            value = defaults[name]
            setattr(args, name, list(value) if isinstance(value, tuple | list) else value)


def check_resume(args):
    """Refuse ``--resume`` without ``--out``: there would be nothing to resume from."""
    if args.resume and args.out is None:
        raise ExampleError("--resume needs --out DIR, the folder holding the checkpoint",
                           EXIT_USAGE)


def run_main(main):
    """Run ``main()``; turn an ExampleError or Ctrl-C into one line on stderr and an exit status."""
    try:
        main()
    except ExampleError as error:
        label = "" if error.status == EXIT_INTERRUPTED else "error: "
        print(f"{label}{error}", file=sys.stderr)
        sys.exit(error.status)
    except KeyboardInterrupt:  # a Ctrl-C outside the training loop, which handles its own
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
