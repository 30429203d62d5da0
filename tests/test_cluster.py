"""Grading on a Dask cluster, and the warm judges: the same gradebook as local grading, whatever is lost."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import types

import hostile
import psutil
import pytest

from kit import ROOT

pytest.importorskip("distributed")

FAST = ["--probe-timeout", "2.5", "--check-timeout", "10"]
EXIT_MID_CHECK = ("micrograd/engine.py", "        return out\n", "        import os\n        os._exit(0)\n", 1)


def grade_cmd(subs, out, secret, *extra):
    return [sys.executable, "-m", "kit", "grade", str(subs), str(out), "--secret", str(secret), *FAST, *extra]


def grade(subs, out, secret, *extra):
    proc = subprocess.run(
        grade_cmd(subs, out, secret, *extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def gradebook(out):
    """grades.csv and every student's tests: what must not depend on where the grading ran."""
    students = json.loads((out / "grades.json").read_text())["students"]
    return (out / "grades.csv").read_text(), {s["id"]: (s["status"], s["tests"]) for s in students}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A small mixed class (correct, partial, stubs, a worker that exits mid-check), graded locally."""
    base = tmp_path_factory.mktemp("cluster")
    subs = base / "subs"
    hostile.tree(subs / "correct")
    hostile.tree(subs / "correct-too")
    hostile.tree(subs / "partial", upto=3)
    hostile.tree(subs / "stubs", upto=0)
    hostile.tree(subs / "exits", patches=[EXIT_MID_CHECK[:3]])
    hostile.tree(subs / "wrong-tanh", patches=[("micrograd/engine.py", "(1 - t**2)", "(1 - t)")])
    secret = base / "secret"
    secret.write_text("a class secret of more than sixteen bytes\n")
    grade(subs, base / "local", secret, "--jobs", "2")
    return types.SimpleNamespace(base=base, subs=subs, secret=secret, local=gradebook(base / "local"))


@pytest.mark.slow
def test_a_local_cluster_grades_a_mixed_class_exactly_as_local_grading(mixed):
    proc = grade(mixed.subs, mixed.base / "cluster", mixed.secret, "--cluster", "local:2")
    assert "cluster local:2: 2 of 2 workers grade" in proc.stdout
    # Each worker's machine and sandbox, as the worker itself found them.
    said = re.findall(r"worker tcp://[\d.:]+ on ([^:]+): (\w+) sandbox", proc.stdout)
    assert len(said) == 2 and all(host == socket.gethostname() and mode in ("bwrap", "unshare") for host, mode in said)
    assert "grading 6 of 6" in proc.stdout and "/min" in proc.stdout and "min left" in proc.stdout
    assert gradebook(mixed.base / "cluster") == mixed.local
    csv, _ = mixed.local
    assert "\ncorrect,14,10,10,10,14,10,10,78\n" in csv and "\nstubs,0,0,0,0,0,0,0,0\n" in csv, csv


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_the_interrupted_run_resumes(mixed):
    out = mixed.base / "killed"
    run = subprocess.Popen(
        grade_cmd(mixed.subs, out, mixed.secret, "--cluster", "local:2"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    for line in run.stdout:
        lines.append(line)
        if line.startswith("[1/"):
            workers = [
                p for p in psutil.Process(run.pid).children() if "spawn_main" in " ".join(p.cmdline()) and p.children()
            ]
            assert workers, "".join(lines)
            workers[0].kill()  # a worker (with its judge) lost mid-run: its task runs again elsewhere
        if line.startswith("[3/"):
            break
    os.killpg(run.pid, signal.SIGINT)  # the instructor's Ctrl-C, half-way through
    run.communicate(timeout=120)
    kept = len(list((out / ".results").glob("*.json")))
    assert 3 <= kept, "".join(lines)
    resumed = grade(mixed.subs, out, mixed.secret, "--cluster", "local:2")
    assert f"grading {6 - kept} of 6" in resumed.stdout
    assert gradebook(out) == mixed.local


@pytest.mark.slow
def test_student_regrades_that_student_only_locally_and_on_a_cluster(mixed):
    out = mixed.base / "local"
    before = gradebook(out)
    again = grade(mixed.subs, out, mixed.secret, "--student", "partial")
    assert "grading 1 of 6" in again.stdout and "] partial:" in again.stdout
    assert gradebook(out) == before
    on_cluster = grade(mixed.subs, out, mixed.secret, "--student", "stubs", "--cluster", "local:1")
    assert "grading 1 of 6" in on_cluster.stdout and "] stubs:" in on_cluster.stdout
    assert gradebook(out) == before
    proc = subprocess.run(
        grade_cmd(mixed.subs, out, mixed.secret, "--student", "nobody"), cwd=ROOT, capture_output=True
    )
    assert proc.returncode != 0 and b"--student nobody: no submission of that id" in proc.stderr


def kills_its_worker(job):
    """A grade_one standing in for a student whose grading takes its worker down, every time."""
    if job.sid == "killer":
        os._exit(1)
    files = sorted(p.name for p in job.tree.rglob("*"))
    return {
        "id": job.sid,
        "status": "graded",
        "reason": "",
        "checks": {},
        "tests": [],
        "seed": job.seed,
        "files": files,
    }


def test_a_student_whose_task_keeps_killing_workers_is_an_error_of_its_own_and_the_others_are_graded(tmp_path):
    from kit.instructor import cluster
    from kit.instructor.dispatch import Job

    for sid in ("honest", "killer"):
        (tmp_path / sid / "tree").mkdir(parents=True)
        (tmp_path / sid / "tree" / "derivatives.py").write_text("x = 1\n")
    c = cluster.Cluster("local:2", {"only": ["01"]})
    try:
        jobs = [Job(sid, tmp_path / sid / "tree", (), 1 << 100, "f" * 64) for sid in ("honest", "killer")]
        got = {job.sid: r for job, r in cluster.dispatch_dask(iter(jobs), kills_its_worker, c)}
    finally:
        c.close()
    assert got["honest"]["status"] == "graded" and got["honest"]["seed"] == 1 << 100
    assert got["honest"]["files"] == ["derivatives.py"]  # the staged tree, unpacked on the worker
    assert type(got["killer"]).__name__ == "KilledWorker" and "grade-killer" in str(got["killer"])
