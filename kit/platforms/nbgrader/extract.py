"""A submitted notebook -> the learner's tree it holds, without running a cell of it.

The files the learner writes are the notebook's solution cells, found by the grade ids of the
course's source notebook (never by the submitted metadata, which a learner can edit); the files
given to the learner come from the source notebook itself. That is the tree the notebook's save
cells write into impl/, so the kit's grader gives it the verdict the notebook's own checks give.
"""

from kit.exercises import TREE

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
    """grade id -> the first code cell with it (nbgrader keeps the first of duplicated ids too)."""
    found = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and isinstance(grade_id, str):
            found.setdefault(grade_id, cell)
    return found


def read(path):
    import nbformat

    if path.stat().st_size > MAX_NOTEBOOK:
        raise Unreadable(f"the notebook is larger than {MAX_NOTEBOOK >> 20} MB")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as e:  # nbformat raises several kinds for a damaged file
        raise Unreadable(f"the notebook could not be read ({type(e).__name__}); submit it again") from None


def tree(source, submitted, dest):
    """Write the tree of the notebook at `submitted` into `dest`; `source` is the course's notebook."""
    theirs = cells_by_grade_id(read(submitted))
    for path, cell in file_cells(source):
        if cell.metadata["nbgrader"].get("solution"):
            mine = theirs.get(cell.metadata["nbgrader"]["grade_id"])
            if mine is None:
                continue  # the learner deleted the cell: the file is missing, as in their impl/
            code = mine.source
        else:
            code = cell.source
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        # A lone surrogate from the JSON stays invalid UTF-8, as the notebook's save cell would fail on it.
        target.write_bytes((code.rstrip("\n") + "\n").encode("utf-8", "surrogatepass"))
    return dest
