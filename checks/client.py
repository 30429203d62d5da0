"""The judge's side of the worker: start it, send probe requests, read plain-data replies.

The judge (the pytest process with the expected values and the scoring) never imports learner
code. It talks to a worker process (checks/worker/main.py) and accepts from it only one line of JSON
per request, of bounded size, signed with a key this judge gave that worker alone; whatever crosses
is sanitised (checks/sanitise.py) before anything reads it. What the worker prints comes through a
pipe of its own, drained and capped (checks/pipes.py). When the worker ends mid-probe, hangs, floods
its reply, forges one, or reports code under test refused by its audit hook, the worker is killed
and the next probe starts a fresh one. Portable (Windows and macOS run it as Linux does): pipes read
by threads, time kept by this side's clock, `Popen.kill`; a grader's Linux hardening is the fence's
(kit/instructor/harden.py's command line, and a session of its own).
"""

import dataclasses
import functools
import hashlib
import hmac
import json
import os
import platform
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import threading

from checks.pipes import ENDED, PRINTED_LIMIT, REPLY_LIMIT, TOO_LARGE, Output, learner_frame, read_replies
from checks.sanitise import Garbled, clean_data, clean_error, clean_text

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker", "main.py")
GRACE = 1.5  # seconds the judge waits past a probe's time for the worker's own word that it hung
ADDR_NO_RANDOMIZE = 0x0040000  # personality(2), by `setarch -R` on Linux; 0 leaves addresses random (tests/orders.py)


class ProbeFailure(Exception):
    """The worker could not give a reply: it crashed, hung, or sent something malformed. `hung`:
    the learner function a timed-out probe was still running, as the worker saw it, or None."""

    def __init__(self, probe, kind, detail, where=None, hung=None):
        super().__init__(f"{probe}: {kind}: {detail}")
        self.probe, self.kind, self.detail, self.where, self.hung = probe, kind, detail, where, hung


@dataclasses.dataclass(frozen=True)
class Fence:
    """How the worker process is started and fenced in (kit/instructor/sandbox.py makes one per
    student); the default, for a learner at a laptop, runs it plainly.

    `prefix` wraps the command (bwrap, unshare); `python` and `worker` are the paths as the fenced
    process sees them, and so is `impl`; `rlimits` maps resource names ("AS", "NPROC") to limits;
    `cgroups` are the folders of the student's cgroup(s) (kit/instructor/cgroups.py); `user` is the
    student's user id. A fence with any of them is hardened: kit/instructor/harden.py's command line
    (Linux) enters the cgroups, sets the limits, switches to the user and execs the rest, in a
    session of its own that the judge kills whole."""

    mode: str = "none"
    prefix: tuple = ()
    python: str = sys.executable
    worker: str = WORKER
    impl: str | None = None
    env: dict | None = None
    rlimits: dict = dataclasses.field(default_factory=dict)
    cgroups: tuple = ()
    user: int | None = None

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(self), f)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return cls(**{**data, "prefix": tuple(data.get("prefix", ())), "cgroups": tuple(data.get("cgroups", ()))})

    @property
    def hardened(self):
        return bool(self.rlimits or self.cgroups or self.user is not None)

    def go(self):
        """What the judge sends its worker's process first: the go of a hardened start that waits in
        the student's cgroups (kit/instructor/harden.py), else nothing."""
        if not self.cgroups:
            return b""
        from kit.instructor import harden

        return harden.GO

    def launch(self):
        """The command that hardens what follows it (empty for a learner's plain fence)."""
        if not self.hardened:
            return []
        from kit.instructor import harden  # a grader's alone: Linux, util-linux's programs

        return harden.command(self.rlimits, self.cgroups, same_addresses(), self.user)

    def command(self, *args):
        plain = [] if self.hardened or self.prefix else same_addresses()
        # -S: no site, so no site-packages (learner code runs on the standard library alone) and no
        # .pth files to run (20 ms of each start in a virtual environment).
        return [*self.launch(), *plain, *self.prefix, self.python, "-S", self.worker, *args]


