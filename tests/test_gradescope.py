"""Gradescope: the autograder zip, run in a root laid out like /autograder, writes valid results."""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import hostile
import pytest

from kit import ROOT
from kit.exercises import TOTAL
from kit.platforms.gradescope import build

jsonschema = pytest.importorskip("jsonschema", reason="the instructor extra (jsonschema) is not installed")
SCHEMA = json.loads((ROOT / "kit" / "platforms" / "schemas" / "gradescope_results.json").read_text())


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    return build(tmp_path_factory.mktemp("zip") / "autograder.zip", seed=77)


def run_autograder(zip_path, root, submission):
    """Unpack the zip as Gradescope does and grade `submission`; returns results.json."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    shutil.copytree(submission, root / "submission", symlinks=True)
    proc = subprocess.run(
        ["bash", str(root / "run_autograder")],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "KIT_AUTOGRADER_ROOT": str(root),
            "KIT_PYTHON": sys.executable,
            "PYTHONDONTWRITEBYTECODE": "1",
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


def test_the_zip_has_setup_and_run_autograder_at_its_root_and_no_solutions(autograder):
    with zipfile.ZipFile(autograder) as zf:
        names = zf.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert not [n for n in names if n.startswith(("solutions/", "tests/", ".git", "kit/dev/"))]
    assert "checks/test_04_backward.py" in names and "kit/instructor/grade.py" in names
    assert json.loads(zipfile.ZipFile(autograder).read("gradescope.json")) == {"seed": 77}


def test_the_scripts_are_valid_bash(autograder, tmp_path):
    with zipfile.ZipFile(autograder) as zf:
        zf.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0


def test_a_correct_submission_earns_every_point_with_one_entry_per_test(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path / "root", hostile.tree(tmp_path / "sub"))
    assert results["score"] == TOTAL
    assert len(results["tests"]) == sum(
        1
        for p in (ROOT / "checks").glob("test_*.py")
        for line in p.read_text().splitlines()
        if line.startswith("def test_")
    )
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])
    assert results["tests"][0]["name"].startswith("check-01 · ") and results["tests"][0]["number"] == "1.1"
    assert results["execution_time"] >= 0 and "check-07 a training loop: 10/10" in results["output"]


def test_a_partial_submission_earns_what_the_checks_give_the_same_code(autograder, tmp_path, checks):
    sub = hostile.tree(tmp_path / "sub", upto=4)
    results = run_autograder(autograder, tmp_path / "root", sub)
    direct = checks("all", sub, "--seed", "77")
    assert results["score"] == sum(direct.earned(ex)[0] for ex in direct.report["checks"])
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 and t["output"] for t in failed)


def test_a_hostile_submission_is_graded_for_its_honest_parts_only(autograder, tmp_path):
    sub = hostile.tree(
        tmp_path / "sub",
        patches=[hostile.top("micrograd/engine.py", ("print('check-02: 10/10 points')\nwhile True:\n    pass"))],
        extra={"conftest.py": "raise SystemExit\n"},
    )
    results = run_autograder(autograder, tmp_path / "root", sub)
    assert results["score"] == 14  # check-01, whose derivatives.py is honest
    assert not (tmp_path / "root" / "source" / "solutions").exists()


def test_an_ungradable_submission_gets_zero_with_the_reason_on_every_check(autograder, tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("nothing here")
    results = run_autograder(autograder, tmp_path / "root", sub)
    assert results["score"] == 0 and len(results["tests"]) == 7
    assert all("could not be graded: no exercise tree was found" in t["output"] for t in results["tests"])
