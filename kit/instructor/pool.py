"""Warm judges: one long-lived process per grading slot that judges one student at a time.

A fresh `python -m kit check` per student spends a good part of its second importing pytest and
reading the checks. The judge never runs learner code (its worker does, in the sandbox), so it may
be kept: a judge server (kit/instructor/judge_server.py) does that once and forks one child per job
from the same warm state. Every student's judge therefore starts from identical memory, as a fresh
process would, and one student's run leaves nothing behind for the next. (Measured on the
benchmark's mixed class of 50 with 2 slots: the warm judges grade in about two thirds of the wall
time and half the CPU time of one fresh `python -m kit check` per student.)

    pool = Pool()
    timed_out = pool.run(Request(checks, impl, seed, report, fence, timeout, check_timeout), budget, grace)

A job is a typed Request (JSON on the server's stdin), never a command line; its verdict is the
report it writes, the one the grader reads: a job that wrote none did not grade. The job runs with
the server's environment and umask 077. Once `budget` seconds have passed the judge is interrupted
(SIGINT: it writes the tests it finished) and killed `grace` seconds later. A job that leaves no
report (its judge killed, or the server itself gone) is run once more, by a new server where the
old one was lost.

Each judge server has a temporary folder of its own (its TMPDIR), removed once it has ended, however
it ended. Closing the pool (at the end of a grading, or on Ctrl-C) ends every judge, a busy one
too: its server kills the job it runs and leaves, and the pool starts no judge after that.
"""

import dataclasses
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
from kit.exercises import EXERCISES

SPARE = 15.0  # seconds the server may take beyond a job's own budget before it is presumed lost


class JudgeLost(Exception):
    """The judge server stopped answering."""


@dataclasses.dataclass(frozen=True)
class Request:
    """One student's judging: the checks to run on the tree `impl` with inputs seeded by `seed`, the
    report to write and the fence of the student's worker; `timeout` and `check_timeout` are the
    seconds of a test and of a check."""

    checks: tuple
    impl: str
    seed: int
    report: str
    fence: str
    timeout: float
    check_timeout: float

    def to_json(self):
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data):
        """The request `data` (parsed JSON) holds; ValueError names what is amiss."""
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) != set(fields):
            raise ValueError(f"a request has the fields {', '.join(fields)}")
        kinds = {"checks": list, "impl": str, "seed": int, "report": str, "fence": str}
        for name, kind in kinds.items():
            if not isinstance(data[name], kind) or isinstance(data[name], bool):
                raise ValueError(f"a request's {name} is not a {kind.__name__}")
        if not data["checks"] or not all(isinstance(ex, str) and ex in EXERCISES for ex in data["checks"]):
            raise ValueError("a request's checks are not the kit's")
        for name in ("timeout", "check_timeout"):
            if not isinstance(data[name], (int, float)) or isinstance(data[name], bool) or data[name] <= 0:
                raise ValueError(f"a request's {name} is not a number of seconds")
        return cls(**{**data, "checks": tuple(data["checks"])})


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

    def run(self, request, timeout, grace):
        """The reply to one job: {"timed_out": bool}."""
        job = {"request": dataclasses.asdict(request), "timeout": timeout, "grace": grace}
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
    """Judges shared by the grader's threads: at most one job per judge at a time, started ahead
    (warm) or on demand."""

    def __init__(self, env=None):
        self.env = env
        self.idle, self.busy = [], set()
        self.lock = threading.Lock()
        self.started = 0  # judges started, replacements included
        self.closed = False

    def warm(self, n):
        """Start `n` judges now, idle: each imports pytest and the checks while the grader stages the
        first trees, instead of after (a third of a second of each judge's start). One that cannot be
        started is left to start on demand, where its failure costs a student's row, not the class."""
        judges = []
        try:
            for _ in range(n):
                judges.append(Judge(self.env))
        except OSError:
            pass
        finally:  # all that started are the pool's, to be closed with it, even on Ctrl-C
            with self.lock:
                self.started += len(judges)
                self.idle.extend(judges)

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

    def run(self, request, timeout=None, grace=0.0):
        """Whether the time ran out, once the judge of `request` has ended: its verdict is its report."""
        for _ in range(2):
            judge = self._take()
            if judge is None:
                break
            try:
                reply = judge.run(request, timeout, grace)
            except (JudgeLost, ValueError):
                self._give_back(judge, lost=True)
                continue
            self._give_back(judge, lost=False)
            if reply["timed_out"] or os.path.exists(request.report):
                return bool(reply["timed_out"])
        return False

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
