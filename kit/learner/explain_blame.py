"""What the learner's numbers say about a graph of `kit explain`: whether it failed, and the first
node that goes wrong, walking back from the root, with the operation (or the walk) at fault.

Plain data only: the worker's report of one run (checks/worker/probes_explain.py) against float64
(checks/numerics.py).
"""

import re

from checks import numerics
from checks.judge import diagnose
from checks.predictions import BACKWARD_VARIANTS, backprop_predictions

GRAD_RTOL = 1e-7  # the learner's grads against float64 backpropagation (a different order costs ~1e-15)
STUB = re.compile(r"ex(\d\d): (\S+) - see (\S+)")  # a stub's message (kit/regions.py): "ex04: Value.backward - see ..."


def failure(graph, got):
    """How the learner's run of `graph` went wrong: the error's type, "numbers" (data or grads off
    float64's), or None when it went right."""
    if got["error"]:
        return got["error"]["type"]
    data, grads = numerics.evaluate(graph), numerics.backprop(graph)
    right = all(numerics.close(got["data"].get(n), data[n]) for n in data) and all(
        numerics.close(got["grad"].get(n), grads[n], GRAD_RTOL) for n in grads
    )
    if not right:
        return "numbers"
    found = structure(graph, got)
    return found and found["what"]


def structure(graph, got):
    """Where the graph the learner's Values make is not the graph, though every number is right: a
    node whose `_prev` leads to none of an input (backward() cannot reach it through that node), or
    nodes left out of the learner's topological order. A fault (see blame), or None."""
    ops, kids = {name: op for name, op, *_ in graph}, numerics.children(graph)
    reach = got.get("reach") or {}
    for name in reversed(list(ops)):
        cut = [kid for kid in dict.fromkeys(kids[name]) if name in reach and kid not in reach[name]]
        if cut:
            why = (
                f"{name} ({local_form(graph, name)}) does not lead back to {', '.join(cut)}: its _prev leaves "
                f"{'it' if len(cut) == 1 else 'them'} out, so backward() never reaches {', '.join(cut)} through {name}"
            )
            return fault(name, "children", name, why, "detached" if not reach[name] else None)
    order = got.get("order")
    if isinstance(order, list):
        needed = numerics.reachable(graph)
        missing = [name for name in reversed(list(ops)) if name in needed and name not in order]
        if missing:
            why = (
                f"topological_order(root) leaves out {', '.join(missing[:4])}{' and more' if len(missing) > 4 else ''}"
                ": every node the root depends on belongs in it, leaves and root included"
            )
            return fault(missing[0], "order", None, why, "topo-incomplete")
    return None


def parents(graph):
    """name -> the names of the nodes that use it, in reverse order (the order backprop reaches them)."""
    users = {name: [] for name, *_ in graph}
    for name, kids in reversed(list(numerics.children(graph).items())):
        for kid in dict.fromkeys(kids):
            users[kid].append(name)
    return users


def contribution(graph, parent, child, values, grads):
    """What parent's _backward adds to child.grad by the chain rule, in float64."""
    node = next(node for node in graph if node[0] == parent)
    op, args = node[1], node[2:]
    xs = [values[a] if isinstance(a, str) else float(a) for a in args]
    if op == "pow":
        xs[1] = args[1]
    local = numerics.LOCAL[op](xs, values[parent])
    return sum(d * grads[parent] for a, d in zip(args, local) if a == child)


def order_fault(graph, calls):
    """What is wrong with the order of backward()'s _backward calls, in words, or None."""
    ops = [name for name, op, *_ in graph if op != "leaf"]
    count = {n: calls.count(n) for n in ops}
    twice = [n for n in ops if count[n] > 1]
    if twice:
        return f"{twice[0]}._backward ran {count[twice[0]]} times: each node's _backward runs once"
    never = [n for n in ops if not count[n]]
    if never:
        return f"{never[0]}._backward never ran: every node of the graph has its _backward called"
    place = {n: calls.index(n) for n in ops}
    for child, users in parents(graph).items():
        for user in users:
            if child in place and place[child] < place[user]:
                return (
                    f"{child}._backward ran before {user}._backward, which adds to {child}.grad: walk the nodes "
                    "in reverse topological order, so that a node's grad is complete before its _backward runs"
                )
    return None


def fault(node, what, by, why, mistake=None):
    return {"node": node, "what": what, "by": by, "why": why, "mistake": mistake}


def stub_of(error):
    """The kit's stub an error came from, {"ex", "function", "doc"}, where learner code raised the
    NotImplementedError of a TODO left as it was (kit/regions.py); else None."""
    found = STUB.fullmatch(error["message"]) if error and error["type"] == "NotImplementedError" else None
    return found and {"ex": found[1], "function": found[2], "doc": found[3]}


def unwritten(stub, place):
    """'Value.backward is not written yet (its TODO(ex04), micrograd/engine.py, line 105; see docs/...)'."""
    where = f", {place}" if place else ""
    return f"{stub['function']} is not written yet (its TODO(ex{stub['ex']}){where}; see {stub['doc']})"


def errored(graph, got, node, place):
    """The fault of an error raised making `node` or in its _backward (node None: elsewhere in the
    walk); a stub's, said as such, with where its TODO is (`place(stub)`)."""
    error, stub = got["error"], stub_of(got["error"])
    said = unwritten(stub, place(stub)) if stub else None
    if node is None:
        why = said or f"backpropagation raised {error['type']}: {error['message']}"
        return {**fault(None, "error", None, why), "todo": stub}
    if error["where"][0] == "build":
        why = f"{node} ({local_form(graph, node)}) cannot be made: {said}" if stub else None
        why = why or f"making {node} ({local_form(graph, node)}) raised {error['type']}: {error['message']}"
    else:
        why = f"{node}._backward ({local_form(graph, node)}) stops at once: {said}" if stub else None
        why = why or f"{node}._backward raised {error['type']}: {error['message']}"
    return {**fault(node, "error", node, why), "todo": stub}


