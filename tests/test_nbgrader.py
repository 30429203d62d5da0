"""The nbgrader course: written by `python -m kit nbgrader`, then run through the real nbgrader CLI.

One course is generated, released and autograded for three students (every notebook solved,
every notebook untouched, two notebooks half solved) with a single `nbgrader autograde`, and
the scores are read from the CSV of `nbgrader export`.
"""

import csv
import importlib
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[instructor]' (make test does)")
import nbformat  # noqa: E402 (nbgrader brings it)
from conftest import run_checks  # noqa: E402

from kit import ROOT  # noqa: E402
from kit.exercises import EXERCISES, POINTS, check_file  # noqa: E402
from kit.platforms.nbgrader import file_cells, kernel_env, solve, write_course  # noqa: E402
from kit.regions import scan  # noqa: E402

HALF = ("03", "07")  # the half-solved student solves the first TODO of these, nothing else


def nbgrader(*args, cwd, env):
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return kernel_env(tmp_path_factory.mktemp("jupyter"))


@pytest.fixture(scope="module")
def course(tmp_path_factory, env):
    """A course written by `python -m kit nbgrader` and released by `nbgrader generate_assignment`."""
    course = tmp_path_factory.mktemp("course")
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "nbgrader", "--course", str(course), "--course-id", "mg101"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # What running a source notebook leaves next to it: the reference code, never to be released.
    leftover = course / "source" / "ex03" / "impl" / "micrograd" / "engine.py"
    leftover.parent.mkdir(parents=True)
    leftover.write_text((ROOT / "solutions" / "micrograd" / "engine.py").read_text())
    nbgrader("generate_assignment", "ex*", cwd=course, env=env)
    return course


def solution_cells(nb):
    return {path: c for path, c in file_cells(nb).items() if c.metadata["nbgrader"]["solution"]}


def first_region(path, ex):
    """The code of the first `### BEGIN exNN` region of a reference file, dedented."""
    lines = scan((ROOT / "solutions" / path).read_text())
    start = next(i for i, line in enumerate(lines) if line.kind == "begin" and line.ex == ex)
    end = next(i for i in range(start, len(lines)) if lines[i].kind == "end" and lines[i].ex == ex)
    return textwrap.dedent("\n".join(line.text for line in lines[start + 1 : end]))


def fill_first_stub(source, code):
    """Replace the first `# YOUR CODE HERE` and the raise under it with `code`, indented to match."""
    lines = source.split("\n")
    i = next(i for i, line in enumerate(lines) if line.strip() == "# YOUR CODE HERE")
    assert lines[i + 1].strip() == "raise NotImplementedError()"
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    return "\n".join(lines[:i] + textwrap.indent(code, indent).split("\n") + lines[i + 2 :])


