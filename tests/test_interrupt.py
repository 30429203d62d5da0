"""An interrupted grading, and what the kit reads back: Ctrl-C ends a grading with one line, a re-run
resumes from what was kept, trusting no kept result that is not as the grader keeps one, and the
tools that read a gradebook refuse one that is not as the grader writes one. Ctrl-C ends a learner's
command with one line too, and an interrupted check leaves no report."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import hostile
import pytest
from conftest import grading_interrupted

from kit import ROOT

FAST = ["--probe-timeout", "2.5", "--check-timeout", "60", "--jobs", "2", "--seed", "1", "--only", "01"]
LOOP = ("derivatives.py", "    return (f(x + h) - f(x)) / h\n", "    while True:\n        pass\n")


def rows(out):
    with open(out / "grades.csv", newline="") as f:
        return {r["student"]: r["total"] for r in csv.DictReader(f)}


def alive_with(path):
    """The processes whose command line or environment names `path`."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                if any(str(path).encode() in (proc / f).read_bytes() for f in ("cmdline", "environ")):
                    found.append(proc.name)
            except OSError:
                pass
    return found


def test_ctrl_c_ends_a_grading_with_one_line_status_130_the_gradebook_of_what_finished_and_no_leftovers(tmp_path):
    """A student in an endless loop is being graded when Ctrl-C comes: the grading ends within seconds."""
    subs, out, tmp = tmp_path / "subs", tmp_path / "out", tmp_path / "tmp"
    hostile.tree(subs / "a-loops", upto=1, patches=[LOOP])
    for sid in ("b", "c"):
        hostile.tree(subs / sid, upto=1)
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    # Ctrl-C with a-loops still in its loop
    run, lines, interrupted = grading_interrupted(subs, out, *FAST, "--student-timeout", "300", env=env)
    rest, err = run.communicate(timeout=60)
    lines += rest.splitlines(keepends=True)
    said = "".join(lines) + err
    assert time.monotonic() - interrupted < 15, said
    assert run.returncode == 130, said
    assert "Traceback" not in said and err == "", said
    kept_in = re.escape(str(out / ".results"))
    last = re.fullmatch(
        rf"interrupted: (\d) of 3 students graded; results kept in {kept_in}, run again to resume", lines[-1].rstrip()
    )
    assert last, said
    kept = {p.stem for p in (out / ".results").glob("*.json")}
    assert int(last[1]) == len(kept) and "b" in kept and "a-loops" not in kept, said
    assert rows(out) == {sid: "14" for sid in kept}  # the gradebook of what finished
    assert sorted(tmp.iterdir()) == [], "a folder of the grading's was left in its temp directory"
    assert alive_with(tmp) == [], "a process of the grading outlived it"


def test_a_kept_result_that_is_not_as_the_grader_keeps_one_is_graded_again_and_not_trusted(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    damage = {
        "a-list": lambda r: "[1, 2]",
        "no-checks": lambda r: json.dumps({k: v for k, v in r.items() if k != "checks"}),
        "above-maximum": lambda r: json.dumps(r | {"checks": {"01": {"earned": 99, "max": 14}}}),
        "text-points": lambda r: json.dumps(r | {"checks": {"01": {"earned": "14", "max": 14}}}),
        "nan": lambda r: json.dumps(r).replace('"earned": 14', '"earned": NaN'),
        "test-above-maximum": lambda r: json.dumps(r | {"tests": [dict(r["tests"][0], points=5, max=1)]}),
        "tests-not-a-list": lambda r: json.dumps(r | {"tests": {"a": 1}}),
        "another-id": lambda r: json.dumps(r | {"id": "intact"}),
        "fewer-checks": lambda r: json.dumps(r | {"checks": {}}),
        "truncated": lambda r: json.dumps(r)[:40],
        "not-utf-8": lambda r: json.dumps(r).replace('"status"', '"st\udcffatus"'),
        # Kept by another kit (before an update of it, or a mend): its checks may grade these bytes otherwise.
        "another-kit": lambda r: json.dumps(r | {"kit_version": "0" * 64}),
        "no-kit": lambda r: json.dumps({k: v for k, v in r.items() if k != "kit_version"}),
    }
    for sid in ("intact", "a-link", "a-folder", *damage):
        hostile.tree(subs / sid, upto=1)
    first = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), *FAST], cwd=ROOT, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stdout + first.stderr
    kept = out / ".results"
    for sid, change in damage.items():
        r = json.loads((kept / f"{sid}.json").read_text())
        assert r["checks"]["01"]["earned"] == 14
        (kept / f"{sid}.json").write_bytes(change(r).encode("utf-8", "surrogateescape"))
    (kept / "a-link.json").unlink()
    (kept / "a-link.json").symlink_to(kept / "intact.json")
    (kept / "a-folder.json").unlink()
    (kept / "a-folder.json" / "inside").mkdir(parents=True)
    again = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), *FAST], cwd=ROOT, capture_output=True, text=True
    )
    said = again.stdout + again.stderr
    assert again.returncode == 0 and "Traceback" not in said, said
    assert f"grading {len(damage) + 2} of {len(damage) + 3} submissions" in said, said  # all but intact
    assert rows(out) == {sid: "14" for sid in ("intact", "a-link", "a-folder", *damage)}
    assert not (kept / "a-link.json").is_symlink() and (kept / "intact.json").is_file()
    assert (kept / "a-folder.json").is_file()


