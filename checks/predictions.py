"""What each mistake of the catalogue (checks/mistakes.py) predicts: the learner's numbers that
mistake gives on the very inputs a test used, computed in float64 by checks/numerics.py, never by
learner code. A check names a mistake only where its prediction matches (checks/judge.py).
"""

from checks import numerics

# --- exercise 01: what a difference quotient with each mistake returns ---------------------------


def forward(f, x, h):
    return (f(x + h) - f(x)) / h


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def forward_variants(f, x, h):
    """What derivative(f, x, h) returns with each mistake, on these very inputs."""
    return {
        "not-divided-by-h": f(x + h) - f(x),
        "central-for-forward": central(f, x, h),
        "backward-for-forward": (f(x) - f(x - h)) / h,
        "forward-over-2h": forward(f, x, h) / 2,
    }


def central_variants(f, x, h):
    """What central_derivative(f, x, h) returns with each mistake."""
    return {
        "central-over-h": (f(x + h) - f(x - h)) / h,
        "forward-for-central": forward(f, x, h),
        "not-divided-by-h": f(x + h) - f(x - h),
        "central-brackets": (f(x + h) - f(x - h)) / 2 * h,
    }


def partial_variants(f, args, i, h):
    """What partial_derivative(f, args, i, h) returns with each mistake."""
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return {
        "moves-every-arg": (f(*[a + h for a in args]) - f(*[a - h for a in args])) / (2 * h),
        "forward-for-central": (f(*up) - f(*args)) / h,
        "central-over-h": (f(*up) - f(*down)) / h,
        "not-divided-by-h": f(*up) - f(*down),
        # Many slips (up and down one list, both moved the same way) take f at one point twice: 0. Where a
        # mistake above also predicts 0 (moving every argument of d = a*b + c at (2, -3, 10)), the data
        # cannot tell them apart, and nothing is named.
        None: 0.0,
    }


# --- exercises 03-05: what a mistaken _backward gives, as variant rules of numerics.backprop -------

# Mistakes of + and * whose grads do not depend on the order of the _backward calls.
BACKWARD_VARIANTS = {
    "missing-out-grad": {"add": {"no_out_grad": True}, "mul": {"no_out_grad": True}},
    "own-operand": {"mul": {"local": lambda xs, out: (xs[0], xs[1])}},
}


def backprop_predictions(graph, variants, names=None, **options):
    """[(mistake, {name: grad})]: what each variant ({id: rules} or [(id, rules)]) gives for the named
    nodes (default: all)."""
    names = names or [n for n, *_ in graph]
    pairs = variants.items() if isinstance(variants, dict) else variants
    return [(m, {n: g for n, g in numerics.backprop(graph, v, **options).items() if n in names}) for m, v in pairs]


def mul_local_variants(a, b, g, name):
    """What *'s _backward sends input `name` (a or b) of a * b with upstream grad g, for each mistake."""
    other, own = (b, a) if name == "a" else (a, b)
    return [
        ("missing-out-grad", other),
        ("own-operand", own * g),
        ("own-operand", own),
        ("wrong-local-derivative", g),
        ("one-child-only", 0.0),
    ]


# --- exercise 04: the order of backward()'s _backward calls -------------------------------------


def first_parent_before_child(order, graph):
    """(node, child) for the first node listed before one of its children, or None."""
    place = {n: i for i, n in enumerate(order)}
    for node, kids in numerics.children(graph).items():
        for kid in kids:
            if node in place and kid in place and place[kid] > place[node]:
                return node, kid
    return None


def order_mistake(graph, got):
    """The mistake in the order of backward()'s _backward calls, from their log, when the grads are
    just what that order gives (numerics.backprop along the same calls)."""
    calls = got.get("calls")
    if calls is None:
        return None
    kids = numerics.children(graph)
    ops = [n for n in calls if kids[n]]
    given = numerics.backprop(graph, order=ops)
    if not all(numerics.close(got["grads"][n], given[n], 1e-9) for n in got["grads"]):
        return None
    order = got.get("order")
    if order is not None and calls == order[::-1]:
        # backward() walks its topological order as it should: any fault is in that order.
        if len(set(order)) != len(order):
            return "no-visited-set"
        if first_parent_before_child(order[::-1], graph) is None:
            return None  # reversed, or a pre-order walk of a tree: this graph cannot tell which
        return "child-after-parent" if first_parent_before_child(order, graph) else None
    # An order's mistake shows in calls of every operation node; a node never called (the root
    # skipped, one node's _backward called for all) is another fault, which the log cannot name.
    if set(ops) != {n for n in numerics.reachable(graph) if kids[n]}:
        return None
    if len(set(calls)) == len(calls) and first_parent_before_child(calls, graph) is None:
        return "not-reversed"
    if len(set(ops)) != len(ops) or first_parent_before_child(ops[::-1], graph) is not None:
        return "no-topological-order"
    return None


# --- exercise 05: an operation's own mistakes ------------------------------------------------------


def variants_of(op, local_forms=()):
    """The variant rules of an operation's own mistakes: assigns-grad, missing-out-grad, and its
    local derivative written wrong (`local_forms`: (id, a rule of the local derivative))."""
    return [
        ("assigns-grad", {op: {"assign": True}}),
        ("missing-out-grad", {op: {"no_out_grad": True}}),
        *((m, {op: {"local": rule}}) for m, rule in local_forms),
    ]


# --- exercise 06: a neuron's forward pass ---------------------------------------------------------


def neuron_variants(w, b, x):
    """What Neuron(nin)(x) gives with w and b, for each mistake of the neuron's forward pass."""
    act = sum(wi * xi for wi, xi in zip(w, x))
    return [("no-tanh", act + b), ("no-tanh", max(0.0, act + b)), ("no-bias", numerics.neuron(w, 0.0, x))]
