"""Probes of `kit explain`: a check's graph rebuilt with the learner's Value, backpropagated, every
_backward call recorded with the grads it left.

The judge (kit/learner/explain.py) decides what is right; these only report what the learner's
code did, as plain data. Errors raised by learner code are caught here and reported by where they
happened (building a node, calling a _backward), so the judge can show the graph up to that point.
"""

from .graphs import build, closure, kit_backprop
from .guard import engine, number, probe

MODES = ("kit", "backward")  # who walks the graph: the kit's order (checks 03, 05), or root.backward() (04)
MESSAGE_LIMIT = 300  # characters of an error's message
REACH_LIMIT = 5000  # Values looked at through _prev from one node, at most


def _stepping(log, name, inner, values):
    def stepped():
        entry = [name, [v.grad for v in values], None]
        log.append(entry)  # before the call: a call that raises is still in the log, with no "after"
        result = inner()
        entry[2] = [v.grad for v in values]
        return result

    return stepped


# The wrapper learner code calls (backward() calls it, and may look at it): rebuilt on empty globals,
# as graphs.py does for its logged _backward, so nothing of the worker is reachable through it.
STEPPING = _stepping(None, None, None, None).__code__


def record_steps(nodes, uncallable):
    """Wrap each node's _backward so that each call logs [name, grads before, grads after]; the log,
    or None when the learner's Value does not let _backward be replaced. The names of nodes whose
    _backward is not callable go to `uncallable` (left as they are: calling one fails as it would)."""
    log, values = [], list(nodes.values())
    for name, v in nodes.items():
        inner = getattr(v, "_backward", None)
        if not callable(inner):
            uncallable.append(name)
            continue
        stepped = closure(STEPPING, "stepped", {"log": log, "name": name, "inner": inner, "values": values})
        try:
            v._backward = stepped
        except (AttributeError, TypeError):
            return None
    return log


def read_log(log):
    """The steps as plain data; None when the log is not all the wrapper's own entries (learner code
    can reach it through the wrapper's closure, and may have written into it)."""
    steps = []
    for entry in list(log):
        if type(entry) is not list or len(entry) != 3:
            return None
        name, before, after = entry
        if type(name) is not str or type(before) is not list or not (after is None or type(after) is list):
            return None
        steps.append([name, [number(g) for g in before], None if after is None else [number(g) for g in after]])
    return steps


def failure(where, e):
    """An error of learner code as plain data: where it happened, the exception's type and message."""
    try:
        message = str(e)
    except Exception:  # noqa: BLE001 - a learner's __str__ may raise anything
        message = "<the message could not be read>"
    return {"where": where, "type": type(e).__name__, "message": message[:MESSAGE_LIMIT]}


def reach(nodes):
    """name -> the names of the graph's nodes its `_prev` leads to, through Values of the learner's own
    making in between (a - b makes -b) but through no other node of the graph: each node's inputs as
    backward() finds them."""
    known, found = {id(v): n for n, v in nodes.items()}, {}
    for name, v in nodes.items():
        seen, stack, names = set(), _children(v), set()
        while stack and len(seen) < REACH_LIMIT:
            child = stack.pop()
            if id(child) in seen:
                continue
            seen.add(id(child))
            if id(child) in known:
                names.add(known[id(child)])
            else:
                stack.extend(_children(child))
        found[name] = sorted(names)
    return found


def _children(v):
    try:
        return list(getattr(v, "_prev", ()))[:REACH_LIMIT]
    except Exception:  # noqa: BLE001 - a _prev that is not a collection leads nowhere
        return []


def run_graph(graph, mode, steps):
    """Build `graph` with the learner's Value and backpropagate from its root; what happened, as plain
    data: each node's data, its grad before and after, the steps (when asked) and any error."""
    names = [name for name, *_ in graph]
    made = {}
    out = {"data": made, "initial": {}, "grad": {}, "error": None, "steps": None, "order": None, "reach": None}
    out["uncallable"] = []
    try:
        nodes = build(graph, engine().Value, made)
    except Exception as e:  # noqa: BLE001 - the learner's operation raised: the node it was making says where
        out["error"] = failure(["build", names[len(made)] if len(made) < len(names) else names[-1]], e)
        return out
    root = nodes[names[-1]]
    out["initial"] = {n: number(getattr(v, "grad", None)) for n, v in nodes.items()}
    out["reach"] = reach(nodes)
    if mode == "backward":
        try:  # the order the learner's backward() is meant to walk
            known = {id(v): n for n, v in nodes.items()}
            out["order"] = [known.get(id(v), "?") for v in engine().topological_order(root)]
        except Exception:  # noqa: BLE001, S110 - a broken topological_order shows in the steps instead
            pass
    log = record_steps(nodes, out["uncallable"]) if steps else None
    try:
        if mode == "backward":
            root.backward()
        else:
            kit_backprop(root, nodes, graph)
    except Exception as e:  # noqa: BLE001 - a _backward raised: the last step logged says after which call
        out["error"] = failure(["backward", None], e)
    out["grad"] = {n: number(getattr(v, "grad", None)) for n, v in nodes.items()}
    if log is not None:
        out["steps"] = read_log(log)
    return out


@probe
def explain_graph(graph, mode="kit"):
    """Builds the graph, backpropagates (the kit's order, or root.backward()) and logs every _backward call."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {MODES}")
    return run_graph(graph, mode, steps=True)


@probe
def explain_many(graphs, mode="kit"):
    """Builds and backpropagates each graph in turn (candidates of the shrink), without the steps."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {MODES}")
    return [run_graph(graph, mode, steps=False) for graph in graphs]
