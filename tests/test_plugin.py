"""The plugin: points, markers, seeds, the implementation it grades, its score line and exit status."""

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, check_file


def check_tests(ex):
    module = importlib.import_module(f"checks.{Path(check_file(ex)).stem}")
    return module, [(name, fn) for name, fn in vars(module).items() if name.startswith("test_")]


@pytest.mark.parametrize("ex", list(EXERCISES))
def test_every_check_test_carries_points_that_sum_to_the_checks_maximum(ex):
    module, tests = check_tests(ex)
    total = 0
    for name, fn in tests:
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "points"]
        assert len(marks) == 1, f"{name} has no @points"
        total += marks[0].args[0]
        assert name.count("_") >= 4, f"{name} should read as a sentence"
    assert total == POINTS[ex]


def test_a_check_whose_points_do_not_sum_to_its_maximum_is_a_kit_error(tmp_path):
    (tmp_path / "test_03_fake.py").write_text(
        "import pytest\n\n@pytest.mark.points(2)\ndef test_a_b_c_d(probe):\n    pass\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "checks.plugin",
            str(tmp_path / "test_03_fake.py"),
            "--impl",
            str(ROOT / "solutions"),
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode != 0
    assert (
        f"check-03 is worth {POINTS['03']} points (kit/exercises.py) but its tests carry 2 points"
        in proc.stdout + proc.stderr
    )


def test_the_judge_modules_never_import_learner_code():
    learner = {"micrograd", "derivatives", "train"}
    for path in (ROOT / "checks").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in learner, f"{path.name} imports {name}"


def test_the_worker_side_modules_use_the_standard_library_only():
    for path in sorted((ROOT / "checks" / "worker").glob("*.py")):
        name = path.name
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in sys.stdlib_module_names for a in node.names), name
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in sys.stdlib_module_names, (name, node.module)


def test_a_full_score_exits_0_and_ends_with_the_score_line_naming_the_seed(checks):
    run = checks("03", ROOT / "solutions", "--seed", "42")
    assert run.rc == 0
    assert run.last_line == f"check-03: {POINTS['03']}/{POINTS['03']} points"
    assert "with seed 42" in run.out.splitlines()[1]
    assert run.report["seed"] == 42


def test_a_partial_score_exits_1(checks, tree):
    run = checks("01", tree(0))
    assert run.rc == 1 and run.last_line == f"check-01: 0/{POINTS['01']} points"


def test_impl_may_be_relative_absolute_or_given_by_the_environment(checks, tmp_path):
    rel = checks("02", "solutions")
    assert rel.rc == 0 and "grading solutions/ with seed 1" in rel.out
    absolute = checks("02", ROOT / "solutions", cwd=tmp_path)
    assert absolute.rc == 0
    env = checks("02", None, env={"IMPL": str(ROOT / "solutions")})
    assert env.rc == 0 and env.report["impl"] == str(ROOT / "solutions")


def test_the_default_implementation_is_exercises(checks):
    run = checks("01", None, env={"IMPL": ""})
    assert "grading exercises/ with seed 1" in run.out
    assert Path(run.report["impl"]) == ROOT / "exercises"


@pytest.mark.parametrize("seed", [2, 3, 1000, 987654321])
def test_the_reference_earns_full_marks_under_other_seeds(checks, seed):
    run = checks("all", ROOT / "solutions", "--seed", str(seed))
    assert run.rc == 0, run.out


def test_the_same_seed_gives_the_same_report_every_run(checks, tree):
    first, second = checks("all", tree(4), "--seed", "5"), checks("all", tree(4), "--seed", "5")
    assert first.report == second.report
    assert first.out == second.out


def test_kit_seed_in_the_environment_changes_the_inputs(checks):
    run = checks("01", ROOT / "solutions", env={"KIT_SEED": "77"})
    assert run.report["seed"] == 77 and "with seed 77" in run.out


def test_markers_select_one_exercise_through_plain_pytest():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "checks.plugin", "checks", "-m", "ex03", "--impl", "solutions", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"check-03: {POINTS['03']}/{POINTS['03']} points" in proc.stdout
    assert "check-01" not in proc.stdout


def test_an_unknown_exercise_is_refused_with_the_choices():
    proc = subprocess.run([sys.executable, "-m", "kit", "check", "09"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "choose one of 01, 02" in proc.stderr


def test_every_make_target_has_a_plain_equivalent_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert readme.index("make check-01") < readme.index("make test") < readme.index("## The path")
    for target, plain in [
        ("check-03", "python -m kit check 03"),
        ("check", "python -m kit check all"),
        ("test", "python -m pytest"),
        ("stubs", "python -m kit stubs"),
        ("stubs-check", "python -m kit stubs --check"),
        ("figures", "python -m kit figures"),
        ("bench", "python -m kit bench"),
    ]:
        assert f"`make {target}" in readme and plain in readme, target
        assert f"\n{target}:" in makefile or target.startswith("check-"), target


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
