"""Hostile uploads: whatever one submission holds costs that student's row at most, and every id grades."""

import json
import os
import socket
import struct
import subprocess
import sys
import zipfile

import hostile
import pytest
from test_grading import FAST, grade

from kit import ROOT
from kit.escape import cell
from kit.exercises import TOTAL
from kit.instructor import collect, ids, scanner, similar


def zipped(archive, tree, extra=()):
    """`tree` zipped at the top of `archive`, with extra members [(name, bytes)]."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(tree.rglob("*.py")):
            zf.write(p, p.relative_to(tree).as_posix())
        for name, data in extra:
            zf.writestr(name, data)
    return archive


def with_flag(archive, bit, old=None, new=None):
    """`archive` with a general-purpose flag `bit` set on every member (and one name's bytes replaced)."""
    data = bytearray(archive.read_bytes())
    if old is not None:
        data = data.replace(old, new)
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (i := data.find(signature, start)) >= 0:
            struct.pack_into("<H", data, i + at, struct.unpack_from("<H", data, i + at)[0] | bit)
            start = i + 4
    archive.write_bytes(bytes(data))
    return archive


def damaged_deflate(archive, tree):
    """A zip whose engine.py is a deflate stream that does not inflate (its header intact)."""
    zipped(archive, tree)
    with zipfile.ZipFile(archive) as zf:
        m = zf.getinfo("micrograd/engine.py")
    data = bytearray(archive.read_bytes())
    start = m.header_offset + 30 + len(m.filename.encode()) + len(m.extra)
    data[start : start + m.compress_size] = b"\xff" * m.compress_size  # an invalid block type
    archive.write_bytes(bytes(data))
    return archive


def small_tree(folder):
    (folder / "micrograd").mkdir(parents=True)
    (folder / "derivatives.py").write_text("x = 1\n")
    return folder


# --- each kind of upload, staged alone ---------------------------------------------------------


def test_an_unreadable_archive_becomes_its_students_reason_never_an_exception(tmp_path):
    tree = hostile.tree(tmp_path / "tree")
    cases = {
        "encrypted": (with_flag(zipped(tmp_path / "e.zip", tree), 0x1), "is encrypted"),
        "deflate": (damaged_deflate(tmp_path / "d.zip", tree), "the zip file is damaged ('micrograd/engine.py'"),
        "truncated": (tmp_path / "t.zip", "the zip file could not be opened"),
        "names": (
            with_flag(zipped(tmp_path / "n.zip", tree, [("caf_.py", "x = 1\n")]), 0x800, b"caf_", b"caf\xe9"),
            "the zip's file names are not readable",
        ),
    }
    whole = zipped(tmp_path / "whole.zip", tree).read_bytes()
    (tmp_path / "t.zip").write_bytes(whole[: len(whole) // 2])
    for sid, (archive, reason) in cases.items():
        (tmp_path / sid).mkdir()
        with pytest.raises(collect.Ungradable) as e:
            collect.collect(archive, tmp_path / sid)
        assert str(e.value).startswith(reason) or reason in str(e.value), (sid, str(e.value))
        assert str(e.value).isprintable(), sid


def test_deep_and_long_member_names_are_skipped_with_one_note_and_the_tree_still_stages(tmp_path):
    tree = hostile.tree(tmp_path / "tree")
    deep = "a/" * 40 + "x.py"
    long = "micrograd/" + "x" * 300 + ".py"
    extra = [(deep, "x = 1\n"), (long, "x = 1\n"), ("ab/" * 100 + "y.py", "x = 1\n")]
    (tmp_path / "s").mkdir()
    notes = collect.collect(zipped(tmp_path / "s.zip", tree, extra), tmp_path / "s")
    (skipped,) = [n for n in notes if n.startswith("skipped, as they lie over 16 folders deep or their names pass 240")]
    assert skipped.count("'") == 6 and len(skipped) < 600  # three names, each cut short
    assert (tmp_path / "s" / "tree" / "micrograd" / "engine.py").is_file()


def test_a_named_pipe_a_socket_deep_folders_long_and_undecodable_names_cost_nothing(tmp_path):
    src = small_tree(tmp_path / "src")
    os.mkfifo(src / "pipe.py")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(src / "sock.py"))
        deep = src.joinpath(*["d"] * (collect.MAX_DEPTH + 4))
        deep.mkdir(parents=True)
        (deep / "deep.py").write_text("x = 1\n")
        long = src / ("y" * 200) / ("z" * 200)
        long.mkdir(parents=True)
        (long / "long.py").write_text("x = 1\n")
        (src / os.fsdecode(b"caf\xe9.py")).write_text("x = 1\n")
        notes = collect.collect(src, tmp_path)
    assert "left out, as the checks never import them: pipe.py, sock.py" in notes
    assert any(n.startswith(f"not looked into, as they lie deeper than {collect.MAX_DEPTH} folders") for n in notes)
    assert any(n.startswith("left out, as their paths are longer than 240 bytes: yyy") for n in notes)
    assert (tmp_path / "tree" / os.fsdecode(b"caf\xe9.py")).is_file()
    assert all(n.isprintable() for n in notes), notes


def test_a_helper_whose_compile_exhausts_recursion_or_memory_is_a_note_and_a_dead_compiler_a_reason(
    tmp_path, monkeypatch
):
    src = small_tree(tmp_path / "src")
    (src / "deep.py").write_text("x = " + "1+" * 50_000 + "1\n")
    (src / "wide.py").write_text("x = [" + "[1]," * 250_000 + "]\n")
    monkeypatch.setattr(scanner, "MEMORY", 256 << 20)  # the checking process's limit, not the grader's
    (tmp_path / "a").mkdir()
    notes = collect.collect(src, tmp_path / "a")
    assert "deep.py is nested too deeply for Python to compile" in notes
    assert "wide.py needs more memory to compile than the grader's check of it may use" in notes
    monkeypatch.setattr(scanner, "MEMORY", 8 << 20)  # too little to start: the checking process dies
    (tmp_path / "b").mkdir()
    with pytest.raises(collect.Ungradable, match="could not be compiled within the grader's limits"):
        collect.collect(src, tmp_path / "b")


def test_one_scanner_takes_tree_after_tree_and_a_tree_that_ends_or_grows_it_costs_that_tree_alone(
    tmp_path, monkeypatch
):
    good, large, slow = (small_tree(tmp_path / name) for name in ("good", "large", "slow"))
    (large / "big.py").write_text("x = 1\n" * 200_000)  # about 300 MB at its peak, to compile
    (slow / "slow.py").write_text("x = 1\n" * 600_000)  # about 2 s of CPU, to compile
    monkeypatch.setattr(scanner, "MEMORY", 2 << 30)
    with scanner.Scanner() as scanning:
        first = scanning.inspect(good)
        pid = scanning.proc.pid
        assert scanning.inspect(good) == first and scanning.proc.pid == pid  # one process, tree after tree
        assert scanning.inspect(large) is not None and scanning.proc is None  # grown: the next gets a fresh one
        assert scanning.inspect(good) == first
        scanning.proc.kill()  # ended between two trees: the next tree is not charged for it
        assert scanning.inspect(good) == first
        monkeypatch.setattr(scanner, "SECONDS", 1)
        scanning.close()
        with pytest.raises(scanner.Unreadable, match="slow.py could not be compiled within the grader's limits"):
            scanning.inspect(slow)
        assert scanning.inspect(good) == first


def test_the_walk_is_bounded_in_entries(tmp_path, monkeypatch):
    src = small_tree(tmp_path / "src")
    for i in range(60):
        (src / f"f{i:02}.txt").write_text("")
    monkeypatch.setattr(collect, "MAX_SEEN", 40)
    notes = collect.collect(src, tmp_path)
    assert "the submission holds more than 40 entries; the rest were not looked at" in notes


def virtualenv_beside(tree, files):
    """`tree` with a committed virtualenv of `files` tiny modules, node_modules, site-packages, and
    300 modules of its own that sort before micrograd/ (so a cap in path order would push it out)."""
    env = tree / "env"
    (env / "lib").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for i in range(files):
        (env / "lib" / f"m{i}.py").write_bytes(b"")
    for folder in ("node_modules/x", "lib/python3.11/site-packages/y", ".git/hooks", "__pycache__"):
        (tree / folder).mkdir(parents=True)
        (tree / folder / "z.py").write_bytes(b"")
    (tree / "aaa").mkdir()
    for i in range(300):
        (tree / "aaa" / f"a{i:03}.py").write_bytes(b"")
    return tree


def test_the_contract_and_what_it_imports_are_staged_first_and_environments_never(tmp_path):
    own = len(list(hostile.tree(tmp_path / "src").rglob("*.py"))) + 2 + 300  # the tree, two helpers, aaa/
    src = virtualenv_beside(tmp_path / "src", 500)
    (src / "derivatives.py").write_text("from zz_helper import forward\n" + (src / "derivatives.py").read_text())
    (src / "zz_helper.py").write_text("forward = 1\n")
    (src / "micrograd" / "zz_util.py").write_text("y = 1\n")
    engine = src / "micrograd" / "engine.py"
    engine.write_text("from .zz_util import y\n" + engine.read_text())
    notes = collect.collect(src, tmp_path)
    staged = sorted(p.relative_to(tmp_path / "tree").as_posix() for p in (tmp_path / "tree").rglob("*.py"))
    assert len(staged) == collect.MAX_FILES
    for rel in ("derivatives.py", "micrograd/engine.py", "micrograd/nn.py", "train.py", "zz_helper.py"):
        assert rel in staged, rel
    assert "micrograd/zz_util.py" in staged
    assert not any(rel.startswith(("env/", "node_modules/", "lib/", ".git/", "__pycache__/")) for rel in staged)
    (capped,) = [n for n in notes if n.startswith("left out, as a tree holds at most 200 Python files")]
    assert capped.endswith(f" and {own - collect.MAX_FILES - collect.LEFT_OUT_SHOWN} more") and len(capped) < 600


# --- ids ---------------------------------------------------------------------------------------


def test_an_id_of_letters_digits_and_a_few_marks_is_graded_under_itself_and_any_other_under_a_safe_name():
    for sid in ("zoë", "bob.smith@uni.edu", "Ana-María_2", "李雷", "nb-0123456789abcdef"):
        assert ids.graded_name(sid) == sid and ids.is_name(sid)
    assert ids.graded_name("zoe\u0308") == "zoë"  # NFD, as macOS names folders
    odd = ["José García", "alice\n", "-rf", "=HYPERLINK(1)", "../x", "a" * 101, "caf\udce9", ""]
    names = [ids.graded_name(s) for s in odd]
    assert len(set(names)) == len(odd) and all(ids.is_name(n) and "~" in n for n in names)
    assert all(n == ids.graded_name(s) for s, n in zip(odd, names))  # deterministic
    assert all(cell(n) == n and "/" not in n and len(n.encode()) < 160 for n in names)  # a file, a cell
    # A real id never holds ~, so no student can be registered under another's safe name.
    assert not ids.is_valid(names[0]) and ids.graded_name(names[0]) != names[0]
    assert ids.graded_name("nb-" + "0" * 16) != ids.graded_name("nb-" + "0" * 16 + " ")


def test_ids_equal_after_nfc_or_case_folding_are_one_row_naming_every_upload_and_the_others_are_found(tmp_path):
    for name in ("zoë", "zoe\u0308", "Alice", "alice", "bob", "carol"):
        (tmp_path / name).mkdir()
    (tmp_path / "bob.zip").write_bytes(b"")
    found = {sid: why for sid, _, _, why in ids.find(tmp_path)}
    assert sorted(found) == ["Alice", "bob", "carol", "zoë"] and found["carol"] is None
    assert found["Alice"] == (
        "one student under more than one id (Alice and alice, the same once accents are composed and case is "
        "ignored): keep one, and grade again"
    )
    assert "zoë" in found["zoë"] and "zoe\u0308" in found["zoë"]
    assert found["bob"] == "more than one upload of this student (bob and bob.zip): keep one, and grade again"


# --- a class of them, graded for real ----------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("uploads")
    subs, out, src = base / "submissions", base / "out", base / "src"
    correct = hostile.tree(src / "correct")
    hostile.tree(subs / "honest")
    zoe = hostile.tree(subs / "zoe\u0308")  # NFD: graded as zoë
    os.mkfifo(zoe / "pipe")
    (zoe / "deep.py").write_text("x = " + "1+" * 50_000 + "1\n")
    zipped(subs / "José García.zip", correct, [("a/" * 40 + "x.py", "x = 1\n"), ("x" * 300 + ".py", "")])
    virtualenv_beside(hostile.tree(subs / "committed-venv"), 3000)
    with_flag(zipped(subs / "encrypted.zip", correct), 0x1)
    damaged_deflate(subs / "deflate.zip", correct)
    whole = zipped(src / "whole.zip", correct).read_bytes()
    (subs / "truncated.zip").write_bytes(whole[: len(whole) // 2])
    with_flag(zipped(subs / "names.zip", correct, [("caf_.py", "")]), 0x800, b"caf_", b"caf\xe9")
    (subs / "=cmd|' -c calc'!A0").mkdir()
    # Archives of other kinds and a notebook alone get their row; another file, a link and a hidden folder are
    # named in the log.
    (subs / "carol.tar.gz").write_bytes(b"\x1f\x8b\x08\x00")
    (subs / "frank.7z").write_bytes(b"7z\xbc\xaf\x27\x1c")
    (subs / "hank.ipynb").write_text("{}")
    (subs / "gus.txt").write_text("x = 1\n")
    (subs / "eve").symlink_to(subs / "honest")
    hostile.tree(subs / ".hidden")
    before = everything(base)
    grade(subs, out)
    return {"base": base, "subs": subs, "out": out, "before": before}


def everything(base):
    """Every path under `base` but the output folder's."""
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.relative_to(base).parts[0] != "out")


def students(out):
    return {s["id"]: s for s in json.loads((out / "grades.json").read_text())["students"]}


def test_every_gradable_upload_scores_what_make_check_gives_and_each_unreadable_one_its_reason(graded):
    got = students(graded["out"])
    jose, formula = ids.graded_name("José García"), ids.graded_name("=cmd|' -c calc'!A0")
    expected = {
        "honest": TOTAL,
        "zoë": TOTAL,
        jose: TOTAL,
        "committed-venv": TOTAL,
        "encrypted": "is encrypted",
        "deflate": "the zip file is damaged ('micrograd/engine.py'",
        "truncated": "the zip file could not be opened",
        "names": "the zip's file names are not readable",
        formula: "no exercise tree was found",
        "carol": "a .tar.gz archive is not graded: upload the folder itself, or a .zip of it",
        "frank": "a .7z archive is not graded",
        "hank": "a .ipynb file alone is not graded: upload the exercise tree as a folder, or a .zip of it",
    }
    assert sorted(got) == sorted(expected)
    for sid, want in expected.items():
        r = got[sid]
        if isinstance(want, int):
            assert (r["status"], sum(c["earned"] for c in r["checks"].values())) == ("graded", want), (sid, r)
        else:
            assert r["status"] == "ungradable" and want in r["reason"], (sid, r["reason"])
            feedback = (graded["out"] / "feedback" / f"{sid}.md").read_text()
            assert "could not be graded" in feedback and want in feedback
    assert got[jose]["name"] == "José García" and got[formula]["name"] == "=cmd|' -c calc'!A0"
    assert "name" not in got["zoë"] and "name" not in got["honest"]
    assert "deep.py is nested too deeply for Python to compile" in got["zoë"]["notes"]
    log = (graded["out"] / "grade.log").read_text()
    assert "not graded: eve (a link, never followed out of the submissions folder), gus.txt (neither a folder" in log
    assert ".hidden" not in log
    assert sum(len(n) for n in got["committed-venv"]["notes"]) < 2000


def test_the_gradebook_holds_every_row_and_nothing_is_written_outside_the_output_folder(graded):
    assert everything(graded["base"]) == graded["before"]
    rows = (graded["out"] / "grades.csv").read_text().splitlines()
    assert len(rows) == 13 and not any(line.startswith(("=", "+", "-", "@")) for line in rows)
    assert len(list((graded["out"] / "feedback").iterdir())) == 12


def test_the_similarity_report_survives_the_same_uploads(graded):
    pytest.importorskip("copydetect")
    pairs, skipped = similar.similar_pairs(graded["subs"], 100)
    assert sorted(skipped) == sorted(
        ["encrypted", "deflate", "truncated", "names", "carol", "frank", "hank", ids.graded_name("=cmd|' -c calc'!A0")]
    )
    compared = {a for a, b, *_ in pairs} | {b for a, b, *_ in pairs}
    assert compared == {"honest", "zoë", ids.graded_name("José García"), "committed-venv"}


def test_a_gradescope_submission_holding_a_named_pipe_or_a_socket_is_staged_without_them(tmp_path):
    from kit.platforms import gradescope

    submission = hostile.tree(tmp_path / "submission", upto=1)
    os.mkfifo(submission / "pipe")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(submission / "micrograd" / "sock"))
        (tmp_path / "subs").mkdir()
        gradescope.stage_submission(submission, tmp_path / "subs")
    copied = tmp_path / "subs" / "submission"
    assert (copied / "derivatives.py").read_bytes() == (submission / "derivatives.py").read_bytes()
    assert not (copied / "pipe").exists() and not (copied / "micrograd" / "sock").exists()


def test_student_takes_an_id_as_submitted_and_a_mistyped_one_is_refused_before_anything_is_written(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "José García", upto=1)
    hostile.tree(subs / "other", upto=1)

    def run(*extra):
        cmd = [sys.executable, "-m", "kit", "grade", str(subs), str(out), *FAST, "--only", "01", *extra]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)

    proc = run("--student", "José García")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(students(out)) == [ids.graded_name("José García")] and "grading 1 of 2" in proc.stdout
    before = (out / "grades.json").read_bytes()
    proc = run("--student", "José Garcia")
    assert proc.returncode != 0 and "--student José Garcia: no submission of that id" in proc.stderr
    assert (out / "grades.json").read_bytes() == before
