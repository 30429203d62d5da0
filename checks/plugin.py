"""The pytest plugin that turns checks/test_NN_*.py into graded exercises.

It picks the implementation to grade (`--impl DIR`, or `IMPL`; default exercises/), starts the
worker that runs its code, marks every test with its exercise (`exNN`) and points, applies a
per-test timeout through pytest-timeout, words every failure for a learner, and ends with
`check-NN: E/M points`. Run it as `python -m kit check NN`, or `pytest -p checks.plugin FILE`.
"""

import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _pytest.outcomes import Failed
from pytest_timeout import PYTEST_FAILURE_MESSAGE

from checks import history, messages
from checks.base import OWN, base_for
from checks.client import Fence, ProbeFailure, Worker
from checks.gates import GATES
from checks.judge import LearnerError
from checks.report import Report, totals
from kit.exercises import EXERCISES, HELP_IMPL, POINTS, default_impl

DEFAULT_SEED = 1
DEFAULT_TIMEOUT = 5.0
GATE_TIMEOUT = 10.0
OUT = None  # where the report goes; `python -m kit check` sets it and silences pytest's own output

HELP_SEED = f"seed of every random input (default: $KIT_SEED or {DEFAULT_SEED})"
HELP_TIMEOUT = f"seconds each test may take (default: $KIT_TIMEOUT or {DEFAULT_TIMEOUT:g})"
HELP_REPORT = "also write every test's result as JSON to this file"
HELP_CHECK_TIMEOUT = "seconds one whole check may take; its later tests then fail at once (default: none)"
HELP_UNTIL_UNFINISHED = "stop after the first check that is not at full marks (watch mode)"
HELP_FENCE = "a JSON file of the grader's sandbox settings for the worker (kit/instructor/sandbox.py)"
# What pytest-timeout's failure message starts with, from the message it exports.
TIMED_OUT = PYTEST_FAILURE_MESSAGE.split("%")[0]
PRINTED_LIMIT = 4000  # characters of the learner's printed output kept per test
MESSAGE_LIMIT = 6000  # characters of one test's message

CHECK_FILE = re.compile(r"^test_(\d\d)_\w+\.py$")


def pytest_addoption(parser):
    group = parser.getgroup("micrograd-kit", "micrograd-kit checks")
    group.addoption("--impl", default=None, help=HELP_IMPL)
    group.addoption("--kit-seed", type=int, default=None, help=HELP_SEED)
    group.addoption("--kit-timeout", type=float, default=None, help=HELP_TIMEOUT)
    group.addoption("--kit-report", default=None, help=HELP_REPORT)
    group.addoption("--kit-check-timeout", type=float, default=None, help=HELP_CHECK_TIMEOUT)
    group.addoption("--kit-fence", default=None, help=HELP_FENCE)
    group.addoption("--kit-until-unfinished", action="store_true", help=HELP_UNTIL_UNFINISHED)


def pytest_configure(config):
    for ex in EXERCISES.values():
        config.addinivalue_line("markers", f"ex{ex.id}: a test of exercise {ex.id}, {ex.title}")
    config.addinivalue_line("markers", "points(n): the points a test of a check is worth")
    if not config.pluginmanager.has_plugin("micrograd-kit"):
        config.pluginmanager.register(Kit(config, OUT or sys.stdout), "micrograd-kit")


def exercise_of(item):
    m = CHECK_FILE.match(item.path.name)
    return m and m[1]


def sentence(item):
    """The test's title: the first line of its docstring, as written ('14.03 with h = 0.01'), or
    else its name read as words (test_mul_backward_sends -> 'mul backward sends')."""
    name = item.originalname if hasattr(item, "originalname") else item.name
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    text = doc.splitlines()[0].rstrip(".") if doc else name.removeprefix("test_").replace("_", " ")
    param = item.name[len(name) :]
    return text + (f" {param}" if param else "")


