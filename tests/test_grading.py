"""Instructor grading: a class of hostile submissions graded safely, exactly, and resumably."""

import csv
import hashlib
import json
import os
import subprocess
import sys

import hostile
import pytest

from kit import ROOT
from kit.exercises import TOTAL
from kit.instructor import sandbox

ROOT_MODES = os.geteuid() == 0
FAST = ["--probe-timeout", "2.5", "--check-timeout", "10", "--jobs", "2"]


def kit_files():
    """A hash of every file of the kit but the environment and caches."""
    digest = {}
    for p in sorted(ROOT.rglob("*")):
        rel = p.relative_to(ROOT)
        if (
            p.is_file()
            and not {".venv", ".git", "__pycache__"} & set(rel.parts)
            and not rel.parts[0].endswith(".egg-info")
        ):
            digest[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return digest


def grade(submissions, out, *extra):
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(submissions), str(out), *FAST, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def rows(out):
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def points(row):
    return {ex: int(row[f"check-{ex}"]) for ex in hostile.FULL}


def available(mode):
    """The sandbox mode `mode` resolves to here, or a skip where this machine cannot build it."""
    try:
        return sandbox.detect(mode)[0]
    except SystemExit as e:
        pytest.skip(str(e))


def live_processes_of_slots(jobs=2):
    return [
        pid for pid in sandbox._pids() if sandbox._uid_of(pid) in range(sandbox.FIRST_UID, sandbox.FIRST_UID + jobs)
    ]


@pytest.fixture(scope="module", params=["auto", "unshare"])
def graded(tmp_path_factory, request):
    """The hostile class, graded once with the strongest sandbox this machine has, and once with
    util-linux's unshare (the root fallback where bubblewrap is missing)."""
    if request.param == "unshare" and not ROOT_MODES:
        pytest.skip("the unshare sandbox needs a grader running as root")
    mode = available(request.param)
    if mode == "none":
        pytest.skip("hostile submissions need isolation: install bubblewrap or grade as root")
    base = tmp_path_factory.mktemp("class")
    outside = base / "outside"
    outside.mkdir()
    cases = hostile.build(base / "submissions", outside)
    before = kit_files()
    out = base / "out"
    proc = grade(base / "submissions", out, "--sandbox", mode)
    assert f"sandbox {mode}" in proc.stdout
    return {"cases": cases, "out": out, "proc": proc, "before": before, "base": base, "outside": outside, "mode": mode}


@pytest.mark.slow
def test_every_hostile_submission_earns_exactly_what_its_honest_parts_earn(graded):
    got = {row["student"]: row for row in rows(graded["out"])}
    assert sorted(got) == sorted(graded["cases"])
    for sid, (expected, twin) in graded["cases"].items():
        row = got[sid]
        if expected == "twin":
            if twin:
                assert points(row) == points(got[twin]), sid
        elif isinstance(expected, tuple):
            feedback = (graded["out"] / "feedback" / f"{sid}.md").read_text()
            assert points(row) == {ex: 0 for ex in hostile.FULL}, sid
            assert "could not be graded" in feedback and expected[1] in feedback, (sid, feedback)
        else:
            assert points(row) == expected, (sid, points(row))
        assert int(row["total"]) == sum(points(row).values())


@pytest.mark.slow
def test_the_twins_are_neither_full_nor_empty_so_the_comparison_means_something(graded):
    got = {row["student"]: points(row) for row in rows(graded["out"])}
    for twin in ("twin-loop-in-backward", "twin-os-exit-mid-check", "twin-copies-the-solutions", "twin-broken-nn"):
        assert 0 < sum(got[twin].values()) < sum(hostile.FULL.values()), twin


@pytest.mark.slow
def test_grading_leaves_the_kit_and_everything_outside_out_unchanged(graded):
    assert kit_files() == graded["before"]
    assert list(graded["outside"].iterdir()) == []
    assert not (graded["base"] / "escaped.py").exists()
    assert sorted(p.name for p in graded["out"].iterdir()) == [
        ".results",
        "feedback",
        "grade.log",
        "grades.csv",
        "grades.json",
    ]


@pytest.mark.slow
def test_no_process_of_a_submission_survives_grading(graded):
    assert live_processes_of_slots() == []


@pytest.mark.slow
def test_the_gradebook_has_the_contract_header_sorted_rows_json_and_feedback(graded):
    out = graded["out"]
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header == "student,check-01,check-02,check-03,check-04,check-05,check-06,check-07,total"
    students = [row["student"] for row in rows(out)]
    assert students == sorted(students)
    data = json.loads((out / "grades.json").read_text())
    correct = next(s for s in data["students"] if s["id"] == "correct")
    assert all(set(t) >= {"check", "test", "points", "max", "status", "message"} for t in correct["tests"])
    assert sum(t["points"] for t in correct["tests"]) == TOTAL
    feedback = (out / "feedback" / "loop-in-backward.md").read_text()
    assert "## check-04 · topological order and backward()" in feedback and "Took longer than" in feedback
    escapes = (out / "feedback" / "zip-escapes.md").read_text()
    assert "points outside the submission" in escapes and "links are not followed" in escapes


@pytest.mark.slow
def test_a_rerun_skips_graded_students_and_force_regrades_them_identically(graded, tmp_path):
    out = graded["out"]
    before = (out / "grades.csv").read_text()
    again = grade(graded["base"] / "submissions", out)
    assert f"grading 0 of {len(graded['cases'])} submissions" in again.stdout
    assert (out / "grades.csv").read_text() == before
    # An interrupted run: one result and the gradebook are lost; the rerun grades that one only.
    (out / ".results" / "correct.json").unlink()
    (out / "grades.csv").unlink()
    resumed = grade(graded["base"] / "submissions", out)
    assert f"grading 1 of {len(graded['cases'])} submissions" in resumed.stdout
    assert (out / "grades.csv").read_text() == before


def test_the_same_submissions_and_seed_give_the_same_grades_with_force(tmp_path):
    subs = tmp_path / "subs"
    hostile.tree(subs / "a")
    hostile.tree(subs / "b", upto=4)
    hostile.tree(subs / "c", patches=[("micrograd/engine.py", "(1 - t**2)", "(1 - t)")])
    first = grade(subs, tmp_path / "out", "--seed", "4242")
    csv1 = (tmp_path / "out" / "grades.csv").read_text()
    tests1 = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]
    grade(subs, tmp_path / "out", "--seed", "4242", "--force")
    assert (tmp_path / "out" / "grades.csv").read_text() == csv1
    tests2 = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]
    assert [s["tests"] for s in tests1] == [s["tests"] for s in tests2]
    assert "grading 3 of 3" in first.stdout and "/min" in first.stdout and "min left" in first.stdout


