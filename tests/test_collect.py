"""Collecting submissions: ids, unpacking with care, finding the tree, staging only its files."""

import zipfile

import pytest

from kit import ROOT
from kit.instructor import collect, ids
from kit.regions import build_tree


def test_find_takes_folders_and_archives_by_id_and_names_what_else_it_leaves(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.zip").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "b")
    (tmp_path / "c.tar.gz").write_bytes(b"")  # its row says it is not graded (kit/instructor/collect.py)
    assert [(sid, why) for sid, _, _, why in ids.find(tmp_path)] == [("a", None), ("b", None), ("c", None)]
    assert [(p.name, why.split(",")[0]) for p, why in ids.entries(tmp_path)[1]] == [
        (".hidden", "hidden"),
        ("link", "a link"),
        ("notes.txt", "neither a folder nor an archive"),
    ]


def test_a_hidden_entry_named_as_a_student_is_found_under_a_safe_name_and_other_hidden_ones_are_not(tmp_path):
    (tmp_path / ".ann").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "bob").mkdir()
    found = ids.find(tmp_path, hidden=[".ann"])
    assert [(sid, raw) for sid, _, raw, _ in found] == [(ids.graded_name(".ann"), ".ann"), ("bob", "bob")]
    assert found[0][0].startswith("_ann~") and [p.name for p, _ in ids.entries(tmp_path, [".ann"])[1]] == [".git"]


@pytest.mark.parametrize("name", ["bad id", "-flag", "a;b", "alice\n", "bob\x1b[2J", "=HYPERLINK(1)"])
def test_an_id_unsafe_as_a_file_name_or_a_cell_is_graded_under_a_safe_name_and_kept_as_it_was(tmp_path, name):
    (tmp_path / name).mkdir()
    ((sid, path, submitted, why),) = ids.find(tmp_path)
    assert why is None
    assert path == tmp_path / name and submitted == name
    assert "~" in sid and (sid[0].isalnum() or sid[0] == "_")
    assert not set(sid) & set(" ;\n\x1b=()/") and sid.isprintable()


@pytest.mark.parametrize("upload", ["a.zip", "a.tar.gz", "a.7z"])
def test_a_student_with_both_a_folder_and_an_archive_is_one_row_that_names_both_and_others_are_found(tmp_path, upload):
    (tmp_path / "a").mkdir()
    (tmp_path / upload).write_bytes(b"")
    (tmp_path / "b").mkdir()
    found = ids.find(tmp_path)
    assert [(sid, why is None) for sid, _, _, why in found] == [("a", False), ("b", True)]
    assert found[0][3] == f"more than one upload of this student (a and {upload}): keep one, and grade again"


@pytest.mark.parametrize("layout", ["", "exercises/", "my-work/", "my-work/exercises/"])
def test_locate_finds_the_tree_at_the_top_under_exercises_or_one_top_folder(tmp_path, layout):
    (tmp_path / layout / "micrograd").mkdir(parents=True)
    (tmp_path / "__MACOSX").mkdir()
    assert ids.locate(tmp_path) == tmp_path / layout


@pytest.mark.parametrize("stray", ["train.py", "derivatives.py", "micrograd/micrograd/engine.py"])
def test_a_copy_of_the_kit_is_graded_from_exercises_whatever_scratch_lies_at_its_top(tmp_path, stray):
    """A Classroom repository (or a whole kit folder zipped) holds the learner's work in exercises/: a
    scratch train.py at its top, or a clone of micrograd beside it, is not graded in its place, and
    the feedback says so."""
    build_tree(ROOT / "solutions", tmp_path / "repo" / "exercises", 7)
    (tmp_path / "repo" / "checks").mkdir()
    (tmp_path / "repo" / stray).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "repo" / stray).write_text("print('scratch')\n")
    assert ids.locate(tmp_path / "repo") == tmp_path / "repo" / "exercises"
    (tmp_path / "scratch").mkdir()
    notes = collect.collect(tmp_path / "repo", tmp_path / "scratch")
    staged = tmp_path / "scratch" / "tree" / "train.py"
    assert staged.read_text() == (tmp_path / "repo" / "exercises" / "train.py").read_text()
    top = stray.split("/")[0]
    assert f"exercises/ was graded; {top} at the top of the submission was not" in notes


@pytest.mark.parametrize("folder", ["alice", "John Smith_12345_assignsubmission_file_"])
def test_a_students_folder_that_holds_only_the_zip_they_uploaded_is_graded_as_that_zip(tmp_path, folder):
    """An LMS's download (Moodle's, a shared drive's) keeps each student's upload in a folder of its own."""
    build_tree(ROOT / "solutions", tmp_path / "work", 7)
    student = tmp_path / "subs" / folder
    student.mkdir(parents=True)
    with zipfile.ZipFile(student / "micrograd.zip", "w") as z:
        for p in sorted((tmp_path / "work").rglob("*.py")):
            z.write(p, p.relative_to(tmp_path / "work").as_posix())
    (student / ".DS_Store").write_bytes(b"")
    (tmp_path / "scratch").mkdir()
    notes = collect.collect(student, tmp_path / "scratch")
    assert "the tree in micrograd.zip, the one .zip in the folder, was graded" in notes
    assert (tmp_path / "scratch" / "tree" / "micrograd" / "engine.py").read_text() == (
        tmp_path / "work" / "micrograd" / "engine.py"
    ).read_text()
    (student / "notes.txt").write_text("and something else")  # two entries: not guessed between
    (tmp_path / "scratch2").mkdir()
    with pytest.raises(collect.Ungradable, match="no exercise tree was found"):
        collect.collect(student, tmp_path / "scratch2")


