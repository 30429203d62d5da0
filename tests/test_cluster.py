"""Grading on a Dask cluster, and the warm judges: the same gradebook as local grading, whatever is lost."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
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


def settings():
    """What every worker's Machine is built with, as `kit grade` gives it (no sandbox: no learner code runs)."""
    from kit.instructor import grade, pipeline

    args = grade.options("subs", "out", sandbox="none")
    return {k: getattr(args, k) for k in pipeline.MACHINE} | {"only": ["01"], "record": {}}


def jobs(tmp_path, *sids):
    from kit.instructor.dispatch import Job

    for sid in sids:
        (tmp_path / sid / "tree").mkdir(parents=True)
        (tmp_path / sid / "tree" / "derivatives.py").write_text("x = 1\n")
    return iter([Job(sid, tmp_path / sid / "tree", (), 1 << 100, "f" * 64) for sid in sids])


def test_a_student_whose_task_keeps_killing_workers_is_an_error_of_its_own_and_the_others_are_graded(tmp_path):
    from kit.instructor import cluster, dispatch

    c = cluster.Cluster("local:2", settings(), wait=60)
    try:
        c.check_workers()
        got = {job.sid: r for job, r in dispatch.dispatch_dask(jobs(tmp_path, "honest", "killer"), kills_its_worker, c)}
    finally:
        c.close()
    assert got["honest"]["status"] == "graded" and got["honest"]["seed"] == 1 << 100
    assert got["honest"]["files"] == ["derivatives.py"]  # the staged tree, unpacked on the worker
    assert type(got["killer"]).__name__ == "KilledWorker" and "grade-killer" in str(got["killer"])


def other_kit():
    """Run on one worker: its kit now hashes differently, as another version of the kit does."""
    from kit.instructor import cluster

    cluster.code_hash = lambda: "0" * 64


def where(job):
    """A grade_one that says which worker graded the job."""
    from distributed import get_worker

    return {"id": job.sid, "worker": get_worker().address}


def test_a_worker_that_cannot_grade_is_named_and_left_running_and_is_never_sent_a_student(tmp_path):
    from kit.instructor import cluster, dispatch

    c = cluster.Cluster("local:2", settings())
    try:
        other, ours = sorted(c.client.nthreads())
        c.client.run(other_kit, workers=[other])
        said = c.check_workers().warning
        assert said.startswith("cluster local:2: 1 of 2 workers grade"), said
        assert f"REFUSED: worker {other} on {socket.gethostname()} will not grade: its kit differs" in said
        assert other in c.client.nthreads()  # on a shared scheduler, someone else's worker: not closed
        got = [r for _, r in dispatch.dispatch_dask(jobs(tmp_path, *"abcdef"), where, c)]
        assert len(got) == 6 and {r["worker"] for r in got} == {ours}
        assert c.client.run(socket.gethostname, workers=[other]) == {other: socket.gethostname()}  # still answering
    finally:
        c.close()


