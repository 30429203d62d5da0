"""An nbgrader course of the seven exercises: `python -m kit nbgrader [--course DIR] [--course-id ID]`.

Writes DIR/nbgrader_config.py and DIR/source/exNN/exNN.ipynb, one notebook per exercise, built
from the kit's own sources: the lesson (docs/NN_<slug>.md) as markdown, the code of the learner's
tree (solutions/) as code cells, and one autograded test cell per test of checks/test_NN_<slug>.py,
worth that test's points.

A notebook's code cells each hold one file of the tree, headed by a `# <path>` line. The files of
exercise NN are solution cells: their `### BEGIN exNN` regions become nbgrader's
`### BEGIN SOLUTION` regions, which `nbgrader generate_assignment` clears. The files of the
exercises NN builds on come solved, in locked cells. Locked save cells write the code into impl/
next to the notebook, and the test cells grade impl/ with `python -m kit check NN`: a notebook
earns what `make check-NN` gives the same code.

The `Exercise` class below is what the notebooks import; it needs nothing but the standard library
and IPython, so any Python 3.10+ kernel runs them. The checks themselves run with the Python that
wrote the course, and the kit must stay where it was.
"""

import argparse
import base64
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, TREE, check_file, doc_path
from kit.regions import regions, render, scan

IMPL = "impl"  # the learner's tree, next to the notebook
CHECK_TIMEOUT = 60  # seconds one check may take, as in `make grade`
RUN_TIMEOUT = 150  # seconds until a check that still runs is given up
CELL_TIMEOUT = 180  # seconds nbgrader waits for one cell; the first test cell runs the whole check
WARNING = r"(?i)warning"  # stderr text nbgrader drops before grading: a warning is not a failure


# --- inside the notebook --------------------------------------------------------------------------


class Exercise:
    """The notebook's side of exercise `ex`: save code cells into impl/, grade impl/ with the check."""

    def __init__(self, ex, python):
        self.ex, self.python = ex, python
        self.impl = Path(IMPL).resolve()
        self.reports = {}  # digest of impl/ -> the check's JSON report
        if str(self.impl) not in sys.path:
            sys.path.insert(0, str(self.impl))  # so that a later cell can import the saved files

    def save(self, *paths):
        """Write the last cell run that starts with the line `# <path>` into impl/<path>."""
        from IPython import get_ipython

        history = get_ipython().history_manager.input_hist_raw
        for path in paths:
            header = f"# {path}"
            source = next((s for s in reversed(history) if s.split("\n", 1)[0].strip() == header), None)
            if source is None:
                raise RuntimeError(
                    f"No cell starting with the line `{header}` has run yet: run it, "
                    "then this cell. (Keep that first line: it is how this cell finds your code.)"
                )
            target = self.impl / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.rstrip("\n") + "\n", encoding="utf-8")
            print(f"saved {IMPL}/{path}")
        for name in map(module_name, TREE):
            sys.modules.pop(name, None)  # the next import reads the files just saved
        importlib.invalidate_caches()

    def check(self, test):
        """Pass when `test` of the check passes on impl/; else fail with the kit's message."""
        results = [t for t in self.report()["tests"] if t["nodeid"].split("::")[-1].split("[")[0] == test]
        if not results:
            raise AssertionError(f"check-{self.ex} did not run {test}.")
        failed = [t for t in results if t["status"] != "pass"]
        if failed:
            raise AssertionError("\n\n".join(t["message"] or t["status"] for t in failed))
        print(f"PASS  {sum(t['points'] for t in results)}/{sum(t['max'] for t in results)}  {results[0]['test']}")

    def report(self):
        """The check's report on impl/, run again only when a file of impl/ changed."""
        digest = hashlib.sha256()
        for path in sorted(self.impl.rglob("*.py")) if self.impl.is_dir() else []:
            digest.update(str(path.relative_to(self.impl)).encode() + b"\0" + path.read_bytes() + b"\0")
        key = digest.hexdigest()
        if key not in self.reports:
            self.reports = {key: self.run_check()}
        return self.reports[key]

    def run_check(self):
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            cmd = [
                self.python,
                "-m",
                "kit",
                "check",
                self.ex,
                "--impl",
                str(self.impl),
                "--report",
                str(report),
                "--check-timeout",
                str(CHECK_TIMEOUT),
            ]
            try:
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"check-{self.ex} did not finish within {RUN_TIMEOUT} s.") from None
            if not report.is_file():
                output = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
                raise AssertionError(f"check-{self.ex} could not run:\n{output}")
            return json.loads(report.read_text())


