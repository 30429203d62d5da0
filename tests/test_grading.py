"""Instructor grading: a class of hostile submissions graded safely, exactly, and resumably."""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import hostile
import pytest
from conftest import grading_interrupted

from kit import ROOT
from kit.exercises import EXERCISES, TOTAL
from kit.instructor import host, sandbox

ROOT_MODES = os.geteuid() == 0
FAST = ["--probe-timeout", "2.5", "--check-timeout", "10", "--jobs", "2"]


def kit_files(root=ROOT):
    """A hash of every file of the kit but the environment and caches."""
    digest = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if (
            p.is_file()
            and not {".venv", ".git", "__pycache__"} & set(rel.parts)
            and not rel.parts[0].endswith(".egg-info")
        ):
            digest[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return digest


def private_kit(folder):
    """A copy of the kit to grade from: the one the class attacks, and one no one edits while it runs."""
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".ruff_cache", ".pytest_cache")
    shutil.copytree(ROOT, folder, symlinks=True, ignore=ignore)
    return folder


def grade(submissions, out, *extra, kit=ROOT):
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(submissions), str(out), *FAST, *extra],
        cwd=kit,  # python -m kit runs the kit of its working folder
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def rows(out):
    with open(out / "grades.csv", newline="") as f:
        return list(csv.DictReader(f))


def points(row):
    return {ex: int(row[f"check-{ex}"]) for ex in hostile.FULL}


def available(mode):
    """The sandbox mode `mode` resolves to here, or a skip where this machine cannot build it."""
    try:
        return sandbox.detect(mode)[0]
    except sandbox.Unavailable as e:
        pytest.skip(str(e))


GRADING_UIDS = range(host.UID_BASE, host.UID_BASE + host.UID_BLOCK * host.UID_BLOCKS)


def uptime():
    """Seconds since the host booted, as /proc counts a process's start."""
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def started(pid):
    """When a process started, in seconds since boot (inf where it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("inf")


def live_processes_of_slots(stdout, ended):
    """The live processes under the uids of the grading that printed `stdout` and that started before it
    `ended` (seconds since boot): a grading started beside it or after it may hold the same block then."""
    import re

    m = re.search(r"; uids (\d+)-(\d+)", stdout)
    uids = range(int(m[1]), int(m[2]) + 1) if m else GRADING_UIDS
    return [pid for pid in host.pids() if host.uid_of(pid) in uids and started(pid) <= ended]


@pytest.fixture(scope="module", params=["auto", "unshare"])
def graded(tmp_path_factory, request):
    """The hostile class, graded once with the strongest sandbox this machine has, and once with
    util-linux's unshare (the root fallback where bubblewrap is missing)."""
    if request.param == "unshare" and not ROOT_MODES:
        pytest.skip("the unshare sandbox needs a grader running as root")
    mode = available(request.param)
    if mode == "none":
        pytest.skip("hostile submissions need isolation: install bubblewrap or grade as root")
    base = tmp_path_factory.mktemp("class")
    outside = base / "outside"
    outside.mkdir()
    kit = private_kit(base / "kit")
    cases = hostile.build(base / "submissions", outside, kit)
    before = kit_files(kit)
    out = base / "out"
    proc = grade(base / "submissions", out, "--sandbox", mode, kit=kit)
    ended = uptime()
    assert f"sandbox {mode}" in proc.stdout
    return {
        "cases": cases,
        "out": out,
        "proc": proc,
        "ended": ended,
        "before": before,
        "base": base,
        "outside": outside,
        "mode": mode,
        "kit": kit,
    }


def students(out):
    return {s["id"]: s for s in json.loads((out / "grades.json").read_text())["students"]}


@pytest.mark.slow
def test_every_hostile_submission_earns_exactly_what_its_honest_parts_earn(graded):
    got = {row["student"]: row for row in rows(graded["out"])}
    assert sorted(got) == sorted(graded["cases"])
    wrong = {}  # every submission that differs, not only the first
    for sid, (expected, twin, _) in graded["cases"].items():
        row = got[sid]
        if expected == "twin":
            if twin and points(row) != points(got[twin]):
                wrong[sid] = (points(row), "its twin", points(got[twin]))
        elif isinstance(expected, tuple):
            feedback = (graded["out"] / "feedback" / f"{sid}.md").read_text()
            assert points(row) == {ex: 0 for ex in hostile.FULL}, sid
            assert "could not be graded" in feedback and expected[1] in feedback, (sid, feedback)
        elif points(row) != expected:
            wrong[sid] = (points(row), "expected", expected)
        assert int(row["total"]) == sum(points(row).values())
    assert not wrong, wrong


@pytest.mark.slow
def test_what_the_worker_refused_is_marked_for_review_in_grades_json_and_the_log_and_nothing_else_is(graded):
    data, log = students(graded["out"]), (graded["out"] / "grade.log").read_text().splitlines()
    wrong = {}
    for sid, (_, _, review) in graded["cases"].items():
        flagged = {r["check"] for r in data[sid]["review"]}
        logged = [line for line in log if f"] {sid}: " in line]
        if flagged != set(review) or any(("REVIEW:" in line) != bool(review) for line in logged):
            wrong[sid] = (sorted(flagged), "expected", sorted(review), logged)
        if review:
            assert logged and all(r["reason"] and r["test"] for r in data[sid]["review"]), sid
    assert not wrong, wrong
    # What the hook has no event for, or what found nothing to attack, the static scan still shows a person.
    for sid, file, word in [
        ("monkeypatches-sys-modules", "micrograd/engine.py", "sys.modules"),
        ("attacks-other-processes", "micrograd/nn.py", "/proc"),
    ]:
        notes = [n for n in data[sid]["notes"] if "the kit's reference code" not in n]  # built from it
        assert notes and all(n.startswith(f"for review: {file}") and word in n for n in notes), (sid, notes)
    # The class attacked the copy of the kit that graded it, and the hook refused every write into it.
    reasons = " ".join(r["reason"] for r in data["overwrites-the-kit"]["review"])
    assert f"open a file for writing ({graded['kit']}/checks/test_01_numeric_derivatives.py)" in reasons


@pytest.mark.slow
def test_the_twins_are_neither_full_nor_empty_so_the_comparison_means_something(graded):
    got = {row["student"]: points(row) for row in rows(graded["out"])}
    for twin in ("twin-loop-in-backward", "twin-os-exit-mid-check", "twin-copies-the-solutions", "twin-broken-nn"):
        assert 0 < sum(got[twin].values()) < sum(hostile.FULL.values()), twin


@pytest.mark.slow
def test_grading_leaves_the_kit_and_everything_outside_out_unchanged(graded):
    assert kit_files(graded["kit"]) == graded["before"]
    assert list(graded["outside"].iterdir()) == []
    assert not (graded["base"] / "escaped.py").exists()
    assert sorted(p.name for p in graded["out"].iterdir()) == [
        ".results",
        ".secret",
        "feedback",
        "grade.log",
        "grades.csv",
        "grades.json",
    ]


