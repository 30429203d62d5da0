"""Collect submissions: find them, unpack them safely, and stage the learner's tree.

A submission is a folder or a `.zip` named by the student's id, holding the learner's tree at
its top, under `exercises/`, or under one single top folder. Every Python file of the tree is
staged as it is (within size caps, checked before a byte is read), so the checks see what
`make check` would import: a file that does not compile costs only the checks that need it. A
conftest.py and every file that is not Python are left behind and named in the notes. A
submission that cannot be graded gets a reason a student can act on.
"""

import hashlib
import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from kit.escape import escape_line
from kit.exercises import TREE
from kit.instructor import scan

MAX_MEMBERS = 2000  # entries in one zip
MAX_UNPACKED = 50 << 20  # bytes unpacked from one zip
MAX_FILE = 1 << 20  # bytes in one file of the tree
MAX_FILES = 200  # Python files staged from one tree
MAX_TREE = 8 << 20  # bytes staged from one tree
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
SKIPPED_DIRS = {"__pycache__", "__MACOSX", "node_modules"}  # and every folder whose name starts with "."
LEFT_OUT_SHOWN = 20  # names of left-out files listed in the notes
NEWLINE = b"\n"


class Ungradable(Exception):
    """The reason a submission cannot be graded, in words for the student."""


def find(submissions):
    """[(student id, path)] sorted by id: every folder and .zip in `submissions`. A folder that cannot
    be graded as it is stops the grading before anything is touched, with every problem listed."""
    found, problems = {}, []
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
        if not SAFE_ID.fullmatch(sid):
            problems.append(
                f"{escape_line(entry)}: a student id may hold letters, digits and . _ @ + - only "
                "(no spaces, no control characters); rename it"
            )
        elif sid in found:
            problems.append(f"{escape_line(entry)}: student {sid} has both a folder and a zip; keep one")
        else:
            found[sid] = entry
    if problems:
        raise SystemExit("nothing was graded or written:\n" + "\n".join(problems))
    return sorted(found.items())


def unzip(archive, dest):
    """Extract `archive` into `dest`, refusing what could escape or explode; returns notes."""
    notes = []
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise Ungradable(f"the zip file could not be opened ({escape_line(e)}); upload it again") from None
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
            shown = repr(m.filename)  # repr escapes control characters
            if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", m.filename):
                notes.append(f"skipped {shown}: it points outside the submission")
                continue
            if stat.S_ISLNK(mode):
                notes.append(f"skipped {shown}: links are not followed")
                continue
            if m.is_dir():
                continue
            target = dest.joinpath(*name.parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    while chunk := src.read(1 << 16):
                        unpacked += len(chunk)
                        if unpacked > MAX_UNPACKED:  # the sizes in the directory can lie
                            raise Ungradable(f"the zip unpacks to more than {MAX_UNPACKED >> 20} MB")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError) as e:
                raise Ungradable(f"the zip file is damaged ({shown}: {escape_line(e)}); upload it again") from None
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                notes.append(f"skipped {shown}: a file and a folder of the same name")
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


def walk(source):
    """Every file under `source` as (relative posix path, path, lstat), links included and never
    followed, sorted; skipped folders are not entered."""
    found, stack = [], [source]
    while stack:
        folder = stack.pop()
        for entry in folder.iterdir():
            st = entry.lstat()
            if stat.S_ISDIR(st.st_mode):
                if not (entry.name.startswith(".") or entry.name in SKIPPED_DIRS):
                    stack.append(entry)
            else:
                found.append((entry.relative_to(source).as_posix(), entry, st))
    return sorted(found, key=lambda f: f[0])


def problem(rel, data):
    """What `make check` would stumble on when importing this file, or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(NEWLINE) + 1
        return f"{rel} is not UTF-8 text (line {line}); save it as UTF-8"
    try:
        compile(text, rel, "exec", dont_inherit=True)
    except SyntaxError as e:
        if e.lineno is None:
            return f"{rel} cannot be read as Python ({escape_line(e.msg)})"
        return f"{rel} has a syntax error on line {e.lineno}: {escape_line(e.msg)}"
    except ValueError as e:  # a null byte, in the Pythons that call it a ValueError
        return f"{rel} cannot be read as Python ({escape_line(e)})"
    return None


def stage(source, dest):
    """Copy every Python file of the tree at `source` into `dest` (sizes checked before any byte is
    read); returns notes: what was left out, and which files will not import. Raises Ungradable
    when no file of the exercise tree is there."""
    notes, left_out, staged, size = [], [], 0, 0
    for rel, src, st in walk(source):
        shown = escape_line(rel)
        if stat.S_ISLNK(st.st_mode):
            notes.append(f"{shown} is a link; links are not followed, so it was left out")
            continue
        if not stat.S_ISREG(st.st_mode) or not rel.endswith(".py") or rel.rsplit("/", 1)[-1] == "conftest.py":
            left_out.append(shown)
            continue
        if st.st_size > MAX_FILE:
            notes.append(f"{shown} is larger than {MAX_FILE >> 10} KB, so it was left out")
            continue
        if staged >= MAX_FILES or size + st.st_size > MAX_TREE:
            notes.append(f"{shown} was left out: a tree holds at most {MAX_FILES} files, {MAX_TREE >> 20} MB")
            continue
        with open(src, "rb") as f:
            data = f.read(MAX_FILE + 1)[:MAX_FILE]  # the file may have grown since it was measured
        if (why := problem(shown, data)) is not None:
            notes.append(why)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        staged, size = staged + 1, size + len(data)
    if not any((dest / rel).is_file() for rel in TREE):
        raise Ungradable("no file of the exercise tree was found (derivatives.py, micrograd/, train.py)")
    notes += [f"{rel} is missing" for rel in TREE if rel != "micrograd/__init__.py" and not (dest / rel).exists()]
    if left_out:
        more = f" and {len(left_out) - LEFT_OUT_SHOWN} more" if len(left_out) > LEFT_OUT_SHOWN else ""
        notes.append(f"left out, as the checks never import them: {', '.join(left_out[:LEFT_OUT_SHOWN])}{more}")
    (dest / "micrograd").mkdir(exist_ok=True)
    (dest / "micrograd" / "__init__.py").touch()
    return notes


def fingerprint(tree):
    """A hash of a staged tree (its files' names and bytes): what decides whether a submission changed."""
    h = hashlib.sha256()
    for rel, path, _ in walk(Path(tree)):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


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
    notes += scan.notes(tree)  # reasons for review, never a score
    if not path.is_dir():
        shutil.rmtree(scratch / "unpacked")
    return notes
