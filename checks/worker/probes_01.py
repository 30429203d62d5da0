"""Probes of exercise 01, numeric derivatives: derivative, central_derivative, partial_derivative."""

from .functions import FUNCTIONS, MULTI, watched
from .guard import learner, number, probe


@probe
def slope(func, fn, x, h=None):
    """Calls your numeric derivative of f at x (derivative or central_derivative)."""
    f = FUNCTIONS[fn][0]
    d = getattr(learner("derivatives"), func)
    return number(d(f, x) if h is None else d(f, x, h))


@probe
def partial(fn, args, i, h=None, as_tuple=False):
    """Calls derivatives.partial_derivative(f, args, i[, h])."""
    passed = tuple(args) if as_tuple else list(args)
    f, changed, calls = watched(MULTI[fn][0], passed)
    pd = learner("derivatives").partial_derivative
    value = pd(f, passed, i) if h is None else pd(f, passed, i, h)
    during = [number(a) for a in changed[0]] if changed else None
    after = [number(a) for a in passed]
    return {"value": number(value), "args_after": after, "args_during": during, "calls": len(calls)}