def submit(course, student, ex, edit=None):
    nb = nbformat.read(course / "release" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
    if edit:
        edit(nb)
    (course / "submitted" / student / f"ex{ex}").mkdir(parents=True)
    nbformat.write(nb, course / "submitted" / student / f"ex{ex}" / f"ex{ex}.ipynb")
    return nb


def solving(ex):
    return lambda nb: solve(nb, ex)


def solve_first_todo(ex):
    def edit(nb):
        path, cell = next(iter(solution_cells(nb).items()))
        cell.source = fill_first_stub(cell.source, first_region(path, ex))

    return edit


def kit_score(nb, ex, tmp_path):
    """What `python -m kit check NN` gives the code of the notebook's file cells."""
    impl = tmp_path / f"impl-{ex}"
    for path, cell in file_cells(nb).items():
        (impl / path).parent.mkdir(parents=True, exist_ok=True)
        (impl / path).write_text(cell.source + "\n")
    return run_checks(ex, impl).earned(ex)[0]


@pytest.fixture(scope="module")
def graded(course, env):
    """The submitted notebooks and the scores of `nbgrader export`: {(student, 'exNN'): (score, max)}."""
    submitted = {}
    for ex in EXERCISES:
        submitted["solved", ex] = submit(course, "solved", ex, solving(ex))
        submitted["untouched", ex] = submit(course, "untouched", ex)
    for ex in HALF:
        submitted["half", ex] = submit(course, "half", ex, solve_first_todo(ex))
    nbgrader("autograde", "ex*", cwd=course, env=env)
    nbgrader("export", "--to", "grades.csv", cwd=course, env=env)
    with open(course / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    scores = {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    return submitted, scores


# --- the notebooks --------------------------------------------------------------------------------


def test_each_notebook_has_one_graded_cell_per_test_of_its_check_worth_its_points(tmp_path):
    write_course(tmp_path)
    for ex in EXERCISES:
        nb = nbformat.read(tmp_path / "source" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
        graded_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        module = importlib.import_module(check_file(ex).removesuffix(".py").replace("/", "."))
        tests = [name for name in vars(module) if name.startswith("test_")]
        assert [c.metadata["nbgrader"]["grade_id"] for c in graded_cells] == tests
        assert all(c.metadata["nbgrader"]["locked"] for c in graded_cells)
        assert sum(c.metadata["nbgrader"]["points"] for c in graded_cells) == POINTS[ex]


def test_the_solution_cells_are_the_files_the_exercise_edits_and_the_rest_is_given_locked(tmp_path):
    write_course(tmp_path)
    nb = nbformat.read(tmp_path / "source" / "ex06" / "ex06.ipynb", as_version=4)
    cells = file_cells(nb)
    assert list(cells) == ["micrograd/__init__.py", "micrograd/engine.py", "micrograd/nn.py"]
    assert list(solution_cells(nb)) == ["micrograd/nn.py"]
    assert cells["micrograd/engine.py"].metadata["nbgrader"]["locked"]
    assert "### BEGIN SOLUTION" not in cells["micrograd/engine.py"].source
    assert cells["micrograd/nn.py"].source.count("### BEGIN SOLUTION") == cells["micrograd/nn.py"].source.count(
        "TODO(ex06)"
    )


def test_an_existing_course_config_is_kept(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n# the instructor's own\n")
    assert write_course(tmp_path) is True
    assert "the instructor's own" in (tmp_path / "nbgrader_config.py").read_text()


def test_the_course_config_drops_a_warning_on_stderr_but_not_an_error(tmp_path):
    from nbgrader.preprocessors import IgnorePattern
    from nbgrader.utils import determine_grade
    from traitlets.config.loader import PyFileConfigLoader

    write_course(tmp_path, course_id="mg101")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert config.CourseDirectory.course_id == "mg101"

    def graded_cell(*outputs):
        cell = nbformat.v4.new_code_cell("ex03.check('test_x')", outputs=list(outputs))
        cell.metadata["nbgrader"] = {
            "grade": True,
            "solution": False,
            "locked": True,
            "grade_id": "t",
            "points": 2,
            "schema_version": 3,
        }
        return cell

    warning = nbformat.v4.new_output("stream", name="stderr", text="x.py:3: DeprecationWarning: old\n")
    passed = nbformat.v4.new_output("stream", name="stdout", text="PASS  2/2  x\n")
    failed = nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=[])
    nb = nbformat.v4.new_notebook(cells=[graded_cell(warning, passed), graded_cell(warning, failed)])
    assert determine_grade(IgnorePattern()(nb, {})[0].cells[0]) == (0, 2)  # nbgrader's default
    nb, _ = IgnorePattern(config=config)(nb, {})
    assert [determine_grade(cell) for cell in nb.cells] == [(2, 2), (0, 2)]


# --- nbgrader's own commands ----------------------------------------------------------------------


@pytest.mark.slow
def test_generate_assignment_clears_the_solutions_and_releases_nothing_but_the_notebook(course):
    for ex in EXERCISES:
        release = course / "release" / f"ex{ex}"
        assert sorted(p.name for p in release.iterdir()) == [f"ex{ex}.ipynb"]
        nb = nbformat.read(release / f"ex{ex}.ipynb", as_version=4)
        for path, cell in solution_cells(nb).items():
            assert "BEGIN SOLUTION" not in cell.source
            assert "raise NotImplementedError()" in cell.source
            assert first_region(path, ex) not in cell.source


@pytest.mark.slow
def test_autograding_the_solved_release_earns_full_points(graded):
    _, scores = graded
    for ex in EXERCISES:
        assert scores["solved", f"ex{ex}"] == (POINTS[ex], POINTS[ex]), f"ex{ex}"


@pytest.mark.slow
def test_autograding_the_untouched_release_earns_only_what_the_given_code_earns(graded, tmp_path):
    submitted, scores = graded
    for ex in EXERCISES:
        assert scores["untouched", f"ex{ex}"][0] == kit_score(submitted["untouched", ex], ex, tmp_path), f"ex{ex}"
    # Exercises 01 and 02 give nothing for free; later ones may, as make check does on the same code.
    assert scores["untouched", "ex01"][0] == scores["untouched", "ex02"][0] == 0


@pytest.mark.slow
def test_autograding_a_half_solved_notebook_earns_what_make_check_gives_the_same_code(graded, tmp_path):
    submitted, scores = graded
    for ex in HALF:
        earned = scores["half", f"ex{ex}"][0]
        assert earned == kit_score(submitted["half", ex], ex, tmp_path), f"ex{ex}"
        assert 0 < earned < POINTS[ex], f"ex{ex}: the first TODO alone should earn some points, not all"


@pytest.mark.slow
def test_export_writes_a_row_per_student_and_assignment_with_the_checks_maximum(graded):
    _, scores = graded
    assert set(scores) == {(s, f"ex{ex}") for s in ("solved", "untouched", "half") for ex in EXERCISES}
    assert all(most == POINTS[key[1][2:]] for key, (_, most) in scores.items())
    assert all(scores["half", f"ex{ex}"][0] == 0 for ex in EXERCISES if ex not in HALF)  # not submitted
