"""Probes of exercise 04, topological order and backward()."""

import sys

from .graphs import build, describe, grads_of, names_of, record_calls, result_logger
from .guard import engine, number, probe

DEFAULT_LIMIT = 1000  # sys.getrecursionlimit() of a fresh CPython
set_limit, get_limit = sys.setrecursionlimit, sys.getrecursionlimit  # bound before learner code runs
# Learner code's sys.setrecursionlimit does nothing, wherever it is called (a function of theirs that
# raises the limit as it starts would carry a recursive walk through on 3.11+ and crash 3.10). Put in
# place before any learner code runs, so `from sys import setrecursionlimit` finds it too; compiled
# apart, on the learner's builtins: nothing of the worker's is reachable from it.
_IGNORED = {"__builtins__": sys.modules["builtins"], "__name__": "kit_recursion"}
exec(compile("def setrecursionlimit(limit, /):\n    pass\n", "<the kit's setrecursionlimit>", "exec"), _IGNORED)
sys.setrecursionlimit = _IGNORED["setrecursionlimit"]


@probe
def topo(graph):
    """Calls topological_order(root)."""
    eng = engine()
    nodes = build(graph, eng.Value)
    order = eng.topological_order(nodes[graph[-1][0]])
    names = names_of(nodes)
    return [describe(v, names) for v in order]


@probe
def backward(graph, names=None):
    """Builds the expression and calls root.backward()."""
    eng = engine()
    nodes = build(graph, eng.Value)
    try:  # the order backward() is meant to walk, to tell a wrong order from a wrong walk
        order = [describe(v, names_of(nodes)) for v in eng.topological_order(nodes[graph[-1][0]])]
    except Exception:  # noqa: BLE001 - a broken topological_order is the topological-order tests' to judge
        order = None
    calls = record_calls(nodes)
    nodes[graph[-1][0]].backward()
    return {"grads": grads_of(nodes, names or list(nodes)), "calls": calls, "order": order}


@probe
def backward_twice(graph):
    """Builds the expression and calls root.backward() twice, with no zero_grad between."""
    eng = engine()
    nodes = build(graph, eng.Value)
    nodes[graph[-1][0]].backward()
    first = grads_of(nodes, list(nodes))
    nodes[graph[-1][0]].backward()
    return {"first": first, "second": grads_of(nodes, list(nodes))}


@probe
def deep_chain(n):
    """Builds y = a + c + c + ... (n additions) and calls y.backward()."""
    eng = engine()
    # At Python's default limit whatever the learner's code sets: a recursive walk then fails on
    # every Python alike (3.11+ would carry a raised limit that far, 3.10 crashes well before).
    before = get_limit()
    set_limit(DEFAULT_LIMIT)
    try:
        # A TODO shows on a chain of one addition as on 100,000 (which takes a tenth of a second to
        # build): an unfinished tree is told at once.
        small = eng.Value(1.0) + eng.Value(0.5)
        eng.topological_order(small)
        small.backward()
        a, c = eng.Value(1.0), eng.Value(0.5)
        y = a
        for _ in range(n):
            y = y + c
        # The order is the one backward() walks where it calls topological_order(y) once: a second walk
        # of the 100,000 nodes took 25 ms of the probe's 177. Else it is asked for once backward is done.
        walks, walk = [], eng.topological_order
        eng.topological_order = result_logger(walks, "topological_order", walk)
        try:
            y.backward()
        finally:
            eng.topological_order = walk
        args, kwargs, order = walks[0] if len(walks) == 1 else ((), None, None)
        if not (len(args) == 1 and args[0] is y and not kwargs and type(order) is list):
            order = walk(y)
        first_is_leaf, last_is_root, length = order[0] in (a, c), order[-1] is y, len(order)
        del order, walks, args
    finally:
        set_limit(before)
    return {
        "a": number(a.grad),
        "c": number(c.grad),
        "data": number(y.data),
        "length": length,
        "first_is_leaf": first_is_leaf,
        "last_is_root": last_is_root,
    }
