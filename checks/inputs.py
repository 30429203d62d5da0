"""The checks' inputs: the lecture's numbers and seeded random graphs, as plain data."""

import math
import random

from checks import numerics

# L = (a*b + c) * f, the lecture's first expression: L = -8.0.
LECTURE_L = [
    ["a", "leaf", 2.0],
    ["b", "leaf", -3.0],
    ["c", "leaf", 10.0],
    ["e", "mul", "a", "b"],
    ["d", "add", "e", "c"],
    ["f", "leaf", -2.0],
    ["L", "mul", "d", "f"],
]

# A node used twice, through two paths: a walk that is not a topological order goes wrong here.
DIAMOND = [["a", "leaf", 1.5], ["b", "mul", "a", "a"], ["c", "add", "a", "b"], ["d", "mul", "b", "c"]]

# One node, s = x + y, used three times (check-04's fixed core).
SHARED = [
    ["x", "leaf", 0.5],
    ["y", "leaf", -1.25],
    ["s", "add", "x", "y"],
    ["p", "mul", "s", "x"],
    ["q", "mul", "s", "y"],
    ["r", "add", "p", "q"],
    ["t", "mul", "r", "s"],
]

# Both operations, each on leaves and on a node made before, every node below the root under a * (its
# out.grad is not 1): the fixed core of check-02's random expressions and operands, and check-03's graphs.
BOTH_OPS = [
    ["x", "leaf", 1.5],
    ["y", "leaf", -0.5],
    ["s", "add", "x", "y"],
    ["p", "mul", "x", "y"],
    ["q", "add", "s", "p"],
    ["r", "mul", "q", "x"],
]

# The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b) = 0.7071.
LECTURE_NEURON = [
    ["x1", "leaf", 2.0],
    ["x2", "leaf", 0.0],
    ["w1", "leaf", -3.0],
    ["w2", "leaf", 1.0],
    ["b", "leaf", 6.8813735870195432],
    ["x1w1", "mul", "x1", "w1"],
    ["x2w2", "mul", "x2", "w2"],
    ["x1w1x2w2", "add", "x1w1", "x2w2"],
    ["n", "add", "x1w1x2w2", "b"],
    ["o", "tanh", "n"],
]

# The lecture's four examples and targets.
LECTURE_XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
LECTURE_YS = [1.0, -1.0, -1.0, 1.0]


def leaf_value(rng, low=0.3, high=2.0):
    """A random float with low <= |x| <= high: away from 0, where many mistakes hide."""
    return rng.choice((-1, 1)) * rng.uniform(low, high)


def acceptable(op, args, values):
    """Whether a node stays well inside the domain: no overflow, no kink, no tiny divisor."""
    xs = [values[a] if isinstance(a, str) else a for a in args]
    if op == "exp" and abs(xs[0]) > 3:
        return False
    if op == "relu" and abs(xs[0]) < 0.1:
        return False
    if op == "div" and abs(xs[1]) < 0.3:
        return False
    if op == "pow" and (xs[0] <= 0.1 and not float(args[1]).is_integer() or abs(xs[0]) < 0.1):
        return False
    if op == "tanh" and abs(xs[0]) > 4:
        return False
    try:
        out = numerics.evaluate([[k, "leaf", v] for k, v in values.items()] + [["_", op, *args]])["_"]
    except (ArithmeticError, ValueError):
        return False
    return math.isfinite(out) and abs(out) < 50


def random_graph(rng, ops, leaves=3, size=6, numbers=False, prefix="n"):
    """A random graph of `size` operation nodes over `leaves` leaves, whose root uses every node; with
    `numbers`, some operands are plain floats, on either side."""
    graph = [[f"x{i}", "leaf", round(leaf_value(rng), 6)] for i in range(leaves)]
    values = numerics.evaluate(graph)
    unused = set(values)
    for k in range(size):
        for _ in range(200):
            op = rng.choice(ops)
            pool = list(values)
            a = rng.choice(pool[-4:] if rng.random() < 0.6 else pool)
            if op in numerics.UNARY:
                args = [a]
            elif op == "pow":
                args = [a, rng.choice([2, 3, -1, 0.5, -2])]
            else:
                b = rng.choice(pool)
                if numbers and rng.random() < 0.5:
                    b = round(leaf_value(rng, 0.5, 3.0), 3)
                args = [a, b] if rng.random() < 0.5 else [b, a]
            if acceptable(op, args, values):
                break
        else:
            continue
        name = f"{prefix}{k}"
        graph.append([name, op, *args])
        values = numerics.evaluate(graph)
        unused -= {x for x in args if isinstance(x, str)}
        unused.add(name)
    # Tie every dangling node into the root, so the root depends on all of them.
    rest = sorted(unused - {graph[-1][0]}, key=[n for n, *_ in graph].index)
    for i, name in enumerate(rest):
        graph.append([f"{prefix}s{i}", "add", graph[-1][0], name])
    return graph


