"""The nbgrader course: written by `python -m kit nbgrader`, then run through the real nbgrader CLI.

One course goes through nbgrader's exchange (generate, release, fetch, submit, collect) for a
class: a student who solves every notebook, one who submits them untouched, one who solves the
first TODO of two, and two forgers whose extra cells make the notebook's own checks print PASS.
`python -m kit nbgrader grade` grades them with the kit's isolated grader (no notebook cell runs),
then nbgrader's own generate_feedback and export read the gradebook.
"""

import csv
import importlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install -e '.[instructor]' (make test does)")
import nbformat  # noqa: E402 (nbgrader brings it)
from conftest import run_checks  # noqa: E402

from kit import ROOT  # noqa: E402
from kit.exercises import EXERCISES, POINTS, check_file  # noqa: E402
from kit.platforms.classroom_template import write_template  # noqa: E402
from kit.platforms.nbgrader import extract  # noqa: E402
from kit.platforms.nbgrader.course import write_course  # noqa: E402
from kit.platforms.nbgrader.extract import file_cells  # noqa: E402
from kit.platforms.nbgrader.grade import KIT_GRADES, kit_id  # noqa: E402
from kit.platforms.nbgrader.lesson import FIGURE  # noqa: E402
from kit.platforms.nbgrader.local import kernel_env, solve  # noqa: E402
from kit.regions import scan  # noqa: E402

HALF = ("03", "07")  # the half-solved student solves the first TODO of these, nothing else
FORGED = ("03", "07")  # the forger submits these: the stubs, and a cell that forges the checks' PASS
FORGER = pwd.getpwuid(os.getuid()).pw_name  # nbgrader's exchange names a student by the user's name
STUDENTS = ("solved", "untouched", "half", FORGER)
SECRET = "9183746501928374655647382910"  # the kit's secret for this class: never in feedback


def nbgrader(*args, cwd, env, ok=True):
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert (proc.returncode == 0) == ok, f"nbgrader {' '.join(args)}:\n{proc.stdout}\n{proc.stderr[-4000:]}"
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
    return {path: c for path, c in file_cells(nb) if c.metadata["nbgrader"]["solution"]}


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


def solve_first_todo(nb, ex):
    path, cell = next(iter(solution_cells(nb).items()))
    cell.source = fill_first_stub(cell.source, first_region(path, ex))


def forge(nb, ex, how, marker):
    """Add, after the setup cell, a cell that makes every check print PASS (and leaves a marker when it runs)."""
    setup = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    if how == "check":
        code = f'ex{ex}.check = lambda t: print("PASS")'
    else:  # patch the report the checks read, for every notebook of the session
        code = (
            "from kit.platforms.nbgrader import notebook\n"
            'notebook.Exercise.report = lambda self: {"tests": []}\n'
            'notebook.Exercise.check = lambda self, t: print("PASS")'
        )
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').close()\n{code}"))


