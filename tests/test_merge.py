"""Merging shards' gradebooks: deterministic, and refusing what cannot be merged honestly."""

import json
import os
import shutil
import subprocess
import sys

import hostile
import pytest

from kit import ROOT
from kit.instructor.merge import main as merge
from kit.instructor.secret import secret_id
from kit.version import code_hash

SECRET = "0123456789abcdef0123456789abcdef"  # every shard of one class is graded with one secret


def grade(subs, out, *extra, secret=None):
    if secret is None:
        secret = out.parent / "secret"
        secret.write_text(SECRET)
    subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), "--only", "01,02", "--secret", str(secret), *extra],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    for sid, upto in {"ann": 7, "ben": 1, "cat": 0, "dan": 2}.items():
        hostile.tree(base / ("a" if sid < "c" else "b") / sid, upto=upto)
        hostile.tree(base / "all" / sid, upto=upto)
    return {name: grade(base / name, base / f"out-{name}") for name in ("a", "b", "all")} | {"base": base}


def test_merged_shards_equal_grading_the_whole_class_at_once(shards, tmp_path):
    assert merge([str(tmp_path / "m"), str(shards["b"]), str(shards["a"])]) == 0
    assert (tmp_path / "m" / "grades.csv").read_text() == (shards["all"] / "grades.csv").read_text()
    assert sorted(p.name for p in (tmp_path / "m" / "feedback").iterdir()) == ["ann.md", "ben.md", "cat.md", "dan.md"]


def test_the_merge_does_not_depend_on_the_order_of_the_shards(shards, tmp_path):
    merge([str(tmp_path / "ab"), str(shards["a"]), str(shards["b"])])
    merge([str(tmp_path / "ba"), str(shards["b"]), str(shards["a"])])
    for name in ("grades.csv", "grades.json"):
        assert (tmp_path / "ab" / name).read_text() == (tmp_path / "ba" / name).read_text()


def test_the_same_student_graded_alike_in_two_shards_is_kept_once(shards, tmp_path):
    assert merge([str(tmp_path / "m"), str(shards["a"]), str(shards["all"])]) == 0
    assert len((tmp_path / "m" / "grades.csv").read_text().splitlines()) == 5


def test_a_student_graded_differently_in_two_shards_is_refused(shards, tmp_path, capsys):
    hostile.tree(tmp_path / "c" / "ann", upto=3)  # ann again, but another submission
    other = grade(tmp_path / "c", tmp_path / "out-c")
    assert merge([str(tmp_path / "m"), str(shards["a"]), str(other)]) == 2
    assert "student ann has different results" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_a_grader_error_in_one_shard_gives_way_to_a_grade_of_the_same_bytes_in_another(shards, tmp_path):
    """A grader error (the grader's own failure) is no grade: where another shard graded the same
    submission, the merge keeps that grade, whichever shard comes first; of other bytes, it refuses."""
    from kit.instructor import gradebook, score

    failed = shutil.copytree(shards["a"], tmp_path / "failed")
    data = json.loads((failed / "grades.json").read_text())
    settings = {k: v for k, v in data.items() if k not in ("students", *gradebook.STAMPS)}
    ann = next(r for r in data["students"] if r["id"] == "ann")
    error = dict(score.empty("ann", "error", "the grader failed on this submission", {"only": ann["only"]}))
    error |= {k: ann[k] for k in ("secret", "fingerprint", "graded_at")}
    students = [error if r["id"] == "ann" else r for r in data["students"]]
    gradebook.write(failed, students, settings, data["kit_version"])
    for order in ([failed, shards["all"]], [shards["all"], failed]):
        out = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        assert merge([str(out), *map(str, order)]) == 0
        assert (out / "grades.csv").read_text() == (shards["all"] / "grades.csv").read_text()
    students = [dict(error, fingerprint="0" * 64) if r["id"] == "ann" else r for r in data["students"]]
    gradebook.write(failed, students, settings, data["kit_version"])
    assert merge([str(tmp_path / "refused"), str(failed), str(shards["all"])]) == 2


@pytest.mark.parametrize("first, second", [("ann", "Ann"), ("zoë lee", "ZOË Lee")])
def test_one_student_under_two_ids_equal_but_for_case_in_two_shards_is_refused(tmp_path, capsys, first, second):
    """kit grade reads such ids as one student (kit/instructor/ids.py, key): merged, they would be two rows.
    An id with a space is graded under a safe name, whose hash differs: its id as submitted is compared."""
    hostile.tree(tmp_path / "a" / first, upto=1)
    hostile.tree(tmp_path / "b" / second, upto=3)
    a, b = (grade(tmp_path / x, tmp_path / f"out-{x}") for x in "ab")
    assert merge([str(tmp_path / "m"), str(a), str(b)]) == 2
    said = capsys.readouterr().err
    one, two = (json.loads((out / "grades.json").read_text())["students"][0]["id"] for out in (a, b))
    assert f"{one} in {a} and {two} in {b} are one student under two ids" in said
    assert not (tmp_path / "m").exists()


