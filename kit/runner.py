"""Running the checks: in this process (`run`: the learner's `python -m kit check`, each forked judge
of a grading's judge servers, watch mode's servers, kit/dev's seeds and mutation), or in a fresh
process whose JSON report is read back (`grade`: progress, solution and the demo).

The report is the plugin's (checks/plugin.py and checks/report.py); pytest's own output is
silenced.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.exercises import check_file
from kit.term import tolerant_output


class GradingError(RuntimeError):
    """The checks ran but wrote no report."""


INTERRUPTED_GRACE = 5.0  # seconds the checks of an interrupted command have to end their workers
UNUSED_PLUGINS = ("logging", "unraisableexception", "threadexception", "doctest", "junitxml", "pastebin", "stepwise")


def pytest_args(
    exercises,
    impl=None,
    seed=None,
    timeout=None,
    report=None,
    fail_fast=False,
    check_timeout=None,
    fence=None,
    until_unfinished=False,
    extra=(),
):
    args = [str(ROOT / check_file(ex)) for ex in exercises]
    # pytest-timeout is named, since plugins found in the environment are not loaded (see run).
    args += ["-p", "pytest_timeout", "-p", "checks.plugin", "-p", "no:cacheprovider"]
    # pytest's plugins for what the judge never does (log, leave unraisable exceptions or threads,
    # run doctests, write XML) cost a tenth of a grading's judge time.
    args += [a for plugin in UNUSED_PLUGINS for a in ("-p", f"no:{plugin}")]
    # pytest's own report goes nowhere (see run; the plugin writes the kit's): --tb=no spares it
    # formatting a traceback for each failing test, most of a partial solution's judge time.
    args += ["--tb=no"]
    args += [
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "checks" / "pytest.ini"),
    ]
    for option, value in (
        ("--impl", impl),
        ("--kit-seed", seed),
        ("--kit-timeout", timeout),
        ("--kit-report", report),
        ("--kit-check-timeout", check_timeout),
        ("--kit-fence", fence),
    ):
        if value is not None:
            args += [option, str(value)]
    if fail_fast:
        args += ["-x"]
    if until_unfinished:
        args += ["--kit-until-unfinished"]
    return args + list(extra)


def run(exercises, plugins=(), **options):
    """Run the checks in this process, the report on stdout; returns pytest's exit status.
    `plugins` are registered beside the kit's: the warm judge's (kit/instructor/pool.py) and watch
    mode's clock (kit/learner/watch_server.py)."""
    import pytest

    from checks import plugin

    tolerant_output()  # the report prints in any encoding (a judge's or watch server's too)
    out = plugin.Output(sys.stdout)
    saved = sys.stdout, os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    sys.stdout = open(os.devnull, "w")  # pytest's own reporter writes here
    # Other packages' pytest plugins (an instructor's jupyter stack brings some) would only slow
    # every check down, and could change it.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        return int(pytest.main(pytest_args(exercises, **options), plugins=[out, *plugins]))
    finally:
        sys.stdout.close()
        sys.stdout = saved[0]
        if saved[1] is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]


def command(which, impl, *options):
    """The command line of `python -m kit check WHICH --impl IMPL OPTIONS...`."""
    return [sys.executable, "-m", "kit", "check", which, "--impl", str(Path(impl).resolve()), *map(str, options)]


def grade(impl, which="all", *options, timeout=None, env=None):
    """The JSON report of `python -m kit check WHICH --impl IMPL OPTIONS...`, run in a fresh process.

    Raises GradingError, with what the process printed, when no report was written."""
    with tempfile.TemporaryDirectory(prefix="kit-report-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = command(which, impl, *options, "--report", report)
        # The checks print in UTF-8 whatever the learner's encoding, and are read as they wrote.
        env = {**(os.environ if env is None else env), "PYTHONIOENCODING": "utf-8"}
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "encoding": "utf-8", "errors": "replace"}
        with subprocess.Popen(cmd, cwd=ROOT, env=env, **pipes) as proc:
            try:
                out, _ = proc.communicate(timeout=timeout)
            except KeyboardInterrupt:
                # Ctrl-C came to the checks too (the terminal's whole process group): they end their
                # workers and leave at once, unless they never got it.
                ended(proc, INTERRUPTED_GRACE)
                raise
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise
        if not report.exists():
            raise GradingError(out.strip() or f"exit status {proc.returncode}")
        return json.loads(report.read_text())


def ended(proc, grace):
    """Wait up to `grace` seconds for `proc` to end on its own, reading its output; then kill it."""
    try:
        proc.communicate(timeout=grace)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass
    finally:
        proc.kill()
