"""Collect a submission: unpack it safely, and stage the learner's tree.

A submission is a folder or a `.zip` named by the student's id (found by kit/instructor/ids.py; another archive is
ungradable, saying so), holding the learner's tree at its top, under `exercises/`, or under one single top folder.
Every Python file of the tree is staged as it is (within bounds, sizes checked before a byte is read), so the checks
see what `make check` would import: a file that does not compile costs only the checks that need it. The contract's
files come first, then what they import, then the rest, so no cap ever pushes them out; folders that cannot be the
tree (virtualenvs, .git, node_modules) are never entered. A conftest.py and every file that is not Python are left
behind and named in the notes. Whatever one upload holds costs that student alone: a submission that cannot be
graded gets a reason a student can act on, never an exception of the grader.
"""

import errno
import hashlib
import os
import re
import shutil
import stat
import zipfile
import zlib
from collections import deque
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

from checks.worker.staged import MAX_FILE, MAX_PATH, left_out, skipped_folder
from kit.escape import escape_line
from kit.exercises import TREE
from kit.instructor import ids, scan, scanner

MAX_MEMBERS = 2000  # entries in one zip
MAX_UNPACKED = 50 << 20  # bytes unpacked from one zip
MAX_FILES = 200  # Python files staged from one tree
MAX_TREE = 8 << 20  # bytes staged from one tree
MAX_SEEN = 20_000  # entries looked at in one submission
MAX_DEPTH = 16  # folders below the submission's top
ENVIRONMENT = ("pyvenv.cfg", "conda-meta")  # a folder holding one of these is a Python environment
LEFT_OUT_SHOWN = 20  # names listed in one note
# The grader's own trouble (its disk, its memory): graded again on a re-run, never the student's fault.
GRADER_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM, errno.EMFILE, errno.ENFILE}


# kit merge checks a shard's ids with SAFE_ID.fullmatch: the names of kit/instructor/ids.py's rule.
SAFE_ID = SimpleNamespace(fullmatch=ids.is_name)


class Ungradable(Exception):
    """The reason a submission cannot be graded, in words for the student."""


def listed(sentence, names):
    """One note naming at most LEFT_OUT_SHOWN of `names`, and how many more."""
    more = f" and {len(names) - LEFT_OUT_SHOWN} more" if len(names) > LEFT_OUT_SHOWN else ""
    return f"{sentence}: {', '.join(names[:LEFT_OUT_SHOWN])}{more}"


def shortened(text, most=80):
    """A name cut in its middle to at most about `most` characters."""
    return text if len(text) <= most else f"{text[: most - 25]}...{text[-20:]}"


def grouped(skipped):
    """{sentence: [names]} as notes, in the order the sentences were first met."""
    return [listed(sentence, names) for sentence, names in skipped.items() if names]


def open_zip(archive):
    try:
        return zipfile.ZipFile(archive)
    except UnicodeDecodeError:
        raise Ungradable("the zip's file names are not readable (marked UTF-8, but not); zip it again") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        if isinstance(e, OSError) and e.errno in GRADER_ERRNOS:
            raise
        raise Ungradable(f"the zip file could not be opened ({escape_line(e)}); upload it again") from None


def unzip(archive, dest):
    """Extract `archive` into `dest`, refusing what could escape or explode; returns notes."""
    skipped = {}

    def skip(why, shown):
        skipped.setdefault(why, []).append(shown)

    with open_zip(archive) as zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise Ungradable(
                f"the zip holds {len(members)} entries, more than the {MAX_MEMBERS} allowed "
                "(leave out virtualenvs, .git and node_modules)"
            )
        if sum(m.file_size for m in members) > MAX_UNPACKED:
            raise Ungradable(f"the zip unpacks to more than {MAX_UNPACKED >> 20} MB")
        unpacked = 0
        for m in members:
            name = PurePosixPath(m.filename.replace("\\", "/"))
            shown = escape_line(shortened(repr(m.filename)))  # repr escapes control characters
            if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", m.filename):
                skip("skipped, as they point outside the submission", shown)
            elif stat.S_ISLNK(m.external_attr >> 16):
                skip("skipped, as links are not followed", shown)
            elif len(name.parts) > MAX_DEPTH + 1 or len(m.filename.encode("utf-8", "replace")) > MAX_PATH:
                skip(f"skipped, as they lie over {MAX_DEPTH} folders deep or their names pass {MAX_PATH} bytes", shown)
            elif not m.is_dir():
                try:
                    unpacked += extract(zf, m, dest.joinpath(*name.parts), MAX_UNPACKED - unpacked)
                except (FileExistsError, NotADirectoryError, IsADirectoryError):
                    skip("skipped, as a file and a folder have the same name", shown)
                except RuntimeError:  # zipfile's word for an encrypted member (its message is a repr)
                    raise Ungradable(f"{shown} is encrypted; zip it again without a password") from None
                except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError, zlib.error) as e:
                    raise Ungradable(f"the zip file is damaged ({shown}: {escape_line(e)}); upload it again") from None
    return grouped(skipped)


