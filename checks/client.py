"""The judge's side of the worker: start it, send probe requests, read plain-data replies.

The judge (the pytest process with the expected values and the scoring) never imports learner
code. It talks to a worker process (checks/worker/main.py) and accepts from it only one line of JSON
per request, of bounded size. When the worker ends mid-probe, hangs, or floods its reply, the
worker is killed and the next probe starts a fresh one.
"""

import dataclasses
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker", "main.py")
REPLY_LIMIT = 4_000_000  # bytes in one reply
CRASH_LOG_LIMIT = 20_000


class ProbeFailure(Exception):
    """The worker could not give a reply: it crashed, hung, or sent something malformed."""

    def __init__(self, probe, kind, detail, where=None):
        super().__init__(f"{probe}: {kind}: {detail}")
        self.probe, self.kind, self.detail, self.where = probe, kind, detail, where


@dataclasses.dataclass(frozen=True)
class Fence:
    """How the worker process is started and fenced in (kit/instructor/sandbox.py makes one per
    student); the default, for a learner at a laptop, runs it plainly.

    `prefix` wraps the command (bwrap, unshare, setpriv); `python` and `worker` are the paths as
    the fenced process sees them, and so is `impl`; `rlimits` maps resource names ("AS", "NPROC")
    to limits."""

    mode: str = "none"
    prefix: tuple = ()
    python: str = sys.executable
    worker: str = WORKER
    impl: str | None = None
    env: dict | None = None
    rlimits: dict = dataclasses.field(default_factory=dict)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(self), f)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return cls(**{**data, "prefix": tuple(data.get("prefix", ()))})


class Worker:
    def __init__(self, impl, fence=None, import_timeout=5):
        fence = fence or Fence()
        self.impl = os.path.realpath(impl)
        self.inside = fence.impl or self.impl  # the same folder, as the worker sees it
        self.prefix = list(fence.prefix)
        self.python = fence.python
        self.worker = fence.worker
        self.env = fence.env
        self.rlimits = fence.rlimits
        self.import_timeout = import_timeout
        self.proc = None
        self.last = None  # the latest probe sent, for messages about a timeout

    def start(self):
        self.log = tempfile.TemporaryFile()
        read_end, write_end = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*self.prefix, self.python, "-I", self.worker, self.inside, str(write_end), str(self.import_timeout)],
                stdin=subprocess.PIPE,
                stdout=self.log,
                stderr=self.log,
                pass_fds=(write_end,),
                start_new_session=True,
                cwd=self.impl,
                env=self.env,
                preexec_fn=limiter(self.rlimits) if self.rlimits else None,
            )
        finally:
            os.close(write_end)
        self.replies = read_end
        self.buffer = b""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def call(self, probe, args, timeout=None, hung=()):
        """Run one probe; returns the worker's reply dict (with "ok" or "error", and "printed")."""
        if not self.alive():
            self.close()
            self.start()
        self.last = probe
        try:
            try:
                self.proc.stdin.write((json.dumps({"probe": probe, "args": args, "hung": list(hung)}) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # it died on the way; reading says how
            line = self._read_line(probe, timeout)
        except BaseException:
            # A timeout from pytest-timeout lands here too: never leave a busy worker behind.
            self.close()
            raise
        if line is None:
            raise self._crashed(probe)
        try:
            reply = json.loads(line)
        except ValueError:
            self.close()
            raise ProbeFailure(probe, "garbled", "the worker's reply was not valid JSON") from None
        if not isinstance(reply, dict) or not (("ok" in reply) ^ ("error" in reply)):
            self.close()
            raise ProbeFailure(probe, "garbled", "the worker's reply had an unexpected shape")
        if not isinstance(reply.get("printed", ""), str):
            reply["printed"] = ""
        return reply

    def _read_line(self, probe, timeout):
        while b"\n" not in self.buffer:
            if timeout is not None:
                ready, _, _ = select.select([self.replies], [], [], timeout)
                if not ready:
                    self.close()
                    raise ProbeFailure(probe, "timeout", f"no answer within {timeout:g} s")
            chunk = os.read(self.replies, 65536)
            if not chunk:
                return None
            self.buffer += chunk
            if len(self.buffer) > REPLY_LIMIT:
                self.close()
                raise ProbeFailure(probe, "too large", f"a reply of more than {REPLY_LIMIT} bytes")
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace")

    def _crashed(self, probe):
        code = self.proc.wait()
        self.log.seek(0)
        log = self.log.read(CRASH_LOG_LIMIT).decode("utf-8", "replace")
        self.close()
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            detail = f"killed by signal {name}"
        else:
            detail = f"exit code {code}"
        return ProbeFailure(probe, "crash", detail, where=learner_frame(log, self.inside))

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.log):
                try:
                    f.close()
                except OSError:
                    pass
            os.close(self.replies)
            self.proc = None


def limiter(rlimits):
    """A preexec function applying resource limits {"AS": bytes, "NPROC": n, ...} in the child."""
    import resource

    pairs = [(getattr(resource, f"RLIMIT_{name}"), int(value)) for name, value in rlimits.items()]

    def apply():
        for kind, value in pairs:
            resource.setrlimit(kind, (value, value))

    return apply


FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')


def learner_frame(log, impl):
    """The first frame in the learner's files of a faulthandler dump (innermost first)."""
    for m in FRAME.finditer(log):
        path = os.path.realpath(m["file"])
        if path.startswith(impl + os.sep):
            return {"file": os.path.relpath(path, impl), "line": int(m["line"]), "function": m["function"], "code": ""}
    return None
