"""The pytest plugin that turns checks/test_NN_*.py into graded exercises: it marks every test with
its exercise (`exNN`), points and timeout, looks through the gates at what each check builds on,
words every outcome for a learner, and ends with `check-NN: E/M points`. Run it as
`python -m kit check NN`, or `pytest -p checks.plugin FILE`. Its options: checks/options.py; the
probe calls and their worker: checks/calls.py."""

import sys
from pathlib import Path

import pytest

from checks import gates, history, messages, outcome
from checks.calls import Calls, todo_left
from checks.gates import GATE_TIMEOUT, Looks
from checks.options import add_options, exercise_of, exercise_of_nodeid, sentence, settings
from checks.process import Fence
from checks.report import Report, totals
from kit.exercises import EXERCISES, POINTS

# Where the report goes (default: stdout): `python -m kit check` sets it, and silences pytest's own output.
OUT = pytest.StashKey()
KIT = pytest.StashKey()  # the run's Kit


def pytest_addoption(parser):
    add_options(parser)


def pytest_configure(config):
    for ex in EXERCISES.values():
        config.addinivalue_line("markers", f"ex{ex.id}: a test of exercise {ex.id}, {ex.title}")
    config.addinivalue_line("markers", "points(n): the points a test of a check is worth")
    if KIT not in config.stash:
        config.stash[KIT] = Kit(config, config.stash.get(OUT, sys.stdout))
        config.pluginmanager.register(config.stash[KIT], "micrograd-kit")


class Output:
    """Sends the report to `stream`: registered beside the kit's plugin by kit/runner.py."""

    def __init__(self, stream):
        self.stream = stream

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config):
        config.stash[OUT] = self.stream


class Kit:
    def __init__(self, config, out):
        self.config = config
        self.impl, self.seed, self.timeout = settings(config)
        self.report = Report(out, self.impl, self.seed)
        # How the grader fences in learner code; absent for a learner at a laptop.
        fence = config.getoption("kit_fence")
        # A learner's own runs remember which checks passed, for "no longer passes"; a grader's do not.
        self.learner_run = fence is None
        fenced, check_timeout = Fence.load(fence) if fence else Fence(), config.getoption("kit_check_timeout")
        self.calls = Calls(self.impl, fenced, self.timeout, check_timeout, ahead=self.learner_run)
        # The workers the run will likely call on, started while pytest collects: guessed from the
        # TODOs left in the learner's files (a wrong guess costs a start, never a verdict). A run that
        # stops at the first check not at full marks (watch mode) gets no further than the first left.
        todo, checks = todo_left(self.impl), sorted({exercise_of_nodeid(str(a)) for a in config.args} - {None})
        last = min(todo & set(checks), default=None) if config.getoption("kit_until_unfinished") else None
        self.looks = Looks(self.calls, self.report.review, min(GATE_TIMEOUT, self.timeout), last, todo)
        self.looks.prepare(checks)
        self.passed_before = history.passed(self.impl) if self.learner_run else set()
        self.stopped = None  # why the rest of the run is passed over (--kit-until-unfinished)
        self.interrupted = False  # Ctrl-C (SIGINT), or a grader's judge out of time

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
        for ex, total in sums.items():
            if total != POINTS[ex]:
                raise pytest.UsageError(
                    f"kit error: check-{ex} is worth {POINTS[ex]} points (kit/exercises.py) "
                    f"but its tests carry {total} points"
                )
        gates.warm(sums)  # in a grader's judge server: once, before the judges fork

    # --- the run --------------------------------------------------------------------------

    def pytest_runtestloop(self, session):
        self.looks.wanted = sorted({exercise_of(item) for item in session.items} - {None})

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
            self.looks.before(ex)
            base, _, banner = outcome.start(ex, self.looks, self.passed_before)
            self.report.start_check(ex, banner, base.kit)
            self.calls.new_check(ex, base)
            self.looks.prepare()
        self.calls.new_test()

    def pytest_runtest_setup(self, item):
        self.calls.title = sentence(item)  # what a later call of a function that hung here names

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        made = yield
        report = made.get_result()
        ex = exercise_of(item)
        if ex is None or not (report.when == "call" or (report.failed and report.when == "setup")):
            return
        e = call.excinfo.value if call.excinfo else None
        status, message = outcome.classify(e, self.timeout, self.calls)
        if status != "timeout" and call.duration > self.timeout:  # the kit's own side of a test, never interrupted
            status, message = "timeout", messages.timeout(self.timeout, None)
        foundation, mistake = outcome.carried(ex, e, status, self.looks.gates, self.calls.base)
        tampered = self.calls.tampered
        if tampered:  # whatever the test made of it: tampering earns nothing and is shown to a person
            status, message, mistake = "error", messages.verdict(messages.tampered(tampered)), None
            for reason in tampered:
                self.report.review.append({"check": ex, "test": sentence(item), "reason": reason})
        elif status != "pass":
            message = messages.verdict(message, foundation, self.calls.printed)
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
        if outcome.is_kit_error(e) and not tampered:
            report.kit["kit_error"] = True

    def pytest_runtest_logreport(self, report):
        result = getattr(report, "kit", None)
        if result is not None:
            self.report.add(result)

    def pytest_collectreport(self, report):
        if report.failed:
            self.report.write(f"kit error: could not collect {report.nodeid}:\n{report.longreprtext}")

    def pytest_keyboard_interrupt(self, excinfo):
        # pytest's own Interrupted (a subclass: errors during collection) is no Ctrl-C.
        self.interrupted = excinfo.type is KeyboardInterrupt

    def pytest_internalerror(self, excrepr, excinfo):
        self.report.write(f"kit error: {excinfo.typename}: {excinfo.value}")

    def pytest_sessionfinish(self, session, exitstatus):
        if not self.interrupted:  # an interrupted check has no score line
            self.report.finish()
        self.calls.close()
        path = self.config.getoption("kit_report")
        if path and self.interrupted and self.learner_run:
            # An outside tool must never read an interrupted run's report as a grade: none is left.
            Path(path).unlink(missing_ok=True)
        elif path:
            # A grader's judge interrupted when the student's time ran out reports the tests it
            # finished, and says so: the grader scores the rest 0 (kit/instructor/score.py).
            self.report.save(path, interrupted=self.interrupted)
        if self.learner_run:
            checks = self.report.as_json()["checks"]
            history.record(self.impl, [ex for ex, c in checks.items() if c["earned"] == c["max"] == POINTS[ex]])
        everything = self.report.everything()
        if everything and exitstatus in (0, 1):
            earned, most = totals(everything)
            session.exitstatus = 0 if earned == most else 1
        if any(r.get("kit_error") for r in everything):
            session.exitstatus = 3
        if self.interrupted:
            session.exitstatus = 130


def restart(config):
    """Read the run's own settings again (--impl, the seed, --kit-report, --kit-fence), as a fresh
    run's configure reads them: for a judge forked after the collection with these options set
    (kit/instructor/pool.py). Collection reads none of them; it reads the timeout, which the
    judge keeps."""
    kit = config.stash[KIT]
    kit.__init__(config, kit.report.out)


# --- fixtures for the checks ---------------------------------------------------------------------


@pytest.fixture
def probe(request):
    """probe(name, **args): run a probe on the learner's code; returns its plain-data result."""
    kit = request.config.stash[KIT]
    return lambda name, **args: kit.calls.call(name, args)


@pytest.fixture
def rng(request):
    """A random generator seeded by the kit's seed and the test's name: reproducible, independent."""
    import random

    kit = request.config.stash[KIT]
    return random.Random(f"{kit.seed}:{request.node.name}")