def extract(zf, member, target, room):
    """Write one member to `target`, at most `room` bytes whatever its header says; returns the bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(member) as src, open(target, "wb") as out:
        while chunk := src.read(1 << 16):
            written += len(chunk)
            if written > room:  # the sizes in the directory can lie
                raise Ungradable(f"the zip unpacks to more than {MAX_UNPACKED >> 20} MB")
            out.write(chunk)
    return written


def environment(folder):
    """Whether the folder at `folder` cannot be the learner's tree: hidden, a cache, or a Python environment."""
    name = os.path.basename(folder)
    if skipped_folder(name):
        return True
    return any(os.path.lexists(os.path.join(folder, marker)) for marker in ENVIRONMENT)


def walk(source):
    """([(relative posix path, path, lstat)] in path order, notes): every file under `source`, links
    included and never followed; folders that cannot be the tree are not entered, and the walk stops
    at MAX_DEPTH folders down and after MAX_SEEN entries."""
    found, todo, seen, skipped = [], deque([(source, 0)]), 0, {}
    while todo and seen <= MAX_SEEN:  # the shallowest folders first
        folder, depth = todo.popleft()
        with os.scandir(folder) as it:
            entries = sorted((e for _, e in zip(range(MAX_SEEN + 1 - seen), it)), key=lambda e: e.name)
        seen += len(entries)
        for entry in entries:
            rel = Path(entry.path).relative_to(source).as_posix()
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if environment(entry.path):
                    continue
                if depth >= MAX_DEPTH:
                    skipped.setdefault(f"not looked into, as they lie deeper than {MAX_DEPTH} folders", []).append(rel)
                else:
                    todo.append((Path(entry.path), depth + 1))
            else:
                found.append((rel, Path(entry.path), st))
    notes = [listed(s, [escape_line(shortened(n)) for n in names]) for s, names in skipped.items()]
    if seen > MAX_SEEN:
        notes.append(f"the submission holds more than {MAX_SEEN} entries; the rest were not looked at")
    return sorted(found, key=lambda f: f[0]), notes


def lookup(source, rel):
    """(path, lstat) of the file `rel` under `source`, through real folders only; None where there is none."""
    path = source
    try:
        for part in rel.split("/")[:-1]:
            path = path / part
            if not stat.S_ISDIR(path.lstat().st_mode) or environment(path):
                return None  # where the walk would not go either
        path = path / rel.rsplit("/", 1)[-1]
        return path, path.lstat()
    except OSError:
        return None


def stage(source, dest):
    """Copy the Python files of the tree at `source` into `dest` (sizes checked before any byte is
    read): the contract's files first, then what they import, then the rest in path order; returns
    notes (what was left out). Raises Ungradable when no file of the exercise tree is there."""
    files, notes = walk(source)
    by_rel = {rel: (src, st) for rel, src, st in files}
    by_rel.update((rel, found) for rel in TREE if rel not in by_rel and (found := lookup(source, rel)))
    queue, rest = deque(rel for rel in TREE if rel in by_rel), iter(sorted(by_rel))
    done, staged, size, skipped = set(queue), 0, 0, {}

    def skip(why, rel):
        skipped.setdefault(why, []).append(escape_line(shortened(rel)))

    while (rel := queue.popleft() if queue else next((r for r in rest if r not in done), None)) is not None:
        done.add(rel)
        src, st = by_rel[rel]
        if why := left_out(rel, stat.S_ISLNK(st.st_mode), stat.S_ISREG(st.st_mode), st.st_size):
            skip(why, rel)
        elif staged >= MAX_FILES or size + st.st_size > MAX_TREE:
            skip(f"left out, as a tree holds at most {MAX_FILES} Python files, {MAX_TREE >> 20} MB", rel)
        else:
            with open(src, "rb") as f:
                data = f.read(MAX_FILE + 1)[:MAX_FILE]  # the file may have grown since it was measured
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            staged, size = staged + 1, size + len(data)
            wanted = scan.imports(rel, data.decode("utf-8", "replace"))
            for w in dict.fromkeys(wanted):  # found even where the walk stopped short of it
                if w not in done and (found := by_rel.get(w) or lookup(source, w)):
                    by_rel[w] = found
                    queue.append(w)
                    done.add(w)
    if not any((dest / rel).is_file() for rel in TREE):
        raise Ungradable("no file of the exercise tree was found (derivatives.py, micrograd/, train.py)")
    # Missing: not in the upload. A file it holds but that was left out is named for that reason alone.
    notes += [f"{rel} is missing{astray(rel, by_rel)}" for rel in TREE if rel not in by_rel and "__" not in rel]
    (dest / "micrograd").mkdir(exist_ok=True)
    (dest / "micrograd" / "__init__.py").touch()
    return notes + grouped(skipped)