@pytest.mark.slow
def test_control_characters_from_learner_text_never_reach_the_log_or_the_feedback(graded):
    out = graded["out"]
    for path in [out / "grade.log", *(out / "feedback").iterdir()]:
        text = path.read_text()
        assert "\x1b" not in text and "\r" not in text, path
    injected = (out / "feedback" / "injects-control-characters.md").read_text()
    assert "\\x1b[2J" in injected and "````" in injected  # escaped, in a fence longer than its backticks
    assert "mallory: 78/78 graded" not in (out / "grade.log").read_text().replace("\\n[1/1] mallory", "")
    assert "notes\\x1b[31m\\n[1/1]" in (out / "feedback" / "zip-control-names.md").read_text()


@pytest.mark.slow
def test_no_process_of_a_submission_survives_grading(graded):
    assert live_processes_of_slots(graded["proc"].stdout, graded["ended"]) == []


@pytest.mark.slow
def test_the_gradebook_has_the_contract_header_sorted_rows_json_and_feedback(graded):
    out = graded["out"]
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header == "student,check-01,check-02,check-03,check-04,check-05,check-06,check-07,total"
    students = [row["student"] for row in rows(out)]
    assert students == sorted(students)
    data = json.loads((out / "grades.json").read_text())
    correct = next(s for s in data["students"] if s["id"] == "correct")
    assert all(set(t) >= {"check", "test", "points", "max", "status", "message"} for t in correct["tests"])
    assert sum(t["points"] for t in correct["tests"]) == TOTAL
    feedback = (out / "feedback" / "loop-in-backward.md").read_text()
    assert "## check-04 · topological order and backward()" in feedback and "Took longer than" in feedback
    escapes = (out / "feedback" / "zip-escapes.md").read_text()
    assert "as they point outside the submission" in escapes and "as links are not followed" in escapes


@pytest.mark.slow
def test_a_rerun_skips_graded_students_and_force_regrades_them_identically(graded, tmp_path):
    out = graded["out"]
    before = (out / "grades.csv").read_text()
    again = grade(graded["base"] / "submissions", out, kit=graded["kit"])
    assert f"grading 0 of {len(graded['cases'])} submissions" in again.stdout
    assert (out / "grades.csv").read_text() == before
    # An interrupted run: one result and the gradebook are lost; the rerun grades that one only.
    (out / ".results" / "correct.json").unlink()
    (out / "grades.csv").unlink()
    resumed = grade(graded["base"] / "submissions", out, kit=graded["kit"])
    assert f"grading 1 of {len(graded['cases'])} submissions" in resumed.stdout
    assert (out / "grades.csv").read_text() == before


def test_the_same_submissions_and_seed_give_the_same_grades_with_force(tmp_path):
    subs = tmp_path / "subs"
    hostile.tree(subs / "a")
    hostile.tree(subs / "b", upto=4)
    hostile.tree(subs / "c", patches=[("micrograd/engine.py", "(1 - t**2)", "(1 - t)")])
    first = grade(subs, tmp_path / "out", "--seed", "4242")
    csv1 = (tmp_path / "out" / "grades.csv").read_text()
    tests1 = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]
    grade(subs, tmp_path / "out", "--seed", "4242", "--force")
    assert (tmp_path / "out" / "grades.csv").read_text() == csv1
    tests2 = json.loads((tmp_path / "out" / "grades.json").read_text())["students"]
    assert [s["tests"] for s in tests1] == [s["tests"] for s in tests2]
    assert "grading 3 of 3" in first.stdout and "/min" in first.stdout and "min left" in first.stdout


def test_only_grades_the_named_checks_and_leaves_the_others_blank(tmp_path):
    hostile.tree(tmp_path / "subs" / "a")
    grade(tmp_path / "subs", tmp_path / "out", "--only", "03,04")
    (row,) = rows(tmp_path / "out")
    assert row["check-03"] == "10" and row["check-04"] == "10" and row["check-01"] == "" and row["total"] == "20"


def test_grading_works_without_a_sandbox_where_neither_root_nor_bubblewrap_is_there(tmp_path):
    subs = tmp_path / "subs"
    hostile.tree(subs / "correct")
    hostile.tree(subs / "stubs", upto=0)
    (subs / "empty").mkdir()
    proc = grade(subs, tmp_path / "out", "--sandbox", "none")
    assert "sandbox none" in proc.stdout and "WARNING: sandbox none" in proc.stdout
    got = {row["student"]: int(row["total"]) for row in rows(tmp_path / "out")}
    assert got == {"correct": TOTAL, "empty": 0, "stubs": 0}


SPY_TOP = (
    "import os\n"
    "_seen = sum(os.path.exists(p) for p in {paths!r})\n"
    "_pids = len([p for p in os.listdir('/proc') if p.isdigit()])\n"
    "_leaks = 0\n"
)
WALK = (
    "_p = os.getppid()\n"
    "while _p > 1:  # the judge and the grader above it: is the seed in an argv or environment it can read?\n"
    "    for _what in ('cmdline', 'environ'):\n"
    "        try:\n"
    "            _text = open(f'/proc/{{_p}}/{{_what}}', 'rb').read()\n"
    "        except OSError:\n"
    "            continue\n"
    "        _leaks += b'KIT_SEED' in _text or b'--seed' in _text\n"
    "    try:\n"
    "        _p = int(open(f'/proc/{{_p}}/stat').read().rsplit(')', 1)[1].split()[1])\n"
    "    except (OSError, ValueError):\n"
    "        break\n"
)
SPY_DEFS = (
    "def derivative(f, x, h=1e-4):\n"
    "    return float(os.getuid() * 1000 + _seen * 100 + min(_leaks, 9) * 10 + min(_pids, 9) * 0)\n"
    "def central_derivative(f, x, h=1e-4):\n"
    "    return float(_pids)\n"
)
SPY = SPY_TOP + WALK + SPY_DEFS  # where it sees the judge (none mode), the audit hook refuses its reads of /proc
UID_SPY = SPY_TOP + SPY_DEFS


def spy_says(feedback):
    """(uid, paths seen, leaks) from the spy's derivative, as the feedback shows it."""
    import re

    value = int(float(re.search(r"returned (\d+\.0),", feedback)[1]))
    return value // 1000, value // 100 % 10, value // 10 % 10


