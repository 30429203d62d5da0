"""Grading throughput: classes of correct, partial and hostile submissions, the warm pool and a local cluster."""

import sys
import tempfile
import zipfile
from pathlib import Path

from kit import ROOT
from kit.dev.bench.timing import wall
from kit.instructor import sandbox
from kit.regions import build_tree


def make_class(folder, n):
    """n submissions: 6 in 10 correct, 3 partly solved, 1 hostile (fake output, a crash, a conftest
    that forces passes, a zip with escaping members, an endless loop in +), in a fixed rotation."""
    hostile = ["fake", "crash", "conftest", "zip", "endless"]
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
    elif kind == "endless":  # one test's time, then every later call of + fails at once
        engine = tree / "micrograd" / "engine.py"
        engine.write_text(
            engine.read_text().replace(
                "    def __add__(self, other):\n",
                "    def __add__(self, other):\n        while True:\n            pass\n",
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
