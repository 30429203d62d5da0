"""Gradescope: the autograder zip, run in a root laid out like /autograder, writes valid results.

The kit's tests run as root here, as Gradescope runs run_autograder; one run refuses namespaces
(failing stand-ins for bwrap and unshare first on PATH), as a container under Docker's default
seccomp profile does.
"""

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import hostile
import pytest

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, TOTAL
from kit.instructor import wrappers
from kit.platforms.gradescope import (
    SECRET,
    SETTINGS,
    SUPPORTED,
    VISIBILITY,
    build,
    main,
    results_json,
    stage_submission,
)

jsonschema = pytest.importorskip("jsonschema", reason="the instructor extra (jsonschema) is not installed")
SCHEMA = json.loads((ROOT / "kit" / "platforms" / "schemas" / "gradescope_results.json").read_text())
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root; so must this test")

# derivative() is right only when it does not run as root: check-01's points tell who ran it.
NOT_AS_ROOT = [
    hostile.top("derivatives.py", "import os"),
    ("derivatives.py", "return (f(x + h) - f(x)) / h", "return (f(x + h) - f(x)) / h if os.geteuid() else 0.0"),
]


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    return build(tmp_path_factory.mktemp("zip") / "autograder.zip")


@pytest.fixture(scope="module")
def unsandboxed_ok(tmp_path_factory):
    return build(tmp_path_factory.mktemp("zip") / "autograder.zip", allow_unsandboxed=True)


@pytest.fixture
def no_namespaces(tmp_path):
    """A PATH whose bwrap and unshare fail, as where seccomp refuses new namespaces."""
    bin_ = tmp_path / "refused-bin"
    bin_.mkdir()
    for name in ("bwrap", "unshare"):
        (bin_ / name).write_text("#!/bin/sh\necho 'Operation not permitted' >&2\nexit 1\n")
        (bin_ / name).chmod(0o755)
    return {"PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}"}


