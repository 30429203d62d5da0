"""GitHub Classroom: `make classroom` writes the template repository, whose workflow sends each
check's points to Classroom's reporter, and which holds no solution."""

import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit import ROOT
from kit.exercises import POINTS, TREE
from kit.platforms.classroom_template import WORKFLOW, main, shipped_files, workflow_yaml
from kit.regions import scan

yaml = pytest.importorskip("yaml", reason="PyYAML (with the instructor extra) is not installed")
SOLUTION_LINE = 24  # characters: a statement of the solution's own, not a generic `while stack:`


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The template written by `make classroom`, as an instructor would push it."""
    out = tmp_path_factory.mktemp("classroom") / "template"
    proc = subprocess.run(
        ["make", "--no-print-directory", "classroom", f"CLASSROOM_ARGS=--out {out}", "extra=", f"PY={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def steps(text=None):
    return yaml.safe_load(text or workflow_yaml())["jobs"]["run-autograding-tests"]["steps"]


def in_template(template, *args, env=None):
    """Run a command inside the template with the kit's environment, as a learner's clone would."""
    return subprocess.run(
        args,
        cwd=template,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(template), **(env or {})},
    )


def check_steps():
    return [s for s in steps() if s.get("id", "").startswith("check-")]


def test_the_workflow_sets_the_kit_up_once_then_has_one_step_per_check_that_sends_its_points():
    names = [s["name"] for s in steps()]
    assert names.index("Set up the kit") < names.index(check_steps()[0]["name"])
    assert [s["run"] for s in check_steps()] == [f".venv/bin/python -m kit classroom result 0{i}" for i in range(1, 8)]
    assert [s["id"] for s in check_steps()] == [f"check-{ex}" for ex in POINTS]


def test_the_reporter_reads_every_steps_result():
    (reporter,) = [s for s in steps() if s.get("uses", "").endswith("autograding-grading-reporter@v1")]
    runners = reporter["with"]["runners"].split(",")
    assert runners == [f"check-0{i}" for i in range(1, 8)]
    assert reporter["env"] == {f"{r.upper()}_RESULTS": f"${{{{steps.{r}.outputs.result}}}}" for r in runners}


def test_the_workflow_triggers_on_push_as_github_reads_its_on_key():
    assert yaml.safe_load(workflow_yaml())["on"] == ["push", "repository_dispatch"]  # not the YAML 1.1 boolean


def test_the_workflow_is_valid_against_githubs_workflow_schema(template):
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed: pip install -e '.[dev]'")
    proc = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(template / WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_template_holds_the_learners_kit_and_the_workflow_but_no_solutions_tests_or_instructor_tools(template):
    files = {p.relative_to(template).as_posix() for p in template.rglob("*") if p.is_file()}
    assert (template / WORKFLOW).read_text() == workflow_yaml()
    assert {f"exercises/{rel}" for rel in TREE} <= files and "checks/test_04_backward.py" in files
    assert {"Makefile", "pyproject.toml", "docs/04_backward.md", "kit/learner/check.py"} <= files
    left_out = (
        "solutions/",
        "tests/",
        "kit/dev/",
        "kit/instructor/",
        "docs/instructor/",
        ".git/",
        "kit/platforms/late",
    )
    assert not [f for f in files if f.startswith(left_out)]
    assert files == set(shipped_files()) | {WORKFLOW}


def solution_lines():
    """The statements of the reference's ### BEGIN exNN regions that the stubs do not hold."""
    stubs = {line.strip() for rel in TREE for line in (ROOT / "exercises" / rel).read_text().splitlines()}
    lines = set()
    for rel in TREE:
        for line in scan((ROOT / "solutions" / rel).read_text(), rel):
            text = line.text.strip()
            if line.kind == "code" and line.open and not text.startswith("#") and text not in stubs:
                lines.add(text)
    return lines


def test_no_file_of_the_template_but_the_checks_holds_a_line_of_a_solution(template):
    # The checks must compute the right answers (and name the classic mistakes), so they hold the
    # formulas of exercise 01 as any copy of the kit a learner runs does; nothing else may.
    distinctive = {line for line in solution_lines() if len(line) >= SOLUTION_LINE}
    assert len(distinctive) > 20  # the reference's own statements are there to be found
    found = {}
    for f in template.rglob("*"):
        rel = f.relative_to(template).as_posix()
        if f.is_file() and not rel.startswith("checks/") and f.suffix in (".py", ".md", ".yml", ".toml", ""):
            text = {line.strip() for line in f.read_text(errors="replace").splitlines()}
            if hits := text & distinctive:
                found[rel] = sorted(hits)
    assert not found, found


def test_the_templates_checks_run_and_grade_the_learners_exercises(template):
    proc = in_template(template, sys.executable, "-m", "kit", "check", "01")
    assert proc.returncode == 1 and proc.stdout.rstrip().splitlines()[-1] == "check-01: 0/14 points", proc.stdout
    proc = in_template(template, "make", "--no-print-directory", "check-01", f"PY={sys.executable}", "STAMP=")
    assert proc.stdout.rstrip().splitlines()[-1] == "check-01: 0/14 points", proc.stdout + proc.stderr


