"""Adjustments and deadlines: an instructor's decisions applied on every run, within bounds, with reasons."""

import csv
import json
import os
import subprocess
import sys
from argparse import Namespace
from datetime import datetime, timedelta, timezone

import hostile
import pytest
from test_grading import grade, rows

from kit import ROOT
from kit.instructor import adjust, gradebook, ids
from kit.platforms import lateness

DEADLINE = "2026-12-01T23:59+00:00"
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)


def result(sid, **earned):
    """A graded result as `kit grade` keeps it, with these raw points per check."""
    checks = {ex: {"earned": e, "max": hostile.FULL[ex]} for ex, e in earned.items()}
    return {"id": sid, "status": "graded", "reason": "", "checks": checks, "tests": [], "notes": [], "review": []}


def options(**kw):
    keys = ("adjustments", "deadline", "late_penalty", "late_cap", "extensions", "times")
    return Namespace(**{k: kw.get(k) for k in keys})


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- the pure rules -------------------------------------------------------------------------------


def test_a_check_adjustment_is_clipped_to_its_bounds_and_a_total_one_is_shown_as_the_totals(tmp_path):
    f = write(tmp_path / "a.csv", "id,check,points,reason\na,01,+5,regraded\na,02,-3,copied\na,total,10%,bonus\n")
    plan = adjust.plan(options(adjustments=f), {"a"}, ["01", "02"])
    r = adjust.apply(result("a", **{"01": 12, "02": 1}), plan)
    assert r["checks"]["01"]["earned"] == 12 and r["checks"]["02"]["earned"] == 1  # the raw points are kept
    by = {a["check"]: a for a in r["adjustments"]}
    assert by["01"]["points"] == 2 and by["01"]["clipped"]  # 12 + 5 is held at the check's 14
    assert by["02"]["points"] == -1 and by["02"]["clipped"]  # never below 0
    assert by["total"]["points"] == 2.4 and by["total"]["asked"] == "+10%"  # 10% of the 24 graded
    assert r["total"] == 14 + 0 + 2.4 and adjust.adjusted_checks(r) == {"01": 14, "02": 0}
    assert plan.settings() == {"adjustments": True}  # what grades.json says beside the settings


def test_every_bad_line_is_listed_before_anything_is_applied(tmp_path):
    f = write(
        tmp_path / "a.csv",
        "id,check,points,reason\nzed,01,+1,x\na,09,+1,x\na,01,1e3,x\na,01,+1,\na,01,nan,x\n\x1b[2Jevil,total,+1,x\n",
    )
    with pytest.raises(adjust.Invalid) as e:
        adjust.plan(options(adjustments=f), {"a"}, ["01"])
    said = str(e.value)
    assert "6 bad lines" in said and all(f"line {n}:" in said for n in range(2, 8))
    assert "'zed'" in said and "check '09'" in said and "no reason" in said and "\x1b" not in said


def test_a_file_of_semicolons_as_excel_saves_one_is_told_so_in_one_line_and_one_bad_line_is_one(tmp_path):
    """Excel where a comma is the decimal mark saves `id;check;points;reason`: one cell a line, not a reason
    that wants quoting."""
    f = write(tmp_path / "a.csv", "id;check;points;reason\na;01;+1;late\n")
    with pytest.raises(adjust.Invalid, match="its cells are separated by ';': save it with commas"):
        adjust.plan(options(adjustments=f), {"a"}, ["01"])
    f = write(tmp_path / "b.csv", "a,01,+1\n")
    with pytest.raises(
        adjust.Invalid, match=r": 1 bad line, nothing was graded:\n  line 1: 3 cells for id,check,points"
    ):
        adjust.plan(options(adjustments=f), {"a"}, ["01"])