def module_name(path):
    """micrograd/engine.py -> micrograd.engine; micrograd/__init__.py -> micrograd."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


# --- the course -----------------------------------------------------------------------------------

CONFIG = '''\
"""nbgrader settings of the micrograd-kit course, written by `python -m kit nbgrader`.

Kept as it is when the course is written again: edit it freely.
"""
c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = {course_id!r}

# What a notebook writes next to itself: never released from source/, submitted or collected.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", {impl!r}]

# The first test cell of a notebook runs the whole check; the check stops itself after {check_timeout} s.
c.Execute.timeout = {cell_timeout}

# nbgrader zeroes a test cell with any output on stderr. The test cells fail by raising, so
# stderr text that mentions a warning is dropped before grading: it must not zero a passing test.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = {warning!r}

# Where release_assignment, fetch_assignment, submit and collect meet (nbgrader's default).
c.Exchange.root = "/srv/nbgrader/exchange"
'''

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
SECTION = re.compile(r"^## (?P<title>.+)$")
FIGURE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(figures/(?P<name>[^)\s]+)\)")
KIT_PATH = re.compile(r"`exercises/(?=[^`])")  # `exercises/train.py` is the cell headed `# train.py`
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}

INTRO = """\
**This notebook.** Read the lesson, fill in the code under *Your code*, then run every cell from
the top. The code cells are saved into `{impl}/` next to this notebook, and each cell under *Check
your work* runs one test of the kit's check-{ex} on them: together they give the points of
`make check-{ex}`, {max_points} in all."""

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


def lesson_cells(ex, nbf):
    """The lesson as markdown cells, one per section, without its kit-only *Check your work*."""
    sections, fence = [[]], False
    for line in (ROOT / doc_path(ex)).read_text(encoding="utf-8").splitlines():
        fence ^= line.startswith("```")
        if SECTION.match(line) and not fence:
            sections.append([])
        sections[-1].append(line)
    cells = []
    for lines in sections:
        if not lines or lines[0] == "## Check your work":
            continue
        cells.append(markdown_with_figures("\n".join(lines).strip(), nbf))
    return cells


def markdown_with_figures(text, nbf):
    """A markdown cell with the lesson's figures attached, so the notebook stands alone."""
    attachments = {}

    def attach(m):
        path = ROOT / "docs" / "figures" / m["name"]
        if not path.is_file() or path.suffix not in MIME:
            return f"*(Figure: {m['alt']}; see docs/figures/{m['name']} in the kit.)*"
        attachments[m["name"]] = {MIME[path.suffix]: base64.b64encode(path.read_bytes()).decode()}
        return f"![{m['alt']}](attachment:{m['name']})"

    cell = nbf.v4.new_markdown_cell(KIT_PATH.sub("`", FIGURE.sub(attach, text)))
    if attachments:
        cell.attachments = attachments
    return cell


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
    packages = {(Path(path).parent / "__init__.py").as_posix() for path in touched}
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


def code_cells(ex, var, nbf):
    """The given files in locked cells, then the learner's in solution cells; each saved by the cell after."""
    files = files_of(ex)
    given = [path for path, mine in files if not mine]
    cells = []
    if given:
        cells.append(nbf.v4.new_markdown_cell("Given, read-only: the files your code needs, solved. Run these cells."))
        for path in given:
            code = render((ROOT / "solutions" / path).read_text(encoding="utf-8"), int(ex), path)
            cells.append(mark(nbf.v4.new_code_cell(f"# {path}\n{code.rstrip()}"), f"given_{slug(path)}", locked=True))
        cells.append(
            mark(nbf.v4.new_code_cell(f"{var}.save({', '.join(map(repr, given))})"), "save_given", locked=True)
        )
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