@pytest.mark.skipif(not ROOT_MODES, reason="the unprivileged worker needs a grader running as root")
@pytest.mark.parametrize("mode", ["bwrap", "unshare"])
def test_as_root_the_worker_runs_unprivileged_and_sees_neither_the_kit_nor_out_nor_host_processes(tmp_path, mode):
    available(mode)
    subs, out = tmp_path / "subs", tmp_path / "out"  # OUT does not exist yet: a first run
    paths = [str(ROOT / "solutions" / "derivatives.py"), str(out), str(subs), "/etc/passwd", "/root"]
    hostile.tree(subs / "spy", extra={"derivatives.py": SPY.format(paths=paths)})
    grade(subs, out, "--sandbox", mode, "--only", "01")
    feedback = (out / "feedback" / "spy.md").read_text()
    uid, seen, leaks = spy_says(feedback)
    assert uid in GRADING_UIDS and seen == 0 and leaks == 0, feedback
    pids = json.loads((out / "grades.json").read_text())["students"][0]["tests"]
    central = next(t for t in pids if "central" in t["test"] and t["status"] != "pass")
    assert int(central["message"].split("returned ")[1].split(".")[0]) < 10, central["message"]  # its own /proc


def fake_tools(tmp_path):
    """A PATH whose bwrap and unshare fail, as where namespaces are refused (a Docker-default container)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for name in ("bwrap", "unshare"):
        (bin_ / name).write_text("#!/bin/sh\necho 'Operation not permitted' >&2\nexit 1\n")
        (bin_ / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}", "PYTHONDONTWRITEBYTECODE": "1"}


def run_grade(subs, out, *extra, env=None):
    return subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), *FAST, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.skipif(not ROOT_MODES, reason="refusing namespaces is simulated for a grader running as root")
def test_where_namespaces_are_refused_auto_refuses_loudly_and_none_must_be_named_and_still_drops_root(tmp_path):
    env = fake_tools(tmp_path)
    subs, out = tmp_path / "subs", tmp_path / "out"
    paths = [str(ROOT / "solutions" / "derivatives.py")]
    hostile.tree(subs / "spy", extra={"derivatives.py": UID_SPY.format(paths=paths)})
    hostile.tree(subs / "walker", extra={"derivatives.py": SPY.format(paths=paths)})
    forger = (
        "import os, json\n"
        "_args = open(f'/proc/{os.getppid()}/cmdline', 'rb').read().split(b'\\0')\n"
        "_report = _args[_args.index(b'--report') + 1].decode() if b'--report' in _args else None\n"
        "try:\n"
        "    open(_report, 'w').write(json.dumps({'checks': {'01': {'earned': 14, 'max': 14}}, 'tests': []}))\n"
        "    os.kill(os.getppid(), 9)\n"
        "except (OSError, TypeError):\n"
        "    pass\n"
    )
    hostile.tree(subs / "forger", upto=0, extra={"derivatives.py": forger})
    auto = run_grade(subs, out, env=env)
    assert auto.returncode != 0 and "no sandbox can be built" in auto.stderr and "--sandbox none" in auto.stderr
    bwrap = run_grade(subs, out, "--sandbox", "bwrap", env=env)
    assert bwrap.returncode != 0 and "sandbox mode 'bwrap' cannot be built" in bwrap.stderr
    none = run_grade(subs, out, "--sandbox", "none", "--only", "01", env=env)
    assert none.returncode == 0 and "WARNING: sandbox none" in none.stdout, none.stdout + none.stderr
    uid, seen, leaks = spy_says((out / "feedback" / "spy.md").read_text())
    assert uid in GRADING_UIDS and leaks == 0  # not root
    # Unfenced, the walker and the forger can see the judge: the audit hook refuses their reads of its /proc,
    # so check-01 scores 0 and is flagged (past the hook, the uid drop alone keeps the seed out of reach:
    # test_past_the_audit_hook_an_unfenced_worker_reads_no_seed_from_the_judge).
    assert {row["student"]: row["total"] for row in rows(out)} == {"forger": "0", "spy": "0", "walker": "0"}
    data = students(out)
    assert data["spy"]["review"] == []
    for sid in ("walker", "forger"):
        assert {r["check"] for r in data[sid]["review"]} == {"01"}, data[sid]["review"]
        assert all("read a file outside the tree graded (/proc/" in r["reason"] for r in data[sid]["review"]), sid


@pytest.mark.skipif(not ROOT_MODES or not shutil.which("setpriv"), reason="a grader as root, without CAP_SYS_ADMIN")
def test_where_the_kernel_refuses_a_mount_none_grades_every_student_and_the_log_says_there_is_no_disk_quota(tmp_path):
    """Root without CAP_SYS_ADMIN, as in a Docker-default container: no student's home can be a quota
    tmpfs. The grading says so at its head and grades on, each student as where it can."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "solved")
    hostile.tree(subs / "half", upto=3)
    done = subprocess.run(
        ["setpriv", "--bounding-set=-sys_admin", "--", sys.executable, "-m", "kit", "grade", str(subs), str(out)]
        + [*FAST, "--sandbox", "none"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=fake_tools(tmp_path),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "disk: no quota" in done.stdout and "the kernel refused a student's quota tmpfs" in done.stdout
    assert {sid: r["status"] for sid, r in students(out).items()} == {"half": "graded", "solved": "graded"}
    totals = {row["student"]: int(row["total"]) for row in rows(out)}
    assert totals["solved"] == 78 and 0 < totals["half"] < 78


PAST_THE_HOOK = (
    "import json, os\n"
    "seen, p = [], os.getppid()\n"
    "while p > 1:  # the judge, the judge server and the grader\n"
    "    for what in ('cmdline', 'environ'):\n"
    "        try:\n"
    "            seen.append([p, what, open(f'/proc/{{p}}/{{what}}', 'rb').read().decode('latin-1')])\n"
    "        except OSError:\n"
    "            seen.append([p, what, None])\n"
    "    if p == {grader}:\n"
    "        break\n"
    "    try:\n"
    "        p = int(open(f'/proc/{{p}}/stat').read().rsplit(')', 1)[1].split()[1])\n"
    "    except (OSError, ValueError):\n"
    "        break\n"
    "with open({marks!r}, 'w') as f:\n"
    "    json.dump({{'uid': os.getuid(), 'seen': seen}}, f)\n"
)


@pytest.mark.skipif(not ROOT_MODES, reason="the unprivileged worker needs a grader running as root")
def test_past_the_audit_hook_an_unfenced_worker_reads_no_seed_from_the_judge(tmp_path, monkeypatch):
    """In `none` mode the worker sees the judge's /proc; were its audit hook bypassed (here: a worker
    without one, put in place of the kit's), the uid drop alone keeps the seed out of its argv and
    environment."""
    import tempfile

    from kit.instructor import grade as grading

    marks = Path(tempfile.mkdtemp(prefix="kit-past-the-hook-"))  # a folder the worker's uid may write
    try:
        marks.chmod(0o777)
        real = sandbox.Sandbox.prepare

        def past_the_hook(self, home):
            real(self, home)
            (home / "kit" / "worker" / "main.py").write_text(
                PAST_THE_HOOK.format(marks=str(marks / "seen.json"), grader=os.getpid())
            )

        monkeypatch.setattr(sandbox.Sandbox, "prepare", past_the_hook)
        hostile.tree(tmp_path / "subs" / "a")
        args = grading.options(
            str(tmp_path / "subs"),
            str(tmp_path / "out"),
            jobs=1,
            only="01",
            probe_timeout=2.5,
            check_timeout=10.0,
            student_timeout=120.0,
            sandbox="none",
        )
        assert grading.Grader(args).run() == 0
        found = json.loads((marks / "seen.json").read_text())
    finally:
        shutil.rmtree(marks)
    seed = str(students(tmp_path / "out")["a"]["seed"])
    assert found["uid"] in GRADING_UIDS
    cmdlines = [text for _, what, text in found["seen"] if what == "cmdline" and text]
    assert sum("kit.instructor.judge_server" in text for text in cmdlines) >= 1, found  # it did reach the judge
    assert [p for p, what, _ in found["seen"] if what == "cmdline"][-1] == os.getpid(), found  # and the grader
    assert all(text is None for _, what, text in found["seen"] if what == "environ"), found
    assert not any(word in text for text in cmdlines for word in ("KIT_SEED", "--seed", seed)), cmdlines


@pytest.mark.skipif(not ROOT_MODES, reason="a bwrap outside /usr/bin is tried for a grader running as root")
def test_a_bwrap_found_outside_usr_bin_is_run_by_its_full_path(tmp_path):
    available("bwrap")
    import tempfile

    place = Path(tempfile.mkdtemp(prefix="kit-bwrap-"))
    try:
        place.chmod(0o755)
        marks = place / "marks"
        marks.mkdir(mode=0o777)
        marks.chmod(0o777)
        (place / "bwrap").write_text(f"#!/bin/sh\ntouch {marks}/used\nexec /usr/bin/bwrap \"$@\"\n")
        (place / "bwrap").chmod(0o755)
        hostile.tree(tmp_path / "subs" / "a")
        env = {**os.environ, "PATH": f"{place}:{os.environ['PATH']}"}
        proc = run_grade(tmp_path / "subs", tmp_path / "out", "--sandbox", "bwrap", "--only", "01", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert rows(tmp_path / "out")[0]["total"] == "14" and (marks / "used").exists()
    finally:
        shutil.rmtree(place)


@pytest.mark.slow
@pytest.mark.skipif(not ROOT_MODES, reason="two gradings' uids and /proc are apart for a grader running as root")
@pytest.mark.parametrize("mode", ["bwrap", "unshare"])
def test_two_gradings_at_once_on_one_host_cost_neither_class_anything(tmp_path, mode):
    available(mode)
    built = hostile.build(tmp_path / "all", tmp_path / "outside")
    # The honest neighbour keeps full marks; each attacker earns what hostile.py says (forks-sleepers is
    # refused its forks and flagged; attacks-other-processes, seeing no other run, tries nothing).
    sources = {
        "honest": "correct",
        "attacks-other-processes": "attacks-other-processes",
        "forks-sleepers": "forks-sleepers",
    }
    procs = []
    for section in ("a", "b"):
        for sid, src in sources.items():
            shutil.copytree(tmp_path / "all" / src, tmp_path / section / f"{section}-{sid}")
        cmd = [sys.executable, "-m", "kit", "grade", str(tmp_path / section), str(tmp_path / f"out-{section}")]
        # Two gradings on 2 cores: probes get the default time, so load alone costs no one a point.
        cmd += [*FAST, "--probe-timeout", "10", "--sandbox", mode]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True))
    assert built  # the class was built, its sources copied
    for section, proc in zip("ab", procs):
        assert proc.wait(timeout=600) == 0
        ended, stdout = uptime(), proc.stdout.read()
        got = {row["student"]: points(row) for row in rows(tmp_path / f"out-{section}")}
        assert got == {f"{section}-{sid}": built[src][0] for sid, src in sources.items()}, got
        flagged = {sid: {r["check"] for r in s["review"]} for sid, s in students(tmp_path / f"out-{section}").items()}
        assert flagged == {f"{section}-{sid}": set(built[src][2]) for sid, src in sources.items()}, flagged
        assert live_processes_of_slots(stdout, ended) == []
    blocks = {
        line.split("; uids ")[1]
        for line in (tmp_path / "out-a" / "grade.log").read_text().splitlines()
        if "; uids" in line
    }
    assert blocks and not any(b in (tmp_path / "out-b" / "grade.log").read_text() for b in blocks)  # apart


# A worker past its audit hook that leaves sleepers behind (in a session of their own, holding its pipes),
# then runs as the kit's worker: what only the grader's cleanup of the student's uid can end.
FORKS_PAST_THE_HOOK = (
    "import os, runpy, sys, time\n"
    "if os.path.exists(os.path.join(sys.argv[1], 'sleepers.py')):\n"
    "    for _ in range(5):\n"
    "        if os.fork() == 0:\n"
    "            os.setsid()\n"
    "            time.sleep(60)\n"
    "            os._exit(0)\n"
    "runpy.run_path(os.path.join(os.path.dirname(os.path.realpath(__file__)), 'real_main.py'), run_name='__main__')\n"
)


@pytest.mark.slow
@pytest.mark.skipif(not ROOT_MODES, reason="leftovers are found by the student's own uid, for a grader running as root")
@pytest.mark.parametrize("mode", ["none", "bwrap", "unshare"])
def test_processes_left_behind_past_the_audit_hook_are_killed_and_cost_neither_of_two_gradings_anything(
    tmp_path, monkeypatch, mode
):
    import threading

    from kit.instructor import grade as grading

    available(mode)
    real = sandbox.Sandbox.prepare

    def past_the_hook(self, home):
        real(self, home)
        worker = home / "kit" / "worker"
        (worker / "main.py").rename(worker / "real_main.py")
        (worker / "main.py").write_text(FORKS_PAST_THE_HOOK)
        (worker / "main.py").chmod(0o644)

    monkeypatch.setattr(sandbox.Sandbox, "prepare", past_the_hook)
    graders, codes = [], {}
    for section in ("a", "b"):
        hostile.tree(tmp_path / section / f"{section}-honest")
        hostile.tree(tmp_path / section / f"{section}-sleepers", extra={"sleepers.py": "x = 1\n"})
        args = grading.options(
            tmp_path / section,
            tmp_path / f"out-{section}",
            jobs=2,
            only="01",
            probe_timeout=10.0,  # two gradings on 2 cores: load alone costs no one a point
            check_timeout=30.0,
            student_timeout=120.0,
            sandbox=mode,
        )
        graders.append((section, grading.Grader(args)))
    threads = [threading.Thread(target=lambda s=s, g=g: codes.setdefault(s, g.run())) for s, g in graders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    ended = uptime()
    assert codes == {"a": 0, "b": 0}
    blocks = []
    for section in ("a", "b"):
        out = tmp_path / f"out-{section}"
        got = {sid: s["checks"]["01"]["earned"] for sid, s in students(out).items()}
        assert got == {f"{section}-honest": 14, f"{section}-sleepers": 14}, got
        log = (out / "grade.log").read_text()
        assert live_processes_of_slots(log, ended) == []  # every sleeper is gone, whichever mode fenced it
        if mode == "none":  # no PID namespace ended them: the cleanup of the student's uid did
            assert f"] {section}-sleepers: 14/14 graded leftovers killed: 5" in log, log
        blocks.append(log.split("; uids ")[1].split("\n")[0])
    assert blocks[0] != blocks[1]


def test_a_judge_that_dies_is_a_grader_error_with_the_full_maximum_and_a_rerun_grades_it(tmp_path, monkeypatch):

    import dataclasses

    from kit.instructor import grade as grading
    from kit.instructor import machine

    hostile.tree(tmp_path / "subs" / "victim")
    hostile.tree(tmp_path / "subs" / "neighbour")
    real = machine.Machine.request

    def dies_for_the_victim(self, home, report, fence, seed):
        req = real(self, home, report, fence, seed)
        if home.name == "victim":  # a judge that cannot start: it writes no report
            return dataclasses.replace(req, fence=str(home / "no-such-fence.json"))
        return req

    monkeypatch.setattr(machine.Machine, "request", dies_for_the_victim)
    args = grading.options(
        str(tmp_path / "subs"),
        str(tmp_path / "out"),
        jobs=2,
        only="01,02",
        probe_timeout=2.5,
        check_timeout=10.0,
        student_timeout=120.0,
        sandbox="auto" if ROOT_MODES or shutil.which("bwrap") else "none",
    )
    assert grading.Grader(args).run() == 0
    assert {r["student"]: r["total"] for r in rows(tmp_path / "out")} == {"neighbour": "24", "victim": ""}
    victim = next(
        s for s in json.loads((tmp_path / "out" / "grades.json").read_text())["students"] if s["id"] == "victim"
    )
    assert victim["status"] == "error" and victim["checks"] == {
        "01": {"earned": 0, "max": 14},
        "02": {"earned": 0, "max": 10},
    }
    assert "no complete report" in victim["reason"]
    assert "The grader itself failed" in (tmp_path / "out" / "feedback" / "victim.md").read_text()
    monkeypatch.setattr(machine.Machine, "request", real)
    assert grading.Grader(args).run() == 0
    assert {r["student"]: r["total"] for r in rows(tmp_path / "out")} == {"neighbour": "24", "victim": "24"}


def left_out_trees(subs, outside):
    """{id: the reason kit check gives}, each tree under `subs` holding a file a grader leaves out."""
    hostile.tree(subs / "linked", upto=2)
    engine = subs / "linked" / "micrograd" / "engine.py"
    (outside / "engine.py").write_bytes(engine.read_bytes())
    engine.unlink()
    engine.symlink_to(outside / "engine.py")
    hostile.tree(subs / "large", upto=2)
    with open(subs / "large" / "micrograd" / "engine.py", "a") as f:
        f.write("#" * (1 << 20) + "\n")
    read = "import os\nwith open(os.path.join(os.path.dirname(__file__), 'data.csv')) as f:\n    DATA = f.read()"
    hostile.tree(subs / "data", upto=2, patches=[hostile.top("derivatives.py", read)], extra={"data.csv": "1,2\n"})
    found = "import os\nexec(open(os.path.join(os.path.dirname(__file__), '.helpers', 'helper.py')).read())"
    helper = {".helpers/helper.py": "X = 1\n"}
    hostile.tree(subs / "hidden", upto=2, patches=[hostile.top("derivatives.py", found)], extra=helper)
    return {
        "linked": "is a link, which a grader does not follow",
        "large": "is larger than 1024 KB",
        "data": "is not one of the tree's Python files",
        "hidden": "lies in a hidden folder, a cache or a package folder",
    }


def test_kit_check_reads_no_file_a_grader_leaves_out_gives_its_points_and_says_why(tmp_path):
    """A linked engine.py, one over 1 MB, a data file derivatives.py reads, code it runs from a hidden
    folder: `kit check` scores each tree as `kit grade` does, names the reason, and
    calls none of it tampering (a linked file was refused as a read outside the tree, and marked for
    review)."""
    subs, outside = tmp_path / "subs", tmp_path / "outside"
    outside.mkdir()
    trees = left_out_trees(subs, outside)
    grade(subs, tmp_path / "out", "--only", "01,02", "--sandbox", "auto" if ROOT_MODES else "none")
    graded = {r["student"]: (int(r["check-01"]), int(r["check-02"])) for r in rows(tmp_path / "out")}
    for sid, reason in trees.items():
        report = tmp_path / f"{sid}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "kit", "check", "01,02", "--impl", str(subs / sid), "--report", str(report)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        checked = json.loads(report.read_text())["checks"]
        assert (checked["01"]["earned"], checked["02"]["earned"]) == graded[sid], (sid, proc.stdout)
        assert reason in proc.stdout and "a grader leaves it out" in proc.stdout, proc.stdout
        assert "refused" not in proc.stdout and "review" not in proc.stdout, proc.stdout
    assert graded["data"][0] == graded["hidden"][0] == 0 and graded["linked"][1] == graded["large"][1] == 0


def test_grades_json_stamps_the_kit_its_results_record_read_once_as_the_grading_began(tmp_path, monkeypatch):
    """A kit edited while a class is graded (a `git pull` beside it) does not stamp the gradebook with a
    hash none of its results carry: the grader reads the kit's hash once, and both use it."""
    from kit import version
    from kit.instructor import grade as grading

    kit = tmp_path / "kit-copy"  # what the hash reads: a copy of the kit's code that the test may edit
    for part in version.PARTS:
        shutil.copytree(ROOT / part, kit / part, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(version, "ROOT", kit)
    hostile.tree(tmp_path / "subs" / "alice", upto=1)
    args = grading.options(
        str(tmp_path / "subs"), str(tmp_path / "out"), jobs=1, only="01", sandbox="auto" if ROOT_MODES else "none"
    )
    grader = grading.Grader(args)
    before = version.code_hash()
    with open(kit / "checks" / "numerics.py", "a") as f:
        f.write("# edited while the class is graded\n")
    assert grader.run() == 0
    data = json.loads((tmp_path / "out" / "grades.json").read_text())
    assert data["kit_version"] == before != version.code_hash()
    assert [s["kit_version"] for s in data["students"]] == [before]


def test_a_student_out_of_time_scores_0_on_the_remaining_tests_with_a_clear_message(tmp_path):
    subs = tmp_path / "subs"
    hostile.tree(subs / "honest")
    # Slow, not stuck: each backward() takes a second, under a probe's time, so no function times out
    # (which would make its later calls fail at once) and the student's 8 s run out within check-07.
    sleeps = "        import time\n        time.sleep(1.0)\n" + hostile.BACKWARD[1]
    hostile.tree(subs / "slow", patches=[(*hostile.BACKWARD, sleeps)])
    grade(subs, tmp_path / "out", "--student-timeout", "8")
    got = {r["student"]: r for r in rows(tmp_path / "out")}
    assert got["honest"]["total"] == str(TOTAL)
    slow = next(s for s in json.loads((tmp_path / "out" / "grades.json").read_text())["students"] if s["id"] == "slow")
    assert "grading time of 8 s per student ran out" in slow["reason"]
    assert sum(c["max"] for c in slow["checks"].values()) == TOTAL  # the full maximum, never a shrunk one
    rest = [t for t in slow["tests"] if t["test"].startswith("the remaining tests")]
    assert rest and all(t["points"] == 0 and "Not run" in t["message"] for t in rest)
    assert "07" in {t["check"] for t in rest} and slow["checks"]["01"]["earned"] == 14


def test_the_secret_is_made_once_kept_0600_and_never_written_where_students_read(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "a", upto=3)
    grade(subs, out, "--only", "04")
    secret = (out / ".secret").read_text().strip()
    assert len(bytes.fromhex(secret)) >= 16 and (out / ".secret").stat().st_mode & 0o777 == 0o600
    for path in [out / "grades.json", out / "grades.csv", out / "grade.log", *(out / "feedback").iterdir()]:
        assert secret not in path.read_text(), path
    first = json.loads((out / "grades.json").read_text())["students"][0]["seed"]
    grade(subs, out, "--only", "04", "--force")
    assert json.loads((out / "grades.json").read_text())["students"][0]["seed"] == first  # same bytes, same inputs
    with open(subs / "a" / "train.py", "a") as f:
        f.write("# a changed submission\n")
    grade(subs, out, "--only", "04")
    assert json.loads((out / "grades.json").read_text())["students"][0]["seed"] != first  # new inputs


def test_a_short_secret_file_is_refused(tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "s").write_text("short")
    proc = run_grade(tmp_path / "subs", tmp_path / "out", "--secret", str(tmp_path / "s"))
    assert proc.returncode != 0 and "at least 16 bytes" in proc.stderr


def test_an_id_with_a_control_character_or_a_trailing_newline_is_graded_under_a_safe_name_never_shown_raw(tmp_path):
    hostile.tree(tmp_path / "subs" / "alice\n", upto=1)
    proc = grade(tmp_path / "subs", tmp_path / "out", "--only", "01")
    (student,) = students(tmp_path / "out").values()
    assert student["name"] == "alice\n" and student["id"].startswith("alice_~") and "alice\n" not in proc.stdout
    assert [r["total"] for r in rows(tmp_path / "out")] == ["14"]


def test_review_flags_of_the_judge_reach_the_result_and_the_feedback(tmp_path):
    """A real grading of one engine that rebinds math.isfinite in the worker: check-02's tests score 0,
    and grades.json and the student's feedback both say what to review."""
    mode = available("auto")
    tree = shutil.copytree(ROOT / "solutions", tmp_path / "subs" / "mallory")
    engine = tree / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("import math\n", "import math\nmath.isfinite = lambda x: True\n", 1))
    grade(tmp_path / "subs", tmp_path / "out", "--only", "02", "--sandbox", mode)
    (result,) = students(tmp_path / "out").values()
    assert result["status"] == "graded" and result["review"], result
    assert all(r["check"] == "02" and "math.isfinite was rebound" in r["reason"] for r in result["review"])
    assert all(t["points"] == 0 for t in result["tests"])
    feedback = (tmp_path / "out" / "feedback" / "mallory.md").read_text()
    section = feedback.split("Marked for your instructor's review:", 1)[-1]
    assert "Marked for your instructor's review:" in feedback, feedback
    assert all(f"- check-02 {r['test']}: {r['reason']}" in section for r in result["review"]), feedback


def test_a_missing_submissions_folder_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "nope"), str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no such folder" in proc.stderr


def test_the_worker_is_compiled_once_by_its_own_interpreter_and_each_worker_loads_that_bytecode(tmp_path):
    python = sandbox.pythons()[0] if Path(sandbox.pythons()[0]).exists() else sys.executable
    folder, version = sandbox.compiled_worker(python, tmp_path / "worker")
    said = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], capture_output=True)
    assert folder == tmp_path / "worker" and version == said.stdout.decode().strip()
    home = tmp_path / "home"
    (home / "tree").mkdir(parents=True)
    sandbox.Sandbox("none", python, None, [], worker=folder).prepare(home)
    copied = home / "kit" / "worker"
    modules = sorted(p.stem for p in copied.glob("*.py") if p.name != "main.py")
    proc = subprocess.run(
        [python, "-v", "-s", str(copied / "main.py"), str(ROOT / "solutions"), "5"],
        input='{"key": "00", "reply": 1}\n',
        capture_output=True,
        text=True,
        timeout=60,
    )
    ours = f"code object from '{copied / '__pycache__'}/"
    loaded = {line.split("/")[-1].split(".")[0] for line in proc.stderr.splitlines() if ours in line}
    assert set(modules) <= loaded, (modules, proc.stderr[-2000:])