def run_autograder(zip_path, root, submission, env=None, ok=True):
    """Unpack the zip as Gradescope does and grade `submission`; returns (results.json, the run), or
    (None, the run) where the autograder failed, as Gradescope sees a run that leaves no results.json."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    if submission.is_dir():
        shutil.copytree(submission, root / "submission", symlinks=True)
    else:
        (root / "submission").mkdir()
        shutil.copy(submission, root / "submission")
    proc = subprocess.run(
        ["bash", str(root / "run_autograder")],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "KIT_AUTOGRADER_ROOT": str(root),
            "KIT_PYTHON": sys.executable,
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        },
    )
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    if not ok:
        assert not (root / "results" / "results.json").exists(), "a failure leaves no results.json, so no score"
        return None, proc
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results, proc


# --- the zip and its scripts ----------------------------------------------------------------------


def test_the_zip_has_setup_and_run_autograder_at_its_root_and_no_solutions(autograder):
    with zipfile.ZipFile(autograder) as zf:
        names = zf.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        settings, secret = json.loads(zf.read(SETTINGS)), zf.read(SECRET)
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert not [n for n in names if n.startswith(("solutions/", "tests/", ".git", "kit/dev/"))]
    assert "checks/test_04_backward.py" in names and "kit/instructor/grade.py" in names
    # The secret is a file of its own, never in the settings.
    assert settings == {"allow_unsandboxed": False, "only": list(EXERCISES), "visibility": "visible"}
    assert len(secret) >= 32 and stat.S_IMODE(modes[SECRET]) == 0o600


def test_each_zip_gets_a_secret_of_its_own_unless_one_is_given(tmp_path):
    a, b = build(tmp_path / "a.zip"), build(tmp_path / "b.zip", secret=b"0123456789abcdef0123")
    assert zipfile.ZipFile(a).read(SECRET) != zipfile.ZipFile(tmp_path / "b.zip").read(SECRET)
    assert zipfile.ZipFile(b).read(SECRET) == b"0123456789abcdef0123"
    with pytest.raises(ValueError, match="128 bits"):
        build(tmp_path / "c.zip", secret=b"77")


def test_setup_on_a_supported_image_installs_the_kit_into_its_venv_and_locks_the_secret(autograder, tmp_path):
    """setup.sh run to its end, with stand-ins for apt-get and for python3's venv and pip (which
    record what they were asked); every other python3 call is the real one."""
    with zipfile.ZipFile(autograder) as zf:
        zf.extractall(tmp_path / "source")
    (tmp_path / "source" / SECRET).chmod(0o644)  # as an unzip that keeps no modes leaves it
    log = tmp_path / "calls.log"
    pip = f'#!/bin/sh\necho "pip $*" >> {log}\n'
    python3 = (
        f'#!/bin/sh\nif [ "$1 $2" = "-m venv" ]; then\n  echo "venv $3" >> {log}\n  mkdir -p "$3/bin"\n'
        f"  printf '%s' {shlex.quote(pip)} > \"$3/bin/pip\" && chmod 755 \"$3/bin/pip\"\n"
        f'  exit 0\nfi\nexec {shlex.quote(sys.executable)} "$@"\n'
    )
    proc, apt = run_setup(autograder, tmp_path, 'ID=ubuntu\nVERSION_ID="24.04"\n', stand_ins={"python3": python3})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert apt.splitlines()[0] == "update -qq" and apt.splitlines()[1].startswith("install -y"), apt
    assert log.read_text().splitlines() == [f"venv {tmp_path}/venv", f"pip install --quiet -e {tmp_path}/source"]
    assert stat.S_IMODE((tmp_path / "source" / SECRET).stat().st_mode) == 0o600


def test_run_autograder_runs_the_kit_of_its_venv_from_the_source_folder_and_keeps_its_exit_status(autograder, tmp_path):
    with zipfile.ZipFile(autograder) as zf:
        zf.extractall(tmp_path / "source")
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$(pwd) $*" > {tmp_path / "ran"}\nexit 3\n')
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "KIT_PYTHON"}
    proc = subprocess.run(
        ["bash", str(tmp_path / "source" / "run_autograder")], env={**env, "KIT_AUTOGRADER_ROOT": str(tmp_path)}
    )
    assert proc.returncode == 3
    assert (tmp_path / "ran").read_text() == f"{tmp_path / 'source'} -m kit gradescope --run\n"


def run_setup(autograder, tmp_path, os_release, python3_version=None, stand_ins=None):
    """setup.sh with stand-ins for apt-get (which records its arguments) and, if given, python3 and
    any other program ({name: script}); the zip is unpacked unless a test unpacked it already."""
    if not (tmp_path / "source").exists():
        with zipfile.ZipFile(autograder) as zf:
            zf.extractall(tmp_path / "source")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "apt.log"}\n')
    if python3_version:
        (bin_ / "python3").write_text(f"#!/bin/sh\n[ \"$1\" = -V ] && echo 'Python {python3_version}'\nexit 1\n")
    for name, text in (stand_ins or {}).items():
        (bin_ / name).write_text(text)
    for f in bin_.iterdir():
        f.chmod(0o755)
    (tmp_path / "os-release").write_text(os_release)
    proc = subprocess.run(
        ["bash", str(tmp_path / "source" / "setup.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}",
            "KIT_AUTOGRADER_ROOT": str(tmp_path),
            "KIT_OS_RELEASE": str(tmp_path / "os-release"),
        },
    )
    apt = (tmp_path / "apt.log").read_text() if (tmp_path / "apt.log").exists() else ""
    return proc, apt


@pytest.mark.parametrize("version", ["18.04", "20.04"])
def test_setup_refuses_ubuntu_before_22_04_with_the_sentence_that_says_why(autograder, tmp_path, version):
    proc, apt = run_setup(autograder, tmp_path, f'ID=ubuntu\nVERSION_ID="{version}"\n')
    assert proc.returncode != 0 and SUPPORTED in proc.stderr and f"Ubuntu {version}" in proc.stderr
    assert apt == ""  # it stops before installing anything


def test_setup_installs_python3_venv_not_pip_and_refuses_a_python_older_than_3_10(autograder, tmp_path):
    proc, apt = run_setup(autograder, tmp_path, 'ID=ubuntu\nVERSION_ID="22.04"\n', python3_version="3.8.10")
    assert proc.returncode != 0 and SUPPORTED in proc.stderr and "Python 3.8.10" in proc.stderr
    installed = apt.splitlines()[-1].split()
    assert {"python3", "python3-venv", "bubblewrap"} <= set(installed)
    assert "python3-pip" not in installed and "--no-install-recommends" in installed


# --- run_autograder -------------------------------------------------------------------------------


@root_only
def test_a_correct_submission_earns_every_point_with_one_entry_per_test_and_not_as_root(autograder, tmp_path):
    results, proc = run_autograder(autograder, tmp_path / "root", hostile.tree(tmp_path / "sub", patches=NOT_AS_ROOT))
    assert results["score"] == TOTAL
    assert len(results["tests"]) == sum(
        1
        for p in (ROOT / "checks").glob("test_*.py")
        for line in p.read_text().splitlines()
        if line.startswith("def test_")
    )
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])
    assert results["tests"][0]["name"].startswith("check-01 · ") and results["tests"][0]["number"] == "1.1"
    assert results["execution_time"] >= 0 and "check-07 a training loop: 10/10" in results["output"]
    # Which isolation ran is the instructor's to read (stdout), not the student's: the strongest this
    # machine offers (setup.sh installs bubblewrap on Gradescope's image; here it may be absent).
    mode = "bwrap" if wrappers.tool("bwrap") else "unshare"
    assert proc.stdout.startswith(f"Isolation: {mode} sandbox") and "Isolation" not in json.dumps(results)


def test_a_partial_submission_earns_what_the_checks_give_the_same_code(autograder, tmp_path, checks):
    sub = hostile.tree(tmp_path / "sub", upto=4)
    results, _ = run_autograder(autograder, tmp_path / "root", sub)
    direct = checks("all", sub)
    assert results["score"] == sum(direct.earned(ex)[0] for ex in direct.report["checks"])
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 and t["output"] for t in failed)


def test_an_engine_copied_from_the_kits_reference_is_marked_for_review_as_kit_grade_marks_it(autograder, tmp_path):
    """The copy check read the reference from solutions/, which the zip leaves out: on Gradescope it saw nothing."""
    results, _ = run_autograder(autograder, tmp_path / "root", hostile.tree(tmp_path / "sub"))
    assert results["score"] == TOTAL and not (tmp_path / "root" / "source" / "solutions").exists()
    assert "- for review: micrograd/engine.py: holds the kit's reference code line for line" in results["output"]


def test_a_hostile_submission_is_graded_for_its_honest_parts_only(autograder, tmp_path):
    sub = hostile.tree(
        tmp_path / "sub",
        patches=[hostile.top("micrograd/engine.py", ("print('check-02: 10/10 points')\nwhile True:\n    pass"))],
        extra={"conftest.py": "raise SystemExit\n"},
    )
    results, _ = run_autograder(autograder, tmp_path / "root", sub)
    # check-01, whose derivatives.py is honest, and 06 and 07, whose nn.py and train.py are, on the kit's engine
    assert results["score"] == 14 + 10 + 10
    assert not (tmp_path / "root" / "source" / "solutions").exists()


def test_an_ungradable_submission_gets_zero_with_the_reason_on_every_check(autograder, tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("nothing here")
    results, _ = run_autograder(autograder, tmp_path / "root", sub)
    assert results["score"] == 0 and len(results["tests"]) == 7
    assert all("could not be graded: no exercise tree was found" in t["output"] for t in results["tests"])


def test_folders_nested_six_hundred_deep_are_copied_only_as_deep_as_kit_grade_looks_and_the_run_goes_on(tmp_path):
    """A copy of every level ran out of stack: run_autograder ended in a traceback, with no results."""
    sub = hostile.tree(tmp_path / "submission")
    deep = sub
    for _ in range(600):
        deep = deep / "d"
        deep.mkdir()
    (deep / "x.py").write_text("x = 1\n")
    (sub / "d" / "d" / "helper.py").write_text("y = 2\n")
    (tmp_path / "subs").mkdir()
    stage_submission(sub, tmp_path / "subs")
    copied = tmp_path / "subs" / "submission"
    assert (copied / "micrograd" / "engine.py").read_bytes() == (sub / "micrograd" / "engine.py").read_bytes()
    assert (copied / "d" / "d" / "helper.py").is_file() and not list(copied.rglob("x.py"))


def test_a_path_whose_copy_would_pass_the_systems_limit_is_left_where_kit_grade_never_looks(tmp_path):
    """Copied under a longer folder, a path near 4096 bytes failed, and run_autograder with it."""
    sub = hostile.tree(tmp_path / "submission")
    far = sub
    while (room := 4080 - len(os.fsencode(far))) > 1:
        far = far / ("n" * min(200, room - 1))
        far.mkdir()
    (far / "f.py").write_text("x = 1\n")  # about 4085 bytes, and 40 more under subs (as under /tmp/kit-gradescope-*)
    subs = tmp_path / ("s" * 36) / "subs"
    subs.mkdir(parents=True)
    stage_submission(sub, subs)
    assert (subs / "submission" / "derivatives.py").is_file()


def zipped(folder, archive, outside=None):
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder).as_posix())
        if outside:
            zf.writestr("../../escaped.py", outside)
    return archive


def test_a_zip_uploaded_as_the_submission_is_unpacked_by_the_graders_safe_rules(autograder, tmp_path):
    archive = zipped(hostile.tree(tmp_path / "tree"), tmp_path / "my-work.zip", outside="print('out')\n")
    results, _ = run_autograder(autograder, tmp_path / "root", archive)
    assert results["score"] == TOTAL
    assert "point outside the submission" in results["output"]
    assert not list((tmp_path / "root").rglob("escaped.py")) and not (tmp_path / "escaped.py").exists()


@root_only
def test_where_namespaces_are_refused_the_run_is_an_autograder_failure_that_records_no_score(
    autograder, tmp_path, no_namespaces
):
    """Gradescope reports a run without results.json as an autograder failure and records no score;
    the instructor reads why in the run's output (stdout) and reruns it once the image is fixed."""
    marker = tmp_path / "learner-code-ran"
    sub = hostile.tree(tmp_path / "sub", patches=[hostile.top("derivatives.py", f"open({str(marker)!r}, 'w')")])
    (tmp_path / "root" / "results").mkdir(parents=True)
    (tmp_path / "root" / "results" / "results.json").write_text('{"score": 0}')  # a stale file goes too
    results, proc = run_autograder(autograder, tmp_path / "root", sub, env=no_namespaces, ok=False)
    assert results is None and not marker.exists()
    assert "Autograder failure, no score recorded" in proc.stdout
    assert "refuses to run learner code without a sandbox" in proc.stdout and "--allow-unsandboxed" in proc.stdout


