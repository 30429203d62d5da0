"""Student ids: finding each student's submission (and the learner's tree in it), and the name each is
graded (and filed) under.

One rule for every route (kit grade, kit merge, nbgrader, Gradescope). After NFC normalisation, an id
of Unicode letters and digits and `. _ @ + -`, starting with a letter or a digit (at most 100
characters, 200 bytes), is graded under itself: `zoë`, `bob.smith@uni.edu`. Any other id (a space, other
punctuation, a control character, bytes that are not UTF-8, a leading `-` or `=`) is graded under a
safe name: its allowed characters kept (the rest become `_`), then `~` and 16 hex digits of a hash of
the id, `José_García~3f9c...`. No id holds a `~`, so a safe name never equals a real id; grades.json
keeps the id as it was submitted. Two ids that are equal after NFC and case-folding name one student
twice: that student's row says so, ungraded, and the others are graded.
"""

import hashlib
import unicodedata
from pathlib import Path

from kit.escape import escape_line

PUNCTUATION = "._@+-"
WORD = frozenset(("Lu", "Ll", "Lt", "Lm", "Lo", "Nd"))  # Unicode letters and decimal digits
MAX_CHARS, MAX_BYTES = 100, 200  # a file name holds 255 bytes: room for .json, .md and temporary names
READABLE = 32  # characters of the id kept in a safe name
MARK = "~"


def _word(c):
    return unicodedata.category(c) in WORD


def _allowed(c):
    return c in PUNCTUATION or _word(c)


def _bytes(text):
    """`text` as bytes, one to one: a file name's undecodable bytes (lone surrogates) included."""
    return text.encode("utf-8", "surrogatepass")


def shown(text):
    """An id as a person reads it: bytes that are not UTF-8 written as \\xNN (escape it for a terminal)."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = _bytes(text)
    return data.decode("utf-8", "backslashreplace")


def submitted(result):
    """The id `result` was submitted under: its `name` where it is graded under a safe name."""
    return result["name"] if isinstance(result.get("name"), str) else result["id"]


def login(result):
    """The id an LMS knows the student by: the id as submitted, unless it holds what no login does (a
    control or format character, or bytes that are not UTF-8); then the name it is graded under."""
    name = submitted(result)
    if any(unicodedata.category(c)[0] == "C" for c in name):
        return result["id"]
    return name


def is_valid(text):
    """Whether `text` is an id graded under itself: NFC, the allowed characters, within the bounds."""
    return (
        isinstance(text, str)
        and 0 < len(text) <= MAX_CHARS
        and _word(text[0])
        and all(map(_allowed, text))
        and len(text.encode("utf-8")) <= MAX_BYTES
        and unicodedata.is_normalized("NFC", text)
    )


def safe_name(text):
    """The name an id that is not valid is graded under: deterministic, and no valid id's."""
    readable = "".join(c if _allowed(c) else "_" for c in text[:READABLE])
    if not readable or not _word(readable[0]):
        readable = "_" + readable[1:]  # never a leading . (hidden), - (an option) or a formula's start
    return f"{readable}{MARK}{hashlib.sha256(_bytes(text)).hexdigest()[:16]}"


def graded_name(raw):
    """The name the student whose folder or zip is named `raw` is graded (and filed) under."""
    text = unicodedata.normalize("NFC", raw)
    return text if is_valid(text) else safe_name(text)


def is_name(text):
    """Whether `text` is a name the grader gives: a valid id, or a safe name (kit merge checks shards so)."""
    if is_valid(text):
        return True
    if not isinstance(text, str) or text.count(MARK) != 1:
        return False
    readable, digest = text.split(MARK)
    return (
        0 < len(readable) <= READABLE
        and (readable[0] == "_" or _word(readable[0]))
        and all(map(_allowed, readable))
        and len(digest) == 16
        and all(c in "0123456789abcdef" for c in digest)
    )


