"""A check's run as `kit explain` repeats it, so that explain fails where the check fails and passes
where it passes: the gates of the exercises the check builds on (checks/gates.py), the base the check
then runs on (checks/base/: the kit's + and *, or its engine.py, where one of them does not work
yet), the banner that says so, and the check's tests in order on that base, through the check's own
probe calls (checks/calls.py), at its seed and with its time per test, each failure worded as
checks/plugin.py words it (checks/outcome.py, which both use).
"""

import inspect
import random
from pathlib import Path

from checks import history, messages, outcome
from checks.base import describe
from checks.calls import Calls, todo_left
from checks.client import ProbeFailure
from checks.gates import GATE_TIMEOUT, Looks
from checks.judge import LearnerError
from checks.process import Fence
from kit.exercises import check_file

TIMEOUT = 10.0  # seconds one probe of explain's own (a graph rebuilt, the shrink's candidates) may take


def check_tests(ex):
    """The test functions of check `ex`, in the order the file defines them (pytest's order)."""
    name = Path(check_file(ex)).stem
    module = __import__(f"checks.{name}", fromlist=["_"])
    return [fn for key, fn in vars(module).items() if key.startswith("test_") and inspect.isfunction(fn)]


def title(fn):
    doc = (fn.__doc__ or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else fn.__name__.removeprefix("test_").replace("_", " ")


class Session:
    """The probe calls of one check's run on the learner's tree: its gates first, then its tests and
    explain's own probes, on the base the check runs on (`base`: checks.base.OWN for the learner's
    own code). `missing`: the exercises the check builds on whose gates are closed -> (mistake id
    or None, what is wrong); `banner`: what the check prints before its tests, or None."""

    def __init__(self, impl, ex, timeout):
        self.ex, self.timeout = ex, timeout
        self.calls = Calls(Path(impl), Fence(), timeout, ahead=True)
        try:
            self.looks = Looks(self.calls, [], min(GATE_TIMEOUT, timeout), guess=todo_left(Path(impl)))
            self.looks.wanted = [ex]
            self.looks.prepare([ex])
            self.looks.before(ex)
            self.base, self.missing, self.banner = outcome.start(ex, self.looks, history.passed(impl))
            self.calls.new_check(ex, self.base)
        except BaseException:
            self.calls.close()
            raise

    @property
    def on(self):
        """The kit's code the check runs on, in words ("the kit's + and *"), or None: the learner's own."""
        return describe(self.base) if self.base else None

    def elsewhere(self):
        """The exercise where what the check stands in for fails: the first whose gate is closed, or
        05 where the check runs with the kit's line that wraps plain numbers; None."""
        if self.missing:
            return min(self.missing)
        return "05" if "05" in self.base.patch else None

    def call(self, name, **args):
        """One probe of explain's own, on the check's base, with a time of its own."""
        return self.calls.call(name, args, timeout=TIMEOUT)

    def close(self):
        self.calls.close()

    def failing_tests(self, seed, graph_of):
        """((test title, the graphs it probed, the one whose probe raised or None, the check's message,
        its mistake id, its status), whether its graphs are all of _backward calls by hand) of each test of the
        check that fails, in order; `graph_of(name, args)`: the graph a probe call stands for, and
        whether it is one of a _backward called by hand, or (None, False)."""
        for fn in check_tests(self.ex):
            seen, raised, hand = [], [], []

            def probe(name, **args):
                graph, by_hand = graph_of(name, args)
                if graph is not None:
                    seen.append(graph)
                    hand.append(by_hand)
                try:
                    return self.calls.call(name, args)
                except (LearnerError, ProbeFailure):
                    if graph is not None:
                        raised.append(graph)
                    raise

            wanted = inspect.signature(fn).parameters
            kwargs = {"probe": probe, "rng": random.Random(f"{seed}:{fn.__name__}")}
            if not set(wanted) <= set(kwargs):
                continue  # a test of other fixtures is not one of probes
            self.calls.new_test()
            self.calls.title = title(fn)
            try:
                fn(**{k: v for k, v in kwargs.items() if k in wanted})
            except Exception as e:  # noqa: BLE001 - any failure of the test is what is looked for
                yield (title(fn), seen, raised[0] if raised else None, *self.worded(e)), all(hand)
            else:
                if self.calls.tampered:  # the check scores it 0, whatever the test made of it
                    yield (title(fn), seen, None, *self.worded(None)), all(hand)

    def worded(self, e):
        """(the check's words for a test's failure `e`, the mistake id it names, its status: "fail",
        "todo", ...), as checks/plugin.py has them: its status's wording, the broken foundation first
        where nothing stood in for it, then what the learner's code printed."""
        status, text = outcome.classify(e, self.timeout, self.calls)
        if self.calls.tampered:
            return messages.verdict(messages.tampered(self.calls.tampered)), None, "error"
        foundation, mistake = outcome.carried(self.ex, e, status, self.looks.gates, self.base)
        return messages.verdict(text, foundation, self.calls.printed), mistake, status