@pytest.mark.parametrize("exit_status, student", [(3, None), (0, {"status": "error", "reason": "the judge died"})])
def test_a_grader_that_fails_is_an_autograder_failure_never_a_zero(tmp_path, monkeypatch, capsys, exit_status, student):
    """The grader's own trouble (it fails, or records a grader error) is not the student's: no score."""
    from kit.platforms import gradescope

    def grade(cmd, cwd):
        if student:
            out = Path(cmd[5])
            out.mkdir(parents=True)
            (out / "grades.json").write_text(json.dumps({"students": [student]}))
        return subprocess.CompletedProcess(cmd, exit_status)

    (tmp_path / "submission").mkdir()
    monkeypatch.setenv("KIT_AUTOGRADER_ROOT", str(tmp_path))
    monkeypatch.setattr(gradescope, "isolation", lambda settings: ("bwrap", "Isolation: bwrap sandbox."))
    monkeypatch.setattr(gradescope.subprocess, "run", grade)
    assert gradescope.run() == 1 and not (tmp_path / "results" / "results.json").exists()
    said = capsys.readouterr().out
    assert "Autograder failure, no score recorded" in said
    assert ("exit status 3" in said) if exit_status else ("the judge died" in said)


@root_only
def test_with_the_opt_in_and_no_namespaces_it_grades_unsandboxed_never_as_root_and_says_so(
    unsandboxed_ok, tmp_path, no_namespaces
):
    sub = hostile.tree(tmp_path / "sub", patches=NOT_AS_ROOT)
    results, proc = run_autograder(unsandboxed_ok, tmp_path / "root", sub, env=no_namespaces)
    assert proc.stdout.startswith("Isolation: none (the zip was built with --allow-unsandboxed")
    assert "an unprivileged user" in proc.stdout
    assert results["score"] == TOTAL  # derivative() is right only when it does not run as root


