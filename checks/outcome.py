"""What a check's test came to, as the plugin reports it and `kit explain` repeats it: the banner of a
check that builds on a broken exercise, a test's status and words (classify), and the broken
foundation named first with the mistake id it carries (carried)."""

from checks import messages
from checks.base import base_for
from checks.calls import SameTimeout, still_running
from checks.client import ProbeFailure
from checks.judge import LearnerError
from kit.exercises import EXERCISES

# 02's code: the qualified names of its functions (a _backward inside + or * is 03's, and not among them).
PLUS_AND_TIMES = frozenset({"Value.__init__", "Value.__add__", "Value.__mul__"})


def start(ex, looks, passed_before):
    """(the base check `ex` runs on, the exercises it builds on whose gates are closed -> (mistake id or
    None, what is wrong), the banner it prints first or None), once its gates have looked (looks.before)."""
    builds, gates = EXERCISES[ex].builds_on, looks.gates
    missing = {dep: gates[dep] for dep in builds if gates.get(dep)}
    base = base_for(ex, looks.closed(), looks.line or ())
    if missing:
        return base, missing, messages.builds_on(ex, builds, missing, passed_before, base)
    return base, missing, messages.unwrapped(ex) if base else None


def classify(e, timeout, calls):
    """(status, message for the learner) of a test that raised `e` (None: it passed); a timeout makes
    the later calls like it fail at once (calls.timed_out)."""
    if e is None:
        return "pass", ""
    if isinstance(e, LearnerError):
        return messages.learner_error(e, calls.check)
    if isinstance(e, SameTimeout):
        return "timeout", str(e)
    if isinstance(e, ProbeFailure) and e.kind == "took too long":  # the test's time, by the judge's clock
        message = messages.timeout(timeout, e.probe) + still_running(e.hung)
        calls.timed_out(message)
        return "timeout", message
    if isinstance(e, ProbeFailure):
        status, message = messages.probe_failure(e)
        if e.kind == "timeout":
            calls.timed_out(message)
        return status, message
    if isinstance(e, AssertionError):
        return "fail", str(e)
    # The contract's statuses have no kit failure: it is an error, marked kit_error, and exits 3.
    return "error", messages.kit_error(e)


def is_kit_error(e):
    """Whether a test failed on the kit's side, not on anything the learner's code did."""
    return e is not None and not isinstance(e, (LearnerError, ProbeFailure, SameTimeout, AssertionError))


def carried(ex, e, status, gates, base):
    """(the broken foundation to name first, (exercise, what is wrong), or None; the mistake id) of a test
    of check `ex` that raised `e` with `status`, given the gates and the base the check runs on."""
    mistake = getattr(e, "mistake", None) if status != "todo" else None
    closed = [(dep, gates[dep]) for dep in EXERCISES[ex].builds_on if gates.get(dep)]
    # 03 is judged at the values the learner's + and * gave
    own_fault = base or (ex == "03" and status == "fail")
    if status in ("pass", "todo") or not closed or own_fault:
        return None, mistake
    # A foundation is broken and nothing could stand in for it: say so first, and name it; 03's own
    # errors (a leaf's _backward of None) carry 02's id only where 02's code raised them.
    dep, (broken, why) = closed[0]
    return (dep, why), broken if ex != "03" or raised_in(e, PLUS_AND_TIMES) else mistake


def raised_in(e, functions):
    """Whether the learner's code raised `e` (or crashed or hung) inside one of `functions`."""
    if isinstance(e, LearnerError):
        where = e.error.get("where") or {}
    elif isinstance(e, ProbeFailure):
        where = e.hung or e.where or {}
    else:
        return False
    name = str(where.get("function")) if isinstance(where, dict) else ""
    return name in functions or name in {f.rpartition(".")[2] for f in functions}  # a crash's frame: no class
