"""The probe calls of one run of the checks: which worker takes them, and what a run remembers
between them (imports that hung, calls that timed out, what the learner's code printed or tried).

The plugin (checks/plugin.py) owns the hooks and the verdicts; this owns the state of the calls.
"""

import time

from checks.base import OWN
from checks.client import ProbeFailure, Worker
from checks.judge import LearnerError

PRINTED_LIMIT = 4000  # characters of the learner's printed output kept per test


class SameTimeout(Exception):
    """A probe call like one that already timed out in this check: not waited for again."""


def calls_of(probe, args):
    """What a timed-out probe call stands for: the probe and the operations of its graph, if any."""
    ops = frozenset(op for _, op, *_ in args.get("graph") or () if op != "leaf") if isinstance(args, dict) else ()
    return probe, frozenset(ops)


class Calls:
    """One live worker at a time, one per base (checks/base/): a student's memory limit is shared
    by all of them."""

    def __init__(self, impl, fence, timeout, check_timeout=None):
        self.impl, self.fence, self.timeout, self.check_timeout = impl, fence, timeout, check_timeout
        self.base = OWN  # what the current check (or gate) runs on
        self.workers = {}  # base -> its worker: the learner's own code, or on the kit's base
        self.worker = None  # the live one
        self.hung = set()  # learner modules whose import never finished: not waited for again
        self.timeouts = {}  # (probe, ops) that timed out in the current check -> the message it got
        self.pending = None  # the (probe, ops) of the call in flight
        self.check_started = time.monotonic()
        self.check = None  # the check whose tests are running, for the check's own time limit
        self.new_test()

    def new_check(self, check, base):
        self.check, self.base = check, base
        self.check_started = time.monotonic()  # the gates' time is not the check's
        self.timeouts = {}

    def new_test(self):
        self.printed = ""  # what the learner's code printed during the current test
        self.tampered = []  # what the worker's audit hook refused during the current test (or gate)
        self.pending = None
        if self.worker is not None:
            self.worker.last = None

    def last_probe(self):
        """The probe in flight when a test ran out of time, if any."""
        return self.worker.last if self.worker else None

    def call(self, probe, args, timeout=None):
        worker = self.workers.get(self.base)
        if self.worker is not None and worker is not self.worker:
            self.worker.close()
        self.worker = worker
        if self.worker is None:
            if not (self.impl / "micrograd").is_dir() and not (self.impl / "derivatives.py").is_file():
                raise ProbeFailure(
                    probe,
                    "no tree",
                    f"{self.impl} does not hold the learner's tree (derivatives.py, micrograd/, train.py)",
                )
            # An import that hangs is cut short well within the test's own timeout.
            self.worker = Worker(self.impl, self.fence, import_timeout=max(1, int(self.timeout / 2)), base=self.base)
            self.workers[self.base] = self.worker
        if self.check_timeout and time.monotonic() - self.check_started > self.check_timeout:
            raise ProbeFailure(
                probe, "check time limit", f"check-{self.check} used up its {self.check_timeout:g} s before this test"
            )
        key = calls_of(probe, args)
        for (p, ops), message in self.timeouts.items():
            if p == probe and ops <= key[1]:
                raise SameTimeout(message)
        self.pending = key
        try:
            reply = self.worker.call(probe, args, timeout=timeout, hung=self.hung)
        except ProbeFailure as e:
            if e.kind in ("tampered", "forged"):
                self.tampered.append(e.detail)  # the test scores 0 whatever it does with the error
            raise
        self.pending = None
        self.printed = (self.printed + reply.get("printed", ""))[:PRINTED_LIMIT]
        if "error" in reply:
            if isinstance(reply["error"], dict) and reply["error"].get("type") == "ImportTimeout":
                self.hung.add(str(reply["error"].get("module")))
            raise LearnerError(probe, reply["error"] if isinstance(reply["error"], dict) else {})
        return reply["ok"]

    def timed_out(self, message):
        """Later calls like the one that timed out fail at once with the same message."""
        if self.pending:
            self.timeouts[self.pending] = message
        self.pending = None

    def close(self):
        for worker in self.workers.values():
            worker.close()
