"""The pytest plugin that turns checks/test_NN_*.py into graded exercises.

It picks the implementation to grade (`--impl DIR`, or `IMPL`; default exercises/), starts the
worker that runs its code, marks every test with its exercise (`exNN`) and points, applies a
per-test timeout through pytest-timeout, words every failure for a learner, and ends with
`check-NN: E/M points`. Run it as `python -m kit check NN`, or `pytest -p checks.plugin FILE`.
"""
import json
import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _pytest.outcomes import Failed

from checks import probes
from checks.client import ProbeFailure, Worker
from checks.gates import GATES
from checks.judge import LearnerError
from checks.manifest import EXERCISES, doc_path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 1
DEFAULT_TIMEOUT = 5.0
GATE_TIMEOUT = 10.0
OUT = None  # where the report goes; `python -m kit check` sets it and silences pytest's own output

HELP_IMPL = "the implementation to grade: a folder with the learner's tree (default: $IMPL or exercises/)"
HELP_SEED = "seed of every random input (default: $KIT_SEED or %d)" % DEFAULT_SEED
HELP_TIMEOUT = "seconds each test may take (default: $KIT_TIMEOUT or %g)" % DEFAULT_TIMEOUT
HELP_REPORT = "also write every test's result as JSON to this file"
HELP_CHECK_TIMEOUT = "seconds one whole check may take; its later tests then fail at once (default: none)"

CHECK_FILE = re.compile(r"^test_(\d\d)_\w+\.py$")
TODO = re.compile(r"\bex(\d\d)\b")


def pytest_addoption(parser):
    group = parser.getgroup("micrograd-kit", "micrograd-kit checks")
    group.addoption("--impl", default=None, help=HELP_IMPL)
    group.addoption("--kit-seed", type=int, default=None, help=HELP_SEED)
    group.addoption("--kit-timeout", type=float, default=None, help=HELP_TIMEOUT)
    group.addoption("--kit-report", default=None, help=HELP_REPORT)
    group.addoption("--kit-check-timeout", type=float, default=None, help=HELP_CHECK_TIMEOUT)


def pytest_configure(config):
    for ex, (_, title, _) in EXERCISES.items():
        config.addinivalue_line("markers", f"ex{ex}: a test of exercise {ex}, {title}")
    config.addinivalue_line("markers", "points(n): the points a test of a check is worth")
    if not config.pluginmanager.has_plugin("micrograd-kit"):
        config.pluginmanager.register(Kit(config, OUT or sys.stdout), "micrograd-kit")


def exercise_of(item):
    m = CHECK_FILE.match(item.path.name)
    return m and m[1]


def sentence(item):
    """test_mul_backward_sends_each_input -> 'mul backward sends each input'."""
    name = item.originalname if hasattr(item, "originalname") else item.name
    text = name.removeprefix("test_").replace("_", " ")
    param = item.name[len(name):]
    return text + (f" {param}" if param else "")


def settings(config):
    impl = config.getoption("impl") or os.environ.get("IMPL") or str(ROOT / "exercises")
    seed = config.getoption("kit_seed")
    seed = seed if seed is not None else int(os.environ.get("KIT_SEED", DEFAULT_SEED))
    timeout = config.getoption("kit_timeout") or float(os.environ.get("KIT_TIMEOUT", DEFAULT_TIMEOUT))
    return Path(impl), seed, timeout


