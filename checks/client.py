"""The judge's side of the worker: start it, send probe requests, read plain-data replies.

The judge (the pytest process with the expected values and the scoring) never imports learner
code. It talks to a worker process (checks/worker/main.py) and accepts from it only one line of JSON
per request, of bounded size, signed with a key this judge gave that worker alone; whatever
crosses is sanitised (checks/sanitise.py) before anything reads it. The worker's printed output comes
through a pipe this side drains and caps, so printing never fails and never floods the judge.
When the worker ends mid-probe, hangs, floods its reply, forges one, or reports code under test
refused by its audit hook, the worker is killed and the next probe starts a fresh one.
"""

import ctypes
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time

from checks.sanitise import Garbled, clean_data, clean_error, clean_text, clean_where

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker", "main.py")
REPLY_LIMIT = 4_000_000  # bytes in one reply
CRASH_LOG_LIMIT = 20_000  # bytes of the worker's last output kept, for a crash's faulthandler dump
PRINTED_LIMIT = 2000  # bytes of what one probe printed that reach the judge; the rest is drained
ADDR_NO_RANDOMIZE = 0x0040000  # personality(2): the same addresses, so the same set orders, every run
PR_SET_PDEATHSIG = 1  # prctl(2)


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
    to limits; `cgroups` are the folders of the student's cgroup(s) (kit/instructor/cgroups.py),
    which the worker enters before exec, so that one memory limit covers all it starts."""

    mode: str = "none"
    prefix: tuple = ()
    python: str = sys.executable
    worker: str = WORKER
    impl: str | None = None
    env: dict | None = None
    rlimits: dict = dataclasses.field(default_factory=dict)
    cgroups: tuple = ()

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(self), f)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return cls(**{**data, "prefix": tuple(data.get("prefix", ())), "cgroups": tuple(data.get("cgroups", ()))})


class Worker:
    def __init__(self, impl, fence=None, import_timeout=5, base=None):
        fence = fence or Fence()
        self.base = base.handshake() if base else {}  # the known-good base (checks/base/)
        self.impl = os.path.realpath(impl)
        self.inside = fence.impl or self.impl  # the same folder, as the worker sees it
        self.prefix = list(fence.prefix)
        self.python = fence.python
        self.worker = fence.worker
        self.env = fence.env
        self.rlimits = fence.rlimits
        self.cgroups = fence.cgroups
        self.memory = None  # what the kernel says of the cgroups: a grader's, which made them (not in a learner's copy)
        if self.cgroups:
            from kit.instructor import cgroups

            self.memory = cgroups
        self.import_timeout = import_timeout
        self.proc = None
        self.last = None  # the latest probe sent, for messages about a timeout

    def start(self):
        self.key, self.sent = secrets.token_bytes(32), 0
        self.oom_before = self.memory.oom_kills(self.cgroups) if self.memory else 0
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*self.prefix, self.python, "-s", self.worker, self.inside, str(self.import_timeout)],
                stdin=subprocess.PIPE,
                stdout=output_write,
                stderr=output_write,
                pass_fds=(reply_write,),
                start_new_session=True,
                cwd=self.impl,
                env=worker_env(self.env),
                preexec_fn=preexec(self.rlimits, self.cgroups),
            )
        except BaseException:
            os.close(reply_read)
            os.close(output_read)
            raise
        finally:
            os.close(reply_write)
            os.close(output_write)
        self.replies, self.output, self.buffer = reply_read, output_read, b""
        os.set_blocking(output_read, False)
        self.head, self.tail = bytearray(), bytearray()
        handshake = json.dumps({"key": self.key.hex(), "reply": reply_write, "base": self.base}) + "\n"
        try:
            self.proc.stdin.write(handshake.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died at once; the first probe says how

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def call(self, probe, args, timeout=None, hung=()):
        """Run one probe; returns the worker's reply, cleaned: {"ok": data} or {"error": record},
        with "printed" (what the learner's code printed meanwhile, capped)."""
        if not self.alive():
            self.close()
            self.start()
        self.last = probe
        self._drain()
        self.head = bytearray()
        try:
            try:
                self.sent += 1
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
        reply = self._verify(probe, line)
        if "tampered" in reply:
            self.close()
            what = reply["tampered"] if isinstance(reply["tampered"], list) else []
            reasons = [clean_text(r, 300) for r in what[:20]] or ["something"]
            raise ProbeFailure(probe, "tampered", "; ".join(reasons))
        reply = {"ok": clean_data(reply["ok"])} if "ok" in reply else {"error": clean_error(reply["error"])}
        reply["printed"] = self.printed()
        return reply

    def _verify(self, probe, line):
        """The reply's body, if this worker signed it for this request, as a dict of one known key."""
        signature, _, body = line.partition(b" ")
        expected = hashlib.blake2b(b"%d\n" % self.sent + body, key=self.key, digest_size=32).hexdigest()
        if not hmac.compare_digest(signature, expected.encode()):
            self.close()
            raise ProbeFailure(probe, "forged", "a reply the worker did not sign reached the judge")
        try:
            reply = json.loads(body)
        except (ValueError, RecursionError):
            self.close()
            raise ProbeFailure(probe, "garbled", "the worker's reply was not valid JSON") from None
        if not isinstance(reply, dict) or len(reply) != 1 or not {"ok", "error", "tampered"} & reply.keys():
            self.close()
            raise ProbeFailure(probe, "garbled", "the worker's reply had an unexpected shape")
        try:
            if "ok" in reply:
                clean_data(reply["ok"])
        except (Garbled, RecursionError) as e:
            self.close()
            raise ProbeFailure(probe, "garbled", str(e) or "the reply is nested too deeply") from None
        return reply

    def printed(self):
        text = self.head[:PRINTED_LIMIT].decode("utf-8", "replace")
        return clean_text(text, PRINTED_LIMIT) + ("\n..." if len(self.head) > PRINTED_LIMIT else "")

    def _take_output(self):
        """Read what the worker printed so far; False once its end is closed."""
        try:
            chunk = os.read(self.output, 65536)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        if len(self.head) <= PRINTED_LIMIT:
            self.head += chunk[: PRINTED_LIMIT + 1 - len(self.head)]
        self.tail = (self.tail + chunk)[-CRASH_LOG_LIMIT:]
        return True

    def _drain(self):
        """Everything already in the output pipe (it was printed before the reply was written), up to
        a gigabyte: a learner's thread that prints on and on cannot hold the judge here."""
        read = 0
        while self.output is not None and read < 1 << 30:
            before = len(self.tail)
            if not self._take_output():
                os.close(self.output)
                self.output = None
            elif len(self.tail) == before and len(self.tail) < CRASH_LOG_LIMIT:
                break
            read += 65536
            try:
                if not select.select([self.output], [], [], 0)[0]:
                    break
            except (TypeError, ValueError):
                break

    def _read_line(self, probe, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buffer:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd for fd in (self.replies, self.output) if fd is not None], [], [], wait)
            if not ready:
                self.close()
                raise ProbeFailure(probe, "timeout", f"no answer within {timeout:g} s")
            if self.output in ready and not self._take_output():
                os.close(self.output)
                self.output = None
            if self.replies in ready:
                chunk = os.read(self.replies, 65536)
                if not chunk:
                    return None
                self.buffer += chunk
                if len(self.buffer) > REPLY_LIMIT:
                    self.close()
                    raise ProbeFailure(probe, "too large", f"a reply of more than {REPLY_LIMIT} bytes")
        line, _, self.buffer = self.buffer.partition(b"\n")
        self._drain()
        return line

    def _crashed(self, probe):
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # alive, but its reply channel is closed
            self.close()
            return ProbeFailure(probe, "crash", "the worker closed its reply channel")
        os.killpg(self.proc.pid, signal.SIGKILL) if self._group_alive() else None
        self._drain()
        log = bytes(self.tail).decode("utf-8", "replace")
        self.close()
        if code == -signal.SIGKILL and self.memory and self.memory.oom_kills(self.cgroups) > self.oom_before:
            limit = self.memory.memory_limit(self.cgroups)
            return ProbeFailure(probe, "memory", limit, where=learner_frame(log, self.inside))
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            detail = f"killed by signal {name}"
        else:
            detail = f"exit code {code}"
        return ProbeFailure(probe, "crash", detail, where=learner_frame(log, self.inside))

    def _group_alive(self):
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.proc.kill()
            self.proc.wait()
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            for fd in (self.replies, self.output):
                if fd is not None:
                    os.close(fd)
            self.replies = self.output = None
            self.proc = None