@functools.cache
def _setarch():
    """`setarch ARCH -R` where it works (Linux's util-linux), else []."""
    command = [shutil.which("setarch") or "setarch", platform.machine(), "-R"]
    try:
        worked = sys.platform.startswith("linux") and subprocess.run([*command, "true"], timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        worked = False
    return command if worked else []


def same_addresses():
    """What a learner's worker starts under on Linux: address randomisation off, so that the same bytes
    give the same addresses and a set of Values the same order every run (a mistake that hangs on
    that order scores the same each time). Elsewhere nothing: a program, never a call of the kit's."""
    return _setarch() if ADDR_NO_RANDOMIZE else []


class Worker:
    def __init__(self, impl, fence=None, import_timeout=5, base=None):
        self.fence = fence or Fence()
        self.base = base.handshake() if base else {}  # the known-good base (checks/base/)
        self.impl = os.path.realpath(impl)
        self.inside = self.fence.impl or self.impl  # the same folder, as the worker sees it
        self.cgroups = self.fence.cgroups
        self.memory = None  # what the kernel says of the cgroups: a grader's, which made them (not in a learner's copy)
        if self.cgroups:
            from kit.instructor import cgroups

            self.memory = cgroups
        self.import_timeout = import_timeout
        self.proc = None
        self.last = None  # the latest probe sent, for messages about a timeout

    def start(self, proc=None):
        """Start the worker; `proc`: its process, launched ahead (launch) and still waiting for the go."""
        self.key, self.sent = secrets.token_bytes(32), 0
        self.oom_before = self.memory.oom_kills(self.cgroups) if self.memory else 0
        mark = secrets.token_hex(8)
        self.proc = proc or launch(self.fence, self.impl, self.import_timeout)
        self.replies, self.output = queue.Queue(), Output(b"\0" + mark.encode() + b":")
        for target, args in ((read_replies, (self.proc.stdout, self.replies)), (self.output.read, (self.proc.stderr,))):
            threading.Thread(target=target, args=args, daemon=True).start()
        handshake = json.dumps({"key": self.key.hex(), "mark": mark, "base": self.base}) + "\n"
        try:
            self.proc.stdin.write(self.fence.go() + handshake.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died at once; the first probe says how

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def call(self, probe, args, timeout=None, hung=(), stop=()):
        """Run one probe in at most `timeout` seconds (the worker's own watchdog says which learner
        function was still running; this side's clock ends it GRACE later whatever it does); returns
        the worker's reply, cleaned: {"ok": data} or {"error": record}, with "printed" (what the
        learner's code printed meanwhile, capped). `hung`: learner modules whose import never
        finished; `stop`: learner functions (module, qualified name) to fail at once."""
        if not self.alive():
            self.close()
            self.start()
        self.last = probe
        with self.output.changed:
            self.output.head = bytearray()
        request = {"probe": probe, "args": args, "hung": list(hung), "stop": [list(s) for s in stop], "time": timeout}
        try:
            try:
                self.sent += 1
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # it died on the way; reading says how
            line = self._read_line(probe, timeout)
        except BaseException:
            self.close()  # never leave a busy worker behind (a Ctrl-C lands here too)
            raise
        if line is ENDED:
            raise self._crashed(probe)
        reply = self._verify(probe, line)
        if "tampered" in reply:
            self.close()
            what = reply["tampered"] if isinstance(reply["tampered"], list) else []
            reasons = [clean_text(r, 300) for r in what[:20]] or ["something"]
            raise ProbeFailure(probe, "tampered", "; ".join(reasons))
        if "hung" in reply:  # the worker's watchdog: its main thread is still in learner code
            self.close()
            hung = reply["hung"] if isinstance(reply["hung"], dict) else {}
            if isinstance(hung.get("error"), dict):  # an import that never finished
                reply = {"error": clean_error(hung["error"])}
            else:
                raise ProbeFailure(probe, "timeout", f"no answer within {timeout:g} s", hung=clean_hung(hung))
        if "error" in reply:
            reply = {"error": clean_error(reply["error"])}
        self.output.wait(self.sent, 5)
        reply["printed"] = self.printed()
        return reply

    def _verify(self, probe, line):
        """The reply's body, if this worker signed it for this request, as a dict of one known key
        (its data made plain)."""
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
        if not isinstance(reply, dict) or len(reply) != 1 or not {"ok", "error", "tampered", "hung"} & reply.keys():
            self.close()
            raise ProbeFailure(probe, "garbled", "the worker's reply had an unexpected shape")
        try:
            return {"ok": clean_data(reply["ok"])} if "ok" in reply else reply  # cleaned once, here
        except (Garbled, RecursionError) as e:
            self.close()
            raise ProbeFailure(probe, "garbled", str(e) or "the reply is nested too deeply") from None

    def printed(self):
        with self.output.changed:
            head = bytes(self.output.head)
        text = head[:PRINTED_LIMIT].decode("utf-8", "replace")
        return clean_text(text, PRINTED_LIMIT) + ("\n..." if len(head) > PRINTED_LIMIT else "")

    def _read_line(self, probe, timeout):
        try:
            line = self.replies.get(timeout=None if timeout is None else timeout + GRACE)
        except queue.Empty:
            self.close()
            raise ProbeFailure(probe, "timeout", f"no answer within {timeout:g} s") from None
        if line is TOO_LARGE:
            self.close()
            raise ProbeFailure(probe, "too large", f"a reply of more than {REPLY_LIMIT} bytes")
        return line

    def _crashed(self, probe):
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # alive, but its reply channel is closed
            self.close()
            return ProbeFailure(probe, "crash", "the worker closed its reply channel")
        end(self.proc, self.fence.hardened)  # what it left in its session (a hardened fence's)
        self.output.wait(float("inf"), 2)  # the rest of what it wrote: a faulthandler dump
        with self.output.changed:
            log = bytes(self.output.tail).decode("utf-8", "replace")
        self.close()
        killed = getattr(signal, "SIGKILL", None)
        if killed and code == -killed and self.memory and self.memory.oom_kills(self.cgroups) > self.oom_before:
            limit = self.memory.memory_limit(self.cgroups)
            return ProbeFailure(probe, "memory", limit, where=learner_frame(log, self.inside))
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            detail = f"killed by signal {name}"
        else:
            detail = f"exit code {code}"
        return ProbeFailure(probe, "crash", detail, where=learner_frame(log, self.inside))

    def close(self):
        """Kill it; its pipes' threads end (and close them) once the pipes do."""
        if self.proc is not None:
            end(self.proc, self.fence.hardened)
            self.proc.wait()
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc = None


def launch(fence, impl, import_timeout):
    """A worker's process, fenced: its pipes, and a session of its own where hardened (a grader's, on
    Linux). One that enters the student's cgroups waits for the judge's go (Fence.go) before the
    worker runs, so that a judge may launch it ahead (checks/calls.py)."""
    impl = os.path.realpath(impl)
    return subprocess.Popen(
        fence.command(fence.impl or impl, str(import_timeout)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,  # the worker's replies: it moves its prints to the other pipe
        stderr=subprocess.PIPE,  # whatever it prints
        cwd=impl,
        env=worker_env(fence.env),
        start_new_session=fence.hardened,  # a grader's (Linux): killed whole, with what it started
    )


def end(proc, hardened):
    """Kill a worker's process: a hardened fence's whole session (Linux), else the process."""
    if hardened:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        proc.kill()


def discard(proc, hardened):
    """End a process launched ahead and never used, and close its pipes."""
    end(proc, hardened)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        try:
            pipe.close()
        except OSError:
            pass


def clean_hung(hung):
    """The worker's word on a hung function, made plain: {"module", "function", "file", "line"} or None."""
    try:
        record = {k: clean_text(str(hung[k]), 200) for k in ("module", "function", "file")}
        return {**record, "line": int(hung["line"]) if str(hung["line"]).isdigit() else 0}
    except (KeyError, TypeError, ValueError):
        return None


def worker_env(env):
    """The worker's environment: the fence's (or this one), without the PYTHON* variables that
    would change how it starts, with string hashing fixed so set orders repeat, and what it prints in
    UTF-8, as the judge reads it (a Windows pipe would get the ANSI code page)."""
    base = os.environ if env is None else env
    clean = {k: v for k, v in base.items() if not k.startswith("PYTHON")}
    return {**clean, "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"}
