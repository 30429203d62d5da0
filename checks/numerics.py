"""The checks' numerics: finite differences, closeness, and a float evaluator for graphs.

Everything here is plain float64 arithmetic on plain data. It never calls learner code, and no
check trusts the learner's own derivative functions from exercise 01.

A *graph* is a list of nodes `[name, op, *operands]`, the last one being the root:

    ["a", "leaf", 2.0]          a leaf Value holding 2.0
    ["e", "mul", "a", "b"]      e = a * b
    ["k", "sub", 1.0, "a"]      k = 1.0 - a   (a number operand stands for a plain float)
    ["p", "pow", "a", 3]        p = a ** 3    (the exponent is always a plain number)
    ["t", "tanh", "e"]          t = e.tanh()

The probes build the same graph from Values; `evaluate` computes it with floats.
"""

import math

# Relative error is |a - b| / max(|a|, |b|, TINY): below TINY it turns into an absolute error.
TINY = 1e-3
# Values computed by the same formula in a different order agree to about 1e-15.
VALUE_RTOL = 1e-9
# Analytic gradients against central differences (step FD_STEP, scaled by the point's size).
GRAD_RTOL = 1e-5
FD_STEP = 1e-5

UNARY = {
    "neg": lambda x: -x,
    "tanh": math.tanh,
    "exp": math.exp,
    "relu": lambda x: x if x > 0 else 0.0,
}
BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, k: x**k,
}
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def rel_error(a, b):
    """|a - b| / max(|a|, |b|, TINY); infinity when either is not a finite number."""
    if not (is_number(a) and is_number(b)):
        return math.inf
    if not (math.isfinite(a) and math.isfinite(b)):
        return 0.0 if a == b else math.inf
    return abs(a - b) / max(abs(a), abs(b), TINY)


def close(a, b, rtol=VALUE_RTOL):
    return rel_error(a, b) <= rtol


def central_difference(f, x, h=None):
    """(f(x+h) - f(x-h)) / 2h in float64, with h scaled to the size of x."""
    h = FD_STEP * max(1.0, abs(x)) if h is None else h
    return (f(x + h) - f(x - h)) / (2 * h)


def partials(f, args):
    """The central-difference gradient of f(*args) with respect to each argument."""

    def along(i):
        return lambda xi: f(*args[:i], xi, *args[i + 1 :])

    return [central_difference(along(i), args[i]) for i in range(len(args))]


def evaluate(graph, override=None, before=None):
    """Every node's value, as a dict; `override` pins chosen nodes to given values; `before` holds
    the values of the nodes ahead of the graph's first (where `graph` is the tail of a larger one)."""
    override = override or {}
    values = dict(before or {})
    for name, op, *args in graph:  # operands inline: gradient() evaluates graphs thousands of times a student
        if name in override:
            values[name] = override[name]
        elif op == "leaf":
            values[name] = float(args[0])
        else:
            x = values[args[0]] if isinstance(args[0], str) else float(args[0])
            if op in UNARY:
                values[name] = UNARY[op](x)
            else:
                y = args[1]
                if op != "pow":  # the exponent is a plain number, as written
                    y = values[y] if isinstance(y, str) else float(y)
                values[name] = BINARY[op](x, y)
    return values


def root(graph):
    return graph[-1][0]


def gradient(graph, names=None):
    """d root / d node for each named node (default: the leaves), by central differences."""
    values = evaluate(graph)
    top = root(graph)
    if names is None:
        names = leaves(graph)
    after = dependents(graph, names)

    # A node moved changes only the nodes that depend on it, all after it (a graph lists each node after
    # its operands): those alone are computed again, each from the same operands in the same order.
    def through(name):
        rows = after[name]
        if name == top:
            return lambda v: v
        if not rows or rows[-1] is not graph[-1]:
            return lambda v: values[top]
        moved = {name, *(row[0] for row in rows)}
        kept = {a: values[a] for row in rows for a in row[2:] if isinstance(a, str) and a not in moved}
        return lambda v: evaluate(rows, before={**kept, name: v})[top]

    return {name: central_difference(through(name), values[name]) for name in names}


def dependents(graph, names):
    """{name: the rows computed from that node, directly or through others, in the graph's order}, found
    in one pass from the root down with a set of row numbers per node (an int's bits); each node is named
    once, after its operands, as in every graph of the checks."""
    position = {row[0]: i for i, row in enumerate(graph)}
    assert len(position) == len(graph), "a graph names each node once"
    below = [0] * len(graph)  # bit j of below[i]: row j is computed from row i
    for j in range(len(graph) - 1, -1, -1):
        name, op, *args = graph[j]
        if op != "leaf":
            for a in args:
                if isinstance(a, str):
                    below[position[a]] |= (1 << j) | below[j]
    found = {}
    for name in names:
        rows, bits = [], below[position[name]]
        while bits:
            low = bits & -bits
            rows.append(graph[low.bit_length() - 1])
            bits ^= low
        found[name] = rows
    return found


def leaves(graph):
    return [name for name, op, *_ in graph if op == "leaf"]


def children(graph):
    """The names of each node's Value operands (numbers are not nodes)."""
    return {name: [a for a in args if isinstance(a, str)] if op != "leaf" else [] for name, op, *args in graph}


def reachable(graph, top=None):
    """The nodes `top` (default: the root) depends on, and `top`."""
    kids, seen, stack = children(graph), set(), [top or root(graph)]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(kids[name])
    return seen


