"""Collect submissions: find them, unpack them safely, and stage the learner's tree alone.

A submission is a folder or a `.zip` named by the student's id, holding the learner's tree at
its top, under `exercises/`, or under one single top folder. Only the files of the tree are
staged; anything else (a conftest.py, a pytest.ini, notes) is left behind. A submission that
cannot be graded gets a reason a student can act on.
"""

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from kit.exercises import TREE

MAX_MEMBERS = 2000  # entries in one zip
MAX_UNPACKED = 50 << 20  # bytes unpacked from one zip
MAX_FILE = 1 << 20  # bytes in one file of the tree
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


class Ungradable(Exception):
    """The reason a submission cannot be graded, in words for the student."""


def find(submissions):
    """[(student id, path)] sorted by id: every folder and .zip in `submissions`."""
    found = {}
    for entry in sorted(Path(submissions).iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            continue  # never follow a link out of the submissions folder
        if entry.is_dir():
            sid = entry.name
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            sid = entry.name[:-4]
        else:
            continue
        if not SAFE_ID.match(sid):
            raise SystemExit(f"{entry}: a student id may hold letters, digits and . _ @ + - only")
        if sid in found:
            raise SystemExit(f"{entry}: student {sid} has both a folder and a zip; keep one")
        found[sid] = entry
    return sorted(found.items())


def unzip(archive, dest):
    """Extract `archive` into `dest`, refusing what could escape or explode; returns notes."""
    notes = []
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise Ungradable(f"the zip file could not be opened ({e}); upload it again") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise Ungradable(f"the zip holds {len(members)} entries, more than the {MAX_MEMBERS} allowed")
        if sum(m.file_size for m in members) > MAX_UNPACKED:
            raise Ungradable(f"the zip unpacks to more than {MAX_UNPACKED >> 20} MB")
        unpacked = 0
        for m in members:
            name = PurePosixPath(m.filename.replace("\\", "/"))
            mode = m.external_attr >> 16
            if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", m.filename):
                notes.append(f"skipped {m.filename!r}: it points outside the submission")
                continue
            if stat.S_ISLNK(mode):
                notes.append(f"skipped {m.filename!r}: links are not followed")
                continue
            if m.is_dir():
                continue
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(m) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        unpacked += len(chunk)
                        if unpacked > MAX_UNPACKED:  # the sizes in the directory can lie
                            raise Ungradable(f"the zip unpacks to more than {MAX_UNPACKED >> 20} MB")
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
                raise Ungradable(f"the zip file is damaged ({m.filename}: {e}); upload it again") from None
    return notes


def locate(root):
    """The folder holding the learner's tree: the top, exercises/, or one single top folder."""

    def holds_tree(d):
        return (d / "derivatives.py").exists() or (d / "micrograd").is_dir() or (d / "train.py").exists()

    for candidate in (root, root / "exercises"):
        if candidate.is_dir() and not candidate.is_symlink() and holds_tree(candidate):
            return candidate
    tops = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))] if root.is_dir() else []
    if len(tops) == 1 and tops[0].is_dir() and not tops[0].is_symlink():
        return locate(tops[0])
    return None


def stage(source, dest):
    """Copy the tree's files from `source` into `dest`; returns notes. Raises Ungradable when
    nothing of the tree is there, or a file is not UTF-8 or not valid Python."""
    notes, copied = [], 0
    for rel in TREE:
        src = source / rel
        if src.is_symlink():
            notes.append(f"{rel} is a link; links are not followed, so it was left out")
            continue
        if not src.is_file():
            if rel != "micrograd/__init__.py":
                notes.append(f"{rel} is missing")
            continue
        if src.stat().st_size > MAX_FILE:
            raise Ungradable(f"{rel} is larger than {MAX_FILE >> 10} KB")
        data = src.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise Ungradable(f"{rel} is not UTF-8 text (line {line}); save it as UTF-8") from None
        try:
            compile(text, rel, "exec", dont_inherit=True)
        except SyntaxError as e:
            if e.lineno is None:  # a null byte, in the Pythons that call it a SyntaxError
                raise Ungradable(f"{rel} cannot be read as Python ({e.msg})") from None
            raise Ungradable(f"{rel} has a syntax error on line {e.lineno}: {e.msg}") from None
        except ValueError as e:  # a null byte, in the Pythons that call it a ValueError
            raise Ungradable(f"{rel} cannot be read as Python ({e})") from None
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        copied += 1
    if not copied:
        raise Ungradable("no file of the exercise tree was found (derivatives.py, micrograd/, train.py)")
    (dest / "micrograd").mkdir(exist_ok=True)
    (dest / "micrograd" / "__init__.py").touch()
    return notes


def collect(path, scratch):
    """Stage the submission at `path` into `scratch`/tree; returns notes for the student."""
    notes = []
    if path.is_dir():
        source = locate(path)
    else:
        unpacked = scratch / "unpacked"
        unpacked.mkdir()
        notes += unzip(path, unpacked)
        source = locate(unpacked)
    if source is None:
        raise Ungradable(
            "no exercise tree was found: put derivatives.py, micrograd/ and train.py at the "
            "top of the submission or under exercises/"
        )
    tree = scratch / "tree"
    tree.mkdir()
    notes += stage(source, tree)
    if not path.is_dir():
        shutil.rmtree(scratch / "unpacked")
    return notes
