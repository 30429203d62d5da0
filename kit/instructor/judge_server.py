"""The judge server: `python -m kit.instructor.judge_server`, the process behind each warm judge of
kit/instructor/pool.py.

It reads one job a line on stdin, `{"request": REQUEST, "timeout": T, "grace": G}` (REQUEST: a
pool.Request, as JSON), judges it in a forked child, which writes the request's report, and writes
`{"timed_out": B}` when the child has ended. pytest and the checks are imported once, here. A job is
forked from a pytest session already configured and collected for jobs of its shape (Prepared,
below): up to the first test, a judge of that request would have done the same, since collection
reads none of a request's own settings (tests/test_judge_server.py keeps it so). A job whose
session could not be prepared, or whose request is not one, is judged from the start in its child.
"""

import dataclasses
import json
import os
import select
import shutil
import signal
import tempfile
import time

import pytest

from checks import plugin, process
from kit import runner

# What a grader's judge imports when it starts a worker (checks/process.py, client.py): imported here,
# once, not compiled again in each forked judge.
from kit.instructor import cgroups, harden  # noqa: F401
from kit.instructor.pool import Request


def start_job():
    """First thing in a forked job: a process group and umask of its own, nothing on its standard
    streams, and an interrupt that ends the run with a report."""
    os.setpgid(0, 0)
    os.umask(0o077)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def job(request):
    """In the forked child: judge `request` from the start and leave (its verdict is its report)."""
    code = 70
    try:
        start_job()
        code = runner.run(
            list(request.checks), **own(request), timeout=request.timeout, check_timeout=request.check_timeout
        )
    except BaseException:
        code = 70
    finally:
        os._exit(code if isinstance(code, int) else 70)


def own(request):
    """The settings of the run that are the request's own: what a forked judge sets after collection."""
    return {"impl": request.impl, "seed": request.seed, "report": request.report, "fence": request.fence}


def parse(job_):
    """The Request of a job line, or None where it is not one (the job then writes no report)."""
    try:
        return Request.from_json(job_["request"])
    except (KeyError, TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a job's judge does before its first test: the checks it collects and the timeouts it
    marks them with. Two jobs of one shape differ only in their request's own settings (`own`)."""

    checks: tuple
    timeout: float
    check_timeout: float

    @classmethod
    def of(cls, request):
        return None if request is None else cls(request.checks, request.timeout, request.check_timeout)


class Prepared:
    """A pytest session of the checks configured and collected once in the server, from which each
    job of its shape is forked just before the first test. The child sets the request's own settings
    (`own`) and goes on exactly as a judge started afresh would, minus starting pytest and collecting."""

    def __init__(self, shape, jobs):
        self.shape, self.jobs = shape, jobs
        self.first = self.next = None
        self.reached = False  # whether the session got to its tests (else the first job is run from the start)
        self.child = False

    def serve(self, first):
        """Serve the job `first` and the jobs after it of the same shape; returns the first job of
        another shape (None: stdin ended)."""
        self.first = first
        empty = tempfile.mkdtemp(prefix="kit-judge-")  # the server's own --impl: it runs no test
        try:
            code = runner.run(
                list(self.shape.checks),
                impl=empty,
                timeout=self.shape.timeout,
                check_timeout=self.shape.check_timeout,
                plugins=[self],
            )
            if self.child:
                os._exit(code)
        except BaseException:
            if self.child:
                os._exit(70)
            raise
        finally:
            shutil.rmtree(empty, ignore_errors=True)
        if not self.reached:  # pytest stopped before the tests (a broken check): as a fresh judge would
            if self.jobs.fork(first):
                job(parse(first))
            return self.jobs.next()
        return self.next

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed:  # a check did not collect: no state to start jobs from
            yield
            return
        self.reached = True
        line = self.first
        while line is not None and Shape.of(parse(line)) == self.shape:
            if self.jobs.fork(line):
                self.child = True
                try:
                    start_job()
                    option = session.config.option
                    settings = own(parse(line))
                    option.impl, option.kit_seed, option.kit_report, option.kit_fence = (
                        settings["impl"],
                        settings["seed"],
                        settings["report"],
                        settings["fence"],
                    )
                    plugin.restart(session.config)
                except BaseException:
                    os._exit(70)
                yield  # the job's tests, in the child
                return
            line = self.jobs.next()
        self.next = line
        session.items = []  # the server's own session runs nothing
        yield


class Jobs:
    """The server's pipes: a job a line on stdin, a reply a line on the stdout it was started with."""

    def __init__(self):
        # Copies of the pipes: a session's capturing points fds 0-2 elsewhere and replaces sys.stdin.
        self.requests = os.fdopen(os.dup(0), "rb")
        self.replies = os.fdopen(os.dup(1), "wb")
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 1)  # whatever else writes to stdout must not garble the replies
        os.dup2(devnull, 2)

    def next(self):
        """The next job line as a dict (None: stdin ended); a line that is not a job is one that judges nothing."""
        line = self.requests.readline()
        if not line:
            return None
        try:
            job_ = json.loads(line)
        except ValueError:
            job_ = None
        return job_ if isinstance(job_, dict) else {}

    def fork(self, line):
        """Fork the job's process: True in the child, which goes on to run it; here, once it has
        ended, the reply is written and False returned."""
        pid = os.fork()
        if pid == 0:
            self.requests.close()
            self.replies.close()
            return True
        timed_out = wait(pid, line.get("timeout"), line.get("grace", 0.0), self.requests.fileno())
        self.replies.write((json.dumps({"timed_out": timed_out}) + "\n").encode())
        self.replies.flush()
        return False


def wait(pid, timeout, grace, grader):
    """Whether child `pid` ran out of time: it is interrupted once `timeout` has passed, killed `grace`
    later; `grader` is the pipe the jobs come on."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        if _reap(pid, pidfd, timeout, grader) is not None:
            return False
        _signal(pid, signal.SIGINT)
        if _reap(pid, pidfd, grace, grader) is None:
            _signal(pid, signal.SIGKILL)
            _reap(pid, pidfd, None, grader)
        return True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _reap(pid, pidfd, timeout, grader):
    """The exit status of `pid` once it ends within `timeout` seconds (None: forever), else None.

    Should the grader die meanwhile (its end of our stdin hangs up), the job is killed and the server
    leaves: a killed grading leaves no judge, and so no worker, behind."""
    deadline = None if timeout is None else time.monotonic() + timeout
    watch = select.poll()
    watch.register(grader, select.POLLHUP)  # one job at a time: nothing else arrives on it while it runs
    if pidfd is not None:
        watch.register(pidfd, select.POLLIN)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        step = left if pidfd is not None else (0.005 if left is None else min(0.005, left))
        if any(
            fd == grader and events & (select.POLLHUP | select.POLLERR)
            for fd, events in watch.poll(None if step is None else step * 1000)
        ):
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(0)


def _signal(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def serve():
    process.same_addresses()  # its trial run of setarch once here, not in every forked judge
    jobs = Jobs()
    line = jobs.next()
    while line is not None:
        shape = Shape.of(parse(line))
        if shape is not None:
            line = Prepared(shape, jobs).serve(line)
            continue
        if jobs.fork(line):  # not a request: the child leaves at once, and writes no report
            os._exit(2)
        line = jobs.next()


if __name__ == "__main__":
    serve()
