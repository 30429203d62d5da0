"""The warm judges (kit/instructor/pool.py, kit/instructor/judge_server.py): each job's report is
the one a fresh `python -m kit check` writes, whichever way the server starts it, and collection
reads none of a request's own settings, so a judge forked after it is a fresh judge."""

import json
import os
import subprocess
import sys
import time

import hostile
import pytest

from checks.process import Fence
from kit import ROOT
from kit.instructor import pool

# The server, with its from-the-start path counted: a job forked from a prepared session never takes it.
COUNTED_SERVER = """
import sys
from kit.instructor import judge_server

fresh = judge_server.job

def job(request):
    with open(sys.argv[1], "a") as f:
        f.write(",".join(request.checks) + "\\n")
    fresh(request)

judge_server.job = job
judge_server.serve()
"""

# The server, with every option the kit's plugin reads before a job is forked recorded, with where:
# during collection, or while configuring outside Kit.__init__ (which plugin.restart re-runs in the job).
RECORDING_SERVER = """
import json, sys
import pytest
from _pytest.config import Config
from kit import runner
from kit.instructor import judge_server

reads, phase = [], ["configure"]
getoption = Config.getoption

def recorded(self, name, *args, **kwargs):
    frame, in_init = sys._getframe(1), False
    while frame is not None:
        code = frame.f_code
        in_init = in_init or (code.co_name == "__init__" and frame.f_globals.get("__name__") == "checks.plugin")
        frame = frame.f_back
    reads.append([name, phase[0], in_init])
    return getoption(self, name, *args, **kwargs)

Config.getoption = recorded

class Phases:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection(self, session):
        phase[0] = "collection"
        yield
        phase[0] = "after"
        with open(sys.argv[1], "w") as f:
            json.dump(reads, f)

run = runner.run
runner.run = lambda exercises, plugins=(), **options: run(exercises, plugins=[*plugins, Phases()], **options)
judge_server.serve()
"""

LOOP = ("derivatives.py", "    return (f(x + h) - f(x)) / h\n", "    while True:\n        pass\n")
OWN = {"impl", "kit_seed", "kit_report", "kit_fence"}  # the request's own settings, set in each forked job


def request(impl, report, fence, seed=3, checks=("01", "02", "03", "04", "05", "06", "07"), timeout=5.0):
    return pool.Request(tuple(checks), str(impl), seed, str(report), str(fence), timeout, 60.0)