def test_a_quote_never_closed_is_refused_by_its_line_and_takes_no_other_students_lines_into_a_reason(tmp_path):
    """csv reads an unclosed quote to the end of the file: ann's reason would hold ben's and cat's lines, which
    her feedback would show, and theirs would never be applied."""
    f = write(tmp_path / "a.csv", 'id,check,points,reason\na,01,+1,"never closed\nb,01,-5,copied\nc,total,-10%,x\n')
    with pytest.raises(adjust.Invalid) as e:
        adjust.plan(options(adjustments=f), {"a", "b", "c"}, ["01"])
    assert "line 2: cannot be read (a quote opened on this line is never closed)" in str(e.value)
    f = write(tmp_path / "b.csv", 'a,01,+1,"a reason\non two lines"\nzed,01,+1,x\n')  # a quoted newline is fine
    with pytest.raises(adjust.Invalid, match="line 3: no submission of the id 'zed'"):  # the line it is on
        adjust.plan(options(adjustments=f), {"a"}, ["01"])


def test_an_amount_past_a_million_is_refused_by_its_line_not_met_as_infinity_once_the_class_is_graded(tmp_path):
    f = write(tmp_path / "a.csv", f"a,01,{'9' * 400},generous\na,total,{'1' + '0' * 21}%,x\na,02,+1000000,ok\n")
    with pytest.raises(adjust.Invalid) as e:
        adjust.plan(options(adjustments=f), {"a"}, ["01", "02"])
    assert "2 bad lines" in str(e.value) and "line 1: '999" in str(e.value) and "line 2: '1000" in str(e.value)
    assert "is more than 1,000,000 points or percent" in str(e.value)
    with pytest.raises(adjust.Invalid, match="--late-penalty: '999.* is more than 1,000,000"):
        adjust.rule("9" * 400 + "%/day")  # else infinite, and said in grades.json's settings once the class is graded
    with pytest.raises(adjust.Invalid, match="--late-cap: '999.* is more than 1,000,000"):
        adjust.rule("10%/day", "9" * 400)


def test_a_line_may_name_a_student_in_another_case_as_kit_grade_reads_alice_and_alice_as_one(tmp_path):
    """kit grade takes `Alice` and `alice` for one student (kit/instructor/ids.py): a file exported from an
    LMS in lower case names the upload `Alice` and no one else; an id that is no one's is still refused."""
    graded = ids.graded_name("José García")
    f = write(tmp_path / "a.csv", f"alice,01,+1,lower\nBOB@UNI.EDU,total,-1,upper\n{graded.upper()},01,+1,x\n")
    t = write(tmp_path / "t.csv", "ALICE,2026-12-02T10:00Z\n")
    plan = adjust.plan(options(adjustments=f, deadline=DEADLINE, times=t), {"Alice", "bob@uni.edu", graded}, ["01"])
    assert sorted(plan.adjustments) == sorted(["Alice", "bob@uni.edu", graded]) and list(plan.times) == ["Alice"]
    with pytest.raises(adjust.Invalid, match="line 1: no submission of the id 'alyce'"):
        adjust.plan(options(adjustments=write(tmp_path / "b.csv", "alyce,01,+1,x\n")), {"Alice"}, ["01"])


def test_a_line_may_name_a_student_by_the_id_submitted_or_by_the_name_graded_under_as_grades_json_has_it(tmp_path):
    graded = ids.graded_name("José García")  # José_García~978edf99a5ad71c4
    f = write(tmp_path / "a.csv", f"José García,01,+1,as submitted\n{graded},total,+2,as graded\n")
    t = write(tmp_path / "t.csv", f"{graded},2026-12-02T10:00Z\n")
    plan = adjust.plan(options(adjustments=f, deadline=DEADLINE, times=t), {graded, "ann"}, ["01"])
    assert [(where, reason) for where, _, reason in plan.adjustments[graded]] == [
        ("01", "as submitted"),
        ("total", "as graded"),
    ]
    assert list(plan.times) == [graded]


