"""Warm judges: one long-lived process per grading slot that runs `python -m kit check` for each student.

A fresh `python -m kit check` per student spends a good part of its second importing pytest and
reading the checks. The judge never runs learner code (its worker does, in the sandbox), so it may
be kept: a judge server (kit/instructor/judge_server.py) does that once and forks one child per job
from the same warm state. Every student's judge therefore starts from identical memory, as a fresh
process would, and one student's run leaves nothing behind for the next.

    pool = Pool()
    code, out_of_time = pool.run(["all", "--impl", TREE, "--report", FILE, ...], {"KIT_SEED": S}, timeout, grace)

As a fresh `python -m kit check` would be: the job's environment is the server's plus the given
variables, its umask 077, and its exit status is returned. Once `timeout` seconds have passed the
judge is interrupted (SIGINT: it writes the tests it finished) and killed `grace` seconds later.
A judge that dies (its child killed by a signal, or the server itself gone) is replaced and the
job run once more; a second death is returned as the exit status (negative: the signal).

Each judge server has a temporary folder of its own (its TMPDIR), removed once it has ended, however
it ended. Closing the pool (at the end of a grading, or on Ctrl-C) ends every judge, a busy one
too: its server kills the job it runs and leaves, and the pool starts no judge after that.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from kit import ROOT

SPARE = 15.0  # seconds the server may take beyond a job's own budget before it is presumed lost


class JudgeLost(Exception):
    """The judge server stopped answering."""


# --- the grader's side ------------------------------------------------------------------------------


class Judge:
    """One judge server, started at once: `python -m kit.instructor.judge_server` over a pair of pipes."""

    def __init__(self, env=None):
        # The server's temporary files (and its jobs') go in here, removed in close(): a server killed,
        # or ended mid-job, cannot remove its own.
        self.tmp = tempfile.mkdtemp(prefix="kit-judge-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit.instructor.judge_server"],
            cwd=ROOT,
            env={**(os.environ if env is None else env), "TMPDIR": self.tmp},
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

    def end(self):
        """No more jobs: an idle server then leaves its session and removes its folder itself."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def close(self, grace=1.0):
        self.end()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
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
        shutil.rmtree(self.tmp, ignore_errors=True)


class Pool:
    """Judges shared by the grader's threads: at most one job per judge at a time, started on demand."""

    def __init__(self, env=None):
        self.env = env
        self.idle, self.busy = [], set()
        self.lock = threading.Lock()
        self.started = 0  # judges started, replacements included
        self.closed = False

    def _take(self):
        """An idle judge or a new one, now busy; None once the pool is closed."""
        with self.lock:
            if self.closed:
                return None
            if self.idle:
                judge = self.idle.pop()
                self.busy.add(judge)
                return judge
            self.started += 1
        judge = Judge(self.env)  # started outside the lock: the other threads need not wait for it
        with self.lock:
            self.busy.add(judge)
            if not self.closed:
                return judge
        self._give_back(judge, lost=True)  # closed meanwhile
        return None

    def _give_back(self, judge, lost):
        with self.lock:
            self.busy.discard(judge)
            keep = not lost and not self.closed
            if keep:
                self.idle.append(judge)
        if not keep:
            judge.close()

    def run(self, argv, env=None, timeout=None, grace=0.0):
        """(exit status, whether the time ran out) of `python -m kit check ARGV` in a warm judge."""
        status, timed_out = -signal.SIGKILL, False  # as a judge that died: the pool was closed
        for _ in range(2):
            judge = self._take()
            if judge is None:
                break
            try:
                reply = judge.run(argv, env, timeout, grace)
            except (JudgeLost, ValueError):
                self._give_back(judge, lost=True)
                status, timed_out = -signal.SIGKILL, False
                continue
            self._give_back(judge, lost=False)
            status, timed_out = int(reply["status"]), bool(reply["timed_out"])
            if status >= 0 or timed_out:
                break
        return status, timed_out

    def close(self):
        """End every judge: the idle ones leave, a busy one's server kills its job and leaves (the thread
        that waits on it then closes it); no judge is started after this."""
        with self.lock:
            self.closed = True
            judges, self.idle = self.idle, []
            busy = list(self.busy)
        for judge in judges + busy:
            judge.end()  # all at once: each ends in a few milliseconds
        for judge in judges:
            judge.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