def many_paths(levels):
    """x' = x * y, y' = x + y repeated: 2*levels nodes, 2**levels paths from the root to a leaf."""
    graph = [["x0", "leaf", -0.02], ["y0", "leaf", 1.0]]  # stays near (0, 0.8): no overflow
    for i in range(levels):
        graph.append([f"x{i + 1}", "mul", f"x{i}", f"y{i}"])
        graph.append([f"y{i + 1}", "add", f"x{i}", f"y{i}"])
    graph.append(["out", "add", f"x{levels}", f"y{levels}"])
    return graph


def random_layers(rng, sizes):
    """Parameters for an MLP with layer sizes `sizes`, as [[{"w": [...], "b": b}, ...], ...]."""
    return [
        [{"w": [rng.uniform(-1, 1) for _ in range(nin)], "b": rng.uniform(-1, 1)} for _ in range(nout)]
        for nin, nout in zip(sizes, sizes[1:])
    ]


def as_numeric(layers):
    """The probes' layer layout as numerics' [(w, b), ...] layout."""
    return [[(n["w"], n["b"]) for n in layer] for layer in layers]


# --- inputs a correct implementation cannot fail on, at any seed (docs/checks.md, "Seeds") ---------

SPREAD = 0.8  # how far past the middle of [-1, 1] a spread of uniform(-1, 1) draws must reach


def spreading_seed(rng, draws, *parts):
    """A seed for `random.seed` after whose next `draws` draws of `uniform(-1, 1)` each of `parts`
    (slices of those draws; default all of them) reaches below -SPREAD and above SPREAD.

    The checks ask that a model's weights and biases spread over [-1, 1]; with the seed chosen so,
    they do for every correct implementation at every seed, whichever of w and b it draws first,
    rather than but for odds of 1e-4. The worker's `random.seed(seed)` draws the same numbers as
    `random.Random(seed)` here.
    """
    parts = parts or (slice(None),)
    for _ in range(10_000):
        seed = rng.randrange(10**6)
        draw = random.Random(seed).uniform
        xs = [draw(-1, 1) for _ in range(draws)]
        if all(min(xs[part]) < -SPREAD and max(xs[part]) > SPREAD for part in parts):
            return seed
    raise AssertionError("no spreading seed in 10,000 tries")  # odds of about 1e-40000


def drawn_per_number(seed, neurons):
    """How parameters ([(w, b)] per neuron) relate to the numbers random.random() gives after
    random.seed(seed), taken one parameter a number in the order the neurons draw them (weights then
    bias, or bias first), the weights and the biases each on their own: "uniform" when each is its
    number's draw of uniform(-1, 1) (or of uniform(1, -1)); "other" when the weights or the biases
    are some other increasing or decreasing function of theirs (a narrower range, another
    distribution), a verdict the same at every seed; None otherwise (another source of random
    numbers, judged by their spread instead)."""
    draw = random.Random(seed).random
    us = [draw() for _ in range(sum(len(w) + 1 for w, _ in neurons))]
    for bias_first in (False, True):
        weights, biases, at = [], [], 0
        for w, b in neurons:
            start = at + bias_first
            weights += [(p, us[start + k]) for k, p in enumerate(w)]
            biases.append((b, us[at if bias_first else at + len(w)]))
            at += len(w) + 1
        verdicts = {_drawn(weights), _drawn(biases)}
        if verdicts == {"uniform"}:
            return "uniform"
        if "other" in verdicts:
            return "other"
    return None


def _drawn(pairs):
    """What [(parameter, its number)] are: "uniform", "other" or None (see drawn_per_number)."""
    if all(abs(p - (2 * u - 1)) < 1e-9 for p, u in pairs) or all(abs(p - (1 - 2 * u)) < 1e-9 for p, u in pairs):
        return "uniform"
    ordered = [p for p, _ in sorted(pairs, key=lambda pu: pu[1])]
    steps = list(zip(ordered, ordered[1:]))
    if len(ordered) > 2 and (all(a < b for a, b in steps) or all(a > b for a, b in steps)):
        return "other"
    return None