def test_a_file_past_its_bound_is_refused_having_read_no_further_than_the_bound(tmp_path, monkeypatch):
    """/dev/zero, a pipe that never ends or a file of gigabytes: read whole, any of them would take the memory."""
    monkeypatch.setattr(adjust, "MAX_CHARS", 1 << 20, raising=False)
    f = write(tmp_path / "t.csv", "x,2026-12-02T10:00Z\n" * 60_000)  # 1.2 MB
    with pytest.raises(adjust.Invalid, match="t.csv: more than 1 MB, far more than a class needs"):
        adjust.rows(f, ["id", "time"], "--times")
    with pytest.raises(adjust.Invalid, match="/dev/zero: more than"):
        adjust.rows("/dev/zero", ["id", "time"], "--times")


def test_a_time_without_a_zone_is_refused_and_z_means_utc(tmp_path):
    assert adjust.when("2026-12-01T23:59Z") == DUE
    with pytest.raises(ValueError, match="no time zone"):
        adjust.when("2026-12-01T23:59")
    f = write(tmp_path / "t.csv", "id,time\na,2026-12-02T10:00\n")
    with pytest.raises(adjust.Invalid, match="line 2: .*no time zone"):
        adjust.plan(options(deadline=DEADLINE, times=f), {"a"}, ["01"])
    with pytest.raises(adjust.Invalid, match="--deadline"):
        adjust.plan(options(deadline="tomorrow"), {"a"}, ["01"])
    with pytest.raises(adjust.Invalid, match="need --deadline"):
        adjust.plan(options(late_penalty="10%/day"), {"a"}, ["01"])


@pytest.mark.parametrize(
    ("late", "rule", "cap", "taken"),
    [
        (timedelta(minutes=1), "10%/day", None, 2.4),  # a started day is a day
        (timedelta(days=1, seconds=1), "10%/day", None, 4.8),
        (timedelta(days=9), "10%/day", "50%", 12),  # at most half of the 24
        (timedelta(hours=3), "1/hour", None, 3),
        (timedelta(days=30), "10%/day", None, 20),  # never below 0
        (-timedelta(hours=1), "10%/day", None, 0),  # early
    ],
)
def test_the_late_penalty_counts_started_periods_up_to_its_cap(tmp_path, late, rule, cap, taken):
    f = write(tmp_path / "t.csv", f"id,time\na,{(DUE + late).isoformat()}\n")
    plan = adjust.plan(options(deadline=DEADLINE, late_penalty=rule, late_cap=cap, times=f), {"a"}, ["01", "02"])
    r = adjust.apply(result("a", **{"01": 14, "02": 6}), plan)
    assert r["total"] == 20 - taken and r["lateness"]["late_seconds"] == max(0, late.total_seconds())
    assert [a["points"] for a in r["adjustments"]] == ([-taken] if taken else [])
    assert adjust.apply(r, plan) == r  # applied to what it wrote, it gives the same: never twice


def test_an_extension_moves_one_students_deadline_and_a_student_without_a_time_is_not_penalised(tmp_path):
    t = write(tmp_path / "t.csv", "id,time\na,2026-12-03T12:00+01:00\nb,2026-12-03T12:00+01:00\n")
    e = write(tmp_path / "e.csv", "id,deadline\na,2026-12-04T00:00+00:00\n")
    given = options(deadline=DEADLINE, late_penalty="10%/day", times=t, extensions=e)
    plan = adjust.plan(given, {"a", "b", "c"}, ["01"])
    a, b, c = (adjust.apply(result(s, **{"01": 14}), plan) for s in "abc")
    assert a["total"] == 14 and a["lateness"]["extended"] and a["lateness"]["late_seconds"] == 0
    assert b["total"] == 14 - 2 * 1.4 and not b["lateness"]["extended"]  # 1 day 11 hours late: two started days
    assert c["total"] == 14 and "no submission time" in c["lateness"]["note"] and not c["adjustments"]


