"""Benchmarks: how long a learner waits for each check, and how fast a class is graded.

    python -m kit.bench [--runs N]        check latency
    python -m kit.bench --grade [--jobs N] grading throughput

Check latency times `python -m kit check NN` end to end (a fresh process, as `make check-NN` runs
it) against solutions/ and against the pristine stubs: the median and the spread of N runs.
Grading throughput grades 20, 50 and 100 copies of the reference with `python -m kit grade` and
prints submissions per minute and seconds per submission, to show that the cost is flat.
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks.manifest import EXERCISES
from kit import ROOT, sandbox
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


GRADE_TARGET = 180  # seconds to grade 100 correct submissions with the default jobs


def grading_throughput(sizes, jobs):
    """{n: seconds} to grade n correct submissions from scratch."""
    times = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            subs = Path(tmp) / "subs"
            for i in range(n):
                build_tree(ROOT / "solutions", subs / f"s{i:03d}", 7)
            cmd = [sys.executable, "-m", "kit", "grade", str(subs), str(Path(tmp) / "out")]
            times[n] = wall(cmd + (["--jobs", str(jobs)] if jobs else []), 1)[0]
    return times


def grade_main(args):
    jobs = args.jobs or os.cpu_count()
    print(f"grading throughput: correct submissions, `python -m kit grade` with {jobs} jobs (sandbox: "
          f"{sandbox.detect()[0]}), wall seconds")
    print(f"{'submissions':<14}{'seconds':>10}{'per minute':>12}{'s/submission':>14}")
    times = grading_throughput(args.sizes, args.jobs)
    for n, t in times.items():
        print(f"{n:<14}{t:>10.1f}{n / t * 60:>12.1f}{t / n:>14.2f}")
    if 100 in times:
        verdict = "met" if times[100] <= GRADE_TARGET else f"missed by {times[100] - GRADE_TARGET:.0f} s"
        print(f"target: 100 submissions within {GRADE_TARGET} s: {verdict}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--grade", action="store_true", help="measure grading throughput instead")
    parser.add_argument("--jobs", type=int, default=None, help="jobs for --grade (default: cores)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100], help="class sizes for --grade")
    args = parser.parse_args(argv)
    if args.grade:
        return grade_main(args)
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
