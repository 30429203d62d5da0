"""Benchmarks: how long a learner waits for each check.

    python -m kit.bench [--runs N]

Times `python -m kit check NN` end to end (a fresh process, as `make check-NN` runs it) against
solutions/ and against the pristine stubs, and prints the median and the spread of N runs.
"""
import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks.manifest import EXERCISES
from kit import ROOT
from kit.stubs import build_tree

TARGET = 1.5  # seconds a learner may wait for one check against a finished solution


def wall(cmd, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def check_latency(runs):
    """{exercise: {"solutions": [s...], "stubs": [s...]}}"""
    with tempfile.TemporaryDirectory() as tmp:
        stubs = build_tree(ROOT / "solutions", Path(tmp) / "stubs", 0)
        return {ex: {name: wall([sys.executable, "-m", "kit", "check", ex, "--impl", str(impl)], runs)
                     for name, impl in (("solutions", ROOT / "solutions"), ("stubs", stubs))}
                for ex in EXERCISES}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    args = parser.parse_args(argv)
    print(f"check latency: median (min-max) of {args.runs} runs of `python -m kit check NN`, wall seconds")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"{'check':<10}{'solutions':>22}{'stubs':>22}")
    slow = []
    for ex, times in check_latency(args.runs).items():
        row = [f"{statistics.median(t):.2f} ({min(t):.2f}-{max(t):.2f})" for t in times.values()]
        print(f"check-{ex:<4}{row[0]:>22}{row[1]:>22}")
        if statistics.median(times["solutions"]) > TARGET:
            slow.append(ex)
    print(f"target: every check under {TARGET} s against solutions/: "
          + ("met" if not slow else "missed by check-" + ", check-".join(slow)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
