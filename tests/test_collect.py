"""Collecting submissions: ids, unpacking with care, finding the tree, staging only its files."""

import zipfile

import pytest

from kit.instructor import collect


def test_find_takes_folders_and_zips_by_id_and_skips_the_rest(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.zip").write_bytes(b"")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "b")
    assert [sid for sid, _ in collect.find(tmp_path)] == ["a", "b"]


@pytest.mark.parametrize("name", ["bad id", "-flag", "a;b"])
def test_find_refuses_an_id_that_is_unsafe_as_a_file_name(tmp_path, name):
    (tmp_path / name).mkdir()
    with pytest.raises(SystemExit, match="student id"):
        collect.find(tmp_path)


def test_find_refuses_a_student_with_both_a_folder_and_a_zip(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a.zip").write_bytes(b"")
    with pytest.raises(SystemExit, match="both a folder and a zip"):
        collect.find(tmp_path)


@pytest.mark.parametrize("layout", ["", "exercises/", "my-work/", "my-work/exercises/"])
def test_locate_finds_the_tree_at_the_top_under_exercises_or_one_top_folder(tmp_path, layout):
    (tmp_path / layout / "micrograd").mkdir(parents=True)
    (tmp_path / "__MACOSX").mkdir()
    assert collect.locate(tmp_path) == tmp_path / layout


def test_locate_finds_nothing_among_two_top_folders(tmp_path):
    (tmp_path / "one" / "micrograd").mkdir(parents=True)
    (tmp_path / "two").mkdir()
    assert collect.locate(tmp_path) is None


def test_unzip_skips_members_that_escape_by_backslash_or_drive_letter(tmp_path):
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("..\\evil.py", "x")
        zf.writestr("C:/evil.py", "x")
        zf.writestr("ok/derivatives.py", "x = 1\n")
    (tmp_path / "dest").mkdir()
    notes = collect.unzip(archive, tmp_path / "dest")
    assert len(notes) == 2 and all("points outside" in n for n in notes)
    assert [p.name for p in (tmp_path / "dest").rglob("*.py")] == ["derivatives.py"]
    assert not (tmp_path / "evil.py").exists()


def test_stage_copies_only_the_tree_and_notes_what_is_missing(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "micrograd").mkdir(parents=True)
    (src / "derivatives.py").write_text("x = 1\n")
    (src / "conftest.py").write_text("raise SystemExit\n")
    (src / "micrograd" / "engine.py").write_text("y = 2\n")
    dst.mkdir()
    notes = collect.stage(src, dst)
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file()) == [
        "derivatives.py",
        "micrograd/__init__.py",
        "micrograd/engine.py",
    ]
    assert notes == ["micrograd/nn.py is missing", "train.py is missing"]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"x = 1\0\n", "cannot be read as Python"),
        (b"#" * (collect.MAX_FILE + 1), "larger than"),
    ],
)
def test_stage_refuses_a_file_with_a_null_byte_or_too_large(tmp_path, content, reason):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_bytes(content)
    (tmp_path / "dst").mkdir()
    with pytest.raises(collect.Ungradable, match=reason):
        collect.stage(tmp_path / "src", tmp_path / "dst")