def test_ctrl_c_drops_the_students_not_started_keeps_the_finished_and_the_rerun_grades_the_rest(tmp_path):
    subs = tmp_path / "subs"
    # 0.3 s more per worker start (within the import timeout), and a student at the stubs of 02-07 starts
    # four (its own, and one on each base of 04-05, 06 and 07): 16 take over 7 s with 2 jobs.
    slow = {"micrograd/__init__.py": "import time\ntime.sleep(0.3)\n"}
    for i in range(16):
        hostile.tree(subs / f"s{i}", upto=1, extra=slow)
    out = tmp_path / "out"
    # Ctrl-C with 13 or more students not started
    run, lines, interrupted = grading_interrupted(subs, out, "--seed", "1", *FAST, stderr=subprocess.STDOUT)
    run.communicate(timeout=120)
    # The two running finish (about a second each); grading the rest unseen would take 6 s more.
    assert time.monotonic() - interrupted < 4, "".join(lines)
    kept = len(list((out / ".results").glob("*.json")))
    assert 1 <= kept <= 3, "".join(lines)
    resumed = grade(subs, out, "--seed", "1")
    assert f"grading {16 - kept} of 16" in resumed.stdout
    assert [int(r["total"]) for r in rows(out)] == [14] * 16


def test_grades_json_records_the_python_each_students_worker_ran_under_and_each_checks_base(tmp_path):
    subs = tmp_path / "subs"
    hostile.tree(subs / "partial", upto=5)
    grade(subs, tmp_path / "out", "--only", "06,07")
    (student,) = students(tmp_path / "out").values()
    python = sandbox.choose("auto").python  # the mode `grade` took
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], capture_output=True)
    assert student["python"] == version.stdout.decode().strip()
    assert student["checks"]["07"]["base"] == ["06"] and student["checks"]["06"]["base"] == []