def test_the_templates_workflow_command_runs_there_and_the_template_writer_is_not_in_it(template, tmp_path):
    output = tmp_path / "out"
    output.write_text("")
    workflow = {"GITHUB_OUTPUT": str(output)}
    proc = in_template(template, sys.executable, "-m", "kit", "classroom", "result", "01", env=workflow)
    assert proc.returncode == 0 and "check-01: 0/14 points" in proc.stdout, proc.stdout + proc.stderr
    assert json.loads(base64.b64decode(output.read_text().strip().removeprefix("result=")))["status"] == "fail"
    proc = in_template(template, sys.executable, "-m", "kit", "classroom", "--out", str(tmp_path / "again"))
    assert proc.returncode == 2 and "not part of this copy" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "again").exists() and not (template / "kit" / "platforms" / "classroom_template.py").exists()


def test_make_solution_with_force_prints_no_solution_from_the_template(template):
    proc = in_template(
        template, "make", "--no-print-directory", "solution-01", "FORCE=1", f"PY={sys.executable}", "STAMP="
    )
    shown = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert not [line for line in solution_lines() if len(line) >= 12 and line in shown], shown


def classroom_points(results):
    """What Classroom's reporter sends the classroom (autograding-grading-reporter, notify-classroom.js):
    the sum of every runner's tests' scores, out of the sum of their max_score."""
    counted = [r for r in results if r["max_score"]]
    return sum(t["score"] for r in counted for t in r["tests"]), sum(r["max_score"] for r in counted)


def reporter_table(result):
    """The points its log's table shows for one runner (helpers/test-helpers.js, getTestScore)."""
    return sum(t["status"] == "pass" for t in result["tests"]) / len(result["tests"]) * result["max_score"]


def run_step(step, tmp_path, impl):
    """A check's step as the workflow runs it (the kit's Python for .venv's), with its GITHUB_OUTPUT."""
    output = tmp_path / f"{step['id']}.out"
    output.write_text("")
    words = shlex.split(step["run"])
    proc = subprocess.run(
        [sys.executable, *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "IMPL": str(impl), "GITHUB_OUTPUT": str(output)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a later check's step still runs
    (line,) = output.read_text().splitlines()
    name, _, value = line.partition("=")
    assert name == "result"
    return json.loads(base64.b64decode(value)), proc.stdout


def test_each_checks_step_sends_the_points_the_check_earned_not_all_or_nothing(variant, tmp_path):
    """Classroom's command grader gave a step its maximum or nothing: a check at 13/14 showed 0."""
    # tanh's local derivative: check-05 earns part of its points, the other checks all of theirs.
    impl = variant([("(1 - t**2) * out.grad", "(1 - t) * out.grad")])
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "kit", "check", "all", "--impl", str(impl), "--report", str(report)])
    earned = {ex: c["earned"] for ex, c in json.loads(report.read_text())["checks"].items()}
    assert 0 < earned["05"] < POINTS["05"] and sum(earned.values()) > sum(POINTS.values()) - POINTS["05"]
    results = []
    for step in check_steps():
        result, printed = run_step(step, tmp_path, impl)
        ex = step["id"].removeprefix("check-")
        assert classroom_points([result]) == (earned[ex], POINTS[ex]), (ex, result)
        assert reporter_table(result) == pytest.approx(earned[ex])  # the log's table says the same
        assert result["status"] == ("pass" if earned[ex] == POINTS[ex] else "fail")
        assert f"check-{ex}: {earned[ex]}/{POINTS[ex]} points" in printed  # the learner's feedback, in the log
        results.append(result)
    assert classroom_points(results) == (sum(earned.values()), sum(POINTS.values()))


def test_a_check_that_gives_no_result_sends_an_error_worth_nothing(tmp_path):
    result, printed = run_step(check_steps()[2], tmp_path, tmp_path / "no-such-tree")
    assert result["status"] == "error" and classroom_points([result]) == (0, POINTS["03"])
    assert "gave no result" in result["tests"][0]["message"] and "check-03" in printed