def test_an_applied_result_passes_the_gradebook_check_and_its_feedback_escapes_the_reason(tmp_path):
    f = write(tmp_path / "a.csv", 'id,check,points,reason\na,01,-1.5,"```\n# forged \x1b[31m"\n')
    plan = adjust.plan(options(adjustments=f), {"a"}, ["01"])
    r = gradebook.checked_result(adjust.apply(result("a", **{"01": 14}), plan))
    text = gradebook.feedback(r, {"01": "numeric derivatives"})
    assert "**Total: 12.5/14 points**" in text and "check-01: -1.5 (asked -1.5): ```" in text
    assert "\x1b" not in text and "````text" in text  # the reason cannot close its fence
    with pytest.raises(gradebook.Invalid):
        gradebook.checked_result(dict(r, total=99))


# --- on `kit grade` -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three students of check-01 (one id hostile) graded with adjustments, a deadline, extensions and times."""
    tmp = tmp_path_factory.mktemp("adjust")
    subs = tmp / "subs"
    for sid in ("alice", "bob", "=cmd|x"):
        hostile.tree(subs / sid, upto=1 if sid != "bob" else 0)
    files = {
        "adjustments": "id,check,points,reason\nalice,01,-2,shared code with bob\n=cmd|x,total,+1,<b>regrade</b>\n",
        "times": "id,time\nalice,2026-12-02T05:00+00:00\nbob,2026-12-03T00:30+00:00\n",
        "extensions": "id,deadline\nbob,2026-12-03T00:00+00:00\n",
    }
    flags = [x for name, text in files.items() for x in (f"--{name}", write(tmp / f"{name}.csv", text))]
    flags += ["--deadline", DEADLINE, "--late-penalty", "10%/day", "--late-cap", "50%", "--only", "01"]
    grade(subs, tmp / "out", *flags)
    return tmp, flags


def test_kit_grade_records_raw_points_the_adjustments_and_the_total_after_them(graded):
    tmp, _ = graded
    data = json.loads((tmp / "out" / "grades.json").read_text())
    assert data["deadline"] == "2026-12-01T23:59:00+00:00" and data["late_penalty"] == "10%/day, at most 50%"
    s = {r["id"]: r for r in data["students"]}
    assert s["alice"]["checks"]["01"]["earned"] == 14  # raw
    assert [a["points"] for a in s["alice"]["adjustments"]] == [-2, -1.4] and s["alice"]["total"] == 10.6
    assert s["bob"]["total"] == 0 and s["bob"]["lateness"]["extended"]  # nothing to take from 0
    odd = s[ids.graded_name("=cmd|x")]  # found by the name it is graded under
    assert odd["total"] == 14 and odd["lateness"]["submitted"] is None and odd["adjustments"][0]["clipped"]
    table = {r["student"]: r for r in rows(tmp / "out")}
    assert table["alice"]["check-01"] == "12" and table["alice"]["total"] == "10.6"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in table.values() for cell in row.values())
    feedback = (tmp / "out" / "feedback" / "alice.md").read_text()
    assert "shared code with bob" in feedback and "late penalty: submitted 5.0 hours after" in feedback


def test_a_rerun_keeps_the_adjustments_and_one_without_the_file_is_refused_unless_meant(graded):
    tmp, flags = graded
    before = (tmp / "out" / "grades.csv").read_text()
    proc = grade(tmp / "subs", tmp / "out", *flags)
    assert "grading 0 of 3" in proc.stdout and (tmp / "out" / "grades.csv").read_text() == before
    refused = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp / "subs"), str(tmp / "out"), "--only", "01"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 1 and "it applied --adjustments, which this run does not" in refused.stderr
    assert (tmp / "out" / "grades.csv").read_text() == before
    grade(tmp / "subs", tmp / "out", "--only", "01", "--force")
    assert {r["student"]: r["total"] for r in rows(tmp / "out")}["alice"] == "14"
    grade(tmp / "subs", tmp / "out", *flags)
    assert (tmp / "out" / "grades.csv").read_text() == before


