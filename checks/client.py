"""The judge's side of the worker: start it, send probe requests, read plain-data replies.

The judge (the pytest process with the expected values and the scoring) never imports learner
code. It talks to a worker process (checks/worker/main.py) and accepts from it only one line of JSON
per request, of bounded size, signed with a key this judge gave that worker alone; whatever crosses
is sanitised (checks/sanitise.py) before anything reads it. What the worker prints comes through a
pipe of its own, drained and capped (checks/pipes.py). When the worker ends mid-probe, hangs, floods
its reply, forges one, or reports code under test refused by its audit hook, the worker is killed
and the next probe starts a fresh one. Portable (Windows and macOS run it as Linux does): pipes
waited on by select or by threads (checks/pipes.py), time kept by this side's clock, `Popen.kill`;
how the process is fenced, started and ended is checks/process.py's.
"""

import hashlib
import hmac
import json
import os
import secrets
import signal
import subprocess

from checks.pipes import ENDED, PRINTED_LIMIT, REPLY_LIMIT, TOO_LARGE, learner_frame, open_pipes
from checks.process import Fence, end, launch
from checks.sanitise import Garbled, clean_data, clean_error, clean_text

GRACE = 1.5  # seconds the judge waits past a probe's time for the worker's own word that it hung


class ProbeFailure(Exception):
    """The worker could not give a reply: it crashed, hung, or sent something malformed. `hung`:
    the learner function a timed-out probe was still running, as the worker saw it, or None."""

    def __init__(self, probe, kind, detail, where=None, hung=None):
        super().__init__(f"{probe}: {kind}: {detail}")
        self.probe, self.kind, self.detail, self.where, self.hung = probe, kind, detail, where, hung


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
        self.pipes = open_pipes(self.proc.stdout, self.proc.stderr, b"\0" + mark.encode() + b":")
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
        self.pipes.clear()
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
        self.pipes.settle(self.sent, 5)
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
        head = self.pipes.printed()
        text = head[:PRINTED_LIMIT].decode("utf-8", "replace")
        return clean_text(text, PRINTED_LIMIT) + ("\n..." if len(head) > PRINTED_LIMIT else "")

    def _read_line(self, probe, timeout):
        line = self.pipes.reply(None if timeout is None else timeout + GRACE)
        if line is None:
            self.close()
            raise ProbeFailure(probe, "timeout", f"no answer within {timeout:g} s")
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
        self.pipes.settle(float("inf"), 2)  # the rest of what it wrote: a faulthandler dump
        log = self.pipes.last().decode("utf-8", "replace")
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
        """Kill it, and close the judge's ends of its pipes."""
        if self.proc is not None:
            end(self.proc, self.fence.hardened)
            self.proc.wait()
            self.pipes.close()
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc = None


def clean_hung(hung):
    """The worker's word on a hung function, made plain: {"module", "function", "file", "line"} or None."""
    try:
        record = {k: clean_text(str(hung[k]), 200) for k in ("module", "function", "file")}
        return {**record, "line": int(hung["line"]) if str(hung["line"]).isdigit() else 0}
    except (KeyError, TypeError, ValueError):
        return None
