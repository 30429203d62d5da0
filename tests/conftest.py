"""Shared fixtures: trees solved through exercise k, and running the checks for real."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit import ROOT
from kit.regions import build_tree


@pytest.fixture(scope="session")
def tree(tmp_path_factory):
    """tree(k): a learner's tree solved through exercise k (0: the pristine stubs), made once."""
    made = {}

    def make(k):
        if k not in made:
            made[k] = build_tree(ROOT / "solutions", tmp_path_factory.mktemp(f"upto{k}"), k)
        return made[k]

    return make


@pytest.fixture
def variant(tmp_path):
    """variant(replacements, file="micrograd/engine.py"): the reference with text replaced in one file."""

    def make(replacements, file="micrograd/engine.py", name="impl"):
        dst = tmp_path / name
        build_tree(ROOT / "solutions", dst, 7)
        path = dst / file
        text = path.read_text()
        for old, new in replacements:
            assert old in text, f"test setup: {old!r} not in {file}"
            text = text.replace(old, new, 1)
        path.write_text(text)
        return dst

    return make


class Run:
    def __init__(self, proc, report):
        self.rc, self.out, self.err, self.report = proc.returncode, proc.stdout, proc.stderr, report

    @property
    def last_line(self):
        return self.out.rstrip().splitlines()[-1]

    def tests(self, check=None):
        return [t for t in self.report["tests"] if check is None or t["check"] == check]

    def earned(self, check):
        c = self.report["checks"][check]
        return c["earned"], c["max"]


def run_checks(which, impl, *extra, cwd=ROOT, env=None, timeout=300):
    """Run `python -m kit check WHICH --impl IMPL` in a subprocess, with a JSON report."""
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"kit-report-{os.getpid()}-{id(extra)}.json"
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "kit", "check", which, "--report", str(report), *extra]
    if impl is not None:
        cmd += ["--impl", str(impl)]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    data = json.loads(report.read_text()) if report.exists() else None
    report.unlink(missing_ok=True)
    return Run(proc, data)


@pytest.fixture
def checks():
    return run_checks


def copy_tree(src, dst):
    shutil.copytree(src, dst)
    return dst


def pytest_configure(config):
    # The self-tests import check modules, whose marks the checks' plugin registers.
    config.addinivalue_line("markers", "points(n): the points a test of a check is worth")


def grading_interrupted(*args, env=None, stderr=subprocess.PIPE):
    """`python -m kit grade ARGS`, given Ctrl-C as in a terminal once its first student is graded:
    (the process, the lines it printed until then, when Ctrl-C came)."""
    run = subprocess.Popen(
        [sys.executable, "-m", "kit", "grade", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
        env=env,
        # Ctrl-C reaches it as in a terminal, even where these tests were started with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    for line in run.stdout:
        lines.append(line)
        if line.startswith("[1/"):
            break
    os.killpg(run.pid, signal.SIGINT)
    return run, lines, time.monotonic()
