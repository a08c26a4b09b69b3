"""Command-line plumbing shared by the example scripts: the common flags and one-line failures.

Every script builds its parser with ``make_parser`` and runs its ``main`` through ``run_main``,
so a user sees the same flags everywhere and a mistake (a negative learning rate, a missing
file, an unreadable checkpoint) ends in one line on stderr and a non-zero exit, never a
traceback: a traceback is for bugs in minigrad, not for a typo on the command line.
"""

import argparse
import math
import os
import sys

from optimizers import OPTIMIZERS

from minigrad.optim.backends import BACKENDS

#: Exit status for a bad command line (argparse's own), for a failure while running, for
#: Ctrl-C (128 + SIGINT, as shells report a process killed by it) and for a reader that went
#: away (128 + SIGPIPE: ``script | head`` closed the pipe).
EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 2, 1, 130, 141


class ExampleError(Exception):
    """A problem to report to the user in one line (bad input, no network, corrupt file)."""

    def __init__(self, message, status=EXIT_FAILURE):
        super().__init__(message)
        self.status = status


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default once: not when it is None or a flag's False (there
    is nothing to show), nor when the help text already says what the default is."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False
                or default == argparse.SUPPRESS or "default" in text):
            return text
        if isinstance(default, list | tuple):
            default = " ".join(map(str, default))
        return f"{text} (default: {str(default).replace('%', '%%')})"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (argparse's default adds the usage text),
    and whose help shows the defaults (``HelpFormatter``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive(kind):
    """An argparse type: ``kind`` (int or float) that must be finite and > 0."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not value > 0:
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

    ``epochs`` and ``batch_size`` are the defaults, or a text saying what they depend on (then
    the option defaults to None and the script fills it in with ``fill_defaults``). ``--lr``
    defaults to None, meaning "the rate in learning_rates.py for this task and optimizer".
    With ``comparison`` (for compare_optimizers.py) ``--optimizer`` takes several names and
    there is no ``--lr``: each optimizer runs at its own rate there.
    """
    parser = Parser(description=description)
    group = parser.add_argument_group("training (shared by all examples)")
    names = sorted(OPTIMIZERS)
    if comparison:
        group.add_argument("--optimizer", nargs="+", default=names, choices=names,
                           metavar="NAME", help=f"the optimizers to compare, from {names}")
    else:
        group.add_argument("--optimizer", default="adam", choices=names,
                           help="optimization algorithm ('lookahead' wraps Adam)")
        group.add_argument("--lr", type=positive_float, default=None,
                           help="learning rate (default: the rate chosen for this task and "
                                "optimizer in examples/learning_rates.py; printed at the start)")
    group.add_argument("--epochs", type=positive_int, **_default(epochs),
                       help=_with_default("passes over the data", epochs))
    group.add_argument("--batch-size", type=positive_int, **_default(batch_size),
                       help=_with_default("examples per step", batch_size))
    group.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed for initialisation and data order; same seed, same result")
    group.add_argument("--backend", choices=BACKENDS, default="numba",
                       help="how the optimizer's update loops run")
    group.add_argument("--compile", action="store_true",
                       help="replay the training step compiled (minigrad.compile): same "
                            "numbers, less time")
    if comparison:
        group.add_argument("--out", metavar="DIR", default=None,
                           help="write each finished run, the table, the histories and the "
                                "figure into DIR")
        group.add_argument("--resume", action="store_true",
                           help="reuse the runs already finished in --out DIR, run the rest")
    else:
        group.add_argument("--out", metavar="DIR", default=None,
                           help="write metrics.json and a checkpoint after every epoch, and "
                                "plots at the end, into DIR")
        group.add_argument("--resume", action="store_true",
                           help="continue from the checkpoint in --out DIR")
    group.add_argument("--force", action="store_true",
                       help="start afresh even though --out DIR holds an earlier run, replacing "
                            "it")
    group.add_argument("--quiet", action="store_true",
                       help="print only the table and the summary line (no progress)"
                       if comparison else
                       "print only the summary line (no progress bar, no epoch lines)")
    return parser


def _default(value):
    """argparse's ``default`` for a value that may be a description of per-task defaults."""
    return {"default": None if isinstance(value, str) else value}


def _with_default(text, value):
    return f"{text} (default: {value})" if isinstance(value, str) else text


def fill_defaults(args, defaults, names):
    """Give each option in ``names`` left unset on the command line its value from ``defaults``.

    Sequences are copied into lists, so the config recorded (and compared on --resume) is the
    same whether a value came from the command line or from here.
    """
    for name in names:
        if getattr(args, name) is None:
            value = defaults[name]
            setattr(args, name, list(value) if isinstance(value, tuple | list) else value)


def check_out_flags(args):
    """Refuse flag combinations around ``--out`` that cannot mean anything, in one line."""
    if args.resume and args.out is None:
        raise ExampleError("--resume needs --out DIR, the folder holding the checkpoint",
                           EXIT_USAGE)
    if args.resume and args.force:
        raise ExampleError("--resume continues the run in --out, --force replaces it: give one",
                           EXIT_USAGE)
    check_out_folder(args.out)


def check_out_folder(out):
    """Refuse an ``--out`` that exists but is not a folder."""
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        raise ExampleError(f"--out {out} is a file; give a folder (it is created if missing)",
                           EXIT_USAGE)


def run_main(main):
    """Run ``main()``; turn an ExampleError, Ctrl-C or a closed pipe into one line (or silence)
    and an exit status."""
    try:
        main()
        sys.stdout.flush()  # a closed pipe shows here, inside the try, if not before
    except ExampleError as error:
        label = "" if error.status == EXIT_INTERRUPTED else "error: "
        print(f"{label}{error}", file=sys.stderr)
        sys.exit(error.status)
    except KeyboardInterrupt:  # a Ctrl-C outside the training loop, which handles its own
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader stopped reading (``script | head -2``): nothing is wrong, so no traceback.
        # Point stdout at /dev/null so that Python's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
