"""GitHub Classroom: the workflow grades each check as one step worth its maximum."""

import os
import shlex
import subprocess

import pytest

from kit import ROOT
from kit.exercises import POINTS
from kit.platforms.classroom import main, workflow

yaml = pytest.importorskip("yaml", reason="PyYAML (with the instructor extra) is not installed")


def steps():
    return yaml.safe_load(workflow())["jobs"]["run-autograding-tests"]["steps"]


def test_the_workflow_has_one_graded_step_per_check_worth_its_maximum():
    graded = [s for s in steps() if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    assert [s["with"]["command"] for s in graded] == [f"make check-0{i}" for i in range(1, 8)]
    assert [s["with"]["max-score"] for s in graded] == list(POINTS.values())
    assert all(s["id"] == s["name"] for s in graded)


def test_the_reporter_reads_every_steps_result():
    (reporter,) = [s for s in steps() if s.get("uses", "").endswith("autograding-grading-reporter@v1")]
    runners = reporter["with"]["runners"].split(",")
    assert runners == [f"check-0{i}" for i in range(1, 8)]
    assert reporter["env"] == {f"{r.upper()}_RESULTS": f"${{{{steps.{r}.outputs.result}}}}" for r in runners}


@pytest.mark.parametrize("upto, passes", [(7, True), (0, False)])
def test_each_steps_command_passes_exactly_when_the_check_earns_full_marks(tree, upto, passes):
    for step in steps():
        command = step.get("with", {}).get("command")
        if command:
            proc = subprocess.run(
                shlex.split(command),
                cwd=ROOT,
                capture_output=True,
                text=True,
                env={**os.environ, "IMPL": str(tree(upto))},
            )
            assert (proc.returncode == 0) == passes, proc.stdout


def test_make_classroom_writes_the_workflow_file(tmp_path):
    out = tmp_path / ".github" / "workflows" / "classroom.yml"
    assert main(["--out", str(out)]) == 0
    assert out.read_text() == workflow()
