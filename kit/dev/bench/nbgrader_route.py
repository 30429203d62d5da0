"""The nbgrader route (kit nbgrader grade) beside `kit grade`, per student."""

import subprocess
import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.dev.bench.timing import med, wall
from kit.exercises import EXERCISES
from kit.regions import build_tree


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