def test_the_setup_step_removes_a_committed_venv_before_it_makes_the_kits_own(tmp_path):
    """A .venv committed from another machine failed every check; one holding a .pth that forces exit 0
    earned full marks."""
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "zz_exit0.pth").write_text("import os; os._exit(0)\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "make").write_text("#!/bin/sh\n[ -e .venv ] && echo venv-left > seen || echo venv-gone > seen\n")
    (fake / "make").chmod(0o755)
    (setup,) = [step["run"] for step in steps() if step["name"] == "Set up the kit"]
    proc = subprocess.run(
        ["sh", "-c", setup], cwd=tmp_path, env={**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    )
    assert proc.returncode == 0 and (tmp_path / "seen").read_text().strip() == "venv-gone"


def test_the_template_ships_the_stubs_and_no_file_git_does_not_track_whatever_the_instructors_copy_holds(tmp_path):
    """An instructor who solved an exercise in their own exercises/ and left notes in checks/ gave both
    to every student."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode:
        pytest.skip("the kit is no git checkout here")
    kit = tmp_path / "kit"  # the kit as it is here, committed afresh
    for rel in filter(None, os.fsdecode(listed.stdout).split("\0")):
        if (ROOT / rel).is_file():
            (kit / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, kit / rel)
    git = ["git", "-c", "user.name=k", "-c", "user.email=k@k", "-C", str(kit)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "kit"]):
        subprocess.run([*git, *args], check=True)
    shutil.copy(ROOT / "solutions" / "derivatives.py", kit / "exercises" / "derivatives.py")
    (kit / "exercises" / "scratch.py").write_text("x = 1\n")
    (kit / "checks" / "notes-instructor.txt").write_text("the answers are in solutions/\n")
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "classroom", "--out", str(tmp_path / "t")],
        cwd=kit,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rel in TREE:
        assert (tmp_path / "t" / "exercises" / rel).read_text() == (ROOT / "exercises" / rel).read_text(), rel
    assert not (tmp_path / "t" / "exercises" / "scratch.py").exists()
    assert not (tmp_path / "t" / "checks" / "notes-instructor.txt").exists()


def test_the_templates_lessons_name_no_command_that_copy_cannot_run(template):
    """The lessons said `make check-01 IMPL=solutions` and `make solution-03`: there is neither
    solutions/ nor a solution target in the learner's copy."""
    for doc in sorted((template / "docs").glob("*.md")):
        text = doc.read_text()
        assert "IMPL=solutions" not in text and "--impl solutions" not in text and "make solution-" not in text, doc
    assert "make hint-03" in (template / "docs" / "hints.md").read_text()
    assert "You are done when `E` equals `M`" in (template / "docs" / "01_numeric_derivatives.md").read_text()


def test_an_existing_template_is_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "template"
    assert main(["--out", str(out)]) == 0
    (out / "exercises" / "derivatives.py").write_text("# the instructor's edit\n")
    assert main(["--out", str(out)]) == 2 and "--force" in capsys.readouterr().err
    assert (out / "exercises" / "derivatives.py").read_text() == "# the instructor's edit\n"
    assert main(["--out", str(out), "--force"]) == 0
    assert (out / "exercises" / "derivatives.py").read_text() == (ROOT / "exercises" / "derivatives.py").read_text()


# --- a learner's repository -----------------------------------------------------------------------


def make_targets(makefile):
    """The targets a Makefile defines, as `make -pn` reads it."""
    proc = subprocess.run(
        ["make", "-pRrqn", "-f", str(makefile), "PYTHON=" + sys.executable],
        cwd=makefile.parent,
        capture_output=True,
        text=True,
    )
    return {line.split(":")[0] for line in proc.stdout.splitlines() if line and line[0].isalnum() and ":" in line}


def test_the_templates_makefile_has_the_learners_targets_and_no_instructor_or_solution_target(template):
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    targets = make_targets(template / "Makefile")
    learner = {"setup", "check", "progress", "watch", "demo", "check-01", "check-07", "hint-03", "explain-04"}
    assert learner <= targets, learner - targets
    instructor = {"grade", "report", "gradescope", "classroom", "nbgrader", "merge-grades", "test", "lint", "bench"}
    assert not (instructor | {"solution-01", "stubs", "mutation", "soak"}) & targets
    text = (template / "Makefile").read_text()
    assert "solution" not in text and "instructor" not in text.replace("dev, instructor, watch", "")
    for rule in ("check-%: $(STAMP)", "hints $*", "demo --impl $(call quote,$(IMPL))"):  # the kit's own, not copies
        assert rule in text and rule in (ROOT / "Makefile").read_text()


def test_the_templates_readme_is_the_learners_with_the_path_of_the_seven_checks(template):
    readme = (template / "README.md").read_text()
    assert readme != (ROOT / "README.md").read_text() and "@PATH@" not in readme
    for ex in POINTS:
        assert f"`make check-{ex}`" in readme
    assert not [w for w in ("make grade", "make test", "For instructors", "solution-", "make report") if w in readme]
    assert "Your grade" in readme and "exercises/" in readme


def test_make_demo_on_an_unfinished_template_says_to_finish_the_checks_first(template):
    proc = in_template(template, "make", "--no-print-directory", "demo", "STEPS=1", f"PY={sys.executable}", "STAMP=")
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "finish the checks first" in said, said
    assert "Traceback" not in said and "solutions" not in said


def test_classroom_result_answers_help_and_refuses_an_exercise_that_is_not_one(capsys):
    from kit.platforms.classroom import main as classroom

    with pytest.raises(SystemExit) as e:
        classroom(["result", "--help"])
    assert e.value.code == 0 and "usage: python -m kit classroom result" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        classroom(["result", "09"])
    assert e.value.code == 2 and "no exercise '09' (01, 02, 03, 04, 05, 06, 07)" in capsys.readouterr().err
