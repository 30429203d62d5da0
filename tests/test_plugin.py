"""The plugin: points, markers, seeds, the implementation it grades, its score line and exit status."""

import ast
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, check_file

pytest_plugins = "pytester"


def check_tests(ex):
    module = importlib.import_module(f"checks.{Path(check_file(ex)).stem}")
    return module, [(name, fn) for name, fn in vars(module).items() if name.startswith("test_")]


@pytest.mark.parametrize("ex", list(EXERCISES))
def test_every_check_test_carries_points_that_sum_to_the_checks_maximum(ex):
    module, tests = check_tests(ex)
    total = 0
    for name, fn in tests:
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "points"]
        assert len(marks) == 1, f"{name} has no @points"
        total += marks[0].args[0]
        assert name.count("_") >= 4, f"{name} should read as a sentence"
    assert total == POINTS[ex]


def test_the_judge_modules_never_import_learner_code():
    learner = {"micrograd", "derivatives", "train"}
    for path in (ROOT / "checks").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in learner, f"{path.name} imports {name}"


def test_the_worker_side_modules_use_the_standard_library_only():
    for path in sorted((ROOT / "checks" / "worker").glob("*.py")):
        name = path.name
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in sys.stdlib_module_names for a in node.names), name
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in sys.stdlib_module_names, (name, node.module)


def test_a_full_score_exits_0_and_ends_with_the_score_line_naming_the_seed(checks):
    run = checks("03", ROOT / "solutions", "--seed", "42")
    assert run.rc == 0
    assert run.last_line == f"check-03: {POINTS['03']}/{POINTS['03']} points"
    assert "with seed 42" in run.out.splitlines()[1]
    assert run.report["seed"] == 42


def test_a_partial_score_exits_1(checks, tree):
    run = checks("01", tree(0))
    assert run.rc == 1 and run.last_line == f"check-01: 0/{POINTS['01']} points"


def test_impl_may_be_relative_absolute_or_given_by_the_environment(checks, tmp_path):
    rel = checks("02", "solutions")
    assert rel.rc == 0 and "grading solutions/ with seed 1" in rel.out
    absolute = checks("02", ROOT / "solutions", cwd=tmp_path)
    assert absolute.rc == 0
    env = checks("02", None, env={"IMPL": str(ROOT / "solutions")})
    assert env.rc == 0 and env.report["impl"] == str(ROOT / "solutions")


def test_the_default_implementation_is_exercises(checks):
    run = checks("01", None, env={"IMPL": ""})
    assert "grading exercises/ with seed 1" in run.out
    assert Path(run.report["impl"]) == ROOT / "exercises"


@pytest.mark.parametrize("seed", [2, 3, 1000, 987654321])
def test_the_reference_earns_full_marks_under_other_seeds(checks, seed):
    run = checks("all", ROOT / "solutions", "--seed", str(seed))
    assert run.rc == 0, run.out


def test_the_same_seed_gives_the_same_report_every_run(checks, tree):
    first, second = checks("all", tree(4), "--seed", "5"), checks("all", tree(4), "--seed", "5")
    assert first.report == second.report
    assert first.out == second.out


def test_markers_select_one_exercise_through_plain_pytest():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "checks.plugin", "checks", "-m", "ex03", "--impl", "solutions", "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"check-03: {POINTS['03']}/{POINTS['03']} points" in proc.stdout
    assert "check-01" not in proc.stdout


