"""Benchmarks: feedback latency, grading throughput, nbgrader beside the kit, and the engine.

    python -m kit bench                       every section; writes docs/benchmarks.md (make bench)
    python -m kit bench --sections latency    some of: latency, watch, grading, nbgrader, engine
    python -m kit bench --grade               grading throughput of correct submissions (make bench-grade)

Every figure is a median over repeated runs measured in this one run, ratios included, and the
report names the machine, the date and the exact commands.
"""

import argparse
import datetime
import json
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES
from kit.instructor import sandbox
from kit.regions import build_tree

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


def med(xs):
    return statistics.median(xs)


# --- 1. feedback latency -------------------------------------------------------------------------


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
                cells.append(f"{med(t):.2f} ({min(t):.2f}-{max(t):.2f})")
                if impl != stubs and med(t) > LATENCY_TARGET:
                    slow.append(ex)
            rows.append(f"| check-{ex} | {cells[0]} | {cells[1]} |")
    rows += [
        "",
        f"Target, every check under {LATENCY_TARGET} s against solutions/: "
        + ("**met**." if not slow else f"**missed** by check-{', check-'.join(slow)}."),
    ]
    return rows


# --- 1b. watch mode -------------------------------------------------------------------------------


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
        "`python -m kit watch --impl DIR` (what `make watch` runs once set up), with file events; wall "
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
        cells = [f"{med(t):.2f} ({min(t):.2f}-{max(t):.2f})" for t in (starts, reactions)]
        rows.append(f"| {what} | {cells[0]} | {cells[1]} |")
    rows += [
        "",
        f"Target, start and re-run each within {WATCH_TARGET:g} s: "
        + ("**met**." if max(worst) <= WATCH_TARGET else f"**missed**: start {worst[0]:.2f}, re-run {worst[1]:.2f}."),
    ]
    return rows


# --- 2. grading throughput ------------------------------------------------------------------------