def first_wrong(found):
    """The sentence that says what `blame` found (None where nothing goes wrong)."""
    if found is None:
        return None
    if found["node"] is None:  # no node to single out: the walk raised before or after every _backward
        return f"{'Nothing was backpropagated' if found.get('todo') else 'No node to single out'}: {found['why']}."
    return f"First wrong: {found['node']}. {found['why']}."


def blame(graph, got, mode, place=lambda stub: None):
    """The first node that goes wrong and why: {"node" (None where no node can be singled out: a walk
    that raised), "what" ("data", "grad", "error", "start", and with every number right, "children"
    or "order"), "by" (the node whose operation is at fault, or None when the fault is not an
    operation's), "why" (a sentence), "mistake" (an id the numbers show, or None), and for an error,
    "todo": the kit's stub it came from (stub_of) or None}; None when nothing goes wrong. `place(stub)`:
    where in the learner's files that stub is, or None."""
    values, grads = numerics.evaluate(graph), numerics.backprop(graph)
    ops = {name: op for name, op, *_ in graph}
    for name in got["data"]:  # the nodes made (all of them, unless making one raised)
        if not numerics.close(got["data"][name], values[name]):
            why = (
                f"{name}'s data is {got['data'][name]}, expected {values[name]:.6g}: its {ops[name]} computes it wrong"
            )
            return fault(name, "data", name, why)
    error = got["error"]
    if error and error["where"][0] == "build":
        return errored(graph, got, error["where"][1], place)
    for name, g in got["initial"].items():
        if g != 0.0:
            why = f"{name}.grad was {g} before backpropagation began: every Value starts with grad 0.0"
            return fault(name, "start", None, why, "grad-not-zero")
    steps = got["steps"] or []
    if error:
        if steps and steps[-1][2] is None:  # the call that raised
            return errored(graph, got, steps[-1][0], place)
        if got.get("uncallable"):
            node = got["uncallable"][-1]
            why = f"{node}._backward is not a function, so calling it raised {error['type']}: {error['message']}"
            return fault(node, "error", None, why, "leaf-backward" if ops[node] == "leaf" else None)
        return errored(graph, got, None, place)
    wrong = [n for n in reversed(list(values)) if not numerics.close(got["grad"].get(n), grads[n], GRAD_RTOL)]
    if not wrong:
        return structure(graph, got)
    node = wrong[0]
    if node == numerics.root(graph):
        why = f"the root's grad is {got['grad'][node]}, expected 1.0: backward() starts with self.grad = 1.0"
        return fault(node, "grad", None, why, "root-grad-not-one" if got["grad"][node] == 0.0 else None)
    calls = [name for name, *_ in steps]
    if mode == "backward" and got["steps"] is not None and order_fault(graph, calls):
        return fault(node, "grad", None, order_fault(graph, calls))
    if got["steps"] is None:
        why = f"{node}.grad is {got['grad'][node]}, expected {grads[node]:.6g} (the kit could not follow the calls)"
        return fault(node, "grad", None, why)
    index = {n: i for i, n in enumerate(values)}
    for user in parents(graph)[node]:
        moves = [(b[index[node]], a[index[node]]) for name, b, a in steps if name == user and a is not None]
        added = sum(a - b for b, a in moves if numerics.is_number(a) and numerics.is_number(b))
        want = contribution(graph, user, node, values, grads)
        if not numerics.close(added, want, GRAD_RTOL):
            why = (
                f"{user}._backward ({local_form(graph, user)}, a {ops[user]}) added {added:.6g} to {node}.grad, "
                f"where the chain rule adds {want:.6g}"
            )
            return fault(node, "grad", user, why, diagnose_op(graph, got, ops[user]))
    return fault(node, "grad", None, f"{node}.grad changed outside every _backward call")


# What a mistake in one operation's _backward gives, as variant rules of numerics.backprop.
OP_VARIANTS = [
    ("assigns-grad", {"assign": True}),
    ("missing-out-grad", {"no_out_grad": True}),
    ("one-child-only", {"only": (0,)}),
    ("one-child-only", {"only": (1,)}),
]


def diagnose_op(graph, got, op):
    """The mistake id whose variant of `op` gives exactly the learner's grads, if only one does."""
    rules = [(m, {op: rule}) for m, rule in OP_VARIANTS if op in ("add", "mul", "sub", "div") or "only" not in rule]
    rules += [(m, v) for m, v in BACKWARD_VARIANTS.items() if op in v]
    predictions = backprop_predictions(graph, rules)
    return diagnose(got["grad"], predictions, want=numerics.backprop(graph))


def local_form(graph, name):
    """`name = a * b`, one operation deep ("name: a leaf" for a leaf)."""
    op, args = next((op, args) for n, op, *args in graph if n == name)
    if op == "leaf":
        return f"{name}: a leaf"
    shown = [a if isinstance(a, str) else f"{a:g}" for a in args]
    if op in numerics.SYMBOL:
        return f"{name} = {shown[0]} {numerics.SYMBOL[op]} {shown[1]}"
    return f"{name} = -{shown[0]}" if op == "neg" else f"{name} = {shown[0]}.{op}()"