def key(raw):
    """What two ids that name one student share: the id after NFC and case-folding."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", raw).casefold())


def roster(names):
    """What an instructor's file may name a student by (kit/instructor/adjust.py): each graded name, and
    its key, for the first name in order where two share one."""
    return {**{key(n): n for n in sorted(names, reverse=True)}, **{n: n for n in names}}


def on_roster(listed, cell):
    """The graded name a `roster` gives the id in `cell` (as submitted or as graded, in any case: kit
    grade reads `Alice` and `alice` as one student), or None."""
    raw, graded = cell.strip(), graded_name(cell.strip())
    return next((listed[k] for k in (raw, graded, key(raw), key(graded)) if k in listed), None)


# Uploads a student may make that are not graded: each still gets its row, saying so (kit/instructor/collect.py):
# another archive, or one file handed in alone (a notebook, a module).
OTHER_ARCHIVES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".7z", ".rar", ".gz", ".bz2", ".xz")
SINGLE_FILES = (".ipynb", ".py")


def archive_id(name):
    """The id of an upload named `name`: a .zip's, another archive's or a single file's name without its
    suffix, else None."""
    lower = name.lower()
    kinds = (".zip", *OTHER_ARCHIVES, *SINGLE_FILES)
    suffix = next((s for s in kinds if lower.endswith(s) and len(name) > len(s)), None)
    return name[: -len(suffix)] if suffix else None


def not_graded(name):
    """Why the upload `name` is not unpacked (an archive other than a .zip, whose row says so), or None."""
    kind = name[len(archive_id(name) or name) :]
    if kind.lower() in SINGLE_FILES:
        return f"a {escape_line(kind)} file alone is not graded: upload the exercise tree as a folder, or a .zip of it"
    graded = kind.lower() in ("", ".zip")
    return None if graded else f"a {escape_line(kind)} archive is not graded: upload the folder itself, or a .zip of it"


def entries(submissions, hidden=()):
    """(student entries [(path, id as submitted)], the rest [(path, why it is not graded)]), sorted by name.
    Hidden entries (.DS_Store, .git) are passed over, but for the names in `hidden`: a platform's ids that
    start with a dot (nbgrader's submitted/.ann), graded under a safe name like any other id not valid."""
    students, rest = [], []
    for entry in sorted(Path(submissions).iterdir()):
        if entry.name.startswith(".") and entry.name not in hidden:
            rest.append((entry, "hidden"))
        elif entry.is_symlink():
            rest.append((entry, "a link, never followed out of the submissions folder"))
        elif entry.is_dir():
            students.append((entry, entry.name))
        elif entry.is_file() and archive_id(entry.name):
            students.append((entry, archive_id(entry.name)))
        else:
            rest.append((entry, "neither a folder nor an archive"))
    return students, rest


def find(submissions, hidden=()):
    """[(graded name, path, id as submitted, why it is not graded or None)] sorted by graded name:
    every folder and archive in `submissions` (kit/instructor/collect.py grades folders and .zip files,
    and says why another archive is not), hidden ones only where named in `hidden`. Two entries for one
    student (a folder and a zip, or ids equal after NFC and case-folding) are that student's one row, not
    graded, naming both: one student's uploads never stop the others."""
    uploads = {}
    for entry, raw in entries(submissions, hidden)[0]:
        uploads.setdefault(key(raw), []).append((entry, raw))
    found = {}
    for (entry, raw), *others in uploads.values():
        found[graded_name(raw)] = (entry, shown(raw), twice([(entry, raw), *others]) if others else None)
    return [(sid, path, raw, why) for sid, (path, raw, why) in sorted(found.items())]


def twice(uploads):
    """Why a student with several `uploads` [(path, id as submitted)] is not graded."""
    names = [escape_line(shown(path.name)) for path, _ in uploads]
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    if len({raw for _, raw in uploads}) == 1:
        return f"more than one upload of this student ({listed}): keep one, and grade again"
    return (
        f"one student under more than one id ({listed}, the same once accents are composed and case "
        "is ignored): keep one, and grade again"
    )


# --- where in a submission the learner's tree is ------------------------------------------------


def holds(folder):
    """Whether `folder` (no link) holds some of the learner's tree."""
    if not folder.is_dir() or folder.is_symlink():
        return False
    return (folder / "derivatives.py").exists() or (folder / "micrograd").is_dir() or (folder / "train.py").exists()


def locate(root, depth=0):
    """The folder holding the learner's tree: exercises/ where it holds some (a copy of the kit, as a
    Classroom repository is, where the learner's work is; files of the tree at its top are scratch),
    else the top, else one single top folder (a few deep)."""
    for candidate in (root / "exercises", root):
        if holds(candidate):
            return candidate
    tops = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))] if root.is_dir() else []
    if depth < 3 and len(tops) == 1 and tops[0].is_dir() and not tops[0].is_symlink():
        return locate(tops[0], depth + 1)
    return None
