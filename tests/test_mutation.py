"""make mutation: which checks judge a mutant, its test command for real, the score and the survivors."""

import os
import re
import shlex
import subprocess

import pytest

from kit.dev.mutation import CHECKS, own_checks, prepare, summarise
from kit.exercises import EXERCISES


def row(outcome, path="solutions/train.py", line=3, diff="--- a\n+++ b\n-    x = 1\n+    x = 2\n"):
    job = {"mutations": [{"module_path": path, "start_pos": [line, 0], "operator_name": "core/NumberReplacer"}]}
    return [job, {"test_outcome": outcome, "diff": diff}]


def test_the_score_counts_killed_among_killed_and_survived_and_lists_each_survivor():
    score, outcomes, survivors = summarise(
        [row("killed"), row("killed"), row("killed"), row("survived"), row("incompetent"), [row("killed")[0], None]]
    )
    assert score == 75.0
    assert outcomes == {"killed": 3, "survived": 1, "incompetent": 1, "not run": 1}
    assert survivors == [("solutions/train.py", 3, "core/NumberReplacer", ["-    x = 1", "+    x = 2"])]


def test_each_solution_file_is_judged_by_the_checks_of_the_exercises_whose_regions_it_holds(tmp_path):
    assert CHECKS["derivatives.py"] == ["01"] and CHECKS["train.py"] == ["07"]
    assert "micrograd/__init__.py" not in CHECKS, "a file without regions has no code of any exercise"
    assert sorted(ex for exs in CHECKS.values() for ex in exs) == list(EXERCISES)
    (tmp_path / "micrograd").mkdir()
    (tmp_path / "derivatives.py").write_text("### BEGIN ex01: A.\nx = 1\n### END ex01\n")
    (tmp_path / "micrograd" / "engine.py").write_text("### BEGIN ex05: B.\nx = 1\n### END ex05\n")
    for rel in ("micrograd/__init__.py", "micrograd/nn.py", "train.py"):
        (tmp_path / rel).write_text("")
    assert own_checks(tmp_path) == {"derivatives.py": ["01"], "micrograd/engine.py": ["05"]}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """The scratch kit make mutation builds, and cosmic-ray's test command in it."""
    work = tmp_path_factory.mktemp("mutation")
    prepare(work)
    command = re.search(r'^test-command = "(.*)"$', (work / "cr.toml").read_text(), re.M)[1]
    return work, shlex.split(command)


def run_test_command(scratch):
    work, command = scratch
    env = {**os.environ, "PYTHONPATH": str(work)}  # the scratch copy's kit, as cosmic-ray runs it there
    return subprocess.run(command, cwd=work, capture_output=True, text=True, env=env, timeout=300)


def test_the_test_command_passes_the_pristine_reference(scratch):
    done = run_test_command(scratch)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_test_command_kills_a_mutant_of_train_py_with_check_07(scratch):
    work, _ = scratch
    train = work / "solutions" / "train.py"
    pristine = train.read_text()
    assert "p.data -= lr * p.grad" in pristine, "test setup"
    train.write_text(pristine.replace("p.data -= lr * p.grad", "p.data += lr * p.grad"))
    try:
        done = run_test_command(scratch)
    finally:
        train.write_text(pristine)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "check-07: " in done.stdout and "check-01" not in done.stdout