class Kit:
    def __init__(self, config, out):
        self.config = config
        self.out = out
        self.impl, self.seed, self.timeout = settings(config)
        self.check_timeout = config.getoption("kit_check_timeout")
        # How the grader isolates learner code (kit/sandbox.py); absent for a learner at a laptop.
        self.sandbox = json.loads(os.environ.get("KIT_SANDBOX") or "{}")
        self.check_started = time.monotonic()
        self.hung = set()  # learner modules whose import never finished: not waited for again
        self.gates = {}  # exercise -> whether its gate is open
        self.worker = None
        self.results = {}  # ex -> [result dict]
        self.declared = {}  # ex -> MAX_POINTS of its file
        self.current = None  # the check being reported
        self.printed = ""  # what the learner's code printed during the current test

    # --- output ---------------------------------------------------------------------------

    def write(self, text=""):
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except BrokenPipeError:  # the reader left (`| head`): stop writing, keep grading
            self.out = open(os.devnull, "w")

    # --- collection -----------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        # Runs before -k/-m deselect anything, so every declared maximum is checked in full.
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
            self.declared[ex] = getattr(item.module, "MAX_POINTS", None)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(self.timeout, method="signal"))
        for ex, total in sums.items():
            if total != self.declared[ex]:
                raise pytest.UsageError(
                    f"kit error: check-{ex} declares MAX_POINTS = {self.declared[ex]} "
                    f"but its tests carry {total} points")

    # --- the probe call -------------------------------------------------------------------

    def call(self, probe, args, timeout=None):
        if self.worker is None:
            if not (self.impl / "micrograd").is_dir() and not (self.impl / "derivatives.py").is_file():
                raise ProbeFailure(probe, "no tree", f"{self.impl} does not hold the learner's tree "
                                   "(derivatives.py, micrograd/, train.py)")
            # An import that hangs is cut short well within the test's own timeout.
            self.worker = Worker(self.impl, {"import_timeout": max(1, int(self.timeout / 2)), **self.sandbox})
        if self.check_timeout and time.monotonic() - self.check_started > self.check_timeout:
            raise ProbeFailure(probe, "check time limit", f"check-{self.current} used up its "
                               f"{self.check_timeout:g} s before this test")
        reply = self.worker.call(probe, args, timeout=timeout, hung=self.hung)
        self.printed += reply.get("printed", "")
        if "error" in reply:
            if isinstance(reply["error"], dict) and reply["error"].get("type") == "ImportTimeout":
                self.hung.add(str(reply["error"].get("module")))
            raise LearnerError(probe, reply["error"] if isinstance(reply["error"], dict) else {})
        return reply["ok"]

    # --- the run --------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid, location):
        ex = exercise_of_nodeid(nodeid)
        if ex is not None and ex != self.current:
            self.finish_check()
            self.start_check(ex)
        self.printed = ""
        if self.worker is not None:
            self.worker.last = None

    def start_check(self, ex):
        self.current = ex
        self.check_started = time.monotonic()
        self.results.setdefault(ex, [])
        slug, title, builds_on = EXERCISES[ex]
        try:
            shown = self.impl.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            shown = self.impl
        self.write(f"check-{ex} · {title}")
        self.write(f"grading {shown}/ with seed {self.seed} · lesson: {doc_path(ex)}")
        missing = [dep for dep in builds_on if not self.gates.get(dep, True)]
        if missing:
            first = ", ".join(f"check-{d}" for d in missing)
            verb = "is" if len(missing) == 1 else "are"
            self.write(f"! check-{ex} builds on {span(builds_on)}; {first} {verb} not passing yet. "
                       f"Finish {'it' if len(missing) == 1 else 'them'} first "
                       f"(make check-{missing[0]}): failures below may come from there.")
        self.write()
        self.check_started = time.monotonic()  # the gates' time is not the check's

    def pytest_runtestloop(self, session):
        # The gates of everything these checks build on, looked at once, before any test (and so
        # outside every test's timeout).
        wanted = {exercise_of(item) for item in session.items} - {None}
        for dep in sorted({d for ex in wanted for d in EXERCISES[ex][2]}):
            self.gates[dep] = self.gate(dep)

    def gate(self, ex):
        """A quick look at whether exercise `ex` works, through its gate probes."""
        def call(probe, **args):
            return self.call(probe, args, timeout=min(GATE_TIMEOUT, self.timeout))
        try:
            return bool(GATES[ex](call))
        except (LearnerError, ProbeFailure, AssertionError, KeyError, TypeError, ValueError):
            return False

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        ex = exercise_of(item)
        if ex is None or not (report.when == "call" or (report.failed and report.when == "setup")):
            return
        status, message = self.classify(call.excinfo)
        if status != "pass" and self.printed.strip():
            message += "\nYour code printed:\n" + textwrap.indent(tail(self.printed), "  | ")
        got = item.get_closest_marker("points").args[0] if status == "pass" else 0
        report.kit = {"check": ex, "test": sentence(item), "nodeid": item.nodeid, "status": status,
                      "points": got, "max": item.get_closest_marker("points").args[0], "message": message}

    def pytest_runtest_logreport(self, report):
        result = getattr(report, "kit", None)
        if result is None:
            return
        self.results.setdefault(result["check"], []).append(result)
        label = {"pass": "PASS", "todo": "TODO"}.get(result["status"], "FAIL")
        self.write(f"  {label}  {result['points']}/{result['max']}  {result['test']}")
        if result["message"]:
            self.write(textwrap.indent(result["message"], " " * 13))

    def classify(self, excinfo):
        """(status, message for the learner) for a test's outcome."""
        if excinfo is None:
            return "pass", ""
        e = excinfo.value
        if isinstance(e, LearnerError):
            return learner_error(e)
        if isinstance(e, ProbeFailure):
            return probe_failure(e)
        if isinstance(e, Failed) and str(e).startswith("Timeout"):
            probe = self.worker.last if self.worker else None
            doc = f" while the check {describe(probe)}" if probe else ""
            return "timeout", (f"Took longer than {self.timeout:g} s{doc}. Look for an endless loop, "
                               "or for work that grows exponentially with the size of the graph "
                               "(each node must be visited once: keep a set of visited nodes).")
        if isinstance(e, AssertionError):
            return "fail", str(e)
        return "kit-error", (f"The kit itself failed here ({type(e).__name__}: {e}). This is not your "
                             "fault; please report it with this message.")

    def finish_check(self):
        if self.current is None:
            return
        earned, most = totals(self.results[self.current])
        self.write()
        self.write(f"check-{self.current}: {earned}/{most} points")
        self.current = None

    def pytest_collectreport(self, report):
        if report.failed:
            self.write(f"kit error: could not collect {report.nodeid}:\n{report.longreprtext}")

    def pytest_internalerror(self, excrepr, excinfo):
        self.write(f"kit error: {excinfo.typename}: {excinfo.value}")

    def pytest_sessionfinish(self, session, exitstatus):
        if len(self.results) > 1:
            self.finish_check()
            self.write()
            self.write("check     points")
            for ex, results in sorted(self.results.items()):
                earned, most = totals(results)
                self.write(f"check-{ex}  {earned}/{most}")
            earned, most = totals([r for rs in self.results.values() for r in rs])
            self.write(f"total: {earned}/{most} points")
        else:
            self.finish_check()
        if self.worker is not None:
            self.worker.close()
        everything = [r for rs in self.results.values() for r in rs]
        report = self.config.getoption("kit_report")
        if report:
            Path(report).write_text(json.dumps({
                "impl": str(self.impl), "seed": self.seed,
                "checks": {ex: dict(zip(("earned", "max"), totals(rs))) for ex, rs in self.results.items()},
                "tests": everything,
            }, indent=1))
        if everything and exitstatus in (0, 1):
            earned, most = totals(everything)
            session.exitstatus = 0 if earned == most else 1
        if any(r["status"] == "kit-error" for r in everything):
            session.exitstatus = 3