@pytest.mark.parametrize("secret", [b"", b"\n", b"short", "link"])
def test_an_empty_short_or_linked_secret_is_refused_before_the_gradebook_is_touched(tmp_path, secret):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "honest", upto=1)
    out.mkdir()
    (out / "grades.csv").write_text("kept\n")
    if secret == "link":
        (tmp_path / "elsewhere").write_text("0123456789abcdef0123456789abcdef\n")
        (out / ".secret").symlink_to(tmp_path / "elsewhere")
    else:
        (out / ".secret").write_bytes(secret)
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), *FAST],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0 and ".secret" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (out / "grades.csv").read_text() == "kept\n"


def test_a_fresh_secret_is_written_whole_with_no_stray_file(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "honest", upto=1)
    grade(subs, out, "--only", "01")
    assert len((out / ".secret").read_bytes().strip()) >= 16
    assert [p.name for p in out.iterdir() if p.name.startswith(".secret")] == [".secret"]
    assert oct((out / ".secret").stat().st_mode & 0o777) == "0o600"


def test_a_student_with_two_uploads_or_two_spellings_of_one_id_is_one_unmarked_row_that_says_so_and_the_class_is_graded(
    tmp_path,
):
    """One student's uploads cost that student's row at most: never the class, never the gradebook."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "honest", upto=1)
    hostile.tree(subs / "Honest", upto=1)  # the same id as honest, once case is ignored
    hostile.tree(subs / "twice", upto=1)
    shutil.make_archive(str(subs / "twice"), "zip", subs / "twice")
    hostile.tree(subs / "other", upto=1)
    said = (lambda p: p.stdout + p.stderr)(grade(subs, out, "--only", "01"))
    got = {r["student"]: r["total"] for r in rows(out)}
    assert got == {"Honest": "", "other": "14", "twice": ""}, got  # not marked: no zero for anyone
    both = "one student under more than one id (Honest and honest, the same once accents are composed"
    again = "more than one upload of this student (twice and twice.zip): keep one, and grade again"
    assert f"not graded: Honest: {both}" in said and f"not graded: twice: {again}" in said
    feedback = {sid: (out / "feedback" / f"{sid}.md").read_text(encoding="utf-8") for sid in ("Honest", "twice")}
    assert both in feedback["Honest"] and again in feedback["twice"]
    assert all("not marked yet" in f and "0/14" not in f for f in feedback.values()), feedback
    statuses = {r["id"]: r["status"] for r in json.loads((out / "grades.json").read_text())["students"]}
    assert statuses == {"Honest": "held", "other": "graded", "twice": "held"}, statuses
    subprocess.run([sys.executable, "-m", "kit", "report", str(out)], cwd=ROOT, check=True, capture_output=True)
    with open(out / "grades-canvas.csv", newline="", encoding="utf-8") as f:
        canvas = {row[0]: row[5:] for row in csv.reader(f)}
    assert canvas["Honest"] == canvas["twice"] == [""] and canvas["other"] == ["14"], canvas  # Canvas keeps its own
    (subs / "twice.zip").unlink()  # the instructor keeps one; a re-run grades it
    grade(subs, out, "--only", "01")
    assert {r["student"]: r["total"] for r in rows(out)}["twice"] == "14"


def grade_refused(submissions, out, *extra):
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(submissions), str(out), *FAST, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_a_re_run_that_would_undo_what_an_earlier_run_settled_is_refused_and_nothing_is_written(tmp_path):
    """Another --only, a forgotten --adjustments or --secret: each would quietly change the whole class's
    gradebook; refused before anything is graded or written, naming what to give again; --force means it."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "ann", upto=2)
    adjustments = tmp_path / "adj.csv"
    adjustments.write_text("id,check,points,reason\nann,02,-1,late work\n")
    grade(subs, out, "--only", "01,02", "--adjustments", adjustments)
    before = {p: p.read_bytes() for p in (out / "grades.json", out / "grades.csv", out / ".secret")}
    said = grade_refused(subs, out, "--only", "02", "--adjustments", adjustments)
    assert "it holds grades of check-01, which this run (--only 02) does not grade" in said, said
    said = grade_refused(subs, out, "--only", "01,02", "--student", "ann")
    assert "it applied --adjustments, which this run does not: give the same file again" in said, said
    secret = tmp_path / "term-secret"
    (out / ".secret").rename(secret)
    said = grade_refused(subs, out, "--only", "01,02", "--adjustments", adjustments)
    assert "OUT/.secret was made now, as no --secret was given" in said and not (out / ".secret").exists(), said
    assert {p: p.read_bytes() for p in before if p.exists()} == {p: b for p, b in before.items() if p.name != ".secret"}
    grade(subs, out, "--only", "01,02", "--adjustments", adjustments, "--secret", secret)  # as settled: graded
    grade(subs, out, "--only", "02", "--secret", secret, "--force")  # meant
    assert (
        list(rows(out)[0]) == ["student", *(f"check-{ex}" for ex in EXERCISES), "total"]
        and rows(out)[0]["check-01"] == ""
    )