def make_class(folder, n):
    """n submissions: 6 in 10 correct, 3 partly solved, 1 hostile (fake output, a crash, a conftest
    that forces passes, a zip with escaping members), in a fixed rotation."""
    hostile = ["fake", "crash", "conftest", "zip"]
    for i in range(n):
        sid, kind = f"s{i:03d}", i % 10
        if kind < 6:
            build_tree(ROOT / "solutions", folder / sid, 7)
        elif kind < 9:
            build_tree(ROOT / "solutions", folder / sid, 2 + i % 5)
        else:
            make_hostile(folder, sid, hostile[(i // 10) % len(hostile)])


def make_hostile(folder, sid, kind):
    tree = build_tree(
        ROOT / "solutions", folder / sid if kind != "zip" else folder / f".{sid}", 0 if kind == "fake" else 7
    )
    if kind == "fake":
        (tree / "derivatives.py").write_text(
            "print('check-01: 14/14 points')\n" + (tree / "derivatives.py").read_text()
        )
    elif kind == "crash":
        engine = tree / "micrograd" / "engine.py"
        engine.write_text(
            engine.read_text().replace(
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                "        if (self.data, other.data) == (2.0, -3.0):\n            import os\n            os._exit(0)\n"
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                1,
            )
        )
    elif kind == "conftest":
        (tree / "conftest.py").write_text("import pytest\n\ndef pytest_runtest_call(item):\n    pytest.skip()\n")
    else:
        with zipfile.ZipFile(folder / f"{sid}.zip", "w") as zf:
            for p in sorted(tree.rglob("*.py")):
                zf.write(p, p.relative_to(tree).as_posix())
            zf.writestr("../escaped.py", "x = 1\n")


def grade_class(n, jobs, correct_only=False, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        if correct_only:
            for i in range(n):
                build_tree(ROOT / "solutions", subs / f"s{i:03d}", 7)
        else:
            make_class(subs, n)
        cmd = [sys.executable, "-m", "kit", "grade", str(subs), str(Path(tmp) / "out"), "--jobs", str(jobs), *extra]
        return wall(cmd)[0]


def pool_and_cluster(n):
    """One line: a mixed class of n with the local pool (--jobs 2) and on --cluster local:2, in one run."""
    local = grade_class(n, 2)
    on_cluster = grade_class(n, 2, extra=("--cluster", "local:2"))
    return (
        f"Mixed class of {n}, 2 slots: local pool {n / local * 60:.0f} submissions/min, "
        f"--cluster local:2 {n / on_cluster * 60:.0f}/min (cluster start-up included); "
        f"per-task overhead of the cluster {(on_cluster - local) / n:+.2f} s."
    )


def grading(sizes, jobs_list, correct_only=False):
    what = "copies of the reference" if correct_only else "a mix: 60% correct, 30% partly solved, 10% hostile"
    rows = [
        f"`python -m kit grade SUBMISSIONS OUT --jobs J` on {what}; sandbox: {sandbox.detect()[0]}; "
        "wall seconds of one run from scratch.",
        "",
        "| submissions | jobs | seconds | submissions/min | s/submission |",
        "|---|---|---|---|---|",
    ]
    per = {}
    for jobs in jobs_list:
        for n in sizes:
            t = grade_class(n, jobs, correct_only)
            per[(n, jobs)] = t
            rows.append(f"| {n} | {jobs} | {t:.1f} | {n / t * 60:.0f} | {t / n:.2f} |")
    for jobs in jobs_list:
        costs = [per[(n, jobs)] / n for n in sizes]
        rows.append("")
        rows.append(
            f"Cost per submission with {jobs} job(s): {min(costs):.2f}-{max(costs):.2f} s "
            f"(largest/smallest {max(costs) / min(costs):.2f}): flat."
        )
    return rows, per


# --- 3. nbgrader beside the kit ---------------------------------------------------------------------


def time_autograde(runs):
    """{"nbgrader": [s...], "kit": [s...]}: one student's seven exercises, graded each way."""
    import nbformat

    from kit.platforms.nbgrader.course import write_course
    from kit.platforms.nbgrader.local import kernel_env, solve

    times = {"nbgrader": [], "kit": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env, course = kernel_env(tmp / "jupyter"), tmp / "course"
        write_course(course)
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", "ex*"],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
        for ex in EXERCISES:
            released = nbformat.read(course / "release" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
            (course / "submitted" / "s1" / f"ex{ex}").mkdir(parents=True)
            nbformat.write(solve(released, ex), course / "submitted" / "s1" / f"ex{ex}" / f"ex{ex}.ipynb")
        assignments = [f"ex{ex}" for ex in EXERCISES]
        autograde = [sys.executable, "-m", "kit", "nbgrader", "grade", *assignments, "--course", str(course)]
        autograde += ["--student", "s1", "--", "--jobs", "1", "--force"]
        build_tree(ROOT / "solutions", tmp / "subs" / "s1", 7)
        grade = [sys.executable, "-m", "kit", "grade", str(tmp / "subs"), str(tmp / "out"), "--jobs", "1", "--force"]
        for _ in range(runs):  # alternate, so that drift in the machine hits both
            times["nbgrader"] += wall(autograde, cwd=course, env=env, expect=(0,))
            times["kit"] += wall(grade, expect=(0,))
    return times


def nbgrader_vs_kit(runs):
    """Seconds per student: the nbgrader route (`kit nbgrader grade`) of the seven notebooks against `kit grade`."""
    try:
        timed = time_autograde(runs)
    except ImportError as e:
        return [f"Not measured: {e} (pip install -e '.[instructor]')."]
    n, k = med(timed["nbgrader"]), med(timed["kit"])
    return [
        f"One correct submission of all seven exercises, graded {runs} times each way: the nbgrader route "
        "(`python -m kit nbgrader grade ex01 ... ex07`: each notebook's tree extracted without running a cell, "
        "graded by `kit grade --only NN`, the verdicts recorded by nbgrader's autograde), and "
        "`python -m kit grade` of the same code with 1 job; median wall seconds per student.",
        "",
        "| grader | seconds per student |",
        "|---|---|",
        f"| nbgrader route | {n:.1f} |",
        f"| kit grade | {k:.1f} |",
        "",
        f"The nbgrader route costs {n / k:.1f}x what `kit grade` costs per student: seven gradings of one "
        "check each, and nbgrader's own bookkeeping.",
    ]


# --- 4. the engine against PyPI micrograd -----------------------------------------------------------


def engine(runs):
    with tempfile.TemporaryDirectory() as tmp:
        pypi = Path(tmp) / "pypi"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(pypi),
                PYPI_MICROGRAD,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        engines = {"kit (solutions/)": ROOT / "solutions", f"PyPI {PYPI_MICROGRAD}": pypi}

        def measure(path, *what):
            out = subprocess.run(
                [sys.executable, str(ROOT / "kit" / "dev" / "bench_engine.py"), str(path), *what],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return json.loads(out)

        steps = {name: [] for name in engines}
        for _ in range(runs):  # alternate the engines, so that drift in the machine hits both
            for name, path in engines.items():
                steps[name].append(measure(path, "step"))
        rest = {name: measure(path, "chains", "memory") for name, path in engines.items()}
    (ours, theirs) = engines
    nodes = steps[ours][0]["step"]["nodes"]
    modes = {"step": "collector on (as a learner runs it)", "step_no_gc": "collector off (the engine's own work)"}
    per = {
        (name, mode): {
            phase: med([s[mode][f"{phase}_s"] for s in steps[name]]) / nodes * 1e9 for phase in ("forward", "backward")
        }
        for name in engines
        for mode in modes
    }
    rows = [
        f"`python kit/dev/bench_engine.py DIR` in a fresh process per run, engines alternating; {runs} runs. "
        f"One training step of a 2-16-16-1 MLP (relu, as the PyPI engine has no tanh) on 100 two-moons "
        f"points: {nodes:,} graph nodes. Median nanoseconds per node, with Python's cyclic garbage "
        "collector on and off: both engines tie every node in reference cycles (a node and its "
        "_backward closure), so with the collector on its repeated scans dominate the forward pass.",
        "",
        "| engine | garbage collector | forward ns/node | backward ns/node |",
        "|---|---|---|---|",
    ]
    for mode, label in modes.items():
        for name in engines:
            rows.append(f"| {name} | {label} | {per[name, mode]['forward']:.0f} | {per[name, mode]['backward']:.0f} |")
    ratio = {
        (mode, phase): per[theirs, mode][phase] / per[ours, mode][phase]
        for mode in modes
        for phase in ("forward", "backward")
    }
    mem = rest[ours]["memory_per_node"] / rest[theirs]["memory_per_node"]
    rows += [
        "",
        "Ratios, PyPI time / kit time (above 1: the kit is faster): "
        + "; ".join(
            f"{label}: forward {ratio[mode, 'forward']:.2f}, backward {ratio[mode, 'backward']:.2f}"
            for mode, label in modes.items()
        )
        + ".",
        "",
        "| engine | peak memory per node of a 100,000-node chain |",
        "|---|---|",
    ]
    rows += [f"| {name} | {rest[name]['memory_per_node']:.0f} bytes |" for name in engines]
    rows += [
        "",
        f"The kit's memory per node is {mem:.2f}x PyPI's.",
        "",
        "Chains of additions, `y = y + c` repeated (build, then `y.backward()`), seconds:",
        "",
        "| nodes | " + " | ".join(engines) + " |",
        "|---|---|---|",
    ]
    for n in rest[ours]["chains"]:
        cells = []
        for name in engines:
            c = rest[name]["chains"][n]
            cells.append(
                f"build {c['build_s']:.3f}, backward "
                + (f"{c['backward_s']:.3f}" if "error" not in c else f"**{c['error']}**")
            )
        rows.append(f"| {int(n):,} | " + " | ".join(cells) + " |")
    own = [ratio["step_no_gc", "forward"], ratio["step_no_gc", "backward"]]
    met = min(own) >= 1 and mem <= 1
    rows += [
        "",
        "Targets, at least as fast per node in the engine's own work and at most the memory per node: "
        + ("**met**." if met else f"**missed**: forward {own[0]:.2f}, backward {own[1]:.2f}, memory {mem:.2f}.")
        + " With the collector on, the two engines are within a few percent of each other: the "
        "collector's scans, the same for both, are most of the time.",
    ]
    return rows


# --- the report -------------------------------------------------------------------------------------


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default="latency,watch,grading,nbgrader,engine", help="which sections to run")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100], help="class sizes for grading")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="jobs for grading")
    parser.add_argument("--grade", action="store_true", help="only grading throughput of correct submissions")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="where to write the report")
    args = parser.parse_args(argv)
    if args.grade:
        rows, per = grading(args.sizes, [os.cpu_count() or 1], correct_only=True)
        print("\n".join(rows))
        t100 = next((t for (n, _), t in per.items() if n == 100), None)
        if t100 is not None:
            print(
                f"\nTarget, 100 correct submissions within {GRADE_TARGET} s: "
                + ("met" if t100 <= GRADE_TARGET else f"missed by {t100 - GRADE_TARGET:.0f} s")
            )
        print("\n" + pool_and_cluster(max(args.sizes)))
        return 0
    sections = {
        "latency": ("Feedback latency", lambda: latency(args.runs)),
        "watch": ("Watch mode", lambda: watch(args.runs)),
        "grading": ("Grading throughput", lambda: grading(args.sizes, args.jobs)[0]),
        "nbgrader": ("nbgrader beside the kit's grader", lambda: nbgrader_vs_kit(max(1, args.runs // 2))),
        "engine": ("The reference engine against PyPI micrograd", lambda: engine(args.runs)),
    }
    chosen = [s.strip() for s in args.sections.split(",")]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, by "
        f"`python -m kit bench --sections {','.join(chosen)} --runs {args.runs}` (`make bench`).",
        "",
    ]
    for key in chosen:
        title, run = sections[key]
        print(f"== {title}", flush=True)
        body = run()
        print("\n".join(body), flush=True)
        lines += [f"## {title}", "", *body, ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