def dask(*argv):
    """A Dask scheduler or worker of the test's own, started in the kit's folder so that it imports this kit."""
    return subprocess.Popen(
        [sys.executable, "-m", *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def kill(proc):
    """Kill a process and everything it started (a worker's judges), as a machine lost does."""
    if proc.poll() is None:
        family = psutil.Process(proc.pid)
        for p in [*family.children(recursive=True), family]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
    proc.wait()


def started(subs, out, secret, *extra):
    """`kit grade` running, its output (stderr too) to be read line by line."""
    return subprocess.Popen(
        grade_cmd(subs, out, secret, *extra),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@contextlib.contextmanager
def bounded(run, seconds):
    """Kill the run (its process group) if it is still going after `seconds`: a run left hanging fails
    the test instead of stalling it, and is never left behind."""

    def stop():
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)

    timer = threading.Timer(seconds, stop)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        stop()
        run.wait()


@pytest.fixture
def scheduler(tmp_path):
    """A running scheduler with no worker yet: (its address, a function that starts a worker on it)."""
    file, started = tmp_path / "scheduler.json", []
    serve = ["--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file)]
    started.append(dask("distributed.cli.dask_scheduler", *serve))
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(OSError, ValueError):
            address = json.loads(file.read_text())["address"]
            break
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.1)

    def worker():  # no nanny: a worker killed stays dead
        started.append(dask("distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"))
        return started[-1]

    yield address, worker
    for proc in started:
        kill(proc)


def test_a_cluster_whose_workers_all_die_ends_after_the_wait_with_the_rest_as_errors_that_a_rerun_grades(
    scheduler, tmp_path
):
    address, worker = scheduler
    subs, out, secret = tmp_path / "subs", tmp_path / "out", tmp_path / "secret"
    hostile.tree(subs / "correct")
    hostile.tree(subs / "partial", upto=3)
    hostile.tree(subs / "stubs", upto=0)
    secret.write_text("a class secret of more than sixteen bytes\n")
    lost = worker()
    run = started(subs, out, secret, "--only", "01", "--cluster", address, "--cluster-wait", "5")
    lines, killed = [], None
    with bounded(run, 120):
        for line in run.stdout:
            lines.append(line)
            if line.startswith("[1/3] ") and killed is None:
                kill(lost)  # the only worker, mid-run: one student graded, one being graded, one not sent
                killed = time.monotonic()
        run.wait()
        ended = time.monotonic()
    said = "".join(lines)
    assert killed is not None, said
    assert run.returncode == 75 and ended - killed < 5 + 25, (ended - killed, said)  # the wait, with slack
    waiting = f"cluster {address}: no worker can grade (all lost): waiting 5 s for one to join"
    assert waiting in said and waiting in (out / "grade.log").read_text()
    assert "incomplete: 2 of 3 students not graded" in said
    students = {s["id"]: s for s in json.loads((out / "grades.json").read_text())["students"]}
    first = re.search(r"\[1/3\] (\w+): ", said)[1]
    assert students[first]["status"] == "graded", said
    rest = sorted(set(students) - {first})
    for sid in rest:  # a grader-error row naming the cause: empty cells, never a zero
        assert students[sid]["status"] == "error", said
        assert "NoWorker: no worker of the cluster graded for 5 s" in students[sid]["reason"], students[sid]
        assert f"\n{sid},,,,,,,,\n" in (out / "grades.csv").read_text()
    kept = (out / ".results" / f"{first}.json").read_bytes()

    worker()  # the cluster has a worker again: a re-run grades exactly the students left
    again = grade(subs, out, secret, "--only", "01", "--cluster", address)
    assert "grading 2 of 3" in again.stdout and sorted(re.findall(r"\] (\w+): ", again.stdout)) == rest
    assert (out / ".results" / f"{first}.json").read_bytes() == kept
    assert all(s["status"] == "graded" for s in json.loads((out / "grades.json").read_text())["students"])


def test_a_worker_that_joins_while_none_can_grade_takes_the_students_left_and_the_run_completes(scheduler, tmp_path):
    address, worker = scheduler
    subs, out, secret = tmp_path / "subs", tmp_path / "out", tmp_path / "secret"
    for sid in ("one", "two", "three"):
        hostile.tree(subs / sid, upto=1)
    secret.write_text("a class secret of more than sixteen bytes\n")
    lost = worker()
    run = started(subs, out, secret, "--only", "01", "--cluster", address, "--cluster-wait", "60")
    lines = []
    with bounded(run, 120):
        for line in run.stdout:
            lines.append(line)
            if line.startswith("[1/3] "):
                kill(lost)
            if "no worker can grade (all lost)" in line:
                worker()  # a worker comes back (a new process, at a new address) within the wait
        run.wait()
    said = "".join(lines)
    assert run.returncode == 0 and "1 of 1 workers grade; grading goes on" in said, said
    assert re.search(r"cluster \S+: joined: worker \S+ on \S+: \w+ sandbox", said), said
    assert all(s["status"] == "graded" for s in json.loads((out / "grades.json").read_text())["students"]), said
