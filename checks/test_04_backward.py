"""check-04: topological order and backward() (micrograd/engine.py)."""

from checks import numerics
from checks.inputs import LECTURE_L, many_paths, random_graph
from checks.judge import expect, expect_close, expect_grads, points, wrong

DIAMOND = [["a", "leaf", 1.5], ["b", "mul", "a", "a"], ["c", "add", "a", "b"], ["d", "mul", "b", "c"]]
SHARED = [
    ["x", "leaf", 0.5],
    ["y", "leaf", -1.25],
    ["s", "add", "x", "y"],
    ["p", "mul", "s", "x"],
    ["q", "mul", "s", "y"],
    ["r", "add", "p", "q"],
    ["t", "mul", "r", "s"],
]


def reachable(graph):
    kids, seen, stack = numerics.children(graph), set(), [numerics.root(graph)]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(kids[n])
    return seen


def graphs(rng):
    yield "L = (a*b + c) * f", LECTURE_L
    yield "a diamond: b = a*a, c = a + b, d = b*c", DIAMOND
    yield "a graph that reuses s = x + y three times", SHARED
    for _ in range(3):
        g = random_graph(rng, ["add", "mul"], leaves=3, size=8)
        yield numerics.expression(g), g


@points(2)
def test_topological_order_lists_every_node_exactly_once(probe, rng):
    for what, graph in graphs(rng):
        order = probe("topo", graph=graph)
        want = reachable(graph)
        strays = [n for n in order if n not in want]
        expect(
            not strays,
            f"topological_order(root) for {what} contains {', '.join(map(str, strays[:3]))}: "
            "it must hold the graph's own Value objects, nothing else.",
        )
        twice = sorted({n for n in order if order.count(n) > 1})
        expect(
            not twice,
            f"topological_order(root) for {what} lists {', '.join(twice)} more than once. "
            "Keep a set of visited nodes and skip a node you have already seen.",
        )
        missing = sorted(want - set(order))
        expect(
            not missing,
            f"topological_order(root) for {what} leaves out {', '.join(missing)}. "
            "Every node the root depends on belongs in it, leaves and root included.",
        )


@points(2)
def test_topological_order_puts_children_before_parents_and_the_root_last(probe, rng):
    for what, graph in graphs(rng):
        order = probe("topo", graph=graph)
        expect(
            order and order[-1] == numerics.root(graph),
            f"topological_order(root) for {what} ends with {order[-1] if order else 'nothing'}, "
            f"expected the root {numerics.root(graph)}. Append a node only after all of its children "
            "have been appended, so the root comes last.",
        )
        place = {n: i for i, n in enumerate(order)}
        for node, kids in numerics.children(graph).items():
            for kid in kids:
                if node in place and kid in place and place[kid] > place[node]:
                    wrong(
                        f"topological_order(root) for {what} puts {node} before its child {kid}: "
                        f"{order}. Append a node only after all of its children have been appended."
                    )


def lecture_causes(got, bad):
    if all(v == 0.0 for v in got.values()):
        return "Every grad is 0: backward() must start by setting self.grad = 1.0 on the root."
    return (
        "Call _backward() of each node in *reverse* topological order (root first), so a node's grad "
        "is complete before it passes it on."
    )


@points(2)
def test_backward_matches_finite_differences_on_random_graphs(probe, rng):
    for what, graph in graphs(rng):
        names = sorted(reachable(graph))
        got = probe("backward", graph=graph, names=names)
        expect_close(
            got[numerics.root(graph)],
            1.0,
            f"After root.backward() for {what}, root.grad",
            cause="backward() starts by setting self.grad = 1.0.",
        )
        expect_grads(got, numerics.gradient(graph, names), f"After root.backward() for {what}", causes=lecture_causes)


@points(1)
def test_gradients_accumulate_in_a_plus_a_and_a_times_a(probe, rng):
    x = round(rng.uniform(0.5, 2.0), 4)
    for op, sym, want in (("add", "+", 2.0), ("mul", "*", 2 * x)):
        got = probe("backward", graph=[["a", "leaf", x], ["out", op, "a", "a"]])
        expect_close(
            got["a"],
            want,
            f"For out = a {sym} a with a = {x}, after out.backward() a.grad",
            numerics.GRAD_RTOL,
            cause="a is used twice, so both uses must add (+=) into a.grad.",
        )


@points(1)
def test_a_times_b_times_a_plus_b_at_minus_2_and_3_gives_grads_minus_3_and_minus_8(probe):
    graph = [
        ["a", "leaf", -2.0],
        ["b", "leaf", 3.0],
        ["d", "mul", "a", "b"],
        ["e", "add", "a", "b"],
        ["f", "mul", "d", "e"],
    ]
    got = probe("backward", graph=graph, names=["a", "b"])
    expect_grads(
        got,
        {"a": -3.0, "b": -8.0},
        "For f = (a*b) * (a+b) with a = -2, b = 3, after f.backward()",
        causes=lambda g, bad: "a and b are each used twice: their grads must accumulate with +=.",
    )


@points(1)
def test_backward_works_on_a_chain_100000_nodes_deep(probe):
    got = probe("deep_chain", n=100_000)
    expect(
        got["length"] == 100_002 and got["first_is_leaf"] and got["last_is_root"],
        f"For y = a + c + c + ... (100,000 additions), topological_order(y) has {got['length']} nodes "
        "(expected 100,002: a, c and every sum), leaves first and y last.",
    )
    expect_close(got["a"], 1.0, "After y.backward() on the 100,000-deep chain, a.grad", numerics.GRAD_RTOL)
    expect_close(
        got["c"],
        100_000.0,
        "After y.backward() on the 100,000-deep chain, c.grad",
        numerics.GRAD_RTOL,
        cause="c is used 100,000 times: every use adds into c.grad.",
    )


@points(1)
def test_a_graph_with_2_to_the_40_paths_finishes_at_once(probe):
    graph = many_paths(40)
    order = probe("topo", graph=graph)
    expect(
        len(order) == len(graph),
        f"topological_order has {len(order)} nodes for a graph of {len(graph)}: list each node once.",
    )
    got = probe("backward", graph=graph, names=["x0", "y0"])
    expect_grads(got, numerics.gradient(graph), "For x' = x*y, y' = x + y repeated 40 times, after backward()")
