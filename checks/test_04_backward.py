"""check-04: topological order and backward() (micrograd/engine.py)."""

from checks import numerics
from checks.inputs import DIAMOND, LECTURE_L, SHARED, many_paths, random_graph
from checks.judge import expect, expect_close, expect_grads, fmt, points, wrong
from checks.mistakes import advice
from checks.predictions import first_parent_before_child, order_mistake

# Each node the sum of the two before it, 16 deep: a walk that marks a node visited when it is pushed
# emits a node before a child it shares with its parent unless, at every one of the 15 levels, the set
# order of `_prev` happens to hand it the lower child first, so it is caught in all but 1 set order in
# 2**15 (the diamond catches it in about half): its score does not hang on where the seed put the Values.
LADDER = [["n0", "leaf", 0.75], ["n1", "leaf", -0.5]] + [
    [f"n{i}", "add", f"n{i - 1}", f"n{i - 2}"] for i in range(2, 17)
]


def graphs(rng):
    yield "L = (a*b + c) * f", LECTURE_L
    yield "a diamond: b = a*a, c = a + b, d = b*c", DIAMOND
    yield "a graph that reuses s = x + y three times", SHARED
    yield "a ladder: n2 = n1 + n0, n3 = n2 + n1, ..., n16 = n15 + n14", LADDER
    for _ in range(3):
        g = random_graph(rng, ["add", "mul"], leaves=3, size=8)
        yield numerics.expression(g), g


@points(2)
def test_topological_order_lists_every_node_exactly_once(probe, rng):
    """topological_order lists every node exactly once."""
    for what, graph in graphs(rng):
        order = probe("topo", graph=graph)
        want = numerics.reachable(graph)
        strays = [n for n in order if n not in want]
        expect(
            not strays,
            f"topological_order(root) for {what} contains {', '.join(map(str, strays[:3]))}: "
            "it must hold the graph's own Value objects, nothing else.",
        )
        twice = sorted({n for n in order if order.count(n) > 1})
        expect(
            not twice,
            f"topological_order(root) for {what} lists {', '.join(twice)} more than once.",
            "no-visited-set",
        )
        missing = sorted(want - set(order))
        expect(
            not missing,
            f"topological_order(root) for {what} leaves out {', '.join(missing)}.",
            "topo-incomplete",
        )


@points(2)
def test_topological_order_puts_children_before_parents_and_the_root_last(probe, rng):
    """topological_order puts children before parents, and the root last."""
    seen = [(what, graph, probe("topo", graph=graph)) for what, graph in graphs(rng)]
    # Reversed on every graph (the diamond and the shared s included) is a reversed order; a node
    # before its child on some graph, either way round, is not (a pre-order walk, say).
    twice = any(len(set(order)) != len(order) for *_, order in seen)
    reversed_everywhere = all(first_parent_before_child(order[::-1], graph) is None for _, graph, order in seen)
    for what, graph, order in seen:
        top = numerics.root(graph)
        kids = numerics.children(graph)
        listed = set(order)
        expect(
            any(k in listed for n in listed if n in kids for k in kids[n]),
            f"topological_order(root) for {what} gave {order}: no node in it comes with any of its children, "
            "so it shows no order of children and parents to judge.",
        )
        bad = first_parent_before_child(order, graph)
        if bad and reversed_everywhere and not twice:
            wrong(
                f"topological_order(root) for {what} starts with the root {top} and ends with "
                f"{order[-1]}: {order}. That is a topological order reversed; list the leaves first and the "
                "root last (backward() is the one that walks it in reverse).",
                "root-not-last",
            )
        if bad:
            wrong(
                f"topological_order(root) for {what} puts {bad[0]} before its child {bad[1]}: "
                f"{order}. {advice('child-after-parent')}",
                None if twice else "child-after-parent",
            )
        expect(
            top in order,
            f"topological_order(root) for {what} leaves out the root {top}: {order}. {advice('topo-incomplete')}",
            "topo-incomplete",
        )
        expect(
            order[-1] == top,
            f"topological_order(root) for {what} ends with {order[-1]}, "
            f"expected the root {top}: the root depends on every other node, so it comes last.",
            "root-not-last",
        )


def expect_backward(probe, graph, what, names=None):
    """root.backward(): every named grad against finite differences, and the mistake named when a
    decisive signature shows it (a root never seeded, a call log out of order)."""
    names = names or sorted(numerics.reachable(graph))
    got = probe("backward", graph=graph, names=names)
    grads = got["grads"]
    top = numerics.root(graph)
    if top in grads:
        unseeded = all(g == 0.0 for g in grads.values())
        expect_close(
            grads[top],
            1.0,
            f"After root.backward() for {what}, root.grad",
            predictions={"root-grad-not-one": 0.0} if unseeded else None,
        )
    want = numerics.gradient(graph, names)
    expect_grads(
        grads,
        want,
        f"After root.backward() for {what}",
        mistake=order_mistake(graph, got) if any(not numerics.close(grads[n], want[n], 1e-5) for n in want) else None,
        otherwise="backward() seeds self.grad = 1.0, then calls _backward of every node once, in reverse "
        "topological order.",
    )
    return grads


