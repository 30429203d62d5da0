"""A submitted notebook -> the learner's tree it holds, without running a cell of it.

The files the learner writes are what the notebook's save cells write into impl/ when its cells run
from the top (Restart & Run All, as `nbgrader validate` does): for each file, the last code cell above
its save cell that starts with `# <path>`, which is the solution cell unless the learner wrote their
code in a cell of their own. The save and solution cells are found by the grade ids of the course's
source notebook (which cells are solutions is never taken from the submitted metadata, which a learner
can edit); where a save cell is gone, the solution cell of that grade id is taken. The files given to
the learner come from the source notebook itself. So the kit's grader gives the tree the verdict the
notebook's own checks give it.

A submitted notebook is read as untrusted JSON: whatever its shape (not JSON, another nbformat,
cells or metadata of the wrong types, a solution cell that holds no text, too large), it is
Unreadable, which costs its student alone (trees: a class's notebooks, each taken out or said why not).
"""

import json
import shutil

from kit import untrusted
from kit.exercises import TREE
from kit.platforms.nbgrader.notebook import holds

MAX_NOTEBOOK = 20 << 20  # bytes of one submitted notebook (a solved one is about 100 KB)


class Unreadable(Exception):
    """Why a submitted notebook holds no tree, in words for the learner."""


def file_cells(nb):
    """(path, cell) of the code cells that hold a file of the learner's tree, headed `# <path>`."""
    for cell in nb.cells:
        path = cell.source.split("\n", 1)[0].removeprefix("# ").strip() if cell.cell_type == "code" else ""
        if path in TREE:
            yield path, cell


def cells_by_grade_id(nb):
    """grade id -> the first code cell with it (nbgrader keeps the first of duplicated ids too); a cell
    or metadata not of the types nbgrader writes makes the notebook Unreadable."""
    if not isinstance(nb.get("cells"), list):
        raise Unreadable("the notebook has no list of cells; submit it again")
    found = {}
    for i, cell in enumerate(nb["cells"]):
        metadata = cell.get("metadata", {}) if isinstance(cell, dict) else None
        marks = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else None
        if not isinstance(marks, dict):
            raise Unreadable(f"cell {i + 1} of the notebook is damaged (its nbgrader metadata); submit it again")
        grade_id = marks.get("grade_id")
        if isinstance(grade_id, str) and cell.get("cell_type") == "code":
            found.setdefault(grade_id, cell)
    return found


def text_of(path):
    """The text of the submitted notebook at `path`, read as a file from outside is (kit/untrusted.py)."""
    try:
        return untrusted.read_text(path, MAX_NOTEBOOK)
    except OSError as e:
        raise Unreadable(f"the notebook could not be opened ({e.strerror})") from None
    except untrusted.NotText as e:
        raise Unreadable(f"the notebook {e}; submit it again") from None


def read(path):
    import nbformat

    text = text_of(path)
    try:
        version = json.loads(text).get("nbformat")
    except (ValueError, AttributeError, RecursionError):
        raise Unreadable("the notebook is not a notebook's JSON; submit it again") from None
    if version != 4:
        raise Unreadable(f"the notebook is of nbformat {repr(version)[:20]}, not 4; submit the notebook you were given")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises many kinds for a damaged file (and RecursionError for a deep one)
        raise Unreadable(f"the notebook could not be read ({type(e).__name__}); submit it again") from None


def solution(cell, grade_id):
    """The code of a submitted solution cell: its source, text or a list of lines as nbformat keeps it."""
    source = cell.get("source")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise Unreadable(f"the solution cell {grade_id!r} holds no text; submit the notebook again")
    return source


def test_ids(nb):
    """The grade ids of the notebook's test cells (those marked as graded), in order."""
    marks = (cell.get("metadata", {}).get("nbgrader", {}) for cell in nb["cells"])
    return [m["grade_id"] for m in marks if m.get("grade") and isinstance(m.get("grade_id"), str)]


def lacking(nb, wanted):
    """The grade ids among `wanted` of which `nb` has no test cell: the learner deleted it, or its marks."""
    have = set(test_ids(nb))
    return [grade_id for grade_id in wanted if grade_id not in have]


def tree(source, submitted, dest):
    """Write the tree of the notebook at `submitted` into `dest`; `source` is the course's notebook."""
    return write(source, read(submitted), dest)


def saved(cells, save, path):
    """The code the save cell `save` writes into impl/<path> when the notebook's cells run from the top
    (Restart & Run All, as `nbgrader validate` runs them): the last code cell above it whose first line
    is `# <path>`, which may be a cell the learner added; None where there is none, or no save cell."""
    at = next((i for i, cell in enumerate(cells) if cell is save), 0)
    for cell in reversed(cells[:at]):
        source = cell.get("source") if cell.get("cell_type") == "code" else None
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if isinstance(source, str) and holds(source, path):
            return source
    return None


def write(source, nb, dest):
    """Write the tree of the submitted notebook `nb` (as read) into `dest`; `source` is the course's notebook."""
    theirs = cells_by_grade_id(nb)
    saves = dict(zip(map(id, source.cells), source.cells[1:]))  # a file cell's save cell is right after it
    files = {}
    for path, cell in file_cells(source):  # every file taken out first: a bad cell writes nothing
        if cell.metadata["nbgrader"].get("solution"):
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            save = theirs.get(saves[id(cell)].metadata.get("nbgrader", {}).get("grade_id"))
            code = saved(nb["cells"], save, path) if save is not None else None
            if code is not None:
                files[path] = code
            elif grade_id in theirs:  # no save cell, or nothing above it: the solution cell itself
                files[path] = solution(theirs[grade_id], grade_id)
            # else the learner deleted the cell: the file is missing, as in their impl/
        else:
            files[path] = cell.source
    for path, code in files.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # A lone surrogate from the JSON stays invalid UTF-8, as the notebook's save cell would fail on it.
        target.write_bytes((code.rstrip("\n") + "\n").encode("utf-8", "surrogatepass"))
    return dest


def trees(source, found, dest):
    """Take the learner's tree out of each notebook of `found` [(student, path)] into dest/<student>: returns
    ({student: why not} of the notebooks it could not, of which no part is graded, {student: the test cells
    their notebook lacks})."""
    unreadable, lacks = {}, {}
    for student, path in found:
        if not path.is_file():
            continue  # nothing submitted under that name
        try:
            nb = read(path)
            write(source, nb, dest / student)  # kit grade files it by its id, as nbgrader does
            lacks[student] = lacking(nb, test_ids(source))
        except Unreadable as e:
            unreadable[student] = str(e)
        except Exception as e:  # whatever one notebook does to the kit costs that student alone
            unreadable[student] = f"the notebook could not be read ({type(e).__name__}); submit it again"
        if student in unreadable:
            shutil.rmtree(dest / student, ignore_errors=True)
    return unreadable, lacks
