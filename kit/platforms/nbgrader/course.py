"""Write the course: DIR/nbgrader_config.py and DIR/source/exNN/exNN.ipynb, one notebook per exercise.

A notebook is built from the kit's own sources: the lesson (docs/NN_<slug>.md) as markdown, the
code of the learner's tree (solutions/) as code cells, and one autograded test cell per test of
checks/test_NN_<slug>.py, worth that test's points.

A notebook's code cells each hold one file of the tree, headed by a `# <path>` line. The files of
exercise NN are solution cells: their `### BEGIN exNN` regions become nbgrader's
`### BEGIN SOLUTION` regions, which `nbgrader generate_assignment` clears. The files of the
exercises NN builds on come solved, in locked cells. A locked save cell after each file cell
writes it into impl/ next to the notebook, and the test cells run the kit's check on impl/
(kit/platforms/nbgrader/notebook.py): the learner's practice feedback. Grades come from
`python -m kit nbgrader grade` (grade.py), which never runs a notebook.
"""

import importlib
import re
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, TREE, check_file
from kit.platforms.nbgrader.lesson import lesson_cells
from kit.platforms.nbgrader.notebook import CHECK_TIMEOUT, IMPL
from kit.regions import regions, render, scan

CELL_TIMEOUT = 180  # seconds nbgrader waits for one cell; the first test cell runs the whole check
WARNING = r"(?i)warning"  # stderr text nbgrader drops before grading: a warning is not a failure

CONFIG = '''\
"""nbgrader settings of the micrograd-kit course, written by `python -m kit nbgrader`.

Kept as it is when the course is written again: edit it freely.
"""
from kit.platforms.nbgrader.verdicts import AUTOGRADE_PREPROCESSORS, VerdictsExporter

c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = {course_id!r}

# What a notebook writes next to itself: never released from source/, submitted or collected.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", {impl!r}]

# Grading never runs a learner's notebook: `python -m kit nbgrader grade exNN` grades the code of
# the submitted notebooks with the kit's isolated grader, and autograde only records its verdicts.
# Plain `nbgrader autograde` (or formgrader's button) stops with a message saying so.
c.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
# Checked as autograde starts: plain autograde stops before it removes any autograded/ copy (--force).
c.Autograde.exporter_class = VerdictsExporter

# For learners' own runs and `nbgrader validate`: the first test cell runs the whole check, which
# stops itself after {check_timeout} s.
c.Execute.timeout = {cell_timeout}

# nbgrader zeroes a test cell with any output on stderr. The test cells fail by raising, so
# stderr text that mentions a warning is dropped: it must not fail a passing test in validate.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = {warning!r}

# Where release_assignment, fetch_assignment, submit and collect meet (nbgrader's default).
c.Exchange.root = "/srv/nbgrader/exchange"
'''

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

INTRO = """\
**This notebook.** Read the lesson, fill in the code under *Your code*, then run every cell from
the top. The code cells are saved into `{impl}/` next to this notebook, and each cell under *Check
your work* runs one test of the kit's check-{ex} on them, {max_points} points in all. Your grade
comes from the same checks, run by your instructor on the code you submit."""

CHECK_YOUR_WORK = """\
## Check your work

Each cell below is one test of check-{ex}, worth the points shown in the grader. It prints `PASS`
or fails with a message that says what is wrong. The first one runs the whole check (a few
seconds); the others read its result. Edit your code, run its cell and the save cell after it,
and run these again."""


def tests_of(ex):
    """(test function name, points) of every test of check-NN, in the file's order."""
    module = importlib.import_module(check_file(ex).removesuffix(".py").replace("/", "."))
    tests = []
    for name, fn in vars(module).items():
        if not (name.startswith("test_") and callable(fn)):
            continue
        marks = getattr(fn, "pytestmark", [])
        points = next((m.args[0] for m in marks if m.name == "points"), None)
        if points is None:
            raise ValueError(f"{check_file(ex)}: {name} has no @points(n) marker")
        for m in marks:
            if m.name == "parametrize":
                points *= len(m.args[1])  # each case carries the points; the cell needs them all
        tests.append((name, points))
    if sum(p for _, p in tests) != POINTS[ex]:
        raise ValueError(
            f"{check_file(ex)}: check-{ex} is worth {POINTS[ex]} points, its tests carry {sum(p for _, p in tests)}"
        )
    return tests


def solution_source(text, ex, path):
    """The file solved up to `ex`, with exercise ex's regions as nbgrader solution regions."""
    # Mark ex's regions with comments that render() passes through, one line for one line.
    lines = []
    for line in scan(text, path):
        if line.ex == ex:
            lines.append(
                f"{line.indent}# <solution> {line.todo}" if line.kind == "begin" else f"{line.indent}# </solution>"
            )
        else:
            lines.append(line.text)
    out = []
    for line in render("\n".join(lines) + "\n", int(ex), path).splitlines():
        indent, rest = re.match(r"^(\s*)(.*)$", line).groups()
        if rest.startswith("# <solution> "):
            out += [f"{indent}# TODO(ex{ex}): {rest.removeprefix('# <solution> ')}", f"{indent}### BEGIN SOLUTION"]
        elif rest == "# </solution>":
            out.append(f"{indent}### END SOLUTION")
        else:
            out.append(line)
    return "\n".join(out)