def exercise_of_nodeid(nodeid):
    m = CHECK_FILE.match(nodeid.split("::")[0].rsplit("/", 1)[-1])
    return m and m[1]


def totals(results):
    return sum(r["points"] for r in results), sum(r["max"] for r in results)


def span(exs):
    exs = list(exs)
    contiguous = [int(x) for x in exs] == list(range(int(exs[0]), int(exs[-1]) + 1))
    return f"{exs[0]}-{exs[-1]}" if contiguous and len(exs) > 2 else ", ".join(exs)


def tail(text, lines=12):
    rows = text.rstrip().splitlines()
    return "\n".join((["..."] if len(rows) > lines else []) + rows[-lines:])


def describe(probe):
    """The first line of a probe's docstring, as a clause: 'calls derivatives.derivative(f, x)'."""
    fn = probes.PROBES.get(probe)
    doc = (fn.__doc__ or probe).strip().split("\n\n")[0].replace("\n", " ") if fn else str(probe)
    doc = re.sub(r"\s+", " ", doc).rstrip(".")
    return doc[0].lower() + doc[1:]


def location(where):
    if not where:
        return ""
    text = f"{where['file']}, line {where['line']}"
    if where.get("function") and where["function"] != "<module>":
        text += f", in {where['function']}"
    if where.get("code"):
        text += f":\n    {where['code']}"
    return text


HINTS = {
    "RecursionError": "Recursion went too deep: walk the graph with a loop and a stack (or a list) "
                      "instead of a recursive function.",
    "OverflowError": "A number got too large for a float: math.exp of a large input overflows; "
                     "use a formula that stays finite (math.tanh, for one).",
    "ZeroDivisionError": "Something divided by zero: is h (or 2*h) in the right place?",
    "SyntaxError": "Python could not read the file: fix the syntax at the line shown.",
    "IndentationError": "Python could not read the file: fix the indentation at the line shown.",
    "WrongImport": "The kit grades the files in your implementation folder, and could not find them there.",
    "MemoryError": "Your code ran out of memory: is something growing without end?",
}


def learner_error(e):
    err, probe = e.error, e.probe
    kind, message, where = err.get("type", "?"), err.get("message", ""), err.get("where")
    if kind == "NotImplementedError":
        m = TODO.search(message)
        todo = f"TODO(ex{m[1]})" if m else "a TODO"
        place = f" in {where['file']} ({where['function']})" if where else ""
        return "todo", f"not done yet: {todo}{place}."
    if kind == "ImportTimeout":
        return "timeout", f"{message}\n  last seen at {location(where)}" if where else message
    if kind == "SystemExit":
        return "crash", (f"Your code called {message} while the check {describe(probe)}: "
                         f"remove the exit.\n{location(where)}".rstrip())
    text = f"While the check {describe(probe)}, your code raised {kind}: {message}"
    if where:
        text += f"\n  at {location(where)}"
    if kind in HINTS:
        text += "\n" + HINTS[kind]
    elif "unsupported operand" in message and "Value" in message:
        text += ("\nA plain number met a Value on the side your class does not handle yet: "
                 "see __radd__, __rmul__, __rsub__ and __rtruediv__ (exercise 05).")
    return "error", text


def probe_failure(e):
    if e.kind == "crash":
        cause = ("It looks like a crash of Python itself, often from recursion far too deep."
                 if "SIG" in e.detail else "Does your code call os._exit() or exit the process?")
        text = f"Your code ended the Python process ({e.detail}) while the check {describe(e.probe)}. {cause}"
        if e.where:
            text += f"\n  last seen at {location(e.where)}"
        return "crash", text
    if e.kind == "timeout":
        return "timeout", f"No answer while the check {describe(e.probe)} ({e.detail})."
    if e.kind == "check time limit":
        return "timeout", f"Not run: {e.detail}."
    return "error", f"The check could not read a result while it {describe(e.probe)}: {e.kind}: {e.detail}."


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