# Neuron(99)'s 99 weights are draws 0-98 (weights first) or 1-99 (bias first) of its 100.
NEURON_WEIGHTS = (slice(0, 99), slice(1, 100))
# The biases of Layer(1, 100) are every other one of its 200 draws, the odd or the even ones.
LAYER_BIASES = (slice(0, None, 2), slice(1, None, 2))


# The training check's starting models: MLP(3, [4, 4, 1]) parameters drawn from these fixed,
# documented seeds. From each one, 60 steps at lr 0.1 on the lecture's four examples bring the
# loss below a fifth of the check's threshold, in every order of the examples (verified by
# tests/test_seeds.py); from a start drawn at random the loss stays above the threshold once in
# a few hundred draws. The kit's seed picks only the start and the order of the examples.
TRAINING_SEEDS = (0, 1, 2, 3, 4, 6, 7, 8)


def training_start(seed):
    """The parameters of MLP(3, [4, 4, 1]) that training start `seed` fixes."""
    return random_layers(random.Random(f"training start {seed}"), [3, 4, 4, 1])


# The training check's start, verified like every start above: from it a mean loss, a step without lr, a loss
# of absolute values and gradients never zeroed stay far above the threshold (simulated in float64), every seed.
TRAINING_START = 1


def training_run(rng):
    """(parameters, xs, ys) for the training check: its fixed start, and a seeded order of the lecture's
    examples (a full-batch loss does not depend on it)."""
    order = list(range(len(LECTURE_XS)))
    rng.shuffle(order)
    return training_start(TRAINING_START), [LECTURE_XS[i] for i in order], [LECTURE_YS[i] for i in order]


# Every operation of lesson 05, twice: in use (its input a leaf the node above uses too, its upstream grad not
# 1: an operation that assigns its grad, or forgets out.grad, shows) and alone (its input reached through it only:
# one cut off from its input shows); relu on both sides of 0, every reflected form with a float and an int (sum()
# starts at 0), each part weighed apart. check-05's fixed core: caught here, caught at every seed.
CORE_PARTS = [
    ("tanh", 0.7, None),
    ("exp", 0.4, None),
    ("relu", 1.3, None),
    ("relu", -0.9, None),
    ("pow", 1.2, 3),
    ("pow", 0.8, -1.5),
    ("neg", 1.1, None),
    ("sub", -0.6, 1.7),
    ("div", 1.4, -0.7),
    ("add", 0.9, 2.5),
    ("mul", -1.2, 1.5),
    ("sub", 0.7, ("leaf", -1.3)),  # of two Values: what a hand-written - gives the second operand shows
    ("div", -0.8, ("leaf", 1.6)),
    ("add", -0.4, 2),
    ("mul", 0.6, 3),
    ("sub", 1.1, 1),
    ("div", -1.3, 2),
    ("pow", -1.2, 2),  # a negative base: a rule that takes abs(x) shows
]


def every_operation():
    """The core graph: for each of CORE_PARTS, y = op(x) (sub, div, add and mul with the number on
    the left, then again on the right) inside w = y * x, and y = op(m) with m = x * 1.25 alone; the
    root is the weighted sum of every part."""
    graph, parts = [], []

    def part(op, arg, left, alone):
        k = len(parts)
        x = f"x{k}"
        if isinstance(arg, tuple):  # the other operand a Value too: a leaf of its own
            graph.append([f"u{k}", "leaf", arg[1]])
            arg = f"u{k}"
        if alone:
            graph.append([f"m{k}", "mul", x, 1.25])
            x = f"m{k}"
        if left is None:
            graph.append([f"y{k}", op, x, *([] if arg is None else [arg])])
        else:
            graph.append([f"y{k}", op, *([arg, x] if left else [x, arg])])
        top = f"y{k}"
        if not alone:
            graph.append([f"w{k}", "mul", top, x])
            top = f"w{k}"
        graph.append([f"v{k}", "mul", top, round(0.5 + 0.25 * k, 2)])
        parts.append(f"v{k}")

    for op, x, arg in CORE_PARTS:
        for left in [True, False] if op in ("sub", "div", "add", "mul") else [None]:  # number or Value, either side
            for alone in (False, True):
                graph.append([f"x{len(parts)}", "leaf", x])
                part(op, arg, left, alone)
    total = parts[0]
    for k, name in enumerate(parts[1:], 1):
        graph.append([f"s{k}", "add", total, name])
        total = f"s{k}"
    return graph
