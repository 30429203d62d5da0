"""Feedback latency: a check against a finished solution and against the stubs, and watch mode's start and re-run."""

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kit import ROOT
from kit.dev.bench.timing import LATENCY_TARGET, WATCH_TARGET, med, spread, target, wall
from kit.exercises import EXERCISES
from kit.regions import build_tree


def latency(runs):
    rows = [
        f"`python -m kit check NN --impl DIR` (what `make check-NN` runs), a fresh process each time; "
        f"median (min-max) of {runs} runs, wall seconds.",
        "",
        "| check | solutions/ | pristine stubs |",
        "|---|---|---|",
    ]
    slow = []
    with tempfile.TemporaryDirectory() as tmp:
        stubs = build_tree(ROOT / "solutions", Path(tmp) / "stubs", 0)
        for ex in EXERCISES:
            cells = []
            for impl in (ROOT / "solutions", stubs):
                t = wall([sys.executable, "-m", "kit", "check", ex, "--impl", str(impl)], runs)
                cells.append(spread(t))
                if impl != stubs and med(t) > LATENCY_TARGET:
                    slow.append(ex)
            rows.append(f"| check-{ex} | {cells[0]} | {cells[1]} |")
    rows += ["", target(f"every check under {LATENCY_TARGET} s against solutions/", [f"check-{ex}" for ex in slow])]
    return rows


class WatchSession:
    """`python -m kit watch` in the background, its output read line by line as it comes."""

    def __init__(self, impl, env=None):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit", "watch", "--impl", str(impl)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            # Ctrl-C reaches it as in a terminal, even when this benchmark was started with SIGINT
            # ignored (in the background of a shell), which Python would otherwise keep.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines, self.seen = queue.Queue(), []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text, timeout):
        """Read until a line holding text; returns the seconds since the watch started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.02)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return time.perf_counter() - self.started
        raise AssertionError(f"no {text!r} within {timeout} s; output:\n{''.join(self.seen)}")

    def stop(self):
        """Ctrl-C, as a learner would; returns the exit status."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.seen += list(self.lines.queue)

    def output(self):
        return "".join(self.seen)


def watch_once(folder, upto, save, expect, solved=True):
    """(seconds to the first score line, seconds from a save to the next score line) of one watch.

    The save writes the reference's file (solved) or the tree's own file again, unchanged."""
    impl = build_tree(ROOT / "solutions", Path(folder) / "impl", upto)
    session = WatchSession(impl, {"KIT_WATCH_POLL": ""})
    try:
        start = session.wait_for(f"check-{list(EXERCISES)[upto]}: ", 60)  # the first unfinished
        session.wait_for("for changes", 10)
        time.sleep(0.5)
        (impl / save).write_bytes(((ROOT / "solutions") if solved else impl).joinpath(save).read_bytes())
        saved = time.perf_counter() - session.started
        reaction = session.wait_for(f"check-{expect}: ", 60) - saved
    finally:
        session.stop()
    return start, reaction


def watch(runs):
    cases = [
        (0, "derivatives.py", "02", True, "the stubs; saving a solved derivatives.py moves on to check-02"),
        (4, "micrograd/engine.py", "05", False, "solved through 04; saving engine.py re-runs 01-04, shows 05"),
    ]
    rows = [
        "`python -m kit watch --impl DIR` (what `make watch` runs once set up; the checks shared between two "
        "processes), with file events; wall "
        f"seconds, median (min-max) of {runs} runs: from the start to the first check's score line, and "
        "from a save to the next score line.",
        "",
        "| tree | start | after a save |",
        "|---|---|---|",
    ]
    worst = [0.0, 0.0]
    for upto, save, expect, solved, what in cases:
        starts, reactions = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                start, reaction = watch_once(tmp, upto, save, expect, solved)
            starts.append(start)
            reactions.append(reaction)
        worst = [max(worst[0], med(starts)), max(worst[1], med(reactions))]
        cells = [spread(t) for t in (starts, reactions)]
        rows.append(f"| {what} | {cells[0]} | {cells[1]} |")
    rows += [
        "",
        f"Target, start and re-run each within {WATCH_TARGET:g} s: "
        + ("**met**." if max(worst) <= WATCH_TARGET else f"**missed**: start {worst[0]:.2f}, re-run {worst[1]:.2f}."),
    ]
    return rows