def test_only_grades_the_named_checks_and_leaves_the_others_blank(tmp_path):
    hostile.tree(tmp_path / "subs" / "a")
    grade(tmp_path / "subs", tmp_path / "out", "--only", "03,04")
    (row,) = rows(tmp_path / "out")
    assert row["check-03"] == "10" and row["check-04"] == "10" and row["check-01"] == "" and row["total"] == "20"


def test_grading_works_without_a_sandbox_where_neither_root_nor_bubblewrap_is_there(tmp_path):
    subs = tmp_path / "subs"
    hostile.tree(subs / "correct")
    hostile.tree(subs / "stubs", upto=0)
    (subs / "empty").mkdir()
    proc = grade(subs, tmp_path / "out", "--sandbox", "none")
    assert "sandbox none" in proc.stdout
    got = {row["student"]: int(row["total"]) for row in rows(tmp_path / "out")}
    assert got == {"correct": TOTAL, "empty": 0, "stubs": 0}


@pytest.mark.skipif(not ROOT_MODES, reason="the unprivileged worker needs a grader running as root")
@pytest.mark.parametrize("mode", ["bwrap", "unshare"])
def test_as_root_the_worker_runs_as_an_unprivileged_user_that_cannot_see_the_kit(tmp_path, mode):
    available(mode)
    subs = tmp_path / "subs"
    probe_code = (
        "import os\n"
        f"_seen = os.path.exists({str(ROOT / 'solutions')!r} + '/derivatives.py')\n"
        "def derivative(f, x, h=1e-4):\n"
        "    return float(os.getuid() * 10 + _seen)\n"
    )
    hostile.tree(subs / "spy", extra={"derivatives.py": probe_code})
    grade(subs, tmp_path / "out", "--sandbox", mode, "--only", "01")
    feedback = (tmp_path / "out" / "feedback" / "spy.md").read_text()
    uids = {str(uid * 10) for uid in range(sandbox.FIRST_UID, sandbox.FIRST_UID + 2)}
    assert any(f"returned {uid}.0," in feedback for uid in uids), feedback


def test_a_missing_submissions_folder_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "nope"), str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no such folder" in proc.stderr
