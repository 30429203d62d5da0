"""The probe calls of one run of the checks: which worker takes them, and what a run remembers
between them (imports that hung, functions and calls that timed out, what the learner's code printed
or tried).

The plugin (checks/plugin.py) owns the hooks and the verdicts; this owns the state of the calls,
and each test's time: a test's probes share its limit, kept by the judge's clock (checks/client.py),
and a probe that runs past it fails the test as "took too long". The worker's watchdog names the
learner function that was still running; later calls of that function in the check (in the rest of
the run, when a first look found it) fail at once instead of waiting again: an endless loop costs
one test's time per check at most.
"""

import re
import time

from checks.base import OWN
from checks.client import ProbeFailure, Worker
from checks.judge import LearnerError
from checks.process import discard, launch
from kit.exercises import TREE

PRINTED_LIMIT = 4000  # characters of the learner's printed output kept per test
AHEAD = 4  # workers started ahead of their first call, at most
TODO = re.compile(rb"NotImplementedError\(\s*[\"']ex(\d\d):")  # a stub's line (kit/regions.py)


class SameTimeout(ProbeFailure):
    """A probe call like one that already timed out in this check, or one of a learner function
    that did: not waited for again (a gate that meets one is closed, as by any failed probe)."""

    def __init__(self, message):
        super().__init__(None, "same timeout", message)
        self.args = (message,)


def calls_of(probe, args):
    """What a timed-out probe call stands for: the probe and the operations of its graph, if any."""
    ops = frozenset(op for _, op, *_ in args.get("graph") or () if op != "leaf") if isinstance(args, dict) else ()
    return probe, frozenset(ops)


