"""The judge server: `python -m kit.instructor.judge_server`, the process behind each warm judge of
kit/instructor/pool.py.

It reads one job a line on stdin, `{"argv": ARGV, "env": {...}, "timeout": T, "grace": G}`, runs
`python -m kit check ARGV` for it in a forked child, and writes `{"status": S, "timed_out": B}`
when the child has ended. The judge is imported once, here. A job that names its tree (--impl) is
forked from a pytest session already configured and collected for jobs like it (Prepared, below),
which collects the checks as a fresh run does; any other job runs `kit check` from the start in
its child.
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

from checks import plugin
from kit import runner
from kit.learner import check


def start_job(env):
    """First thing in a forked job: a process group, umask and environment of its own, nothing on
    its standard streams, and an interrupt that ends the run with a report."""
    os.setpgid(0, 0)
    os.umask(0o077)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.update(env)


def job(argv, env):
    """In the forked child: run `python -m kit check ARGV` from the start and leave with its exit status."""
    code = 70
    try:
        start_job(env)
        code = check.main(argv)
    except SystemExit as e:  # argparse refusing the options, as a fresh process would
        code = e.code if isinstance(e.code, int) else 2
    except BaseException:
        code = 70
    finally:
        os._exit(code if isinstance(code, int) else 70)


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a job's judge does before its first test: the checks it collects, the timeouts it marks
    them with, the other options and the environment (the seed aside). Two jobs of one shape differ
    only in the run's own settings: --impl, the seed, --report and --fence."""

    exercises: tuple
    timeout: float | None
    check_timeout: float | None
    fail_fast: bool
    env: tuple

    @classmethod
    def of(cls, request):
        """The shape of a job, or None for one served from the start (refused options, no --impl)."""
        env = {k: v for k, v in request["env"].items() if k != "KIT_SEED"}
        if "IMPL" in env:  # it would change what --impl means
            return None
        try:
            args = check.options(request["argv"])
        except SystemExit:
            return None
        if not args.impl:
            return None
        return cls(tuple(args.exercise), args.timeout, args.check_timeout, args.fail_fast, tuple(sorted(env.items())))


class Prepared:
    """A pytest session of the checks configured and collected once in the server, from which each
    job of its shape is forked just before the first test. Up to there a fresh judge of that job
    would have done the same (collection reads no setting of the run's own), so the child sets the
    job's --impl, seed, --report and --fence and goes on exactly as the fresh judge would, minus
    the tenth of a second of starting pytest and collecting."""

    def __init__(self, shape, jobs):
        self.shape, self.jobs = shape, jobs
        self.first = self.next = None
        self.reached = False  # whether the session got to its tests (else the first job is run from the start)
        self.child = False

    def serve(self, request):
        """Serve `request` and the jobs after it of the same shape; returns the first job of
        another shape (None: stdin ended)."""
        self.first = request
        saved = dict(os.environ)
        os.environ.update(dict(self.shape.env))
        empty = tempfile.mkdtemp(prefix="kit-judge-")  # the server's own --impl: it runs no test
        try:
            code = runner.run(
                list(self.shape.exercises),
                impl=empty,
                timeout=self.shape.timeout,
                check_timeout=self.shape.check_timeout,
                fail_fast=self.shape.fail_fast,
                plugins=[self],
            )
            if self.child:
                os._exit(code)  # the job's exit status, as `python -m kit check` leaves with it
        except BaseException:
            if self.child:
                os._exit(70)
            raise
        finally:
            os.environ.clear()
            os.environ.update(saved)
            shutil.rmtree(empty, ignore_errors=True)
        if not self.reached:  # pytest stopped before the tests (a broken check): as a fresh judge would
            if self.jobs.fork(request):
                job(request["argv"], request["env"])
            return self.jobs.next()
        return self.next

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed:  # a check did not collect: no state to start jobs from
            yield
            return
        self.reached = True
        request = self.first
        while request is not None and Shape.of(request) == self.shape:
            if self.jobs.fork(request):
                self.child = True
                try:
                    start_job(request["env"])
                    args = check.options(request["argv"])
                    option = session.config.option
                    option.impl, option.kit_seed, option.kit_report, option.kit_fence = (
                        args.impl,
                        args.seed,
                        args.report,
                        args.fence,
                    )
                    plugin.restart(session.config)
                except BaseException:
                    os._exit(70)
                yield  # the job's tests, in the child
                return
            request = self.jobs.next()
        self.next = request
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
        line = self.requests.readline()
        return json.loads(line) if line else None

    def fork(self, request):
        """Fork the job's process: True in the child, which goes on to run it; here, once it has
        ended, the reply is written and False returned."""
        pid = os.fork()
        if pid == 0:
            self.requests.close()
            self.replies.close()
            return True
        status, timed_out = wait(pid, request["timeout"], request["grace"], self.requests.fileno())
        self.replies.write((json.dumps({"status": status, "timed_out": timed_out}) + "\n").encode())
        self.replies.flush()
        return False


def wait(pid, timeout, grace, grader):
    """(exit status, timed out) of child `pid`: interrupted once `timeout` has passed, killed `grace` later;
    `grader` is the pipe the jobs come on."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        status = _reap(pid, pidfd, timeout, grader)
        if status is not None:
            return status, False
        _signal(pid, signal.SIGINT)
        status = _reap(pid, pidfd, grace, grader)
        if status is None:
            _signal(pid, signal.SIGKILL)
            status = _reap(pid, pidfd, None, grader)
        return status, True
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
    jobs = Jobs()
    request = jobs.next()
    while request is not None:
        shape = Shape.of(request)
        if shape is not None:
            request = Prepared(shape, jobs).serve(request)
            continue
        if jobs.fork(request):
            job(request["argv"], request["env"])
        request = jobs.next()


if __name__ == "__main__":
    serve()
