"""Run checks: `python -m kit check 03 [--impl DIR] [--seed N]`, or `all` for the seven.

The last line is `check-NN: E/M points` (or `total: E/M points` for all), and the exit status is 0
exactly when every point was earned.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

from checks import options as kit_options
from kit import errors, runner
from kit.commands import impl_refusal
from kit.exercises import HELP_IMPL, argument, parse_ids
from kit.learner.install import require


def parser():
    parser = argparse.ArgumentParser(prog="python -m kit check", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", type=argument(parse_ids), help="01 ... 07, several as 03,04, or all")
    parser.add_argument("--impl", default=os.environ.get("IMPL") or None, help=HELP_IMPL)
    parser.add_argument("--seed", type=int, default=None, help=kit_options.HELP_SEED)
    parser.add_argument("--timeout", type=kit_options.seconds, default=None, help=kit_options.HELP_TIMEOUT)
    parser.add_argument("--report", default=None, help=kit_options.HELP_REPORT)
    parser.add_argument("--check-timeout", type=kit_options.seconds, default=None, help=kit_options.HELP_CHECK_TIMEOUT)
    parser.add_argument("--fence", default=None, help=kit_options.HELP_FENCE)
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first test that fails")
    return parser


def options(argv):
    """The command line parsed and checked, as `main` runs it (argparse's SystemExit when it is refused)."""
    parser_ = parser()
    args = parser_.parse_args(argv)
    if args.impl and (why := impl_refusal(args.impl)):
        parser_.error(why)
    return args


def writable(path):
    """Make the report's folders, as pytest's --junitxml does, and try its file: a report that cannot be
    written is refused (KitError, status 2) before any check runs, not after them with a traceback.
    A report left by an earlier run is removed: the file appears again only as this run's, finished."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
        path.unlink()
    except OSError as e:
        why = f"python -m kit check: --report {path}: cannot be written ({e.strerror or e})"
        raise errors.KitError(why, 2) from None


def main(argv=None):
    require()  # pytest is imported only to run the checks: a Python without it is told how to set up
    args = options(argv)
    try:
        if args.report:
            writable(args.report)
    except errors.KitError as e:
        return errors.report(e)
    code = None
    with Interrupts() as interrupts:
        code = runner.run(
            args.exercise,
            impl=args.impl,
            seed=args.seed,
            timeout=args.timeout,
            report=args.report,
            fail_fast=args.fail_fast,
            check_timeout=args.check_timeout,
            fence=args.fence,
        )
    if interrupts.came or code == 130:  # 130: the plugin saw Ctrl-C that came another way
        # Wherever Ctrl-C came (pytest catches it, and the plugin writes no report for it), the run
        # has no score and leaves no report: a file that is there is a finished run's.
        if args.report:
            Path(args.report).unlink(missing_ok=True)
        print("interrupted", file=sys.stderr)
        return 130
    return code


class Interrupts:
    """Whether Ctrl-C came while the checks ran (it still raises KeyboardInterrupt, which pytest catches
    and turns into an exit status of its own). A SIGINT ignored by whoever started the check stays so."""

    def __init__(self):
        self.came, self.previous = False, None

    def __enter__(self):
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self.interrupt)
        return self

    def interrupt(self, signum, frame):
        self.came = True
        raise KeyboardInterrupt

    def __exit__(self, kind, value, traceback):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        self.came = self.came or kind is KeyboardInterrupt  # before pytest could catch it
        return kind is KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