def test_an_adjustment_for_an_unknown_id_stops_kit_grade_before_anyone_is_graded(tmp_path):
    hostile.tree(tmp_path / "subs" / "alice", upto=0)
    f = write(tmp_path / "a.csv", "alice,01,+1,ok\nmallory,01,+1,x\nalice,01,lots,x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "subs"), str(tmp_path / "out"), "--adjustments", f],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "2 bad lines" in proc.stderr and "line 2:" in proc.stderr
    assert "line 3:" in proc.stderr and "mallory" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists() and not list((tmp_path / "out" / ".results").iterdir())


# --- on Gradescope and nbgrader -------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root; so must this test")
def test_gradescope_takes_the_submission_time_and_due_date_from_its_metadata_and_its_students_rows(tmp_path):
    from test_gradescope import run_autograder

    from kit.platforms.gradescope import build

    rows_ = "id,check,points,reason\nann@uni.edu,01,-4,pair work\nother@uni.edu,01,-9,not this student's\n"
    late, text = lateness.checked("10%/day", "50%", write(tmp_path / "a.csv", rows_), ["01"])
    zip_path = build(tmp_path / "autograder.zip", only=["01"], late=late, adjustments=text)
    meta = {
        "created_at": "2026-12-03T01:00:00.000000-08:00",  # 2 days and 2 hours after the due date below
        "assignment": {"due_date": "2026-11-30T23:00:00.000000-08:00", "late_due_date": None},
        "users": [{"email": "ann@uni.edu", "id": 1234, "name": "Ann"}],
    }
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "submission_metadata.json").write_text(json.dumps(meta))
    results, _ = run_autograder(zip_path, tmp_path / "root", hostile.tree(tmp_path / "sub", upto=1))
    assert results["score"] == 5.8  # 14, her row only (-4), then three started days of 10% of 14
    assert "pair work" in results["output"] and "not this student" not in results["output"]
    assert "late penalty: submitted 50.0 hours after the deadline (10%/day, at most 50%)" in results["output"]


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root; so must this test")
def test_gradescope_without_a_submission_time_penalises_nothing_and_says_so(tmp_path):
    from test_gradescope import run_autograder

    from kit.platforms.gradescope import build

    zip_path = build(tmp_path / "autograder.zip", only=["01"], late={"late_penalty": "1/hour", "late_cap": None})
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "submission_metadata.json").write_text(json.dumps({"assignment": {"due_date": DEADLINE}}))
    results, _ = run_autograder(zip_path, tmp_path / "root", hostile.tree(tmp_path / "sub", upto=1))
    assert results["score"] == 14 and "no submission time was recorded: no late penalty" in results["output"]


@pytest.mark.parametrize("given", [" stu@uni.edu", "Stu@Uni.edu", " STU@uni.edu ", " 1234 "])
def test_a_gradescope_run_keeps_its_students_line_whose_id_has_spaces_around_it_or_another_case(tmp_path, given):
    """As `kit grade` reads an id (stripped; one student once case is ignored), never a line dropped unsaid."""
    f = write(tmp_path / "a.csv", f"id,check,points,reason\n{given},03,+2,regrade\nother@uni.edu,03,-9,not hers\n")
    lateness.checked(None, None, f, ["03"])  # the zip is built with it
    meta = {"users": [{"email": "stu@uni.edu", "id": 1234, "name": "Stu"}]}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    flags = lateness.gradescope({}, f, tmp_path / "meta.json", tmp_path, sid="submission")
    assert flags == ["--adjustments", str(tmp_path / "adjustments.csv")]
    kept = adjust.adjustments(flags[1], {"submission"}, ["03"])  # as kit grade reads the run's file
    assert kept == {"submission": [("03", adjust.amount("+2"), "regrade")]}