def astray(rel, top):
    """Where micrograd/ lacks `rel` but a file of its name lies at the top (`top`: names there), as
    an upload of loose files leaves it: the words that say where it belongs; else ''."""
    name = rel.rpartition("/")[2]
    placed = rel.startswith("micrograd/") and name in top
    return f": {name} lies at the top, and the checks import it from micrograd/" if placed else ""


def fingerprint(tree):
    """A hash of a staged tree (its files' names and bytes): what decides whether a submission changed."""
    h = hashlib.sha256()
    for rel, path, _ in walk(Path(tree))[0]:
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def collect(path, scratch, scanning=None):
    """Stage the submission at `path` into `scratch`/tree; returns notes for the student. Whatever
    the upload holds, the outcome is notes or Ungradable; only the grader's own trouble (its disk
    full) is an OSError. `scanning`: the grading's Scanner (kit/instructor/scanner.py), if any."""
    try:
        return _collect(path, scratch, scanning)
    except Ungradable:
        raise
    except OSError as e:
        if e.errno in GRADER_ERRNOS:
            raise
        name = (
            escape_line(shortened(ids.shown(os.path.basename(os.fsdecode(e.filename)))))
            if isinstance(e.filename, (str, bytes))
            else ""
        )
        raise Ungradable(f"the submission could not be read ({escape_line(e.strerror or e)}: {name})") from None
    except Exception as e:  # noqa: BLE001 - one upload never stops the class
        raise Ungradable(
            f"the submission could not be read ({type(e).__name__}: {escape_line(str(e)[:200])})"
        ) from None


def only_zip(folder):
    """The one entry of `folder` (hidden ones aside) where it is a .zip file, not a link; else None."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    one = entries[0] if len(entries) == 1 else None
    return one if one and one.name.lower().endswith(".zip") and one.is_file() and not one.is_symlink() else None


def _collect(path, scratch, scanning):
    notes, source = [], ids.locate(path) if path.is_dir() else None
    if source is None and path.is_dir() and (inner := only_zip(path)):
        notes.append(f"the tree in {escape_line(inner.name)}, the one .zip in the folder, was graded")
        path = inner  # an LMS's download: each student's folder holds the .zip they uploaded
    if not path.is_dir():
        if reason := ids.not_graded(path.name):
            raise Ungradable(reason)
        unpacked = scratch / "unpacked"
        unpacked.mkdir()
        notes += unzip(path, unpacked)
        source = ids.locate(unpacked)
    if source is None:
        top = {p.name for p in (path if path.is_dir() else unpacked).iterdir()}
        raise Ungradable(
            "no exercise tree was found: put derivatives.py, micrograd/ and train.py at the top of the "
            f"submission or under exercises/{astray('micrograd/engine.py', top) or astray('micrograd/nn.py', top)}"
        )
    if source.name == "exercises" and ids.holds(source.parent):
        top = [rel for rel in ("derivatives.py", "micrograd", "train.py") if (source.parent / rel).exists()]
        were = "were" if top[1:] else "was"
        notes.append(f"exercises/ was graded; {', '.join(top)} at the top of the submission {were} not")
    tree = scratch / "tree"
    tree.mkdir()
    notes += stage(source, tree)
    try:
        notes += (scanning.inspect if scanning else scanner.inspect)(tree)  # what will not import; for review
    except scanner.Unreadable as e:
        raise Ungradable(str(e)) from None
    if not path.is_dir():
        shutil.rmtree(scratch / "unpacked")
    return notes