def test_grading_one_student_again_keeps_the_others_grades_though_their_bytes_or_the_kit_changed(tmp_path):
    """--student: the others keep their rows and feedback as an earlier run left them, said in the log; a
    run that adds a check for that one alone would take the others out of the gradebook, and is refused."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    for sid, upto in (("ann", 1), ("bob", 2), ("cat", 1)):
        hostile.tree(subs / sid, upto=upto)
    grade(subs, out, "--only", "01,02")
    before = {r["student"]: r["total"] for r in rows(out)}
    with open(subs / "bob" / "derivatives.py", "a") as f:
        f.write("# resubmitted\n")  # other bytes
    kept = out / ".results" / "ann.json"
    kept.write_text(json.dumps(dict(json.loads(kept.read_text()), kit_version="an older kit")))  # another kit
    log = grade(subs, out, "--only", "01,02", "--student", "cat").stdout
    assert (
        "grading 1 of 3" in log and "kept as graded before, which a run of the class would grade again: ann, bob" in log
    )
    assert {r["student"]: r["total"] for r in rows(out)} == before, log
    assert {p.name for p in (out / "feedback").iterdir()} >= {"ann.md", "bob.md", "cat.md"}
    said = grade_refused(subs, out, "--only", "01,02,03", "--student", "cat")
    assert "this run adds check-03 for cat alone: the others' grades would leave the gradebook" in said, said
    assert {r["student"]: r["total"] for r in rows(out)} == before


def test_student_names_one_in_any_case_and_secret_with_seed_is_refused(tmp_path):
    """kit grade reads Ann and ann as one student, as adjustments name one; two secrets are one too many."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "ann", upto=1)
    assert "grading 1 of 1" in grade(subs, out, "--only", "01", "--student", "ANN").stdout
    (tmp_path / "s").write_text("ab" * 32)
    said = grade_refused(subs, tmp_path / "out2", "--only", "01", "--secret", tmp_path / "s", "--seed", "7")
    assert "--secret and --seed both name the secret: give one" in said, said


