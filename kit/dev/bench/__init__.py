"""Benchmarks: feedback latency, grading throughput, nbgrader beside the kit, and the engine.

    python -m kit bench                       every section; writes docs/benchmarks.md (make bench)
    python -m kit bench --sections latency    some of: latency, watch, grading, nbgrader, engine, explain
    python -m kit bench --grade               grading throughput of correct submissions (make bench-grade)
    python -m kit bench --compare REV         this tree against commit REV, in paired rounds (compare.py)

Every figure is a median over repeated runs measured in this one run, ratios included, and the
report names the machine, the date and the exact commands.
"""

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

from kit import ROOT
from kit.dev.bench.compare import compare
from kit.dev.bench.engine import engine
from kit.dev.bench.explain import explain
from kit.dev.bench.grading import grading, pool_and_cluster
from kit.dev.bench.latency import latency, watch
from kit.dev.bench.nbgrader_route import nbgrader_vs_kit
from kit.dev.bench.timing import GRADE_TARGET, speed


def machine():
    cpu = (
        next(
            (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
            platform.processor(),
        )
        if os.path.exists("/proc/cpuinfo")
        else platform.processor()
    )
    return (
        f"{cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()} ({platform.machine()}); "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def speed_line(before, after):
    return (
        f"This machine's speed during the run: a fixed pure-Python loop took {before:.3f} s of CPU at the start "
        f"and {after:.3f} s at the end (`kit/dev/bench/timing.py`, speed). Figures of runs at different speeds "
        "differ by as much."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sections", default="latency,watch,grading,nbgrader,engine,explain", help="which sections to run"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100], help="class sizes for grading")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="jobs for grading (--compare: the largest)")
    parser.add_argument("--grade", action="store_true", help="only grading throughput of correct submissions")
    parser.add_argument("--compare", metavar="REV", help="grade a mixed class with this tree and commit REV in turns")
    parser.add_argument("--pairs", type=int, default=30, help="rounds of --compare (default 30)")
    parser.add_argument("--size", type=int, default=40, help="class size of --compare (default 40)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="where to write the report")
    args = parser.parse_args(argv)
    if args.compare:
        if args.pairs < 1 or args.size < 1:
            parser.error("--compare needs --pairs and --size of at least 1")
        print("\n".join(compare(args.compare, args.pairs, args.size, max(args.jobs))))
        return 0
    if args.grade:
        before = speed()
        rows, per = grading(args.sizes, [os.cpu_count() or 1], correct_only=True)
        print("\n".join(rows))
        t100 = next((t for (n, _), t in per.items() if n == 100), None)
        if t100 is not None:
            print(
                f"\nTarget, 100 correct submissions within {GRADE_TARGET} s: "
                + ("met" if t100 <= GRADE_TARGET else f"missed by {t100 - GRADE_TARGET:.0f} s")
            )
        print("\n" + pool_and_cluster(max(args.sizes)))
        print("\n" + speed_line(before, speed()))
        return 0
    sections = {
        "latency": ("Feedback latency", lambda: latency(args.runs)),
        "watch": ("Watch mode", lambda: watch(args.runs)),
        "grading": ("Grading throughput", lambda: grading(args.sizes, args.jobs)[0]),
        "nbgrader": ("nbgrader beside the kit's grader", lambda: nbgrader_vs_kit(max(1, args.runs // 2))),
        "engine": ("The reference engine against PyPI micrograd", lambda: engine(args.runs)),
        "explain": ("kit explain", lambda: explain(args.runs)),
    }
    chosen = [s.strip() for s in args.sections.split(",")]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, by "
        f"`python -m kit bench --sections {','.join(chosen)} --runs {args.runs}` (`make bench`).",
        "",
    ]
    before = speed()
    for key in chosen:
        title, run = sections[key]
        print(f"== {title}", flush=True)
        body = run()
        print("\n".join(body), flush=True)
        lines += [f"## {title}", "", *body, ""]
    lines[3:3] = ["", speed_line(before, speed())]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
