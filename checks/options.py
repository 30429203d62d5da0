"""The checks' options (`--impl`, `--kit-seed`, ...; `python -m kit check` passes its own on) and
what a run reads from them, and a test's title as the report prints it."""

import argparse
import math
import os
import re
from pathlib import Path

from kit.exercises import HELP_IMPL, default_impl

DEFAULT_SEED = 1
DEFAULT_TIMEOUT = 5.0

HELP_SEED = f"seed of every random input (default: $KIT_SEED or {DEFAULT_SEED})"
HELP_TIMEOUT = f"seconds each test may take (default: $KIT_TIMEOUT or {DEFAULT_TIMEOUT:g})"
HELP_REPORT = "also write every test's result as JSON to this file (its folders are made)"
HELP_CHECK_TIMEOUT = "seconds one whole check may take; its later tests then fail at once (default: none)"
HELP_UNTIL_UNFINISHED = "stop after the first check that is not at full marks (watch mode)"
CHECK_FILE = re.compile(r"^test_(\d\d)_\w+\.py$")  # checks/test_NN_<slug>.py
SECONDS = "a positive, finite number of seconds, e.g. 5"
HELP_FENCE = "a JSON file of the grader's sandbox settings for the worker (kit/instructor/sandbox.py)"


def add_options(parser):
    group = parser.getgroup("micrograd-kit", "micrograd-kit checks")
    group.addoption("--impl", default=None, help=HELP_IMPL)
    group.addoption("--kit-seed", type=int, default=None, help=HELP_SEED)
    group.addoption("--kit-timeout", type=seconds, default=None, help=HELP_TIMEOUT)
    group.addoption("--kit-report", default=None, help=HELP_REPORT)
    group.addoption("--kit-check-timeout", type=seconds, default=None, help=HELP_CHECK_TIMEOUT)
    group.addoption("--kit-fence", default=None, help=HELP_FENCE)
    group.addoption("--kit-until-unfinished", action="store_true", help=HELP_UNTIL_UNFINISHED)


def settings(config):
    impl = config.getoption("impl") or default_impl()
    seed = config.getoption("kit_seed")
    seed = seed if seed is not None else from_environment("KIT_SEED", DEFAULT_SEED, int, "a whole number, e.g. 7")
    timeout = config.getoption("kit_timeout") or from_environment("KIT_TIMEOUT", DEFAULT_TIMEOUT, seconds, SECONDS)
    return Path(impl), seed, timeout


def seconds(text):
    """A time limit (argparse's type): a positive, finite number of seconds. inf, nan, 0 and -1 would
    each end a run in an internal error or fail every test at once."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not {SECONDS}")
    return value


def from_environment(name, default, kind, what):
    """$name read as `kind`; a clear one-line usage error (not a traceback) when it is not one."""
    import pytest  # here: the instructor's tools read `seconds` without pytest

    text = os.environ.get(name, "").strip()
    try:
        return kind(text) if text else default
    except (ValueError, argparse.ArgumentTypeError):
        raise pytest.UsageError(f"{name}={text!r} is not {what}") from None


def sentence(item):
    """The test's title: the first line of its docstring, as written ('14.03 with h = 0.01'), or
    else its name read as words (test_mul_backward_sends -> 'mul backward sends')."""
    name = item.originalname if hasattr(item, "originalname") else item.name
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    text = doc.splitlines()[0].rstrip(".") if doc else name.removeprefix("test_").replace("_", " ")
    param = item.name[len(name) :]
    return text + (f" {param}" if param else "")


def exercise_of(item):
    m = CHECK_FILE.match(item.path.name)
    return m and m[1]


def exercise_of_nodeid(nodeid):
    m = CHECK_FILE.match(nodeid.split("::")[0].rsplit("/", 1)[-1])
    return m and m[1]