def test_a_student_who_left_the_class_leaves_no_feedback_file_to_be_sent_by_mistake(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    for sid in ("ann", "ken"):
        hostile.tree(subs / sid, upto=1)
    grade(subs, out, "--only", "01")
    shutil.rmtree(subs / "ken")
    grade(subs, out, "--only", "01")
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ann.md"] and [r["student"] for r in rows(out)] == [
        "ann"
    ]


@pytest.mark.parametrize("where", ["subs", "subs/out", "a-file"])
def test_an_out_inside_the_submissions_or_that_is_a_file_is_refused_in_one_line(tmp_path, where):
    """Else OUT's own files come back as students (a row of zeros named gradebook), or a traceback."""
    subs = tmp_path / "subs"
    hostile.tree(subs / "ann", upto=1)
    (tmp_path / "a-file").write_text("")
    said = grade_refused(subs, tmp_path / where, "--only", "01")
    assert "OUT is inside SUBMISSIONS" in said or "OUT is a file, not a folder" in said, said
    assert sorted(p.name for p in subs.iterdir()) == ["ann"]


def test_the_log_is_never_written_through_a_link(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    hostile.tree(subs / "honest", upto=1)
    out.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("mine\n")
    (out / "grade.log").symlink_to(target)
    grade(subs, out, "--only", "01")
    assert target.read_text() == "mine\n"
    assert [r["total"] for r in rows(out)] == ["14"]


def test_a_grading_leaves_no_folder_of_its_own_in_the_temp_directory(tmp_path):
    subs, out, tmp = tmp_path / "subs", tmp_path / "out", tmp_path / "tmp"
    for sid in ("a", "b", "c"):
        hostile.tree(subs / sid, upto=1)
    tmp.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), *FAST, "--only", "01,02"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp.iterdir()) == []


