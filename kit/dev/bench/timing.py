"""What every benchmark shares: the targets, and timing a command."""

import statistics
import subprocess
import time

from kit import ROOT

LATENCY_TARGET = 1.5  # seconds a learner may wait for one check against a finished solution
WATCH_TARGET = 1.0  # seconds from starting watch mode, or from a save, to the check's score line
GRADE_TARGET = 180  # seconds to grade 100 correct submissions with the default jobs
PYPI_MICROGRAD = "micrograd==0.1.0"


def wall(cmd, runs=1, cwd=ROOT, expect=None, **kw):
    """Wall seconds of each of `runs` runs of `cmd`; with `expect`, a run ending with another exit
    status is an error, so that a failing command is never timed as a fast one."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        times.append(time.perf_counter() - start)
        if expect is not None and proc.returncode not in expect:
            tail = proc.stderr.decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{tail}")
    return times


def spread(xs):
    """'median (min-max)' of wall seconds, as every table of the benchmark shows them."""
    return f"{med(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def target(what, missed):
    """The line under a table: whether `what` was met, and where not."""
    return f"Target, {what}: " + ("**met**." if not missed else f"**missed** by {', '.join(missed)}.")


def med(xs):
    return statistics.median(xs)


def speed():
    """CPU seconds of a fixed pure-Python loop (the best of 3): how fast this machine runs Python
    right now. A shared machine's speed drifts, so two runs of a benchmark compare only beside it."""
    best = None
    for _ in range(3):
        start = time.process_time()
        sum(i * i for i in range(2_000_000))
        took = time.process_time() - start
        best = took if best is None else min(best, took)
    return best
