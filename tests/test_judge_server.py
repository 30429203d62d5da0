"""The warm judges (kit/instructor/pool.py, kit/instructor/judge_server.py): each job's report is
the one a fresh `python -m kit check` writes, whichever way the server starts it."""

import json
import os
import subprocess
import sys
import time

import hostile
import pytest

from kit import ROOT
from kit.instructor import pool

# The server, with its from-the-start path counted: a job forked from a prepared session never takes it.
COUNTED_SERVER = """
import sys
from kit.instructor import judge_server

fresh = judge_server.job

def job(argv, env):
    with open(sys.argv[1], "a") as f:
        f.write(" ".join(argv[:1]) + "\\n")
    fresh(argv, env)

judge_server.job = job
judge_server.serve()
"""


def fresh_check(argv, env, report):
    """Exit status and report of `python -m kit check ARGV --report REPORT`, run on its own."""
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "check", *argv, "--report", str(report)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return proc.returncode, json.loads(report.read_text()) if report.exists() else None


class CountedServer:
    def __init__(self, log):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", COUNTED_SERVER, str(log)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def run(self, argv, env, report, timeout=120):
        job = {"argv": [*argv, "--report", str(report)], "env": env, "timeout": timeout, "grace": 5}
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        return reply["status"], json.loads(report.read_text()) if report.exists() else None

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    log = tmp_path / "fresh.log"
    log.touch()
    s = CountedServer(log)
    s.log = log
    yield s
    s.close()


def test_jobs_of_one_shape_skip_the_start_and_each_report_is_the_fresh_check_s(tmp_path, tree, server):
    exits = ("micrograd/engine.py", "        return out\n", "        import os\n        os._exit(0)\n")
    crash = hostile.tree(tmp_path / "crash", patches=[exits])
    jobs = [  # trees from the stubs to the reference, one that ends the worker, seeds by variable and option
        (tree(0), {"KIT_SEED": "3"}, []),
        (tree(7), {"KIT_SEED": "3"}, []),
        (tree(4), {"KIT_SEED": "77"}, []),
        (crash, {"KIT_SEED": "5"}, []),
        (tree(2), {}, ["--seed", "11"]),
        (tree(7), {}, []),
    ]
    for i, (impl, env, options) in enumerate(jobs):
        argv = ["all", "--impl", str(impl), "--timeout", "5", *options]
        want = fresh_check(argv, env, tmp_path / f"fresh{i}.json")
        assert server.run(argv, env, tmp_path / f"pooled{i}.json") == want, impl
    assert server.log.read_text() == ""  # every job was forked from the one prepared session


def test_a_job_of_another_shape_is_prepared_anew_and_one_that_cannot_be_prepared_runs_from_the_start(
    tmp_path, tree, server
):
    impl = tree(3)
    jobs = [
        (["01", "--impl", str(impl)], {}),
        (["all", "--impl", str(impl)], {"KIT_SEED": "9"}),
        (["01", "--impl", str(impl), "--fail-fast"], {}),
        (["02,03", "--impl", str(impl)], {"KIT_TIMEOUT": "2"}),
        (["all", "--impl", str(tmp_path / "nowhere")], {}),  # refused options: exit status 2
        (["all", "--impl", str(impl)], {"KIT_TIMEOUT": "soon"}),  # a usage error while pytest configures
        (["01", "--impl", str(impl)], {}),
    ]
    statuses = []
    for i, (argv, env) in enumerate(jobs):
        want = fresh_check(argv, env, tmp_path / f"fresh{i}.json")
        assert server.run(argv, env, tmp_path / f"pooled{i}.json") == want, argv
        statuses.append(want[0])
    assert statuses == [0, 1, 0, 0, 2, 4, 0]
    assert server.log.read_text() == "all\nall\n"  # only those two ran from the start


def test_a_pooled_judge_gives_the_report_of_a_fresh_check_and_survives_its_own_death(tmp_path, tree):
    impl = tree(4)
    code, fresh = fresh_check(["all", "--impl", str(impl)], {"KIT_SEED": "77"}, tmp_path / "fresh.json")
    assert code == 1
    with pool.Pool() as judges:
        for i in range(2):  # the second job starts from the same warm state as the first
            report = tmp_path / f"pooled{i}.json"
            code, late = judges.run(["all", "--impl", str(impl), "--report", str(report)], {"KIT_SEED": "77"}, 120, 5)
            assert (code, late) == (1, False)
            assert json.loads(report.read_text()) == fresh
        (judge,) = judges.idle
        judge.proc.kill()  # a judge server lost between students is replaced, and the job still runs
        code, late = judges.run(["01", "--impl", str(impl)], {}, 60, 5)
        assert (code, late, judges.started) == (0, False, 2)
        started = time.monotonic()
        report = tmp_path / "late.json"
        code, late = judges.run(["all", "--impl", str(impl), "--report", str(report)], {}, 0.2, 0.5)
        assert late and time.monotonic() - started < 10
        assert json.loads(report.read_text())["checks"]  # interrupted, it still wrote what it finished