def test_shards_graded_with_another_secret_are_refused(shards, tmp_path, capsys):
    (tmp_path / "other-secret").write_text("another secret of at least 16 bytes")
    other = grade(shards["base"] / "b", tmp_path / "out-seed", secret=tmp_path / "other-secret")
    assert merge([str(tmp_path / "m"), str(shards["a"]), str(other)]) == 2
    assert "was graded with" in capsys.readouterr().err


def stamped(shard, copy, kit):
    """A copy of `shard` whose grades.json says it was graded by the kit `kit` (as an older kit's would)."""
    import shutil

    copy = shutil.copytree(shard, copy)
    data = json.loads((copy / "grades.json").read_text())
    (copy / "grades.json").write_text(json.dumps(dict(data, kit_version=kit)))
    return copy


def test_shards_graded_by_different_kits_are_refused_and_each_shards_kit_is_named(shards, tmp_path, capsys):
    old = stamped(shards["b"], tmp_path / "old", "0" * 64)
    assert merge([str(tmp_path / "m"), str(shards["a"]), str(old)]) == 2
    said = capsys.readouterr().err
    assert "graded by different kits" in said and f"{old}: '{'0' * 64}'" in said
    assert f"{shards['a']}: '{code_hash()}'" in said
    assert not (tmp_path / "m").exists()


def test_the_merged_gradebook_says_which_kit_graded_the_shards_not_which_one_merged_them(shards, tmp_path):
    a, b = (stamped(shards[x], tmp_path / x, "1" * 64) for x in "ab")
    assert merge([str(tmp_path / "m"), str(a), str(b)]) == 0
    assert json.loads((tmp_path / "m" / "grades.json").read_text())["kit_version"] == "1" * 64


def test_a_shard_whose_csv_was_edited_is_refused(shards, tmp_path, capsys):
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "edited")
    csv = (shard / "grades.csv").read_text().replace("ben,14", "ben,15")
    (shard / "grades.csv").write_text(csv)
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    assert "does not match grades.json" in capsys.readouterr().err
    assert json.loads((shards["a"] / "grades.json").read_text())["secret"] == secret_id(SECRET.encode())


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text_in_both_csv_files():
    """OWASP's CSV injection advice: a leading ' on cells that start with = + - @ (or a tab or CR)."""
    from kit.escape import cell
    from kit.instructor import gradebook, lms

    assert cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [cell(t) for t in ("+1", "-1", "@sum", "\tx", "ana", 7)] == ["'+1", "'-1", "'@sum", "\\tx", "ana", 7]
    result = {"id": "=1+1", "status": "graded", "checks": {"01": {"earned": 14, "max": 14}}}
    assert "\n'=1+1,14," in gradebook.csv_text([result])
    assert "'=1+1" in lms.canvas_csv([result], {"only": ["01"]}) and ",=1+1" not in lms.canvas_csv(
        [result], {"only": ["01"]}
    )


@pytest.mark.parametrize(
    "change, said",
    [
        (lambda s: s.update(id="../../escaped"), "is not one the grader gives"),
        (lambda s: s.update(id="/abs"), "is not one the grader gives"),
        (lambda s: s["checks"]["01"].update(earned=99), "out of its bounds"),
        (lambda s: s["checks"]["01"].update(earned="14"), "out of its bounds"),
        (lambda s: s.update(status="pwned"), "status"),
        (lambda s: s.update(checks=[]), "no checks"),
        (lambda s: s["checks"].update({"01": 14}), "out of its bounds"),
        (lambda s: s.update(lateness="late"), "malformed lateness"),
        (lambda s: s.update(lateness={"late_seconds": 5}), "malformed lateness"),
        (lambda s: s.update(adjustments=[{"check": "01", "points": 0, "reason": "no asked"}]), "malformed adjustments"),
        (
            lambda s: s.update(adjustments=[{"check": "01", "points": 1e6, "asked": "+1e6", "reason": "x"}]),
            "adjusted out",
        ),
        (lambda s: s["checks"]["01"].update(base=5), "its base is not a list"),
        (lambda s: s.update(graded_at=5), "graded_at that is not text"),
        (lambda s: s.pop("reason"), "has a reason that is not text"),
        (lambda s: s.pop("tests"), "malformed tests"),
        (lambda s: s.update(adjustments=[{"check": [], "points": 0, "asked": "+0", "reason": "x"}]), "adjustments"),
        (lambda s: s.update(lateness={"deadline": "d", "extended": False, "submitted": None, "note": ""}), "lateness"),
    ],
)
def test_a_shard_that_is_not_as_the_grader_writes_it_is_refused_and_nothing_is_written(
    shards, tmp_path, capsys, change, said
):
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "odd")
    data = json.loads((shard / "grades.json").read_text())
    change(data["students"][0])
    (shard / "grades.json").write_text(json.dumps(data))
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "m").exists() and not (tmp_path / "escaped").exists()