def slug(path):
    return re.sub(r"\W", "_", path)


def notebook(ex, python=sys.executable):
    """The source notebook of exercise `ex`; its checks will run with `python`."""
    import nbformat as nbf

    var, tests = f"ex{ex}", tests_of(ex)
    cells = lesson_cells(ex, nbf)
    cells.insert(1, nbf.v4.new_markdown_cell(INTRO.format(impl=IMPL, ex=ex, max_points=sum(p for _, p in tests))))
    cells.append(
        nbf.v4.new_markdown_cell(
            "## Your code\n\nRun the cells from here down in order, starting with this setup cell."
        )
    )
    cells.append(
        mark(
            nbf.v4.new_code_cell(
                f"# Setup: saves the code cells below into {IMPL}/ and grades {IMPL}/ with the kit's check-{ex}.\n"
                f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom kit.platforms.nbgrader import Exercise\n"
                f"{var} = Exercise({ex!r}, python={python!r})"
            ),
            "setup",
            locked=True,
        )
    )
    cells += code_cells(ex, var, nbf)
    cells.append(nbf.v4.new_markdown_cell(CHECK_YOUR_WORK.format(ex=ex)))
    for test, points in tests:
        cells.append(mark(nbf.v4.new_code_cell(f"{var}.check({test!r})"), test, grade=True, locked=True, points=points))
    for i, cell in enumerate(cells):
        cell.id = f"ex{ex}-{i:02d}"  # the same course every time it is written
    return nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


def write_course(course, course_id="micrograd", python=sys.executable):
    """Write the course into `course`; an nbgrader_config.py already there is kept."""
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
        nbformat.write(notebook(ex, python), str(path))
    return kept


# --- running nbgrader here (the kit's tests and benchmarks) -----------------------------------------


def kernel_env(home, python=sys.executable):
    """An environment for the nbgrader CLI: `python` as the `python3` kernel, no user Jupyter settings."""
    home = Path(home)
    spec = home / "path" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3",
                "language": "python",
            }
        )
    )
    # A new gradebook runs `alembic` from PATH: the one next to this Python.
    path = str(Path(python).parent) + os.pathsep + os.environ.get("PATH", "")
    return {
        **os.environ,
        "PATH": path,
        "JUPYTER_PATH": str(home / "path"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }


def file_cells(nb):
    """path -> the code cell that holds that file of the learner's tree."""
    return {
        c.source.split("\n", 1)[0].removeprefix("# "): c
        for c in nb.cells
        if c.cell_type == "code" and c.source.split("\n", 1)[0].removeprefix("# ") in TREE
    }


def solve(nb, ex):
    """Fill a released notebook's solution cells with the reference code of exercise `ex`."""
    for path, cell in file_cells(nb).items():
        if cell.metadata["nbgrader"]["solution"]:
            cell.source = f"# {path}\n" + render((ROOT / "solutions" / path).read_text(), int(ex), path)
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit nbgrader", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--course", default="nbgrader-course", help="the course folder to write (default: nbgrader-course)"
    )
    parser.add_argument("--course-id", default="micrograd", help="nbgrader's course id (default: micrograd)")
    args = parser.parse_args(argv)
    try:
        import nbformat  # noqa: F401
    except ImportError:
        print("error: nbformat is not installed: pip install -e '.[instructor]'", file=sys.stderr)
        return 2
    kept = write_course(args.course, args.course_id)
    course = Path(args.course)
    print(f"wrote {course / 'source'}/ex01 ... ex07 (one notebook each)")
    print(f"{'kept' if kept else 'wrote'} {course / 'nbgrader_config.py'}")
    print(f"next: cd {course} && nbgrader generate_assignment ex01   (see docs/instructor/nbgrader.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