def fresh_check(req):
    """The report of `python -m kit check` with the request's settings, run on its own."""
    report = f"{req.report}.fresh.json"
    argv = [",".join(req.checks), "--impl", req.impl, "--seed", str(req.seed), "--timeout", str(req.timeout)]
    argv += ["--check-timeout", str(req.check_timeout), "--fence", req.fence, "--report", report]
    subprocess.run(
        [sys.executable, "-m", "kit", "check", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return json.loads(open(report).read()) if os.path.exists(report) else None


class Server:
    def __init__(self, script, log):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, str(log)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def run(self, req, timeout=120):
        """The report of one request (None: none written), once the server said the job ended."""
        reply = self.send(json.dumps({"request": json.loads(req.to_json()), "timeout": timeout, "grace": 5}))
        assert reply == {"timed_out": False}
        return json.loads(open(req.report).read()) if os.path.exists(req.report) else None

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def fence(tmp_path):
    path = tmp_path / "fence.json"
    Fence().save(path)
    return path


@pytest.fixture
def server(tmp_path):
    log = tmp_path / "fresh.log"
    log.touch()
    s = Server(COUNTED_SERVER, log)
    s.log = log
    yield s
    s.close()


def test_jobs_of_one_shape_skip_the_start_and_each_report_is_the_fresh_check_s(tmp_path, tree, server, fence):
    exits = ("micrograd/engine.py", "        return out\n", "        import os\n        os._exit(0)\n")
    crash = hostile.tree(tmp_path / "crash", patches=[exits])
    jobs = [(tree(0), 3), (tree(7), 3), (tree(4), 77), (crash, 5), (tree(2), 11)]  # stubs to the reference
    for i, (impl, seed) in enumerate(jobs):
        req = request(impl, tmp_path / f"pooled{i}.json", fence, seed)
        want = fresh_check(req)
        assert want is not None and server.run(req) == want, impl
    assert server.log.read_text() == ""  # every job was forked from the one prepared session


def test_a_job_of_another_shape_is_prepared_anew_and_a_line_that_is_no_request_writes_no_report(
    tmp_path, tree, server, fence
):
    impl = tree(3)
    shapes = [(("01",), 5.0), (("01",), 2.0), (("02", "03"), 5.0), (("01",), 5.0)]
    for i, (checks, timeout) in enumerate(shapes):
        req = request(impl, tmp_path / f"pooled{i}.json", fence, checks=checks, timeout=timeout)
        assert server.run(req) == fresh_check(req), checks
    for i, bad in enumerate([{"checks": ["99"]}, {"seed": "7"}, {"impl": None}, {"timeout": -1}]):
        line = json.loads(request(impl, tmp_path / f"bad{i}.json", fence).to_json()) | bad
        assert server.send(json.dumps({"request": line, "timeout": 60, "grace": 5})) == {"timed_out": False}
        assert not (tmp_path / f"bad{i}.json").exists(), bad
    assert server.send("not json") == {"timed_out": False}
    req = request(impl, tmp_path / "after.json", fence, checks=("01",))
    assert server.run(req)["checks"]["01"]["earned"] == 14  # the server goes on after them
    assert server.log.read_text() == ""


def test_collection_reads_none_of_a_request_s_own_settings_and_configure_reads_them_only_where_restart_does(
    tmp_path, tree, fence
):
    """The warm judge's contract with checks/plugin.py: a plugin edit that reads --impl, the seed, the
    report or the fence while collecting, or while configuring outside Kit.__init__, fails here."""
    reads = tmp_path / "reads.json"
    s = Server(RECORDING_SERVER, reads)
    try:
        assert s.run(request(tree(1), tmp_path / "r.json", fence, checks=("01", "02")))["checks"]["01"]["earned"] == 14
    finally:
        s.close()
    recorded = json.loads(reads.read_text())
    collecting = {name for name, phase, _ in recorded if phase == "collection"}
    assert collecting, "no option read during collection was recorded: the recording is broken"
    kit_options = {"impl", "kit_seed", "kit_timeout", "kit_report", "kit_check_timeout", "kit_fence"}
    assert collecting & kit_options <= {"kit_timeout"}, sorted(collecting & kit_options)
    configuring = {(name, in_init) for name, phase, in_init in recorded if phase == "configure" and name in OWN}
    assert {"impl", "kit_seed", "kit_fence"} <= {name for name, _ in configuring}  # read at configure ...
    assert all(in_init for _, in_init in configuring), sorted(configuring)  # ... only where restart reads them again


def test_warm_judges_take_the_first_jobs_and_one_that_cannot_start_is_left_to_start_on_demand(
    tmp_path, tree, fence, monkeypatch
):
    with pool.Pool() as judges:
        judges.warm(2)
        warm = list(judges.idle)
        assert judges.started == 2 and all(j.proc.poll() is None for j in warm)
        req = request(tree(1), tmp_path / "warm.json", fence, checks=("01",))
        assert judges.run(req, 60, 5) is False and os.path.exists(req.report)
        assert judges.started == 2 and set(judges.idle) == set(warm)  # served by a warm judge, none started
    with pool.Pool() as judges:

        def refused(env=None):
            raise OSError("no more processes")

        monkeypatch.setattr(pool, "Judge", refused)
        judges.warm(2)  # not the grading's end: the first job starts its judge, or fails alone
        assert judges.started == 0 and judges.idle == []


def test_a_pooled_judge_writes_the_report_of_a_fresh_check_survives_its_own_death_and_is_interrupted_in_time(
    tmp_path, tree, fence
):
    impl = tree(4)
    fresh = fresh_check(request(impl, tmp_path / "fresh", fence, seed=77))
    with pool.Pool() as judges:
        for i in range(2):  # the second job starts from the same warm state as the first
            req = request(impl, tmp_path / f"pooled{i}.json", fence, seed=77)
            assert judges.run(req, 120, 5) is False
            assert json.loads(open(req.report).read()) == fresh
        (judge,) = judges.idle
        judge.proc.kill()  # a judge server lost between students is replaced, and the job still runs
        req = request(impl, tmp_path / "after-death.json", fence, checks=("01",))
        assert judges.run(req, 60, 5) is False and os.path.exists(req.report) and judges.started == 2
        loops = hostile.tree(tmp_path / "loops", upto=1, patches=[LOOP])
        started = time.monotonic()
        req = request(loops, tmp_path / "late.json", fence, checks=("01",))
        assert judges.run(req, 1.0, 5) is True and time.monotonic() - started < 10
        assert "01" in json.loads(open(req.report).read())["checks"]  # interrupted, it still wrote what it finished