def test_kit_gradescope_refuses_an_adjustments_file_naming_one_student_under_two_ids_equal_but_for_case(tmp_path):
    """A run would apply both lines; `kit grade` refuses the one that names no submission."""
    rows_ = "id,check,points,reason\nann@uni.edu,01,+1,a\nbob@uni.edu,01,+1,b\nAnn@Uni.edu,01,+1,c\n"
    with pytest.raises(adjust.Invalid) as e:
        lateness.checked(None, None, write(tmp_path / "a.csv", rows_), ["01"])
    said = str(e.value)
    assert "1 bad line," in said and "line 4: 'Ann@Uni.edu' and line 2's 'ann@uni.edu' are one student's id" in said


def test_kit_gradescope_refuses_a_bad_rule_or_adjustments_file_before_building(tmp_path, capsys):
    from kit.platforms.gradescope import main

    for flags in (["--late-penalty", "10%"], ["--late-cap", "5"], ["--adjustments", write(tmp_path / "a", "x,01,+\n")]):
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path / "z.zip"), *flags])
        assert not (tmp_path / "z.zip").exists()
    said = capsys.readouterr().err
    assert "line 1:" in said and "no zip was built" in said and "graded" not in said


@pytest.mark.slow  # a real course through nbgrader's CLI, graded three times: about two minutes
def test_on_nbgrader_one_late_penalty_applies_the_courses_or_the_kits_and_adjustments_are_extra_credit(tmp_path):
    """A course whose own plugin zeroes a late notebook: without the kit's rule that plugin applies; with it,
    the kit's rule alone (never both), from nbgrader's due date and the exchange's timestamp.txt."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[instructor]'")
    import nbformat

    from kit.platforms.nbgrader.course import write_course
    from kit.platforms.nbgrader.local import kernel_env, solve

    course, env = tmp_path / "course", kernel_env(tmp_path / "jupyter")  # nbgrader's own tools on its PATH
    write_course(course, "mg101")
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")

    def nbgrader(*args):
        cmd = [sys.executable, "-m", "nbgrader", *args]
        proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def grade_ex01(*flags, ok=True):
        cmd = [sys.executable, "-m", "kit", "nbgrader", "grade", "ex01", "--course", str(course), "--", *flags]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
        if not ok:
            return proc
        nbgrader("export", "--to", "grades.csv")
        return {r["student_id"]: float(r["score"]) for r in rows_of(course / "grades.csv")}

    nbgrader("generate_assignment", "ex01")
    nbgrader("db", "assignment", "add", "ex01", "--duedate=2026-12-01 23:59:00 UTC")
    for student, when in (("late", "2026-12-02 10:00:00.000000 UTC"), ("early", "2026-12-01 09:00:00.000000 UTC")):
        nb = solve(nbformat.read(course / "release" / "ex01" / "ex01.ipynb", as_version=4), "01")
        (course / "submitted" / student / "ex01").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "ex01" / "ex01.ipynb")
        (course / "submitted" / student / "ex01" / "timestamp.txt").write_text(when)
    f = write(tmp_path / "a.csv", "id,check,points,reason\nlate,01,-2,pair work\nearly,03,+5,another week's\n")
    assert grade_ex01("--jobs", "2") == {"late": 0, "early": 14}  # the course's own plugin: zero
    rule = ["--late-penalty", "10%/day", "--late-cap", "50%", "--adjustments", f]
    assert grade_ex01("--jobs", "2", *rule) == {"late": 10.6, "early": 14}  # 14 - 2 - one started day of 1.4
    assert grade_ex01("--jobs", "2", *rule) == {"late": 10.6, "early": 14}  # again: nothing applied twice
    refused = grade_ex01("--deadline", DEADLINE, ok=False)  # the due dates and times are nbgrader's here
    assert refused.returncode == 2 and "nbgrader db assignment add --duedate" in refused.stderr


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