def expression(graph, name=None):
    """A node written out as an expression of the leaves, for messages."""
    nodes = {n: (op, args) for n, op, *args in graph}
    name = name or root(graph)

    def show(x, top=False):
        if not isinstance(x, str):
            return repr(float(x)) if not isinstance(x, int) else str(x)
        op, args = nodes[x]
        if op == "leaf":
            return x
        if op in UNARY:
            return f"-{show(args[0])}" if op == "neg" else f"{show(args[0])}.{op}()"
        text = f"{show(args[0])} {SYMBOL[op]} {show(args[1])}"
        return text if top else f"({text})"

    return show(name, top=True)


def neuron(w, b, x):
    """tanh(w . x + b) in floats."""
    return math.tanh(sum(wi * xi for wi, xi in zip(w, x)) + b)


def mlp(layers, x):
    """An MLP in floats; `layers` is a list of layers, each a list of (w, b) neurons."""
    for layer in layers:
        x = [neuron(w, b, x) for w, b in layer]
    return x[0] if len(x) == 1 else x


def mse(ypred, ys):
    return sum((yp - y) ** 2 for yp, y in zip(ypred, ys))


def flatten(layers):
    """The parameters of `layers` as one flat list, weights then bias, neuron by neuron."""
    return [p for layer in layers for w, b in layer for p in (*w, b)]


def unflatten(params, like):
    """The inverse of `flatten`: `params` laid out in the shape of `like`."""
    it = iter(params)
    return [[([next(it) for _ in w], next(it)) for w, _ in layer] for layer in like]


def loss_gradient(layers, xs, ys):
    """The MSE loss of an MLP and its gradient with respect to every parameter (flat order)."""
    flat = flatten(layers)

    def loss(*params):
        model = unflatten(params, layers)
        return mse([mlp(model, x) for x in xs], ys)

    return loss(*flat), partials(loss, flat)


# --- reverse-mode gradients, and what a mistaken _backward would give --------------------------

LOCAL = {  # op: (operand values, out value) -> the local derivative for each operand, in order
    "add": lambda xs, out: (1.0, 1.0),
    "sub": lambda xs, out: (1.0, -1.0),
    "mul": lambda xs, out: (xs[1], xs[0]),
    "div": lambda xs, out: (1 / xs[1], -xs[0] / xs[1] ** 2),
    "pow": lambda xs, out: (xs[1] * xs[0] ** (xs[1] - 1),),
    "neg": lambda xs, out: (-1.0,),
    "tanh": lambda xs, out: (1 - out**2,),
    "exp": lambda xs, out: (out,),
    "relu": lambda xs, out: (float(out > 0),),
}


def backprop(graph, variants=None, order=None, seed=1.0, values=None, start=None):
    """The grad of every node after backpropagating from the root, micrograd's way, in float64.

    Each node, in reverse topological order (`order`, a list of names; default the reverse of the
    graph's own order), passes local derivative times its grad into its Value operands. A mistake
    is a variant rule: `variants` maps an op to a dict of
      "local": (operand values, out) -> local derivatives that replace the right ones,
      "assign": True to assign (=) the child's grad instead of adding to it,
      "no_out_grad": True to leave out the factor of the node's grad,
      "only": the operand positions that receive anything (the others are left alone).
    `values` gives every node's value where they are not the graph's own (what a learner's + and *
    computed); `start`, the grads the nodes hold before (a second backward() with no zero_grad between).
    """
    values = values or evaluate(graph)
    nodes = {name: (op, args) for name, op, *args in graph}
    grads = {name: 0.0 for name in nodes} | (start or {})
    grads[root(graph)] = seed
    for name in order if order is not None else [n for n, *_ in reversed(graph)]:
        op, args = nodes[name]
        if op == "leaf":
            continue
        rule = (variants or {}).get(op, {})
        xs = [values[a] if isinstance(a, str) else float(a) for a in args]
        if op == "pow":
            xs[1] = args[1]
        local = rule.get("local", LOCAL[op])(xs, values[name])
        for k, (a, d) in enumerate(zip(args, local)):
            if not isinstance(a, str) or (op == "pow" and k == 1) or k not in rule.get("only", (0, 1)):
                continue
            push = d if rule.get("no_out_grad") else d * grads[name]
            grads[a] = push if rule.get("assign") else grads[a] + push
    return grads


def backprop_twice(graph):
    """The grads after one backward() and after a second one with no zero_grad between: (once, twice)."""
    once = backprop(graph)
    return once, backprop(graph, start=once)


def learner_values(graph, data):
    """The learner's values of the graph's nodes where they differ from the graph's own (None where
    they agree, so that the finite differences stand); raises ValueError when one is not a number."""
    truth = evaluate(graph)
    if all(close(data.get(n), v) for n, v in truth.items()):
        return None
    if not all(is_number(data.get(n)) for n in truth):
        raise ValueError("not every node holds a number")
    return {n: float(data[n]) for n in truth}


def right_grads(graph, data, names=None):
    """What right _backward closures give every named node (default the leaves) on `graph`, whose
    nodes hold `data` (a learner's): finite differences where the data are the graph's own values,
    else the chain rule at the learner's values (what + and * computed is another check's to grade)."""
    names = names or leaves(graph)
    values = learner_values(graph, data)
    if values is None:
        return gradient(graph, names)
    grads = backprop(graph, values=values)
    return {n: grads[n] for n in names}