def files_of(ex):
    """(path, whether the learner writes it) of the files notebook `ex` carries, in the tree's order:
    those with regions of `ex` or of the exercises it builds on, and the __init__.py of their packages."""
    exercises = {
        path: {r for r, _ in regions((ROOT / "solutions" / path).read_text(encoding="utf-8"))} for path in TREE
    }
    touched = [path for path in TREE if exercises[path] & {ex, *EXERCISES[ex].builds_on}]
    packages = {f"{path.rsplit('/', 1)[0]}/__init__.py" for path in touched if "/" in path}
    return [(path, ex in exercises[path]) for path in TREE if path in touched or path in packages]


def mark(cell, grade_id, **flags):
    """Give a cell nbgrader's metadata; grade, solution and locked are False unless set."""
    cell.metadata["nbgrader"] = {
        "grade": False,
        "solution": False,
        "locked": False,
        **flags,
        "grade_id": grade_id,
        "schema_version": 3,
    }
    return cell


def slug(path):
    """The grade id of a file's cell: micrograd/engine.py -> micrograd_engine_py."""
    return re.sub(r"\W", "_", path)


def code_cells(ex, var, nbf):
    """The given files in locked cells, then the learner's in solution cells; each saved by the cell
    right after it, so that a file importing an earlier one (nn.py imports engine.py) finds it."""
    files = files_of(ex)
    cells = []
    if any(not mine for _, mine in files):
        cells.append(nbf.v4.new_markdown_cell("Given, read-only: the files your code needs, solved. Run these cells."))
    for path in (path for path, mine in files if not mine):
        code = render((ROOT / "solutions" / path).read_text(encoding="utf-8"), int(ex), path)
        cells.append(mark(nbf.v4.new_code_cell(f"# {path}\n{code.rstrip()}"), f"given_{slug(path)}", locked=True))
        cells.append(mark(nbf.v4.new_code_cell(f"{var}.save({path!r})"), f"save_given_{slug(path)}", locked=True))
    for path in (path for path, mine in files if mine):
        code = solution_source((ROOT / "solutions" / path).read_text(encoding="utf-8"), ex, path)
        cells.append(
            nbf.v4.new_markdown_cell(
                f"### `{path}`\n\nYour code. Replace each `# YOUR CODE HERE` and the `raise` under it, keep the "
                f"first line (`# {path}`: the save cell finds your code by it), then run this cell and the next."
            )
        )
        cells.append(mark(nbf.v4.new_code_cell(f"# {path}\n{code}"), slug(path), solution=True))
        cells.append(mark(nbf.v4.new_code_cell(f"{var}.save({path!r})"), f"save_{slug(path)}", locked=True))
    return cells


def notebook(ex):
    """The source notebook of exercise `ex`."""
    import nbformat as nbf

    var, tests = f"ex{ex}", tests_of(ex)
    cells = lesson_cells(ex, nbf)
    cells.insert(1, nbf.v4.new_markdown_cell(INTRO.format(impl=IMPL, ex=ex, max_points=sum(p for _, p in tests))))
    cells.append(
        nbf.v4.new_markdown_cell(
            "## Your code\n\nRun the cells from here down in order, starting with this setup cell."
        )
    )
    setup = (
        f"# Setup: saves the code cells below into {IMPL}/ and runs the kit's check-{ex} on {IMPL}/.\n"
        f"from kit.platforms.nbgrader.notebook import Exercise\n\n{var} = Exercise({ex!r})"
    )
    cells.append(mark(nbf.v4.new_code_cell(setup), "setup", locked=True))
    cells += code_cells(ex, var, nbf)
    cells.append(nbf.v4.new_markdown_cell(CHECK_YOUR_WORK.format(ex=ex)))
    for test, points in tests:
        cells.append(mark(nbf.v4.new_code_cell(f"{var}.check({test!r})"), test, grade=True, locked=True, points=points))
    for i, cell in enumerate(cells):
        cell.id = f"ex{ex}-{i:02d}"  # the same course every time it is written
    return nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


def write_course(course, course_id="micrograd"):
    """Write the course into `course`; an nbgrader_config.py already there is kept (returns True then)."""
    import nbformat

    course = Path(course)
    course.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    kept = config.exists()
    if not kept:
        config.write_text(
            CONFIG.format(
                course_id=course_id, impl=IMPL, check_timeout=CHECK_TIMEOUT, cell_timeout=CELL_TIMEOUT, warning=WARNING
            ),
            encoding="utf-8",
        )
    for ex in EXERCISES:
        path = course / "source" / f"ex{ex}" / f"ex{ex}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook(ex), str(path))
    return kept