# --- scoring: the judge's report into a result (kit/instructor/score.py), pure functions -----------------

SETTINGS = {"secret": "id", "only": ["01", "02"]}


def report_of(*changes, checks=("01", "02")):
    """A judge's report of full marks on `checks` (one test per check at its maximum), with `changes`
    (functions of the list of tests) applied."""
    from kit.exercises import POINTS

    tests = [
        {"check": ex, "test": "t", "status": "pass", "points": POINTS[ex], "max": POINTS[ex], "mistake": None}
        for ex in checks
    ]
    for change in changes:
        tests = change(tests)
    return {"tests": tests, "checks": {ex: {"base": ["01", "99"]} for ex in checks}, "review": [{"check": "01"}, 3]}


def test_a_whole_report_scores_every_check_and_keeps_only_the_kit_s_own_bases_and_review_entries():
    from kit.instructor import score

    r = score.score("a", report_of(), SETTINGS, notes=("staged",))
    assert r["status"] == "graded" and r["reason"] == "" and r["notes"] == ["staged"] and r["secret"] == "id"
    assert r["checks"] == {
        "01": {"earned": 14, "max": 14, "base": ["01"]},
        "02": {"earned": 10, "max": 10, "base": ["01"]},
    }
    assert r["review"] == [{"check": "01"}]


@pytest.mark.parametrize(
    "data, why",
    [
        (None, "no complete report"),
        ([1, 2], "no complete report"),
        (report_of(lambda ts: ts[:1]), "lost some tests"),
        (report_of(lambda ts: [dict(ts[0], max=99), ts[1]]), "lost some tests"),
        (report_of(lambda ts: [dict(ts[0], kit_error=True), ts[1]]), "an error of the kit's own"),
        (report_of(lambda ts: [dict(ts[0], points="many"), ts[1]]), "unexpected shape"),
        ({"tests": [{"check": "01"}]}, "unexpected shape"),
    ],
)
def test_a_report_missing_short_or_of_the_wrong_shape_is_a_grader_error_at_the_full_maximum(data, why):
    from kit.instructor import score

    r = score.score("a", data, SETTINGS)
    assert r["status"] == "error" and why in r["reason"], r["reason"]
    assert r["checks"] == {"01": {"earned": 0, "max": 14}, "02": {"earned": 0, "max": 10}} and r["tests"] == []


def test_out_of_time_the_tests_not_run_score_0_and_each_check_keeps_its_full_maximum():
    from kit.instructor import score

    r = score.score("a", report_of(checks=("01",)), SETTINGS, out_of_time=True, budget=8.0)
    assert r["status"] == "graded" and "grading time of 8 s per student ran out" in r["reason"]
    assert r["checks"]["01"]["earned"] == 14 and r["checks"]["02"] == {"earned": 0, "max": 10}
    (rest,) = [t for t in r["tests"] if t["check"] == "02"]
    assert rest["status"] == "timeout" and (rest["points"], rest["max"]) == (0, 10) and "8 s" in rest["message"]


def test_local_dispatch_yields_each_result_as_it_finishes_and_a_failing_student_as_its_exception():
    import threading

    from kit.instructor.dispatch import Job, dispatch_local

    release = threading.Event()

    def grade_one(job):
        if job.sid == "slow":
            release.wait(10)
        if job.sid == "bug":
            raise KeyError("a bug of the kit's")
        return {"id": job.sid}

    jobs = [Job(sid, None, (), 1, "f") for sid in ("slow", "bug", "fast")]
    got = []
    for job, r in dispatch_local(iter(jobs), grade_one, 2):
        got.append((job.sid, r if isinstance(r, dict) else type(r).__name__))
        if len(got) == 2:
            release.set()  # the slow one ends only once the others were yielded
    assert sorted(got[:2]) == [("bug", "KeyError"), ("fast", {"id": "fast"})] and got[2] == ("slow", {"id": "slow"})


def test_closing_a_local_dispatch_drops_the_jobs_not_started():
    import threading

    from kit.instructor.dispatch import Job, dispatch_local

    started, release = [], threading.Event()

    def grade_one(job):
        started.append(job.sid)
        if job.sid != "s0":
            release.wait(10)
        return {"id": job.sid}

    judged = dispatch_local(iter([Job(f"s{i}", None, (), 1, "f") for i in range(5)]), grade_one, 2)
    try:
        assert next(judged)[0].sid == "s0"
        while len(started) < 3:  # both threads busy: s1 and s2
            time.sleep(0.01)
    finally:
        judged.close()  # as Ctrl-C does
        release.set()
    time.sleep(0.3)
    assert sorted(started) == ["s0", "s1", "s2"]