@pytest.mark.parametrize(
    "change, said",
    [
        (lambda d: d["students"].append(dict(d["students"][0])), "has more than one row"),
        (lambda d: d.update(only=5), "are not a list of checks"),
        (lambda d: d.update(only=["01", "09"]), "are not a list of checks"),
        (lambda d: [t.pop("message") for t in d["students"][1]["tests"] if t["status"] != "pass"], "malformed tests"),
    ],
)
def test_a_shard_with_a_student_twice_or_odd_checks_graded_is_refused_and_nothing_is_written(
    shards, tmp_path, capsys, change, said
):
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "odd")
    data = json.loads((shard / "grades.json").read_text())
    change(data)
    (shard / "grades.json").write_text(json.dumps(data))
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_shards_are_read_as_the_utf_8_they_are_written_in_whatever_the_locale(shards, tmp_path):
    """grades.json and grades.csv are UTF-8 (gradebook.write_atomic); a locale of another encoding (ASCII
    here, cp1252 on Windows) must neither refuse a shard nor turn its text into another."""
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "a")
    data = json.loads((shard / "grades.json").read_text(encoding="utf-8"))
    data["students"][0]["reason"] = "regraded: Zoë's tolerance"
    (shard / "grades.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0", PYTHONIOENCODING="utf-8")
    cmd = [sys.executable, "-m", "kit", "merge", str(tmp_path / "m"), str(shard), str(shards["b"])]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    merged = json.loads((tmp_path / "m" / "grades.json").read_text(encoding="utf-8"))
    assert merged["students"][0]["reason"] == "regraded: Zoë's tolerance"


def test_a_shard_whose_csv_cannot_be_parsed_is_refused_by_name_without_a_traceback(shards, tmp_path, capsys):
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "huge")
    (shard / "grades.csv").write_text("student,check-01\n" + "a" * 200_000 + ",1\n")
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    assert f"{shard}: not a gradebook (field larger than field limit" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_settings_that_differ_are_named_escaped_and_bounded_in_the_refusal(shards, tmp_path, capsys):
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "odd")
    data = json.loads((shard / "grades.json").read_text())
    (shard / "grades.json").write_text(json.dumps(dict(data, sandbox="\x1b]0;owned\x07\x1b[2J" + "A" * 100_000)))
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    said = capsys.readouterr().err
    assert "was graded with other settings ('sandbox': None here, '\\x1b]0;owned\\x07\\x1b[2JAAA" in said
    assert "\x1b" not in said and len(said) < 500
    assert not (tmp_path / "m").exists()


def test_an_out_that_cannot_be_written_gets_a_clear_error_not_a_traceback(shards, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert merge([str(tmp_path / "file"), str(shards["a"]), str(shards["b"])]) == 1
    assert f"error: {tmp_path / 'file'}: cannot write the merged gradebook (" in capsys.readouterr().err


@pytest.mark.parametrize("deadline", [[], ["--deadline", "2026-12-01T23:59Z"]])
def test_a_shard_without_adjustments_merges_with_one_whose_students_have_some_as_the_whole_class_graded(
    shards, tmp_path, deadline
):
    """kit grade refuses an adjustments line of a student it does not grade, so each shard gets its own
    students' lines, and a shard may have none: that is no other setting."""
    base = shards["base"]
    (tmp_path / "a.csv").write_text("ann,01,-2,shared code\n")
    a = grade(base / "a", tmp_path / "out-a", "--adjustments", str(tmp_path / "a.csv"), *deadline)
    b = grade(base / "b", tmp_path / "out-b", *deadline)
    whole = grade(base / "all", tmp_path / "out-all", "--adjustments", str(tmp_path / "a.csv"), *deadline)
    assert merge([str(tmp_path / "m"), str(b), str(a)]) == 0
    assert (tmp_path / "m" / "grades.csv").read_text() == (whole / "grades.csv").read_text()
    merged, graded = (json.loads((out / "grades.json").read_text()) for out in (tmp_path / "m", whole))
    assert [(k, v) for k, v in merged.items() if k not in ("graded_at", "students")] == [
        (k, v) for k, v in graded.items() if k not in ("graded_at", "students")
    ]


def test_a_shard_file_that_is_a_link_or_no_regular_file_is_refused_by_name_and_never_read(shards, tmp_path, capsys):
    """A shard comes from another machine: its grades.json could be a link to any file here, or to /dev/zero,
    which read whole would take the memory; the grader writes neither."""
    import shutil

    shard = shutil.copytree(shards["a"], tmp_path / "linked")
    (shard / "grades.json").rename(tmp_path / "elsewhere.json")
    (shard / "grades.json").symlink_to(tmp_path / "elsewhere.json")
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    assert f"{shard}: not a gradebook (" in capsys.readouterr().err and not (tmp_path / "m").exists()
    (shard / "grades.json").unlink()
    os.mkfifo(shard / "grades.json")  # no writer: a read would wait for ever
    assert merge([str(tmp_path / "m"), str(shard), str(shards["b"])]) == 2
    assert f"{shard}: not a gradebook (grades.json is not a file)" in capsys.readouterr().err
