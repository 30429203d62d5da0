"""Run checks: `python -m kit check 03 [--impl DIR] [--seed N]`, or `all` for the seven.

The report is the plugin's (checks/plugin.py); pytest's own output is silenced. The last line
is `check-NN: E/M points` (or `total: E/M points` for all), and the exit status is 0 exactly when
every point was earned.
"""
import argparse
import os
import sys

import pytest

from checks import plugin
from checks.manifest import EXERCISES, check_file
from kit import ROOT


def pytest_args(exercises, impl=None, seed=None, timeout=None, report=None, fail_fast=False,
                check_timeout=None, extra=()):
    args = [str(ROOT / check_file(ex)) for ex in exercises]
    # pytest-timeout is named, since plugins found in the environment are not loaded (see run).
    args += ["-p", "pytest_timeout", "-p", "checks.plugin", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
             "-c", str(ROOT / "pyproject.toml")]
    if impl:
        args += ["--impl", str(impl)]
    if seed is not None:
        args += ["--kit-seed", str(seed)]
    if timeout is not None:
        args += ["--kit-timeout", str(timeout)]
    if report:
        args += ["--kit-report", str(report)]
    if fail_fast:
        args += ["-x"]
    if check_timeout:
        args += ["--kit-check-timeout", str(check_timeout)]
    return args + list(extra)


def run(exercises, **options):
    """Run the checks in this process; returns pytest's exit status."""
    plugin.OUT = sys.stdout
    saved = sys.stdout, os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    sys.stdout = open(os.devnull, "w")  # pytest's own reporter writes here
    # Other packages' pytest plugins (an instructor's jupyter stack brings some) would only slow
    # every check down, and could change it.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        return int(pytest.main(pytest_args(exercises, **options)))
    finally:
        sys.stdout.close()
        sys.stdout = saved[0]
        if saved[1] is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit check", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", help="01 ... 07, several as 03,04, or all")
    parser.add_argument("--impl", default=os.environ.get("IMPL") or None, help=plugin.HELP_IMPL)
    parser.add_argument("--seed", type=int, default=None, help=plugin.HELP_SEED)
    parser.add_argument("--timeout", type=float, default=None, help=plugin.HELP_TIMEOUT)
    parser.add_argument("--report", default=None, help=plugin.HELP_REPORT)
    parser.add_argument("--check-timeout", type=float, default=None, help=plugin.HELP_CHECK_TIMEOUT)
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first test that fails")
    args = parser.parse_args(argv)
    if args.exercise == "all":
        exercises = list(EXERCISES)
    else:
        exercises = [ex.strip().removeprefix("check-").zfill(2) for ex in args.exercise.split(",")]
        if not all(ex in EXERCISES for ex in exercises):
            parser.error(f"no exercise {args.exercise!r}: choose one of {', '.join(EXERCISES)} or all")
    if args.impl and not os.path.isdir(args.impl):
        parser.error(f"--impl {args.impl}: no such folder")
    return run(exercises, impl=args.impl, seed=args.seed, timeout=args.timeout, report=args.report,
               fail_fast=args.fail_fast, check_timeout=args.check_timeout)


if __name__ == "__main__":
    sys.exit(main())
