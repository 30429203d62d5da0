"""Warm judges: one long-lived process per grading slot that runs `python -m kit check` for each student.

A fresh `python -m kit check` per student spends a good part of its second importing pytest and the
checks. The judge never runs learner code (its worker does, in the sandbox), so it may be kept: a
judge server imports everything once, reads the check collection once (so the checks' assertions
are rewritten exactly as in a fresh run), then forks one child per job from that same warm state.
Every student's judge therefore starts from identical memory, as a fresh process would, and one
student's run leaves nothing behind for the next.

    pool = Pool()
    code, out_of_time = pool.run(["all", "--impl", TREE, "--report", FILE, ...], {"KIT_SEED": S}, timeout, grace)

As a fresh `python -m kit check` would be: the job's environment is the server's plus the given
variables, its umask 077, and its exit status is returned. Once `timeout` seconds have passed the
judge is interrupted (SIGINT: it writes the tests it finished) and killed `grace` seconds later.
A judge that dies (its child killed by a signal, or the server itself gone) is replaced and the
job run once more; a second death is returned as the exit status (negative: the signal).
"""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

from kit import ROOT
from kit.exercises import EXERCISES

SPARE = 15.0  # seconds the server may take beyond a job's own budget before it is presumed lost


class JudgeLost(Exception):
    """The judge server stopped answering."""


# --- the grader's side ------------------------------------------------------------------------------


class Judge:
    """One judge server, started at once: `python -m kit.instructor.pool` over a pair of pipes."""

    def __init__(self, env=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit.instructor.pool"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C reaches the grader, which ends the judges itself
        )
        self.buffer = b""

    def run(self, argv, env, timeout, grace):
        """The reply to one job: {"status": exit status, "timed_out": bool}."""
        job = {"argv": [str(a) for a in argv], "env": env or {}, "timeout": timeout, "grace": grace}
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except OSError as e:
            raise JudgeLost(f"the judge could not take the job ({e})") from None
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9) + grace + SPARE
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise JudgeLost("the judge stopped answering")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise JudgeLost(f"the judge ended (exit status {self.proc.wait()})")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the server and any job it is running
            except ProcessLookupError:
                pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class Pool:
    """Judges shared by the grader's threads: at most one job per judge at a time, started on demand."""

    def __init__(self, env=None):
        self.env = env
        self.idle = []
        self.lock = threading.Lock()
        self.started = 0  # judges started, replacements included

    def _take(self):
        with self.lock:
            if self.idle:
                return self.idle.pop()
            self.started += 1
        return Judge(self.env)

    def run(self, argv, env=None, timeout=None, grace=0.0):
        """(exit status, whether the time ran out) of `python -m kit check ARGV` in a warm judge."""
        for _ in range(2):
            judge = self._take()
            try:
                reply = judge.run(argv, env, timeout, grace)
            except (JudgeLost, ValueError):
                judge.close()
                status, timed_out = -signal.SIGKILL, False
                continue
            with self.lock:
                self.idle.append(judge)
            status, timed_out = int(reply["status"]), bool(reply["timed_out"])
            if status >= 0 or timed_out:
                break
        return status, timed_out

    def close(self):
        with self.lock:
            judges, self.idle = self.idle, []
        for judge in judges:
            judge.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- the judge server -------------------------------------------------------------------------------


def warm():
    """Import the judge and read every check once, with nothing to grade: what each job then shares."""
    import tempfile

    from kit import runner
    from kit.learner import check  # noqa: F401  (the module each job runs)

    with tempfile.TemporaryDirectory(prefix="kit-judge-") as empty:
        runner.run(list(EXERCISES), impl=empty, extra=("--collect-only", "-q"))


def job(argv, env):
    """In the forked child: run `python -m kit check ARGV` and leave with its exit status."""
    code = 70
    try:
        os.setpgid(0, 0)
        os.umask(0o077)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # an interrupt ends the run with a report
        os.environ.update(env)
        from kit.learner import check

        code = check.main(argv)
    except SystemExit as e:  # argparse refusing the options, as a fresh process would
        code = e.code if isinstance(e.code, int) else 2
    except BaseException:
        code = 70
    finally:
        os._exit(code if isinstance(code, int) else 70)


def wait(pid, timeout, grace):
    """(exit status, timed out) of child `pid`: interrupted once `timeout` has passed, killed `grace` later."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        status = _reap(pid, pidfd, timeout)
        if status is not None:
            return status, False
        _signal(pid, signal.SIGINT)
        status = _reap(pid, pidfd, grace)
        if status is None:
            _signal(pid, signal.SIGKILL)
            status = _reap(pid, pidfd, None)
        return status, True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _reap(pid, pidfd, timeout):
    """The exit status of `pid` once it ends within `timeout` seconds (None: forever), else None.

    Should the grader die meanwhile (its end of our stdin hangs up), the job is killed and the server
    leaves: a killed grading leaves no judge, and so no worker, behind."""
    deadline = None if timeout is None else time.monotonic() + timeout
    watch = select.poll()
    watch.register(0, select.POLLHUP)  # one job at a time: nothing else arrives on stdin while it runs
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
            fd == 0 and events & (select.POLLHUP | select.POLLERR)
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
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # whatever else writes to stdout must not garble the replies
    os.dup2(devnull, 2)
    warm()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            replies.close()
            job(request["argv"], request["env"])
        status, timed_out = wait(pid, request["timeout"], request["grace"])
        replies.write((json.dumps({"status": status, "timed_out": timed_out}) + "\n").encode())
        replies.flush()


if __name__ == "__main__":
    serve()