@points(2)
def test_backward_matches_finite_differences_on_random_graphs(probe, rng):
    """backward() matches finite differences, on the lecture's graph and on random ones."""
    for what, graph in graphs(rng):
        expect_backward(probe, graph, what)


@points(1)
def test_gradients_accumulate_in_a_plus_a_and_a_times_a(probe, rng):
    """Gradients accumulate in a + a and a*a, and over two backward() calls with no zero_grad between."""
    x = round(rng.uniform(0.5, 2.0), 4)
    for op, sym in (("add", "+"), ("mul", "*")):
        expect_backward(probe, [["a", "leaf", x], ["out", op, "a", "a"]], f"out = a {sym} a with a = {fmt(x)}")
    expect_twice(probe, LECTURE_L, "L = (a*b + c) * f")


def expect_twice(probe, graph, what):
    """backward() sets the root's grad to 1.0 and adds into every other: a second call adds again."""
    got = probe("backward_twice", graph=graph)
    once, want = numerics.backprop_twice(graph)
    if not all(numerics.close(got["first"][n], once[n], numerics.GRAD_RTOL) for n in once):
        return  # one backward() is wrong already: the tests of the walk say why, and charge it
    top = numerics.root(graph)
    if not numerics.close(got["second"][top], 1.0):  # wrong, not expect: the catalogue's advice is for a root never set
        wrong(
            f"After {top}.backward() twice for {what}, {top}.grad is {fmt(got['second'][top])}: backward() sets "
            "the root's grad to 1.0 (=, not +=), whatever it held.",
            "root-grad-not-one",
        )
    off = next((n for n in want if not numerics.close(got["second"][n], want[n], numerics.GRAD_RTOL)), None)
    if off is not None:
        zeroed = all(numerics.close(got["second"][n], got["first"][n], numerics.GRAD_RTOL) for n in want)
        wrong(
            f"After {top}.backward() twice for {what}, with no zero_grad between, {off}.grad is "
            f"{fmt(got['second'][off])}, expected {fmt(want[off])}: "
            + (
                "the second call gave the grads of the first, so backward() zeroed them first. It only adds "
                "into them (zero_grad is the training loop's job)."
                if zeroed
                else "each _backward adds into the grads, the second time as the first."
            )
        )


@points(1)
def test_a_times_b_times_a_plus_b_at_minus_2_and_3_gives_grads_minus_3_and_minus_8(probe):
    """(a*b)*(a + b) at a = -2, b = 3 gives grads -3 and -8."""
    graph = [
        ["a", "leaf", -2.0],
        ["b", "leaf", 3.0],
        ["d", "mul", "a", "b"],
        ["e", "add", "a", "b"],
        ["f", "mul", "d", "e"],
    ]
    grads = expect_backward(probe, graph, "f = (a*b) * (a+b) with a = -2.0, b = 3.0")
    expect_grads(grads, {"a": -3.0, "b": -8.0}, "For f = (a*b) * (a+b) with a = -2.0, b = 3.0, after f.backward()")


@points(1)
def test_backward_works_on_a_chain_100000_nodes_deep(probe):
    """backward works on a chain 100000 nodes deep."""
    got = probe("deep_chain", n=100_000)
    wrong = [f"has {got['length']:,} nodes (expected 100,002: a, c and every sum)"] if got["length"] != 100_002 else []
    wrong += [] if got["first_is_leaf"] else ["does not start with a leaf"]
    wrong += [] if got["last_is_root"] else ["does not end with y"]
    expect(
        not wrong,
        f"For y = a + c + c + ... (100,000 additions), topological_order(y) {', and '.join(wrong)}: the leaves "
        "come first and y last.",
    )
    expect_close(got["a"], 1.0, "After y.backward() on the 100,000-deep chain, a.grad", numerics.GRAD_RTOL)
    expect_close(
        got["c"],
        100_000.0,
        "After y.backward() on the 100,000-deep chain, c.grad",
        numerics.GRAD_RTOL,
        otherwise="c is used 100,000 times: every use adds into c.grad.",
    )


@points(1)
def test_a_graph_with_2_to_the_40_paths_finishes_at_once(probe):
    """A graph with 2**40 paths finishes at once."""
    graph = many_paths(40)
    order = probe("topo", graph=graph)
    more = len(order) > len(graph)
    expect(
        len(order) == len(graph),
        f"topological_order has {len(order)} nodes for a graph of {len(graph)}: "
        + ("some are listed more than once; list each node once." if more else "it leaves some out; list every node."),
        "no-visited-set" if more else None,
    )
    expect_backward(probe, graph, "x' = x*y, y' = x + y repeated 40 times", names=["x0", "y0"])