def worker_env(env):
    """The worker's environment: the fence's (or this one), without the PYTHON* variables that
    would change how it starts, and with string hashing fixed so set orders repeat."""
    base = os.environ if env is None else env
    clean = {k: v for k, v in base.items() if not k.startswith("PYTHON")}
    return {**clean, "PYTHONHASHSEED": "0"}


def preexec(rlimits, cgroups=()):
    """The child's setup before exec: into the student's cgroups, address-space randomisation off
    (the same bytes give the same object addresses, so the same set orders and the same verdict),
    then the resource limits."""
    apply_limits = limiter(rlimits) if rlimits else None
    procs = [os.path.join(folder, "cgroup.procs") for folder in cgroups]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        personality, prctl = libc.personality, libc.prctl
        personality.argtypes, personality.restype = [ctypes.c_ulong], ctypes.c_int
        prctl.argtypes, prctl.restype = [ctypes.c_int, ctypes.c_ulong], ctypes.c_int
    except (OSError, AttributeError):
        personality = prctl = None

    def setup():
        for path in procs:  # "0" moves the writer, this child; a failure fails the start, never the fence
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a judge that dies takes its worker along
        if personality is not None:
            current = personality(0xFFFFFFFF)
            if current != -1:
                personality(current | ADDR_NO_RANDOMIZE)
        if apply_limits is not None:
            apply_limits()

    return setup


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
            return clean_where(
                {"file": os.path.relpath(path, impl), "line": int(m["line"][:9]), "function": m["function"], "code": ""}
            )
    return None