# --- one assignment per exercise, and when students see the tests ---------------------------------


@pytest.mark.parametrize("only", [["01"], ["03", "04"]])
def test_a_zip_for_some_checks_grades_those_only_for_their_points_only(tmp_path, only):
    zip_path = build(tmp_path / "autograder.zip", only=only)
    results, _ = run_autograder(zip_path, tmp_path / "root", hostile.tree(tmp_path / "sub", upto=3))
    assert {t["name"][6:8] for t in results["tests"]} == set(only)
    assert sum(t["max_score"] for t in results["tests"]) == sum(POINTS[ex] for ex in only)
    solved = sum(POINTS[ex] for ex in only if ex <= "03")  # the tree is solved through 03
    assert results["score"] == solved
    assert results["output"].splitlines()[0].startswith(f"check-{only[0]} ") and "check-07" not in results["output"]


def test_the_output_and_every_message_are_marked_plain_text_so_a_file_name_in_angle_brackets_is_shown_as_written():
    """Left unset, Gradescope renders the top-level output as simple_format (sanitised HTML): a note
    naming the learner's file <b>notes</b>.txt would lose its tags. The tests' default, text, is pinned too."""
    said = "repr(Value(-8.944)) is '<micrograd.engine.Value object at 0x7f3a>'; expected it to contain 'Value(data='."
    test = {"check": "02", "test": "repr shows <Value(data=...)>", "status": "fail", "points": 0, "max": 1}
    result = {
        "status": "graded",
        "checks": {"02": {"earned": 0, "max": 1}},
        "tests": [{**test, "message": said, "mistake": "no-repr"}],
        "notes": ["left out, as the checks never import them: <b>notes</b>.txt"],
    }
    results = results_json(result, 1.0)
    jsonschema.validate(results, SCHEMA)
    assert results["output_format"] == results["test_output_format"] == results["test_name_format"] == "text"
    assert results["tests"][0]["output"] == said and "<b>notes</b>.txt" in results["output"]