def judged(**change):
    """One test's result as the judge reports it, with `change`."""
    result = {"check": "01", "test": "t", "status": "pass", "points": 1, "max": 1, "message": "", "mistake": None}
    return result | change


def gradebook_with(**change):
    """grades.json of one graded student, with `change` made to that student (or "text": the whole file)."""
    student = {
        "id": "ann",
        "status": "graded",
        "reason": "",
        "notes": [],
        "checks": {"01": {"earned": 14, "max": 14}},
        "tests": [judged(points=14, max=14)],
        "review": [],
    }
    return change.get("text") or json.dumps({"only": ["01"], "students": [{**student, **change}]})


@pytest.mark.parametrize(
    "text, words",
    [
        ("[]", "no list of students"),
        ('"grades"', "no list of students"),
        (gradebook_with().replace('"earned": 14', '"earned": NaN'), "NaN is not a number"),
        (gradebook_with().replace('"earned": 14', '"earned": -Infinity'), "-Infinity is not a number"),
        (gradebook_with(checks={"01": {"earned": 15, "max": 14}}), "malformed check '01'"),
        (gradebook_with(checks={"01": {"earned": 14.0, "max": 14}}), "malformed check '01'"),
        (gradebook_with(checks={"01": {"earned": True, "max": 14}}), "malformed check '01'"),
        (gradebook_with(checks={"01": {"earned": 2, "max": 2}}), "malformed check '01'"),
        (gradebook_with(checks={"99": {"earned": 0, "max": 0}}), "malformed check '99'"),
        (gradebook_with(checks=[]), "has no checks"),
        (gradebook_with(id=7), "student #1 has no id"),
        (gradebook_with(status="passed"), "has the status 'passed'"),
        (gradebook_with(reason=["x"]), "reason that is not text"),
        (gradebook_with(tests=[judged(points=3, max=1)]), "malformed tests"),
        (gradebook_with(tests=[judged(check="02")]), "malformed tests"),
        (gradebook_with(tests=[judged(message=["x"])]), "malformed tests"),
        (gradebook_with(tests="all"), "malformed tests"),
        (gradebook_with(review=["x"]), "malformed review"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"students": [', "not JSON"),
    ],
)
def test_report_and_merge_refuse_a_gradebook_not_as_the_grader_writes_one_in_one_line(tmp_path, text, words):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "grades.json").write_text(text)
    for command in (["report", str(tmp_path / "out")], ["merge", str(tmp_path / "merged"), str(tmp_path / "out")]):
        proc = subprocess.run(
            [sys.executable, "-m", "kit", *command], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        said = proc.stdout + proc.stderr
        assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in said, said
        assert len(proc.stderr.splitlines()) == 1 and words in proc.stderr, said
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["grades.json"]  # no page, no Canvas file
    assert not (tmp_path / "merged").exists()


def test_ctrl_c_while_the_grader_sets_up_keeps_neither_its_scratch_folder_nor_its_block_of_uids(monkeypatch):
    import fcntl
    import tempfile

    from kit.instructor import cgroups, host, machine, sandbox

    def interrupted(python, folder):
        raise KeyboardInterrupt

    held = []
    monkeypatch.setattr(sandbox, "compiled_worker", interrupted)
    monkeypatch.setattr(host, "is_root", lambda: True)  # a block of uids is taken, as a root grader takes one
    monkeypatch.setattr(host, "LOCKS", Path(tempfile.mkdtemp()))
    monkeypatch.setattr(host, "sweep", lambda base: 0)
    # Its block of uids comes from a lock folder of its own, so a grading running beside it may hold the
    # same block: it must not sweep that grading's cgroups (it would remove them under its workers).
    monkeypatch.setattr(cgroups.Cgroups, "detect", staticmethod(lambda: None))
    made = host.Uids
    monkeypatch.setattr(host, "Uids", lambda jobs: held.append(made(jobs)) or held[-1])
    before = set(Path(tempfile.gettempdir()).glob("kit-grade-*"))
    settings = {"only": ["01"], "sandbox": "none", "memory": 512, "probe_timeout": 5.0, "check_timeout": None}
    settings |= {"student_timeout": 60.0, "jobs": 1, "record": {}}
    with pytest.raises(KeyboardInterrupt):
        machine.Machine(settings, choice=sandbox.Choice("none", sys.executable))
    assert set(Path(tempfile.gettempdir()).glob("kit-grade-*")) == before
    lock = os.open(host.LOCKS / f"uids-{held[0].base}.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the block's lock was let go: another grading may take it
    finally:
        os.close(lock)


# --- Ctrl-C during a learner's command ---------------------------------------------------------------

needs_signals = pytest.mark.skipif(
    os.name == "nt", reason="Ctrl-C reaches a terminal's process group as SIGINT (POSIX)"
)
ENDLESS_ADD = (
    "micrograd/engine.py",
    "    def __add__(self, other):\n",
    "    def __add__(self, other):\n        while True:\n            pass\n",
)


def interrupted_command(args, ready):
    """`python -m kit ARGS` given Ctrl-C as in a terminal (SIGINT to its whole process group) once
    `ready(process)` returns: (the process, what it printed on stdout and on stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIT_VIA_MAKE": "", "KIT_TIMEOUT": "60"}  # a hang lasts
    proc = subprocess.Popen(
        [sys.executable, "-m", "kit", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        # Ctrl-C reaches it as in a terminal, even where these tests were started with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        ready(proc)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc, out, err


def group_alive(group):
    """The processes of `group` not yet gone, unreaped ones too: a worker whose judge was killed before
    it could end it is left to whoever reaps orphans (Linux's /proc; none known elsewhere)."""
    alive = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc/self") else ():
        try:
            with open(f"/proc/{entry}/stat") as f:
                pgrp = f.read().rsplit(")", 1)[1].split()[2]
        except (OSError, ValueError, IndexError):
            continue
        if int(pgrp) == group:
            alive.append(entry)
    return alive


def ends_alone(group, seconds=10):
    deadline = time.monotonic() + seconds
    while group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    return group_alive(group) == []


@needs_signals
@pytest.mark.parametrize("args", [["progress"], ["solution", "02"], ["demo", "--steps", "1"], ["explain", "03"]])
def test_ctrl_c_ends_a_learners_command_with_one_line_and_status_130(tmp_path, args):
    """Caught mid-way: grading the tree in a fresh process (progress, solution, demo), or rebuilding a graph
    with the learner's Value (explain), where + never returns."""
    impl = hostile.tree(tmp_path / "loops", patches=[ENDLESS_ADD])
    proc, out, err = interrupted_command([*args, "--impl", impl], lambda proc: time.sleep(2.5))
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err and err.splitlines() == ["interrupted"], out + err
    assert ends_alone(proc.pid), "a process of the command outlived it"


@needs_signals
def test_ctrl_c_during_a_check_says_so_leaves_no_report_and_prints_no_score(tmp_path):
    """A report that looked like a finished run (`"checks": {}`) was left, and nothing was said. An
    outside tool must never take an interrupted run for a grade: the report of an earlier run is gone too."""
    impl, report = hostile.tree(tmp_path / "loops", patches=[ENDLESS_ADD]), tmp_path / "report.json"
    report.write_text(json.dumps({"checks": {"02": {"earned": 10, "max": 10}}, "tests": []}))
    header = lambda proc: proc.stdout.readline()  # noqa: E731 - "check-02 · ...": its first test is under way
    proc, out, err = interrupted_command(["check", "02", "--impl", impl, "--report", report], header)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err and err.splitlines() == ["interrupted"], out + err
    assert not re.search(r"^check-02: \d+/\d+ points$", out, re.M), out
    assert not report.exists()
    assert ends_alone(proc.pid), "a process of the check outlived it"