def calls_of(probe, args):
    """What a timed-out probe call stands for: the probe and the operations of its graph, if any."""
    ops = frozenset(op for _, op, *_ in args.get("graph") or () if op != "leaf") if isinstance(args, dict) else ()
    return probe, frozenset(ops)


class SameTimeout(Exception):
    """A probe call like one that already timed out in this check: not waited for again."""


def settings(config):
    impl = config.getoption("impl") or default_impl()
    seed = config.getoption("kit_seed")
    seed = seed if seed is not None else from_environment("KIT_SEED", DEFAULT_SEED, int, "a whole number, e.g. 7")
    timeout = config.getoption("kit_timeout") or from_environment(
        "KIT_TIMEOUT", DEFAULT_TIMEOUT, float, "a number of seconds, e.g. 5"
    )
    return Path(impl), seed, timeout


def from_environment(name, default, kind, what):
    """$name read as `kind`; a clear one-line usage error (not a traceback) when it is not one."""
    text = os.environ.get(name, "").strip()
    try:
        return kind(text) if text else default
    except ValueError:
        raise pytest.UsageError(f"{name}={text!r} is not {what}") from None


class Kit:
    def __init__(self, config, out):
        self.config = config
        self.impl, self.seed, self.timeout = settings(config)
        self.report = Report(out, self.impl, self.seed)
        self.check_timeout = config.getoption("kit_check_timeout")
        # How the grader fences in learner code; absent for a learner at a laptop.
        fence = config.getoption("kit_fence")
        self.fence = Fence.load(fence) if fence else Fence()
        self.check_started = time.monotonic()
        self.hung = set()  # learner modules whose import never finished: not waited for again
        self.gates = {}  # exercise -> None when its gate is open, else (mistake id or None, sentence)
        # A learner's own runs remember which checks passed, for "no longer passes"; a grader's do not.
        self.learner_run = fence is None
        self.passed_before = history.passed(self.impl) if self.learner_run else set()
        self.timeouts = {}  # (probe, ops) that timed out in the current check -> the message it got
        self.pending = None  # the (probe, ops) of the call in flight
        self.worker = None  # the worker of the current base
        self.workers = {}  # base (checks/base/) -> its worker: the learner's own code, or on the kit's base
        self.base = OWN  # what the current check (or gate) runs on
        self.printed = ""  # what the learner's code printed during the current test
        self.tampered = []  # what the worker's audit hook refused during the current test (or gate)
        self.stopped = None  # why the rest of the run is passed over (--kit-until-unfinished)

    # --- collection -----------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        # Runs before -k/-m deselect anything, so every check's points are checked in full.
        sums = {}
        for item in items:
            ex = exercise_of(item)
            if ex is None:
                continue
            item.add_marker(getattr(pytest.mark, f"ex{ex}"))
            marker = item.get_closest_marker("points")
            if marker is None or not marker.args or not isinstance(marker.args[0], int):
                raise pytest.UsageError(f"kit error: {item.nodeid} has no @points(n) marker")
            sums[ex] = sums.get(ex, 0) + marker.args[0]
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(self.timeout, method="signal"))
        for ex, total in sums.items():
            if total != POINTS[ex]:
                raise pytest.UsageError(
                    f"kit error: check-{ex} is worth {POINTS[ex]} points (kit/exercises.py) "
                    f"but its tests carry {total} points"
                )

    # --- the probe call -------------------------------------------------------------------

    def call(self, probe, args, timeout=None):
        worker = self.workers.get(self.base)
        if self.worker is not None and worker is not self.worker:
            self.worker.close()  # one live worker at a time: a student's memory limit is shared by all
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
                probe,
                "check time limit",
                f"check-{self.report.current} used up its {self.check_timeout:g} s before this test",
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

    # --- the run --------------------------------------------------------------------------

    def pytest_runtestloop(self, session):
        # The gates of everything these checks build on, looked at once, before any test (and so
        # outside every test's timeout).
        wanted = {exercise_of(item) for item in session.items} - {None}
        for dep in sorted({d for ex in wanted for d in EXERCISES[ex].builds_on}):
            self.base = base_for(dep, self.closed())  # a gate looks at its exercise where its check would
            self.gates[dep] = self.gate(dep)
        self.base = OWN

    def closed(self):
        """The exercises whose gates are closed."""
        return {ex for ex, gate in self.gates.items() if gate}

    def gate(self, ex):
        """A quick look at whether exercise `ex` works, through its gate probes."""

        def call(probe, **args):
            return self.call(probe, args, timeout=min(GATE_TIMEOUT, self.timeout))

        try:
            return GATES[ex](call)
        except (LearnerError, ProbeFailure, AssertionError, KeyError, TypeError, ValueError, IndexError):
            return None, messages.GATE_FAILED[ex]
        finally:
            self.pending = None
            for reason in self.tampered:
                self.report.review.append({"check": ex, "test": f"the first look at check-{ex}", "reason": reason})
            self.tampered = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        yield
        ex = exercise_of(item)
        last_of_check = nextitem is None or exercise_of(nextitem) != ex
        if ex and last_of_check and self.config.getoption("kit_until_unfinished"):
            earned, most = totals(self.report.results.get(ex, []))
            if earned < most:
                self.stopped = f"check-{ex} is not at full marks"

    @pytest.hookimpl(tryfirst=True, specname="pytest_runtest_protocol")
    def pytest_runtest_protocol_passing_over(self, item, nextitem):
        # --kit-until-unfinished: the tests after the stop are passed over, unreported. (Stopping with
        # session.shouldstop raises pytest's Interrupted, whose traceback pytest then formats: a tenth
        # of a second, in watch mode's budget of one.)
        return True if self.stopped else None

    def pytest_runtest_logstart(self, nodeid, location):
        ex = exercise_of_nodeid(nodeid)
        if ex is not None and ex != self.report.current:
            builds = EXERCISES[ex].builds_on
            missing = {dep: self.gates[dep] for dep in builds if self.gates.get(dep)}
            self.base = base_for(ex, self.closed())
            banner = messages.builds_on(ex, builds, missing, self.passed_before, self.base) if missing else None
            self.report.start_check(ex, banner, self.base.kit)
            self.check_started = time.monotonic()  # the gates' time is not the check's
            self.timeouts = {}
        self.printed = ""
        self.tampered = []
        self.pending = None
        if self.worker is not None:
            self.worker.last = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        ex = exercise_of(item)
        if ex is None or not (report.when == "call" or (report.failed and report.when == "setup")):
            return
        status, message = self.classify(call.excinfo)
        mistake = getattr(call.excinfo.value, "mistake", None) if call.excinfo and status != "todo" else None
        closed = [(dep, self.gates[dep]) for dep in EXERCISES[ex].builds_on if self.gates.get(dep)]
        # 03 is judged at the values the learner's + and * gave, unless they wrap a Value (05's line)
        wrapped = (self.gates.get("02") or (None,))[0] == "wraps-value"
        own_fault = self.base or (ex == "03" and status == "fail" and not wrapped)
        if status not in ("pass", "todo") and closed and not own_fault:
            # A foundation is broken and nothing could stand in for it: say so first, and name it.
            dep, (mistake, why) = closed[0]
            message = f"builds on {dep}: {why}\n{message}"
        if status != "pass" and self.printed.strip():
            message += "\nYour code printed:\n" + textwrap.indent(messages.tail(self.printed), "  | ")
        if self.tampered:  # whatever the test made of it: tampering earns nothing and is shown to a person
            status, message, mistake = "error", messages.tampered(self.tampered), None
            for reason in self.tampered:
                self.report.review.append({"check": ex, "test": sentence(item), "reason": reason})
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + " ... (cut)"
        most = item.get_closest_marker("points").args[0]
        report.kit = {
            "check": ex,
            "test": sentence(item),
            "nodeid": item.nodeid,
            "status": status,
            "points": most if status == "pass" else 0,
            "max": most,
            "message": message,
            "mistake": mistake if status != "pass" else None,
        }
        if self.is_kit_error(call.excinfo) and not self.tampered:
            report.kit["kit_error"] = True

    def pytest_runtest_logreport(self, report):
        result = getattr(report, "kit", None)
        if result is not None:
            self.report.add(result)

    def classify(self, excinfo):
        """(status, message for the learner) for a test's outcome."""
        if excinfo is None:
            return "pass", ""
        e = excinfo.value
        if isinstance(e, LearnerError):
            return messages.learner_error(e)
        if isinstance(e, ProbeFailure):
            status, message = messages.probe_failure(e)
            if e.kind == "timeout":
                self.remember_timeout(message)
            return status, message
        if isinstance(e, SameTimeout):
            return "timeout", str(e)
        if isinstance(e, Failed) and str(e).startswith(TIMED_OUT):
            message = messages.timeout(self.timeout, self.worker.last if self.worker else None)
            self.remember_timeout(message)
            return "timeout", message
        if isinstance(e, AssertionError):
            return "fail", str(e)
        # The contract's statuses have no kit failure: it is an error, marked kit_error, and exits 3.
        return "error", messages.kit_error(e)

    @staticmethod
    def is_kit_error(excinfo):
        """Whether a test failed on the kit's side, not on anything the learner's code did."""
        known = (LearnerError, ProbeFailure, SameTimeout, AssertionError)
        return (
            excinfo is not None
            and not isinstance(excinfo.value, known)
            and not (isinstance(excinfo.value, Failed) and str(excinfo.value).startswith(TIMED_OUT))
        )

    def remember_timeout(self, message):
        """Later calls like the one that timed out fail at once with the same message."""
        if self.pending:
            self.timeouts[self.pending] = message
        self.pending = None

    def pytest_collectreport(self, report):
        if report.failed:
            self.report.write(f"kit error: could not collect {report.nodeid}:\n{report.longreprtext}")

    def pytest_internalerror(self, excrepr, excinfo):
        self.report.write(f"kit error: {excinfo.typename}: {excinfo.value}")

    def pytest_sessionfinish(self, session, exitstatus):
        self.report.finish()
        for worker in self.workers.values():
            worker.close()
        path = self.config.getoption("kit_report")
        if path:
            self.report.save(path)
        if self.learner_run:
            checks = self.report.as_json()["checks"]
            history.record(self.impl, [ex for ex, c in checks.items() if c["earned"] == c["max"] == POINTS[ex]])
        everything = self.report.everything()
        if everything and exitstatus in (0, 1):
            earned, most = totals(everything)
            session.exitstatus = 0 if earned == most else 1
        if any(r.get("kit_error") for r in everything):
            session.exitstatus = 3


def restart(config):
    """Read the run's own settings again (--impl, the seed, --kit-report, --kit-fence), as a fresh
    run's configure reads them: for a judge forked after the collection with these options set
    (kit/instructor/pool.py). Collection reads none of them; it reads the timeout, which the
    judge keeps."""
    kit = config.pluginmanager.get_plugin("micrograd-kit")
    kit.__init__(config, kit.report.out)


def exercise_of_nodeid(nodeid):
    m = CHECK_FILE.match(nodeid.split("::")[0].rsplit("/", 1)[-1])
    return m and m[1]


# --- fixtures for the checks ---------------------------------------------------------------------


@pytest.fixture
def probe(request):
    """probe(name, **args): run a probe on the learner's code; returns its plain-data result."""
    kit = request.config.pluginmanager.get_plugin("micrograd-kit")
    return lambda name, **args: kit.call(name, args)


@pytest.fixture
def rng(request):
    """A random generator seeded by the kit's seed and the test's name: reproducible, independent."""
    import random

    kit = request.config.pluginmanager.get_plugin("micrograd-kit")
    return random.Random(f"{kit.seed}:{request.node.name}")