@pytest.fixture(scope="module")
def collected(course, env, tmp_path_factory):
    """The forger's ex03 goes through nbgrader's exchange (release, fetch, submit, collect: the
    exchange names a student by the user running it, so one student takes that route); the other
    notebooks are handed in as through an LMS, straight into submitted/<student>/exNN/."""
    exchange, home = tmp_path_factory.mktemp("exchange"), tmp_path_factory.mktemp("home")
    exchange.chmod(0o777)
    marker = tmp_path_factory.mktemp("markers") / "a-forging-cell-ran"
    flags = ["--course", "mg101", f"--Exchange.root={exchange}"]
    nbgrader("release_assignment", "ex03", *flags, cwd=course, env=env)
    nbgrader("fetch_assignment", "ex03", *flags, cwd=home, env=env)
    nb = nbformat.read(home / "ex03" / "ex03.ipynb", as_version=4)
    forge(nb, "03", "check", marker)
    nbformat.write(nb, home / "ex03" / "ex03.ipynb")
    nbgrader("submit", "ex03", *flags, cwd=home, env=env)
    nbgrader("collect", "ex03", *flags, cwd=course, env=env)
    submitted = {(FORGER, "03"): nb}
    for student in STUDENTS:
        for ex in EXERCISES if student in ("solved", "untouched") else HALF:
            if (student, ex) in submitted:
                continue
            nb = nbformat.read(course / "release" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
            if student == "solved":
                solve(nb, ex)
            elif student == "half":
                solve_first_todo(nb, ex)
            elif student == FORGER:
                forge(nb, ex, "report", marker)
            (course / "submitted" / student / f"ex{ex}").mkdir(parents=True)
            nbformat.write(nb, course / "submitted" / student / f"ex{ex}" / f"ex{ex}.ipynb")
            submitted[student, ex] = nb
    assert (course / "submitted" / FORGER / "ex03" / "ex03.ipynb").is_file()  # collected from the exchange
    return submitted, marker


@pytest.fixture(scope="module")
def graded(course, env, collected, tmp_path_factory):
    """`python -m kit nbgrader grade` on every assignment, then nbgrader's feedback and export:
    the submitted notebooks, the export's scores {(student, 'exNN'): (score, max)}, the grade run."""
    submitted, marker = collected
    secret = tmp_path_factory.mktemp("secret") / "secret"
    secret.write_text(SECRET)
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "nbgrader", "grade", *(f"ex{ex}" for ex in EXERCISES), "--course", str(course)]
        + ["--", "--jobs", "2", "--secret", str(secret)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nbgrader("generate_feedback", "ex*", cwd=course, env=env)
    nbgrader("export", "--to", "grades.csv", cwd=course, env=env)
    return submitted, export(course), proc


def export(course):
    with open(course / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"])) for r in rows}


def kit_score(nb, ex, tmp_path):
    """What `python -m kit check NN` gives the code of the notebook's file cells."""
    impl = tmp_path / f"impl-{ex}"
    for path, cell in file_cells(nb):
        (impl / path).parent.mkdir(parents=True, exist_ok=True)
        (impl / path).write_text(cell.source.rstrip("\n") + "\n")
    return run_checks(ex, impl).earned(ex)[0]


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
    cells = dict(file_cells(nb))
    assert list(cells) == ["micrograd/__init__.py", "micrograd/engine.py", "micrograd/nn.py"]
    assert list(solution_cells(nb)) == ["micrograd/nn.py"]
    assert cells["micrograd/engine.py"].metadata["nbgrader"]["locked"]
    assert "### BEGIN SOLUTION" not in cells["micrograd/engine.py"].source
    assert cells["micrograd/nn.py"].source.count("### BEGIN SOLUTION") == cells["micrograd/nn.py"].source.count(
        "TODO(ex06)"
    )


def test_every_file_cell_is_saved_by_the_cell_right_after_it_before_a_later_file_imports_it(tmp_path):
    write_course(tmp_path)
    for ex in EXERCISES:
        nb = nbformat.read(tmp_path / "source" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
        for i, cell in enumerate(nb.cells):
            path = cell.source.split("\n", 1)[0].removeprefix("# ")
            if cell in dict(file_cells(nb)).values():
                assert nb.cells[i + 1].source == f"ex{ex}.save({path!r})", f"ex{ex}: {path}"


def test_every_lesson_figure_is_embedded_captions_with_brackets_too(tmp_path):
    write_course(tmp_path)
    embedded = set()
    for ex in EXERCISES:
        nb = nbformat.read(tmp_path / "source" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
        for cell in (c for c in nb.cells if c.cell_type == "markdown"):
            assert "](figures/" not in cell.source, f"ex{ex}: a figure left as a link"
            for m in FIGURE.finditer(cell.source):
                name = m["path"].removeprefix("attachment:")
                assert name in cell.attachments, f"ex{ex}: {name}"
                embedded.add(name)
    assert {"05_tanh.png", "06_mlp.png", "07_loss.png"} <= embedded


def test_the_notebooks_name_no_path_of_this_machine_and_tell_no_one_to_run_make(tmp_path):
    write_course(tmp_path)
    for ex in EXERCISES:
        text = (tmp_path / "source" / f"ex{ex}" / f"ex{ex}.ipynb").read_text()
        nb = nbformat.reads(text, as_version=4)
        assert str(ROOT) not in text and sys.executable not in text and "sys.path" not in text
        for cell in (c for c in nb.cells if c.cell_type == "markdown"):
            for kit_only in ("make check", "make demo", "python -m kit", "`exercises/"):
                assert kit_only not in cell.source, f"ex{ex}: {kit_only!r} in {cell.source[:80]!r}"


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


def test_a_student_id_that_is_no_safe_file_name_gets_a_stable_one_of_its_own():
    from kit.instructor import ids

    assert kit_id("alice") == "alice" and kit_id("bob.smith@uni.edu") == "bob.smith@uni.edu"
    assert kit_id("Dana Smith") == kit_id("Dana Smith") != kit_id("Dana  Smith")
    assert "/" not in kit_id("../x") and kit_id("../x") == ids.graded_name("../x")  # kit grade's rule
    assert kit_id(kit_id("Dana Smith")) != kit_id("Dana Smith")  # no student can take another's name


def odd(raw):
    """The odd notebooks of a class, each made from `raw` (ex03's notebook as JSON), with the words of
    the reason each is not graded: {name: (notebook bytes, words)}."""
    import copy

    def edited(change):
        nb = copy.deepcopy(raw)
        change(nb)
        return json.dumps(nb).encode()

    solution = next(i for i, c in enumerate(raw["cells"]) if c["metadata"].get("nbgrader", {}).get("solution"))
    return {
        "marks-a-list": (edited(lambda nb: nb["cells"][0]["metadata"].update(nbgrader=["solution"])), "cell 1"),
        "solution-of-numbers": (edited(lambda nb: nb["cells"][solution].update(source=[1, 2])), "could not be read"),
        "solution-a-number": (edited(lambda nb: nb["cells"][solution].update(source=7)), "holds no text"),
        "cells-not-a-list": (edited(lambda nb: nb.update(cells={"a": 1})), "could not be read"),
        "not-json": (b'{"cells": [', "not a notebook's JSON"),
        "a-list": (b"[4]", "not a notebook's JSON"),
        "nbformat-3": (edited(lambda nb: nb.update(nbformat=3)), "nbformat 3, not 4"),
        "nbformat-text": (edited(lambda nb: nb.update(nbformat="4")), "nbformat '4', not 4"),
        "deep": (b"[" * 100_000 + b"]" * 100_000, "not a notebook's JSON"),
        "huge": (b" " * (extract.MAX_NOTEBOOK + 1), "larger than 20 MB"),
        "latin-1": (edited(lambda nb: None).replace(b"micrograd", b"micr\xf6grad", 1), "not UTF-8"),
    }


def test_an_odd_notebook_is_unreadable_with_its_reason_and_writes_no_file(tmp_path):
    write_course(tmp_path / "course")
    path = tmp_path / "course" / "source" / "ex03" / "ex03.ipynb"
    source = nbformat.read(path, as_version=4)
    honest = extract.tree(source, path, tmp_path / "honest")
    assert (honest / "micrograd" / "engine.py").is_file()
    for name, (data, words) in odd(json.loads(path.read_text())).items():
        submitted = tmp_path / f"{name}.ipynb"
        submitted.write_bytes(data)
        with pytest.raises(extract.Unreadable) as e:
            extract.tree(source, submitted, tmp_path / name)
        assert words in str(e.value), name
        assert not (tmp_path / name).exists(), name


def test_a_notebook_that_is_a_link_or_a_pipe_is_unreadable_and_nothing_is_read_through_it(tmp_path):
    write_course(tmp_path / "course")
    source = nbformat.read(tmp_path / "course" / "source" / "ex03" / "ex03.ipynb", as_version=4)
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "course" / "source" / "ex03" / "ex03.ipynb")
    os.mkfifo(tmp_path / "pipe.ipynb")
    for name in ("link", "pipe"):
        with pytest.raises(extract.Unreadable):
            extract.tree(source, tmp_path / f"{name}.ipynb", tmp_path / name)


def own_cells(nb, where, code):
    """Add after each solution cell (`where` 1), or after its save cell (2), a code cell of the learner's
    own that starts as the solution cell does, with `code(path)` under that line."""
    for path, cell in reversed(list(solution_cells(nb).items())):
        at = next(i for i, c in enumerate(nb.cells) if c is cell)
        nb.cells.insert(at + where, nbformat.v4.new_code_cell(f"# {path}\n{code(path)}"))
    return nb


def test_the_tree_taken_out_is_what_the_save_cells_write_when_the_cells_run_from_the_top(tmp_path):
    """A cell of the learner's own above the save cell is their file; one below it, one above their
    solution cell, or a markdown heading is not; with no save cell, the solution cell is taken."""
    import copy

    write_course(tmp_path / "course")
    source = nbformat.read(tmp_path / "course" / "source" / "ex03" / "ex03.ipynb", as_version=4)
    path, solution = next(iter(solution_cells(source).items()))
    stub = copy.deepcopy(source)
    next(iter(solution_cells(stub).values())).source = f"# {path}\nTEMPLATE = 1"
    at = next(i for i, c in enumerate(stub.cells) if c.metadata.get("nbgrader", {}).get("solution"))

    def taken(change):
        nb = change(copy.deepcopy(stub))
        folder = tmp_path / f"tree-{len(list(tmp_path.iterdir()))}"
        return (extract.write(source, nb, folder) / path).read_text()

    def insert(i, cell):
        return lambda nb: (nb.cells.insert(i, cell), nb)[1]

    mine = nbformat.v4.new_code_cell(f"# {path}\nMINE = 1")
    assert taken(lambda nb: nb) == f"# {path}\nTEMPLATE = 1\n"
    assert taken(insert(at + 1, mine)) == f"# {path}\nMINE = 1\n"  # between the solution cell and its save
    assert taken(insert(at + 2, mine)) == f"# {path}\nTEMPLATE = 1\n"  # after the save cell: saved by none
    assert taken(insert(at, mine)) == f"# {path}\nTEMPLATE = 1\n"  # above the solution cell: saved over
    heading = nbformat.v4.new_markdown_cell(f"# {path}\nMINE = 1")
    assert taken(insert(at + 1, heading)) == f"# {path}\nTEMPLATE = 1\n"  # markdown never runs
    assert taken(lambda nb: own_cells(nb, 1, lambda _: "MINE = 1")) == f"# {path}\nMINE = 1\n"
    # The solution cell deleted: the learner's own cell above the save cell is saved, as in a run.
    assert taken(lambda nb: (nb.cells.pop(at), insert(at, mine)(nb))[1]) == f"# {path}\nMINE = 1\n"
    # The save cell deleted (it is locked: an edited notebook), or no cell above it starts with the
    # line: the solution cell of that grade id, as before any cell of the learner's own.
    assert taken(lambda nb: (nb.cells.pop(at + 1), insert(at + 1, mine)(nb))[1]) == f"# {path}\nTEMPLATE = 1\n"

    def first_line_dropped(nb):
        nb.cells[at].source = "TEMPLATE = 2"
        return nb

    assert taken(first_line_dropped) == "TEMPLATE = 2\n"
    assert solution.source.startswith(f"# {path}\n")


@pytest.mark.slow
def test_a_notebook_with_the_learners_own_cells_earns_what_a_run_from_the_top_saves(course, env, tmp_path):
    """Run All of a released notebook with the solved code in cells of the learner's own, above the save
    cells (every check passes) or below them (the stubs are saved): the tree taken out is, byte for
    byte, the impl/ the run wrote."""
    from nbclient import NotebookClient

    copy = write_template(tmp_path / "learners-kit")
    source = nbformat.read(course / "source" / "ex03" / "ex03.ipynb", as_version=4)
    solved = solution_cells(solve(nbformat.read(course / "release" / "ex03" / "ex03.ipynb", as_version=4), "03"))
    for where in (1, 2):
        nb = nbformat.read(course / "release" / "ex03" / "ex03.ipynb", as_version=4)
        own_cells(nb, where, lambda path: solved[path].source.split("\n", 1)[1])
        folder = tmp_path / f"run-{where}"
        folder.mkdir()
        client = NotebookClient(
            nb, timeout=180, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}}
        )
        client.execute(cwd=str(folder), env={**env, "PYTHONPATH": str(copy)})
        tree = extract.write(source, nb, tmp_path / f"tree-{where}")
        for path in solved:
            assert (tree / path).read_bytes() == (folder / "impl" / path).read_bytes(), (where, path)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        passed = [any("PASS" in o.get("text", "") for o in c.outputs) for c in graded]
        assert all(passed) if where == 1 else not any(passed), where
        assert run_checks("03", tree).earned("03")[0] == (POINTS["03"] if where == 1 else 0), where


# --- the notebooks in a kernel, as a learner runs them ----------------------------------------------


@pytest.mark.slow
def test_a_fresh_run_all_of_every_solved_notebook_passes_every_check_with_the_learners_kit_on_the_kernels_path(
    course, env, tmp_path
):
    """The kernel imports the learner's copy of the kit (as `pip install -e` of it on a hub puts it on
    the path), from a folder far from both."""
    from nbclient import NotebookClient

    copy = write_template(tmp_path / "learners-kit")
    hub = {**env, "PYTHONPATH": str(copy)}
    for ex in EXERCISES:
        nb = nbformat.read(course / "source" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import kit\nprint(kit.ROOT)"))
        folder = tmp_path / f"ex{ex}"
        folder.mkdir()
        client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
        client.execute(cwd=str(folder), env=hub)  # raises on the first cell that fails
        graded_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert all(any("PASS" in o.get("text", "") for o in c.outputs) for c in graded_cells), f"ex{ex}"
        assert nb.cells[-1].outputs[0]["text"].strip() == str(copy)


@pytest.mark.slow
def test_nbgrader_validate_tells_a_learner_whether_their_notebook_passes(course, env, collected):
    submitted, _ = collected
    for student, expect in (("solved", "Success"), ("untouched", "failed")):
        path = course / "submitted" / student / "ex02" / "ex02.ipynb"
        proc = nbgrader("validate", str(path), cwd=path.parent, env=env)
        assert expect.lower() in (proc.stdout + proc.stderr).lower(), proc.stdout


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
def test_plain_nbgrader_autograde_runs_no_learner_cell_and_says_how_the_course_is_graded(course, env, collected):
    _, marker = collected
    proc = nbgrader("autograde", "ex03", "--student", FORGER, cwd=course, env=env, ok=False)
    assert "python -m kit nbgrader grade ex03" in proc.stdout + proc.stderr
    assert not marker.exists()


def what_the_kit_said(course, ex, student):
    """The kit's own log and feedback for one student's notebook of exercise `ex`, for a failure's message."""
    kept = course / KIT_GRADES / f"ex{ex}"
    said = []
    for path in (kept / "grade.log", kept / "feedback" / f"{kit_id(student)}.md"):
        try:
            said.append(f"--- {path.name}\n{path.read_text(encoding='utf-8', errors='replace')[-4000:]}")
        except OSError as e:
            said.append(f"--- {path.name}: {e}")
    return "\n".join(said)


@pytest.mark.slow
def test_the_solved_notebooks_earn_full_points(graded, course):
    _, scores, _ = graded
    for ex in EXERCISES:
        got = scores["solved", f"ex{ex}"]
        assert got == (POINTS[ex], POINTS[ex]), f"ex{ex}: {got}\n{what_the_kit_said(course, ex, 'solved')}"


@pytest.mark.slow
def test_the_untouched_notebooks_earn_only_what_make_check_gives_the_given_code(graded, tmp_path):
    submitted, scores, _ = graded
    for ex in EXERCISES:
        assert scores["untouched", f"ex{ex}"][0] == kit_score(submitted["untouched", ex], ex, tmp_path), f"ex{ex}"
    # Exercises 01 and 02 give nothing for free; later ones may, as make check does on the same code.
    assert scores["untouched", "ex01"][0] == scores["untouched", "ex02"][0] == 0


@pytest.mark.slow
def test_a_half_solved_notebook_earns_what_make_check_gives_the_same_code(graded, tmp_path):
    submitted, scores, _ = graded
    for ex in HALF:
        earned = scores["half", f"ex{ex}"][0]
        assert earned == kit_score(submitted["half", ex], ex, tmp_path), f"ex{ex}"
        assert 0 < earned < POINTS[ex], f"ex{ex}: the first TODO alone should earn some points, not all"


@pytest.mark.slow
def test_a_cell_that_forges_the_checks_pass_earns_only_what_the_code_earns_and_never_runs(graded, collected, tmp_path):
    submitted, scores, _ = graded
    _, marker = collected
    for student in (FORGER,):
        for ex in FORGED:
            earned = scores[student, f"ex{ex}"][0]
            assert earned == kit_score(submitted[student, ex], ex, tmp_path) < POINTS[ex], (student, ex)
            assert earned == scores["untouched", f"ex{ex}"][0]
    assert not marker.exists()  # no cell of a submitted notebook ran while grading


@pytest.mark.slow
def test_the_feedback_shows_the_kits_verdicts_and_not_its_secret(course, graded):
    _, scores, _ = graded
    solved = (course / "feedback" / "solved" / "ex03" / "ex03.html").read_text()
    assert f"{POINTS['03']} / {POINTS['03']}" in solved.replace(".0", "") and "PASS" in solved
    forger = (course / "feedback" / FORGER / "ex03" / "ex03.html").read_text()
    assert "not done yet: a TODO in micrograd/engine.py" in forger and "PASS  2/2" not in forger
    for html in (course / "feedback").rglob("*.html"):
        assert SECRET not in html.read_text(), html
    kit_gradebook = json.loads((course / "kit-grades" / "ex03" / "grades.json").read_text())
    assert SECRET not in json.dumps(kit_gradebook)


@pytest.mark.slow
def test_export_writes_a_row_per_student_and_assignment_with_the_checks_maximum(graded):
    _, scores, _ = graded
    assert set(scores) == {(s, f"ex{ex}") for s in STUDENTS for ex in EXERCISES}
    assert all(most == POINTS[key[1][2:]] for key, (_, most) in scores.items())
    assert all(scores["half", f"ex{ex}"][0] == 0 for ex in EXERCISES if ex not in HALF)  # not submitted


@pytest.mark.slow
def test_plain_autograde_with_force_is_refused_before_it_removes_any_autograded_copy(course, env, graded):
    _, scores, _ = graded
    before = {p: p.read_bytes() for p in (course / "autograded").rglob("*") if p.is_file()}
    assert {p.parts[-2] for p in before if p.suffix == ".ipynb"} == {f"ex{ex}" for ex in EXERCISES}
    proc = nbgrader("autograde", "ex03", "--force", cwd=course, env=env, ok=False)
    assert "python -m kit nbgrader grade ex03" in proc.stdout + proc.stderr
    assert "Removing" not in proc.stdout + proc.stderr
    assert {p: p.read_bytes() for p in (course / "autograded").rglob("*") if p.is_file()} == before
    nbgrader("export", "--to", "grades.csv", cwd=course, env=env)
    assert {k: v for k, v in export(course).items() if k[0] in STUDENTS} == scores


@pytest.mark.slow
def test_grading_again_records_the_same_scores_and_odd_notebooks_cost_only_their_students(
    course, env, graded, collected, tmp_path
):
    """Each odd notebook is its student's "could not be graded"; the honest neighbours keep their scores."""
    submitted, scores, _ = graded
    cases = odd(json.loads(nbformat.writes(submitted["solved", "03"])))
    for name, (data, _) in cases.items():
        folder = course / "submitted" / name / "ex03"
        folder.mkdir(parents=True)
        (folder / "ex03.ipynb").write_bytes(data)
        (folder / "timestamp.txt").write_text("2026-01-01 00:00:00.000000 UTC")
    (tmp_path / "secret").write_text(SECRET)
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "nbgrader", "grade", "ex03", "--course", str(course)]
        + ["--", "--jobs", "2", "--secret", str(tmp_path / "secret")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    for name, (_, words) in cases.items():
        assert f"ex03 {name}: could not be graded: " in proc.stdout and words in proc.stdout, (name, proc.stdout)
    kit_gradebook = json.loads((course / "kit-grades" / "ex03" / "grades.json").read_text())
    assert {r["id"] for r in kit_gradebook["students"]} == set(STUDENTS)  # no part of an odd tree was graded
    nbgrader("export", "--to", "grades.csv", cwd=course, env=env)
    again = export(course)
    assert {k: v for k, v in again.items() if k[0] in STUDENTS} == scores
    recorded = {k[0]: v for k, v in again.items() if k[1] == "ex03" and k[0] in cases}
    assert all(score == 0 for score, _ in recorded.values()), recorded


def test_the_grade_step_refuses_an_assignment_the_course_does_not_have(tmp_path):
    write_course(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "nbgrader", "grade", "ex09", "--course", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert proc.returncode == 2 and "no exercise" in proc.stderr


def test_ctrl_c_during_the_grade_step_ends_with_one_line_naming_what_was_not_recorded(tmp_path, monkeypatch, capsys):
    """Ctrl-C during the grade step ends with one line naming what was not recorded, and status 130."""
    from kit.platforms.nbgrader import grade as step

    write_course(tmp_path)
    graded = []

    def grade_assignment(course, assignment, *args, **kwargs):
        if graded:
            raise KeyboardInterrupt
        graded.append(assignment)
        return {}

    monkeypatch.setattr(step, "grade_assignment", grade_assignment)
    assert step.main(["ex01", "ex02", "ex03", "--course", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err == (
        "interrupted: ex02, ex03 not recorded in nbgrader's gradebook (ex01 recorded); "
        "run the command again to grade them\n"
    )


# --- the grade step on a small course: what nbgrader's gradebook records -------------------------------


@pytest.fixture(scope="module")
def small_course(tmp_path_factory, env):
    """A course of ex01 and ex02 released by nbgrader, with no submission yet."""
    course = tmp_path_factory.mktemp("small") / "course"
    write_course(course, "mg101")
    nbgrader("generate_assignment", "ex01", cwd=course, env=env)
    nbgrader("generate_assignment", "ex02", cwd=course, env=env)
    return course


@pytest.fixture
def small(small_course, env, tmp_path, monkeypatch):
    """A copy of the small course of one test, with the environment nbgrader runs in here."""
    for name in ("PATH", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(name, env[name])
    return shutil.copytree(small_course, tmp_path / "course")


def hand_in(course, student, ex, solved=True):
    """A notebook of exercise `ex` put into submitted/, as an LMS hands it in: solved, or as released."""
    nb = nbformat.read(course / "release" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
    if solved:
        solve(nb, ex)
    folder = course / "submitted" / student / f"ex{ex}"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"ex{ex}.ipynb")
    return folder / f"ex{ex}.ipynb"


def recorded(course, ex):
    """{student: score} of nbgrader's gradebook for exercise `ex`."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mg101") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(f"ex{ex}")}


def grade_step(course, *args, kit=()):
    """`python -m kit nbgrader grade` on `course`, in this process, with `kit` for kit grade: its exit status."""
    from kit.platforms.nbgrader import grade as step

    return step.main([*args, "--course", str(course), "--", "--jobs", "2", *kit])


def passing(course, ex, sid):
    """A row of the kit's gradebook in which `sid` passes every test of exercise `ex`."""
    nb = nbformat.read(course / "source" / f"ex{ex}" / f"ex{ex}.ipynb", as_version=4)
    marks = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests = [
        {"nodeid": f"checks/x.py::{m['grade_id']}", "test": m["grade_id"], "status": "pass"}
        | {"points": m["points"], "max": m["points"], "message": None}
        for m in marks
    ]
    return {"id": sid, "status": "graded", "reason": None, "tests": tests}


def test_a_grader_failure_records_nothing_and_fails_the_command_where_an_ungradable_notebook_records_zero(
    small, monkeypatch, capfd
):
    """A grader failure (status error) is never a zero: nbgrader keeps what it held for that student, the log
    says so, the command exits 1, and the next run records the grade. A notebook the kit could not grade (the
    student's own doing) records 0 with its reason."""
    from kit.platforms.nbgrader import grade as step

    for student in ("ann", "bob", "cat"):
        hand_in(small, student, "01")
    rows = {sid: passing(small, "01", sid) for sid in ("ann", "bob", "cat")}
    monkeypatch.setattr(step, "kit_grade", lambda *args: {"students": list(rows.values())})
    assert grade_step(small, "ex01") == 0
    assert recorded(small, "01") == {"ann": 14, "bob": 14, "cat": 14}
    rows["bob"] = dict(rows["bob"], status="error", reason="the judge ended with no complete report", tests=[])
    rows["cat"] = dict(rows["cat"], status="ungradable", reason="no micrograd tree in the notebook", tests=[])
    capfd.readouterr()
    assert grade_step(small, "ex01") == 1
    assert recorded(small, "01") == {"ann": 14, "bob": 14, "cat": 0}
    out = capfd.readouterr().out
    assert "ex01 bob: not recorded: the kit's grader failed on this notebook (the judge ended" in out
    assert "run the command again" in out
    rows["bob"] = passing(small, "01", "bob")
    rows["bob"]["tests"][0].update(status="fail", points=0, message="wrong")
    assert grade_step(small, "ex01") in (0, 1)  # cat's notebook is still ungradable
    assert recorded(small, "01")["bob"] == 14 - rows["bob"]["tests"][0]["max"]


def kit_gradebook(course, ex):
    """{graded name: points} of the kit's own gradebook of exercise `ex` (kit-grades/exNN/grades.json)."""
    data = json.loads((course / KIT_GRADES / f"ex{ex}" / "grades.json").read_text())
    return {r["id"]: r["checks"][ex]["earned"] for r in data["students"]}


def test_grading_one_student_keeps_the_others_in_the_kits_gradebook_and_records_that_student_alone(small, capfd):
    hand_in(small, "ann", "01")
    hand_in(small, "bob", "01")
    assert grade_step(small, "ex01") == 0
    assert kit_gradebook(small, "01") == {"ann": 14, "bob": 14} and recorded(small, "01") == {"ann": 14, "bob": 14}
    shutil.rmtree(small / "submitted" / "bob")
    hand_in(small, "bob", "01", solved=False)  # handed in again, as released
    hand_in(small, "cat", "01")  # not graded yet, and not asked for now
    assert grade_step(small, "ex01", "--student", "bob") == 0
    assert kit_gradebook(small, "01") == {"ann": 14, "bob": 0}
    assert recorded(small, "01") == {"ann": 14, "bob": 0}
    assert "ex01: recorded 1 of 1 in nbgrader's gradebook" in capfd.readouterr().out


def test_a_student_id_that_starts_with_a_dot_is_graded_under_its_safe_name_and_recorded_under_its_own(small):
    hand_in(small, ".ann", "01")
    hand_in(small, "bob", "01", solved=False)
    assert grade_step(small, "ex01") == 0
    assert kit_gradebook(small, "01") == {kit_id(".ann"): 14, "bob": 0} and kit_id(".ann").startswith("_ann~")
    assert recorded(small, "01") == {".ann": 14, "bob": 0}
    assert grade_step(small, "ex01", "--student", ".ann") == 0  # one student, by the id nbgrader knows


def test_two_ids_that_differ_only_in_case_are_neither_recorded_nor_zeroed_and_the_others_are(small, capfd):
    """nbgrader takes Alice and alice for two students, the kit for one under two ids (kit/instructor/ids.py):
    neither is recorded (no zero replaces a score), each is said with the reason naming both, the others are
    graded and recorded, and the command exits 1."""
    for student in ("Alice", "alice", "bob"):
        hand_in(small, student, "01")
        hand_in(small, student, "02")
    assert grade_step(small, "ex01", "ex02") == 1
    out = capfd.readouterr().out
    for ex in ("01", "02"):
        assert recorded(small, ex) == {"bob": POINTS[ex]}  # no zero for a student the kit cannot tell apart
        for student in ("Alice", "alice"):
            assert f"ex{ex} {student}: not recorded: one student under more than one id (Alice and alice" in out
    assert "kit-nbgrader-" not in out
    assert grade_step(small, "ex01", "--student", "alice") == 1  # one of the two, asked alone
    assert recorded(small, "01") == {"bob": 14}


def test_a_total_adjustment_applies_to_each_assignment_its_student_submitted_and_one_of_nobodys_stops_first(
    small, tmp_path, capfd
):
    """carol submitted ex02 alone: her total line applies to ex02. A line of an id that submitted nothing in the
    command stops it before anything is graded, naming the instructor's own file."""
    for student, ex in (("ann", "01"), ("ann", "02"), ("bob", "01"), ("carol", "02")):
        hand_in(small, student, ex)
    lines = "id,check,points,reason\nann,01,-2,pair work\ncarol,total,-1,agreed in the meeting\n"
    (tmp_path / "adj.csv").write_text(lines)
    adjusted = ("--adjustments", str(tmp_path / "adj.csv"))
    assert grade_step(small, "ex01", "ex02", kit=adjusted) == 0
    assert recorded(small, "01") == {"ann": 12, "bob": 14}
    assert recorded(small, "02") == {"ann": POINTS["02"], "carol": POINTS["02"] - 1}
    assert grade_step(small, "ex01", "ex02", "--student", "bob", kit=adjusted) == 0  # the others' lines: no bother
    assert recorded(small, "01") == {"ann": 12, "bob": 14}
    capfd.readouterr()
    with pytest.raises(SystemExit):
        grade_step(small, "ex01", kit=adjusted)  # carol submitted nothing in this command
    assert "line 3: no submission of the id 'carol' in ex01" in capfd.readouterr().err
    (tmp_path / "adj.csv").write_text(lines + "dave,total,+1,a bonus\nbob,02,+1,a bonus\n")
    with pytest.raises(SystemExit):
        grade_step(small, "ex01", "ex02", kit=adjusted)
    out, err = capfd.readouterr()
    assert f"--adjustments {tmp_path / 'adj.csv'}: 2 bad lines, nothing was graded" in err
    assert (
        "line 4: no submission of the id 'dave' in ex01, ex02" in err
        and "line 5: no submission of the id 'bob' in ex02" in err
    )
    assert "grading" not in out and "kit-nbgrader-" not in err


def test_a_deleted_or_unmarked_test_cell_still_earns_the_kits_points_and_the_log_names_it(small, capfd):
    """The kit grades every test whatever the notebook holds; nbgrader records a test cell it lacks in a
    cell added back to the autograded notebook, with the kit's verdict."""
    for student in ("gone", "unmarked"):
        path = hand_in(small, student, "01")
        nb = nbformat.read(path, as_version=4)
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        if student == "gone":
            nb.cells.remove(tests[0])
        else:
            del tests[-1].metadata["nbgrader"]
        nbformat.write(nb, path)
    first, last = tests[0].metadata["nbgrader"]["grade_id"], tests[-1].source.split("'")[1]
    assert grade_step(small, "ex01") == 0
    assert kit_gradebook(small, "01") == recorded(small, "01") == {"gone": 14, "unmarked": 14}
    out = capfd.readouterr().out
    assert f"ex01 gone: warning: the notebook lacks the test cells {first} (deleted" in out
    assert f"ex01 unmarked: warning: the notebook lacks the test cells {last} (deleted" in out
    autograded = nbformat.read(small / "autograded" / "gone" / "ex01" / "ex01.ipynb", as_version=4)
    (added,) = [c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == first]
    assert "was missing from the submission" in added.source and added.outputs[0].text.startswith("PASS")


def test_a_notebook_nbgrader_refuses_is_said_plainly_with_the_id_escaped_and_the_others_are_recorded(small, capfd):
    path = hand_in(small, "odd\tone", "01")
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    test.metadata["nbgrader"]["grade"] = False  # kept, but unmarked: nbgrader refuses the notebook
    nbformat.write(nb, path)
    hand_in(small, "renamed", "01").rename(small / "submitted" / "renamed" / "ex01" / "mine.ipynb")
    hand_in(small, "bob", "01")
    assert grade_step(small, "ex01") == 1
    assert recorded(small, "01")["bob"] == 14 and "renamed" not in recorded(small, "01")
    out = capfd.readouterr().out
    assert "ex01 odd\\tone: not recorded: nbgrader refused this notebook (RuntimeError: Inconsistent checksums" in out
    assert "ex01 renamed: not recorded: submitted/renamed/ex01 holds no ex01.ipynb, the one name graded" in out
    assert "Please see the" not in out and "odd\tone" not in out