def test_locate_finds_nothing_among_two_top_folders(tmp_path):
    (tmp_path / "one" / "micrograd").mkdir(parents=True)
    (tmp_path / "two").mkdir()
    assert ids.locate(tmp_path) is None


def test_unzip_skips_members_that_escape_by_backslash_or_drive_letter(tmp_path):
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("..\\evil.py", "x")
        zf.writestr("C:/evil.py", "x")
        zf.writestr("ok/derivatives.py", "x = 1\n")
    (tmp_path / "dest").mkdir()
    notes = collect.unzip(archive, tmp_path / "dest")
    assert notes == ["skipped, as they point outside the submission: '..\\\\evil.py', 'C:/evil.py'"]
    assert [p.name for p in (tmp_path / "dest").rglob("*.py")] == ["derivatives.py"]
    assert not (tmp_path / "evil.py").exists()


def test_stage_copies_every_python_file_but_conftest_and_names_what_it_leaves_out(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "micrograd").mkdir(parents=True)
    (src / ".git").mkdir()
    (src / ".git" / "hook.py").write_text("x = 1\n")
    (src / "derivatives.py").write_text("x = 1\n")
    (src / "helper.py").write_text("y = 1\n")
    (src / "conftest.py").write_text("raise SystemExit\n")
    (src / "notes.txt").write_text("hello")
    (src / "micrograd" / "engine.py").write_text("y = 2\n")
    dst.mkdir()
    notes = collect.stage(src, dst)
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file()) == [
        "derivatives.py",
        "helper.py",
        "micrograd/__init__.py",
        "micrograd/engine.py",
    ]
    assert notes == [
        "micrograd/nn.py is missing",
        "train.py is missing",
        "left out, as the checks never import them: conftest.py, notes.txt",
    ]


@pytest.mark.parametrize(
    "content, note",
    [
        (b"x = 1\0\n", "train.py cannot be read as Python"),
        (b"x = '\xff'\n", "train.py is not UTF-8 text (line 1)"),
        (b"def f(:\n", "train.py has a syntax error on line 1"),
        (b"#" * (collect.MAX_FILE + 1), "larger than 1024 KB, so left out: train.py"),
    ],
)
def test_a_file_that_will_not_import_is_staged_with_a_note_and_costs_only_its_checks(tmp_path, content, note):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "derivatives.py").write_text("x = 1\n")
    (tmp_path / "src" / "train.py").write_bytes(content)
    notes = collect.collect(tmp_path / "src", tmp_path)
    assert any(n.startswith(note) for n in notes), notes
    assert (tmp_path / "tree" / "derivatives.py").is_file()


@pytest.mark.parametrize("how", ["too large", "a link"])
def test_a_tree_file_the_upload_holds_but_that_is_left_out_is_named_for_that_reason_never_as_missing(tmp_path, how):
    src = tmp_path / "src"
    (src / "micrograd").mkdir(parents=True)
    for rel in ("derivatives.py", "train.py", "micrograd/nn.py"):
        (src / rel).write_text("x = 1\n")
    if how == "too large":
        (src / "micrograd" / "engine.py").write_text("x = 1\n" + "#" * collect.MAX_FILE)
    else:
        (tmp_path / "elsewhere.py").write_text("x = 1\n")
        (src / "micrograd" / "engine.py").symlink_to(tmp_path / "elsewhere.py")
    (tmp_path / "dst").mkdir()
    notes = collect.stage(src, tmp_path / "dst")
    why = "larger than 1024 KB, so left out" if how == "too large" else "links, left out as links are not followed"
    assert notes == [f"{why}: micrograd/engine.py"]


def test_files_of_micrograd_uploaded_loose_at_the_top_are_said_to_belong_in_micrograd(tmp_path):
    """An upload of loose files (no folders) puts engine.py beside derivatives.py: the note says where it belongs."""
    flat, alone = tmp_path / "flat", tmp_path / "alone"
    for folder, names in ((flat, ("derivatives.py", "train.py", "engine.py", "nn.py")), (alone, ("engine.py",))):
        folder.mkdir()
        for name in names:
            (folder / name).write_text("x = 1\n")
        (tmp_path / f"{folder.name}-out").mkdir()
    notes = collect.collect(flat, tmp_path / "flat-out")
    assert notes[:2] == [
        "micrograd/engine.py is missing: engine.py lies at the top, and the checks import it from micrograd/",
        "micrograd/nn.py is missing: nn.py lies at the top, and the checks import it from micrograd/",
    ]
    with pytest.raises(collect.Ungradable) as e:
        collect.collect(alone, tmp_path / "alone-out")
    assert str(e.value).endswith("exercises/: engine.py lies at the top, and the checks import it from micrograd/")


def test_a_huge_sparse_file_is_never_read(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "derivatives.py").write_text("x = 1\n")
    with open(tmp_path / "src" / "big.py", "wb") as f:
        f.truncate(32 << 30)
    (tmp_path / "dst").mkdir()
    notes = collect.stage(tmp_path / "src", tmp_path / "dst")
    assert "larger than 1024 KB, so left out: big.py" in notes
    assert collect.fingerprint(tmp_path / "dst") == collect.fingerprint(tmp_path / "dst")


def test_a_damaged_zip_member_name_is_shown_escaped(tmp_path):
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok\x1b[31m\n[1/1] mallory: 78/78.py", "x" * 100)
    data = bytearray(archive.read_bytes())
    at = data.index(b"x" * 100)
    data[at : at + 100] = b"y" * 100  # the member's CRC no longer matches
    archive.write_bytes(bytes(data))
    (tmp_path / "dest").mkdir()
    with pytest.raises(collect.Ungradable) as e:
        collect.unzip(archive, tmp_path / "dest")
    assert "\\x1b[31m\\n[1/1]" in str(e.value) and "\x1b" not in str(e.value) and "\n" not in str(e.value)