@pytest.mark.parametrize("visibility", VISIBILITY[1:])
def test_a_zip_that_hides_the_tests_puts_no_points_in_the_output_the_student_sees_at_once(visibility):
    """Gradescope shows the top-level output whatever the visibility: the points of each check and the
    adjustments go with the tests, shown when they are; what the files lack is said at once."""
    test = {"check": "03", "test": "grads add up", "status": "fail", "points": 0, "max": 4, "message": "no"}
    result = {
        "status": "graded",
        "checks": {"03": {"earned": 6, "max": 10}},
        "tests": [test, {**test, "status": "pass", "points": 6, "max": 6}],
        "notes": ["train.py is missing"],
        "adjustments": [{"check": "03", "points": 2, "asked": 2, "reason": "regrade request"}],
        "total": 8,
    }
    results = results_json(result, 1.0, visibility)
    jsonschema.validate(results, SCHEMA)
    assert results["output"] == "Notes on the files:\n- train.py is missing"
    assert results["tests"][-1]["name"] == "Adjustments" and "regrade request" in results["tests"][-1]["output"]
    assert {t["visibility"] for t in results["tests"]} == {visibility} and results["score"] == 8
    ungraded = {"status": "ungradable", "reason": "no tree found", "checks": result["checks"], "tests": []}
    assert results_json(ungraded, 1.0, visibility)["output"] == "This submission could not be graded: no tree found."


@pytest.mark.parametrize("visibility", VISIBILITY)
def test_each_test_and_the_summary_carry_the_zips_visibility(tmp_path, visibility):
    zip_path = build(tmp_path / "autograder.zip", only=["01"], visibility=visibility)
    results, _ = run_autograder(zip_path, tmp_path / "root", hostile.tree(tmp_path / "sub", upto=0))
    assert results["tests"] and {t["visibility"] for t in results["tests"]} == {visibility}
    assert results["visibility"] == visibility and results["stdout_visibility"] == "hidden"
    assert results["score"] == 0 and sum(t["max_score"] for t in results["tests"]) == POINTS["01"]


def test_an_ungradable_submission_of_a_weekly_zip_scores_zero_on_its_checks_only(tmp_path):
    zip_path = build(tmp_path / "autograder.zip", only=["02"], visibility="after_due_date")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "notes.txt").write_text("nothing here")
    results, _ = run_autograder(zip_path, tmp_path / "root", sub)
    assert [(t["name"][:8], t["max_score"], t["visibility"]) for t in results["tests"]] == [
        ("check-02", 10, "after_due_date")
    ]


def test_the_command_refuses_an_unknown_check_or_visibility_and_says_what_it_built(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "a.zip"), "--only", "08"])
    assert "no exercise '08'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "a.zip"), "--visibility", "sometimes"])
    assert main(["--out", str(tmp_path / "a.zip"), "--only", "4,3", "--visibility", "hidden"]) == 0
    assert "check-03, check-04, 20 points, tests hidden" in capsys.readouterr().out
    settings = json.loads(zipfile.ZipFile(tmp_path / "a.zip").read(SETTINGS))
    assert settings["only"] == ["03", "04"] and settings["visibility"] == "hidden"