class Calls:
    """One worker in use at a time, on one base (checks/base/); a worker left for another base is
    closed, and the next call on its base starts a fresh one. A learner's run (`ahead`) starts the
    workers it will use next before their first call (prepare); a grader's does not, since a
    student's memory limit is shared by all of them: it launches ahead only the process of its next
    start, which enters the student's cgroups and waits (a shell of a few pages, no learner code)."""

    def __init__(self, impl, fence, timeout, check_timeout=None, ahead=False):
        self.impl, self.fence, self.timeout, self.check_timeout = impl, fence, timeout, check_timeout
        self.base = OWN  # what the current check (or gate) runs on
        self.worker = None  # the one in use: the learner's own code, or on the kit's base
        self.worker_base = None  # its base
        self.ahead = ahead
        self.ready = {}  # base -> a worker started ahead, not called yet
        self.import_timeout = max(1, int(timeout / 2))  # an import that hangs is cut short well within a test's time
        self.launched = None  # a grader's: the process of the next worker start, waiting in the cgroups (launch)
        self.coming = []  # the bases the plan starts workers on next, in order (prepare)
        self.hung = set()  # learner modules whose import never finished: not waited for again
        self.timeouts = {}  # (probe, ops) that timed out in the current check -> the message it got
        self.stops = {}  # (module, function) that hung in this check (or in a first look) -> its message
        self.kept = {}  # the stops the first looks found, for every later check of the run
        self.title = None  # what is running: a test's title, or "the first look at check-NN"
        self.pending = None  # the (probe, ops) of the call in flight
        self.check_started = time.monotonic()
        self.check = None  # the check whose tests are running, for the check's own time limit
        self.new_test()

    def new_check(self, check, base):
        self.check, self.base = check, base
        self.check_started = time.monotonic()  # the gates' time is not the check's
        self.timeouts = {}
        self.stops = dict(self.kept)

    def new_look(self, title):
        """A first look (checks/gates.py), between two checks: it knows only what earlier looks
        found, as it would in a run of the check that needs it alone."""
        self.new_test()  # nothing of the test before it (what it printed or tried) is the look's
        self.check, self.title, self.timeouts = None, title, {}
        self.stops = dict(self.kept)

    def end_look(self):
        self.kept = dict(self.stops)  # a function that hung in a look: not waited for again in the run
        self.new_test()

    def new_test(self):
        self.printed = ""  # what the learner's code printed during the current test
        self.tampered = []  # what the worker's audit hook refused during the current test (or gate)
        self.pending = None
        self.test_started = time.monotonic()  # its probes share the test's time
        if self.worker is not None:
            self.worker.last = None

    def has_tree(self):
        return (self.impl / "micrograd").is_dir() or (self.impl / "derivatives.py").is_file()

    def started(self, base):
        worker = Worker(self.impl, self.fence, import_timeout=self.import_timeout, base=base)
        proc, self.launched = self.launched, None
        if proc is not None and proc.poll() is not None:  # it ended waiting: the start is made afresh
            discard(proc, self.fence.hardened)
            proc = None
        worker.start(proc)
        if self.coming and self.coming[0] == base:
            self.coming.pop(0)
        self.launch_ahead()
        return worker

    def launch_ahead(self):
        """A grader's run, whose starts enter the student's cgroups, launches the process of its next
        start ahead when the plan has one to come, so that the kernel's wait for the move into them
        (kit/instructor/harden.py) passes while the worker in use runs. That process runs no
        learner code, so no verdict depends on it; a wrong plan costs a shell."""
        if self.launched is None and self.coming and self.fence.cgroups and not self.ahead:
            self.launched = launch(self.fence, self.impl, self.import_timeout)

    def prepare(self, bases):
        """Start the workers of the bases the run calls on next (`bases`, in order of use) ahead of
        their first call, where the run may (`ahead`): each start (40 ms) then overlaps the judge's
        own work and the others' on a second core. A worker started ahead gets the same calls from
        its start as one started on demand, so no verdict depends on it. Those no longer wanted
        are closed. A grader's run launches only the process of its next start (launch_ahead)."""
        if not self.has_tree():
            return
        runs = [b for i, b in enumerate(bases) if i == 0 or b != bases[i - 1]]
        if runs and self.worker is not None and runs[0] == self.worker_base:
            runs = runs[1:]  # the worker in use goes on
        if not self.ahead:
            self.coming = runs
            self.launch_ahead()
            return
        wanted = list(dict.fromkeys(runs))[:AHEAD]
        for base in [b for b in self.ready if b not in wanted]:
            self.ready.pop(base).close()
        for base in wanted:
            if base not in self.ready:
                self.ready[base] = self.started(base)

    def call(self, probe, args, timeout=None):
        if self.worker is not None and self.worker_base != self.base:
            self.worker.close()
            self.worker = None
        if self.worker is None:
            if not self.has_tree():
                raise ProbeFailure(
                    probe,
                    "no tree",
                    f"{self.impl} does not hold the learner's tree (derivatives.py, micrograd/, train.py)",
                )
            self.worker = self.ready.pop(self.base, None) or self.started(self.base)
            self.worker_base = self.base
        if self.check and self.check_timeout and time.monotonic() - self.check_started > self.check_timeout:
            raise ProbeFailure(
                probe, "check time limit", f"check-{self.check} used up its {self.check_timeout:g} s before this test"
            )
        key = calls_of(probe, args)
        for (p, ops), message in self.timeouts.items():
            if p == probe and ops <= key[1]:
                raise SameTimeout(message)
        self.pending = key
        budget = timeout if timeout is not None else self.timeout - (time.monotonic() - self.test_started)
        if budget <= 0:
            self.worker.last = probe
            raise ProbeFailure(probe, "took too long", f"the test's {self.timeout:g} s were up before it")
        try:
            reply = self.worker.call(probe, args, timeout=budget, hung=self.hung, stop=self.stops)
        except ProbeFailure as e:
            if e.kind in ("tampered", "forged"):
                self.tampered.append(e.detail)  # the test scores 0 whatever it does with the error
            if e.kind == "timeout" and e.hung and e.hung.get("function"):
                limit = self.timeout if timeout is None else timeout
                self.stops[(e.hung["module"], e.hung["function"])] = stopped(e.hung, self.title, self.check, limit)
                self.pending = None  # the function is named: calls like this one that avoid it still run
            if e.kind == "timeout" and timeout is None:
                e.kind = "took too long"  # the test's own time, not a probe's
            raise
        self.pending = None
        self.printed = (self.printed + reply.get("printed", ""))[:PRINTED_LIMIT]
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            if error.get("type") == "ImportTimeout":
                self.hung.add(str(error.get("module")))
            if error.get("type") == "StoppedCall":
                for (module, function), message in self.stops.items():
                    if error.get("message") == f"{module}:{function}":
                        raise SameTimeout(message)
            raise LearnerError(probe, error)
        return reply["ok"]

    def timed_out(self, message):
        """Later calls like the one that timed out fail at once with the same message."""
        if self.pending:
            self.timeouts[self.pending] = message
        self.pending = None

    def close(self):
        for worker in [self.worker, *self.ready.values()]:
            if worker is not None:
                worker.close()
        if self.launched is not None:
            discard(self.launched, self.fence.hardened)
        self.worker, self.ready, self.launched = None, {}, None


def todo_left(impl):
    """The exercises whose stub lines (`raise NotImplementedError("exNN: ...")`) are still in the
    learner's files: a guess, before anything runs, at which gates will close, for starting workers
    ahead (nothing is graded on it)."""
    found = set()
    for name in TREE:
        try:
            with open(impl / name, "rb") as f:
                found.update(m.decode() for m in TODO.findall(f.read(1 << 20)))
        except OSError:
            pass
    return found


def stopped(hung, title, check, limit):
    """What a later call of a learner function that hung gets instead of waiting again."""
    where = f'the test "{title}"' if check else (title or "the kit's first look")
    scope = f" in check-{check}" if check else ""
    return (
        f"Took longer than {limit:g} s in {where}, earlier: {hung['function']} ({hung['file']}) did not finish, "
        f"so its calls{scope} are not waited for again. Look for an endless loop, or for work that grows "
        "without end; a machine busy with other work can be that slow too: run the check again."
    )


def still_running(hung):
    """The line a first timeout adds when the worker saw which learner function was running."""
    return f"\n  still running {hung['function']} ({hung['file']})" if hung and hung.get("function") else ""
