"""What the checks use to judge plain data and to word their verdicts for a learner."""

import math

import pytest

from checks import numerics
from checks.mistakes import MISTAKES, advice

points = pytest.mark.points


class Wrong(AssertionError):
    """A check's verdict: the message is written for the learner; `mistake` is the id the check
    diagnosed (checks/mistakes.py), or None when it cannot tell."""

    def __init__(self, message, mistake=None):
        super().__init__(message)
        if mistake is not None and mistake not in MISTAKES:
            raise KeyError(f"no mistake {mistake!r} in checks/mistakes.py")
        self.mistake = mistake


class LearnerError(Exception):
    """The learner's code raised while a probe ran; `error` is the worker's plain-data record."""

    def __init__(self, probe, error):
        super().__init__(f"{probe}: {error.get('type')}: {error.get('message')}")
        self.probe, self.error = probe, error
        self.mistake = None  # a test that knows what this error means sets it, then re-raises


def fmt(x):
    """A number as a learner would write it, a list as a list of such numbers; anything else as it is."""
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in x) + "]"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


LONG, PARTS_SHOWN = 300, 3  # characters of an expression shown whole; parts of a longer sum shown


def with_leaves(graph, about=()):
    """A graph's expression and its leaves' values, for messages: "(x + y) * x with x = 0.5, y = -2.0".
    Of a long sum (check-05's core graph), only the parts that use the leaves `about`."""
    text, shown = numerics.expression(graph), graph
    parts = summands(graph) if about and len(text) > LONG else []
    used = [p for p in parts if set(about) & numerics.reachable(graph, p)]
    if 0 < len(used) < len(parts):
        text = " + ".join(f"({numerics.expression(graph, p)})" for p in used[:PARTS_SHOWN])
        text += f" + ... ({len(used)} of a sum of {len(parts)} parts"
        text += f", {PARTS_SHOWN} shown" if len(used) > PARTS_SHOWN else ""
        uses = f"do not use {about[0]}" if len(about) == 1 else f"use none of {', '.join(about)}"
        text += f"; the other {len(parts) - len(used)} {uses})"
        kept = set().union(*(numerics.reachable(graph, p) for p in used[:PARTS_SHOWN]))
        shown = [row for row in graph if row[0] in kept]
    leaves = ", ".join(f"{n} = {fmt(a[0])}" for n, op, *a in shown if op == "leaf")
    return f"{text} with {leaves}"


def summands(graph):
    """The parts of a graph whose root is a sum of Values (a + b + c ...), in order; else [root]."""
    nodes = {n: (op, args) for n, op, *args in graph}
    parts, stack = [], [numerics.root(graph)]
    while stack:
        name = stack.pop()
        op, args = nodes[name]
        if op == "add" and all(isinstance(a, str) for a in args):
            stack.extend(reversed(args))
        else:
            parts.append(name)
    return parts


def apart(got, want):
    """fmt(got), fmt(want), with as many digits as it takes to tell two different numbers apart: never
    "gave 2.12351, expected 2.12351"."""
    a, b = fmt(got), fmt(want)
    if a == b and numerics.is_number(got) and numerics.is_number(want) and got != want:
        for digits in range(7, 18):
            a, b = f"{got:.{digits}g}", f"{want:.{digits}g}"
            if a != b:
                break
    return a, b


def wrong(message, mistake=None):
    raise Wrong(message, mistake)


def expect(condition, message, mistake=None):
    """Fail with `message` unless condition; a named mistake adds its advice, unless already said."""
    if not condition:
        if mistake and advice(mistake) not in message:
            message = f"{message} {advice(mistake)}"
        raise Wrong(message, mistake)


def blame(facts, mistake, otherwise=""):
    """Fail with the facts, then the diagnosed mistake's advice (or `otherwise`, which names none)."""
    wrong(f"{facts} {advice(mistake) if mistake else otherwise}".rstrip(), mistake)


def expect_number(got, what):
    """`got`: a number, or the worker's word for what came instead ("<NoneType>": None)."""
    if got == "<NoneType>":
        wrong(f"{what} gave None, expected a number (int or float): is a return missing?")
    if not numerics.is_number(got):
        wrong(f"{what} gave {got}, expected a number (int or float).")


def expect_close(got, want, what, rtol=numerics.VALUE_RTOL, predictions=None, otherwise=""):
    """Fail with `what gave GOT, expected WANT.` unless got is within rtol of want; then name the
    mistake of `predictions` ({id: the value that mistake gives}) that got matches, if exactly one
    does, or say `otherwise` (which names no mistake)."""
    expect_number(got, what)
    if not numerics.close(got, want, rtol):
        shown, wanted = apart(got, want)
        blame(f"{what} gave {shown}, expected {wanted}.", diagnose(got, predictions or {}), otherwise)


def matches(got, want, rtol):
    """Whether got matches a prediction: a number, or a list or dict of numbers, element by element."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(matches(got.get(k), v, rtol) for k, v in want.items())
    if isinstance(want, (list, tuple)):
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(want)
            and all(map(matches, got, want, [rtol] * len(want)))
        )
    return numerics.is_number(got) and numerics.close(got, want, rtol)


def diagnose(got, predictions, rtol=1e-7, want=None):
    """The id of the one mistake whose prediction `got` matches, or None.

    `predictions` maps an id to what code with that mistake returns on the test's inputs (or is a
    list of (id, value) pairs, when one mistake has several forms). When
    predictions of different ids match (or one also matches the right answer `want`), the data
    cannot tell them apart, and nothing is named. The id None stands for slips outside the
    catalogue: it names nothing itself, and a mistake that predicts the same is not named either.
    """
    pairs = list(predictions.items() if isinstance(predictions, dict) else predictions)
    hits = [(m, value) for m, value in pairs if value is not None and matches(got, value, rtol)]
    if len({m for m, _ in hits}) != 1 or (want is not None and any(matches(v, want, rtol) for _, v in hits)):
        return None
    return hits[0][0]


def expect_grads(got, want, what, rtol=numerics.GRAD_RTOL, predictions=None, mistake=None, otherwise=None):
    """Compare gradients by name and name every wrong one; then the mistake whose predicted grads
    ({id: {name: grad}}) match all of them, or `mistake` when the test knows it already. `what`: the
    words before the wrong ones, or a function that gives them for the wrong names."""
    bad = [name for name in want if not numerics.close(got.get(name), want[name], rtol)]
    if not bad:
        return
    what = what(bad) if callable(what) else what
    lines = [f"{what}: wrong gradient for {', '.join(bad)}."]
    for name in bad:
        shown, wanted = apart(got.get(name), want[name])
        lines.append(f"  {name}.grad is {shown}, expected {wanted}")
    found = mistake or diagnose({k: got.get(k) for k in want}, predictions or {}, want=want)
    if any(got.get(name) == "<Value>" for name in bad):
        found = "value-in-grad"  # decisive: a grad that is a Value was made by multiplying by one
    text = advice(found) if found else otherwise
    wrong("\n".join(lines + ([text] if text else [])), found)