def test_an_unknown_exercise_is_refused_with_the_choices():
    proc = subprocess.run([sys.executable, "-m", "kit", "check", "09"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "choose one of 01, 02" in proc.stderr


def phony_targets(makefile):
    """The Makefile's .PHONY targets, a per-exercise pattern spelled for exercise 03 (check-03, ...)."""
    text = re.sub(r"\\\n", " ", makefile)
    line = re.search(r"^\.PHONY:(.*)$", text, re.M)[1]
    return re.sub(r"\$\(addprefix (\S+),\$\((CHECKS|EXPLAINED)\)\)", r"\g<1>03", line).split()


def readme_commands(readme):
    """{make target: its plain equivalent} from the README's table of commands."""
    table = readme[readme.index("## Commands, and their plain equivalents") :]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `make") and len(cells) >= 2:
            for target in re.findall(r"`make ([\w-]+)", cells[0]):
                rows[target] = cells[1]
    return rows


def kit_check(*args, cwd=ROOT):
    """`python -m kit check ARGS` in a fresh process, run from `cwd`."""
    cmd = [sys.executable, "-m", "kit", "check", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_the_report_goes_into_folders_made_for_it_and_the_score_line_stays_last(tmp_path):
    report = tmp_path / "not" / "yet" / "r.json"
    proc = kit_check("01", "--impl", "solutions", "--report", report)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1] == f"check-01: {POINTS['01']}/{POINTS['01']} points"
    assert json.loads(report.read_text())["checks"]["01"]["earned"] == POINTS["01"]


@pytest.mark.parametrize("where", ["below a file", "a folder"])
def test_a_report_that_cannot_be_written_is_refused_in_one_line_before_any_check_runs(tmp_path, where):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder").mkdir()
    report = {"below a file": tmp_path / "a-file" / "r.json", "a folder": tmp_path / "a-folder"}[where]
    proc = kit_check("01", "--impl", "solutions", "--report", report)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(f"python -m kit check: --report {report}:")
    assert (tmp_path / "a-file").read_text() == "" and not list((tmp_path / "a-folder").iterdir())


def test_every_phony_make_target_has_a_rule_and_a_plain_equivalent_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert readme.index("make check-01") < readme.index("make test") < readme.index("## The path")
    targets, rows = phony_targets(makefile), readme_commands(readme)
    assert {"check", "check-03", "hint-03", "solution-03", "test", "watch", "bench"} <= set(targets), targets
    for target in targets:
        pattern = target.replace("-03", "-%")
        assert re.search(rf"^{re.escape(target)}:|: {re.escape(pattern)}:", makefile, re.M), f"no rule for {target}"
        assert rows.get(target, "").startswith("`"), f"make {target} has no plain equivalent in the README's table"
    assert set(rows) <= set(targets), f"the README names targets the Makefile lacks: {set(rows) - set(targets)}"


def fake_ci(tmp_path, failing=""):
    """A copy of .ci/run in a folder of its own, with stand-ins on PATH for make (which records what it
    was asked and fails on `failing`), id (not root: no apt-get) and the venv's Python (two more
    CPythons, one of them missing)."""
    shutil.copytree(ROOT / ".ci", tmp_path / ".ci")
    stand_ins = {
        "bin/make": f'echo "$*" >> {tmp_path}/made\n[ "$*" != {failing!r} ]',
        "bin/id": "echo 1000",
        ".venv/bin/python": (
            'case "$*" in *"kit pythons") printf "3.12 /usr/bin/python3.12\\n3.11 /opt/py311\\n3.10 -\\n";;'
            " *) echo 3.12;; esac"
        ),
    }
    for rel, body in stand_ins.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("#!/bin/sh\n" + body + "\n")
        (tmp_path / rel).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.run([str(tmp_path / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    made = (tmp_path / "made").read_text().splitlines() if (tmp_path / "made").exists() else []
    return proc, made


def test_ci_checks_the_stubs_runs_make_test_and_then_the_suite_on_every_other_python_it_finds(tmp_path):
    proc, made = fake_ci(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert made == ["stubs-check", "test", "test-python PY=/opt/py311"]
    assert "Python 3.10 is not on this machine" in proc.stdout


def test_ci_fails_when_make_test_fails_and_runs_nothing_after_it(tmp_path):
    proc, made = fake_ci(tmp_path, failing="test")
    assert proc.returncode != 0 and made == ["stubs-check", "test"]


# --- the plugin on checks of its own, through pytest's pytester ------------------------------------

FAKE_01 = f"""
import pytest

@pytest.mark.points({POINTS["01"] - 1})
def test_the_first_thing_works():
    pass

@pytest.mark.points(1)
def test_the_second_thing_works():
    raise AssertionError("Called f(1). It returned 2, but 1 was expected.")
"""


@pytest.fixture
def kit_pytest(pytester, monkeypatch):
    """kit_pytest(*args, **files): plain pytest with the kit's plugin on check files written here."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this kit's checks and plugin, not another install's
    monkeypatch.delenv("KIT_SEED", raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as `python -m kit check` runs it

    def run(*args, **files):
        pytester.makepyfile(**files)
        return pytester.runpytest_subprocess(
            "-p",
            "pytest_timeout",
            "-p",
            "checks.plugin",
            "-p",
            "no:cacheprovider",
            f"--impl={ROOT / 'solutions'}",
            *args,
        )

    return run


def test_each_result_prints_with_its_points_and_the_check_ends_with_its_score_line(kit_pytest):
    result = kit_pytest(test_01_fake=FAKE_01)
    result.stdout.fnmatch_lines(
        [
            "*check-01 · numeric derivatives",
            f"*  PASS  {POINTS['01'] - 1}/{POINTS['01'] - 1}  the first thing works",
            "*  FAIL  0/1  the second thing works",
            "             Called f(1). It returned 2, but 1 was expected.",
            f"check-01: {POINTS['01'] - 1}/{POINTS['01']} points",
        ]
    )
    assert result.ret == 1


def test_full_marks_exit_0_and_the_report_holds_every_result_and_the_checks_points(kit_pytest, pytester):
    report = pytester.path / "report.json"
    result = kit_pytest("--kit-report", report, test_01_fake=FAKE_01.replace("raise AssertionError", "print"))
    assert result.ret == 0
    data = json.loads(report.read_text())
    assert data["checks"] == {"01": {"earned": POINTS["01"], "max": POINTS["01"], "base": []}}
    assert data["seed"] == 1 and data["impl"] == str(ROOT / "solutions")
    first, second = data["tests"]
    assert first == {
        "check": "01",
        "test": "the first thing works",
        "nodeid": "test_01_fake.py::test_the_first_thing_works",
        "status": "pass",
        "points": POINTS["01"] - 1,
        "max": POINTS["01"] - 1,
        "message": "",
        "mistake": None,
    }
    assert (second["status"], second["points"], second["max"]) == ("pass", 1, 1)


def test_points_that_do_not_sum_to_the_checks_maximum_are_a_usage_error_before_any_test_runs(kit_pytest):
    result = kit_pytest(test_03_fake="import pytest\n\n@pytest.mark.points(2)\ndef test_a_b_c_d():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: kit error: check-03 is worth {POINTS['03']} points (kit/exercises.py) but its tests carry 2 points"]
    )
    assert "PASS" not in result.stdout.str()


def test_a_check_test_without_points_is_a_usage_error(kit_pytest):
    result = kit_pytest(test_01_fake="def test_a_b_c_d():\n    pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: kit error: test_01_fake.py::test_a_b_c_d has no @points(n) marker"])


def test_every_check_test_is_marked_with_its_exercise_so_m_selects_one_check(kit_pytest):
    two = f"import pytest\n\n@pytest.mark.points({POINTS['02']})\ndef test_the_graph_works():\n    pass\n"
    result = kit_pytest("--strict-markers", "-m", "ex02", test_01_fake=FAKE_01, test_02_fake=two)
    assert result.ret == 0
    out = result.stdout.str()
    assert f"check-02: {POINTS['02']}/{POINTS['02']} points" in out and "check-01" not in out


SEEDED = """
import pytest

@pytest.mark.points(14)
def test_draws_a_number(rng):
    with open("drawn.txt", "a") as f:
        f.write(repr(rng.random()) + "\\n")
"""


def test_the_seed_changes_the_random_inputs_and_the_same_seed_repeats_them(kit_pytest, pytester, monkeypatch):
    def drawn(*args):
        (pytester.path / "drawn.txt").unlink(missing_ok=True)
        assert kit_pytest(*args, test_01_fake=SEEDED).ret == 0
        return (pytester.path / "drawn.txt").read_text()

    default, five, again = drawn(), drawn("--kit-seed", "5"), drawn("--kit-seed", "5")
    assert five == again and five != default
    assert drawn("--kit-seed", "1") == default
    monkeypatch.setenv("KIT_SEED", "5")
    assert drawn() == five


def test_a_kit_seed_that_is_not_a_number_is_a_one_line_error_not_an_internal_error(kit_pytest, monkeypatch):
    monkeypatch.setenv("KIT_SEED", "abc")
    result = kit_pytest(test_01_fake=FAKE_01)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == "ERROR: KIT_SEED='abc' is not a whole number, e.g. 7"
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("value", ["abc", "inf", "nan", "0", "-1"])
def test_a_kit_timeout_that_is_not_a_positive_finite_number_is_a_one_line_error(kit_pytest, monkeypatch, value):
    """inf and nan used to end in an INTERNALERROR, 0 and -1 in every test taking longer than 0 s."""
    monkeypatch.setenv("KIT_TIMEOUT", value)
    result = kit_pytest(test_01_fake=FAKE_01)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    said = f"ERROR: KIT_TIMEOUT={value!r} is not a positive, finite number of seconds, e.g. 5"
    assert result.stderr.lines[0] == said
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("option", ["--timeout", "--check-timeout"])
@pytest.mark.parametrize("value", ["abc", "inf", "nan", "0", "-1"])
def test_a_time_limit_option_that_is_not_a_positive_finite_number_is_refused_before_any_check(option, value):
    proc = kit_check("01", "--impl", "solutions", option, value)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    said = (
        f"python -m kit check: error: argument {option}: {value!r} is not a positive, finite number of seconds, e.g. 5"
    )
    assert proc.stderr.splitlines()[-1] == said


def test_the_graders_time_limits_are_refused_alike(tmp_path):
    from kit.instructor.grade import parser

    for option in ("--probe-timeout", "--check-timeout", "--student-timeout"):
        for value in ("inf", "0", "-1"):
            with pytest.raises(SystemExit):
                parser().parse_args([str(tmp_path), str(tmp_path / "out"), option, value])
        args = parser().parse_args([str(tmp_path), str(tmp_path / "out"), option, "2.5"])
        assert getattr(args, option[2:].replace("-", "_")) == 2.5


def test_a_test_over_its_time_limit_is_a_timeout_with_its_own_message(kit_pytest, pytester):
    slow = f"""
import time, pytest

@pytest.mark.points({POINTS["01"]})
def test_never_ends():
    time.sleep(1.5)
"""
    report = pytester.path / "report.json"
    result = kit_pytest("--kit-timeout", "0.5", "--kit-report", report, test_01_fake=slow)
    assert result.ret == 1
    (only,) = json.loads(report.read_text())["tests"]
    assert only["status"] == "timeout" and "0.5" in only["message"], only


def test_a_failure_of_the_kit_itself_exits_3_and_asks_for_a_report(kit_pytest):
    broken = f"import pytest\n\n@pytest.mark.points({POINTS['01']})\ndef test_breaks():\n    {{}}['x']\n"
    result = kit_pytest(test_01_fake=broken)
    assert result.ret == 3
    result.stdout.fnmatch_lines(["*  FAIL  0/14  breaks", "*The kit itself failed here (KeyError*"])


def test_a_failure_of_the_kit_itself_has_a_contract_status_and_is_marked_kit_error(kit_pytest, tmp_path):
    report = tmp_path / "report.json"
    broken = f"import pytest\n\n@pytest.mark.points({POINTS['01']})\ndef test_breaks():\n    {{}}['x']\n"
    kit_pytest("--kit-report", str(report), test_01_fake=broken)
    (only,) = json.loads(report.read_text())["tests"]
    assert only["status"] == "error" and only["kit_error"] is True and only["mistake"] is None, only


# --- colour --------------------------------------------------------------------------------------


def on_a_terminal(*args, env=None):
    """What `python -m kit check ARGS` writes to a terminal (a pseudo-terminal here)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kit", "check", *map(str, args)],
        cwd=ROOT,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait()
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_pass_and_fail_lines_are_coloured_on_a_terminal_and_never_with_no_color_or_piped(checks, tree):
    env = {"NO_COLOR": ""}
    coloured = on_a_terminal("01", "--impl", ROOT / "solutions", env=env)
    assert "  \033[32mPASS\033[0m  1/1  " in coloured, coloured
    todo = on_a_terminal("01", "--impl", tree(0), env=env)
    assert "  \033[33mTODO\033[0m  0/1  " in todo
    plain = on_a_terminal("01", "--impl", ROOT / "solutions", env={"NO_COLOR": "1"})
    assert "\033[" not in plain and "  PASS  1/1  " in plain
    piped = checks("01", ROOT / "solutions")
    assert "\033[" not in piped.out and "  PASS  1/1  " in piped.out
