"""What the checks use to judge plain data and to word their verdicts for a learner."""

import math

import pytest

from checks import numerics

points = pytest.mark.points


class Wrong(AssertionError):
    """A check's verdict: the message is written for the learner."""


class LearnerError(Exception):
    """The learner's code raised while a probe ran; `error` is the worker's plain-data record."""

    def __init__(self, probe, error):
        super().__init__(f"{probe}: {error.get('type')}: {error.get('message')}")
        self.probe, self.error = probe, error


def fmt(x):
    """A number as a learner would write it; anything else as it is."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


def fmt_all(values):
    return ", ".join(f"{k}={fmt(v)}" for k, v in values.items())


def wrong(message):
    raise Wrong(message)


def expect(condition, message):
    if not condition:
        raise Wrong(message)


def expect_number(got, what):
    if not numerics.is_number(got):
        wrong(f"{what} gave {got}, expected a number (int or float).")


def expect_close(got, want, what, rtol=numerics.VALUE_RTOL, cause=None):
    """Fail with `what gave GOT, expected WANT. CAUSE` unless got is within rtol of want."""
    expect_number(got, what)
    if not numerics.close(got, want, rtol):
        message = f"{what} gave {fmt(got)}, expected {fmt(want)}."
        if cause:
            message += " " + (cause(got) if callable(cause) else cause)
        wrong(message)


def diagnose(got, candidates, rtol=1e-6):
    """The sentence of the first candidate mistake whose value matches `got`, or None.

    `candidates` is a list of (value that mistake would give, sentence naming the mistake).
    """
    for value, sentence in candidates:
        if numerics.is_number(got) and numerics.close(got, value, rtol):
            return sentence
    return None


def expect_grads(got, want, what, rtol=numerics.GRAD_RTOL, causes=None):
    """Compare gradients by name; name every wrong one and, when it fits one, the likely cause."""
    bad = [name for name in want if not numerics.close(got.get(name), want[name], rtol)]
    if not bad:
        return
    lines = [f"{what}: wrong gradient for {', '.join(bad)}."]
    for name in bad:
        lines.append(f"  {name}.grad is {fmt(got.get(name))}, expected {fmt(want[name])}")
    cause = causes(got, bad) if causes else None
    lines.append(
        cause
        or "Check the local derivative of each operation and that every _backward adds "
        "(+=) local derivative times out.grad into its children."
    )
    wrong("\n".join(lines))
