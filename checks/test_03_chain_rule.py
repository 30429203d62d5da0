"""check-03: local gradients and the chain rule (micrograd/engine.py, _backward of + and *)."""

from checks import numerics
from checks.inputs import BOTH_OPS, LECTURE_L, leaf_value, random_graph
from checks.judge import LearnerError, blame, diagnose, expect, expect_grads, fmt, points, with_leaves, wrong
from checks.predictions import BACKWARD_VARIANTS, backprop_predictions, mul_local_variants


def local(rng):
    """Random operands, upstream gradient and starting grads, all away from 0 and 1."""
    return {k: round(leaf_value(rng, 0.3, 2.0), 4) for k in ("a", "b", "out_grad", "a_grad", "b_grad")}


STALE_GRAD = 0.375  # what every new Value's grad starts at, for one call, to show a closure that read it then


def expect_local(probe, op, p, want, predictions, times=1):
    """Call out._backward() of out = a op b by hand; `want` and `predictions(name)` give each
    child's grad, right and with each mistake."""
    sym = "+" if op == "add" else "*"
    got = probe("local_backward", op=op, times=times, **p)
    start = {"a": p["a_grad"], "b": p["b_grad"]}
    moved = [name for name in ("a", "b") if got[name] != start[name]]
    for name in ("a", "b"):
        if got[name] == "<Value>":
            blame(f"After out = a {sym} b and out._backward(), {name}.grad is a Value, not a number.", "value-in-grad")
        if not numerics.close(got[name], want[name], numerics.VALUE_RTOL):
            setup = (
                f"a = Value({fmt(p['a'])}), b = Value({fmt(p['b'])}), out = a {sym} b, a.grad = {fmt(p['a_grad'])}, "
                f"b.grad = {fmt(p['b_grad'])}, out.grad = {fmt(p['out_grad'])}"
            )
            calls = "out._backward()" + (f" called {times} times" if times > 1 else "")
            facts = f"With {setup}, {calls} left {name}.grad = {fmt(got[name])}, expected {fmt(want[name])}."
            if got.get("operand"):  # 02's mistake: out's grad is the operand's, so no local derivative shows
                blame(f"{facts} a {sym} b returned {got['operand']} itself, not a new Value.", "mutates-operand")
            if not moved:
                blame(f"{facts} Neither grad changed.", still_mistake(probe, op, p, got, want, times))
            # "Only one child received a gradient" only where one did.
            forms = [(m, v) for m, v in predictions(name) if m != "one-child-only" or len(moved) == 1]
            blame(
                facts,
                diagnose(got[name], forms, want=want[name]),
                f"{name}.grad grows by the local derivative of {sym} with respect to {name}, times out.grad.",
            )
    expect(
        numerics.close(got["out"], p["out_grad"]),
        f"out._backward() changed out.grad to {fmt(got['out'])}; it should only change the children's grads.",
    )


def still_mistake(probe, op, p, got, want, times):
    """Why out._backward() changed neither grad, where the evidence shows it: the operation never
    attached its _backward to out, or its _backward read out.grad when out was made (it then adds
    what that grad was: the probe makes out with STALE_GRAD to see it)."""
    if not got["attached"]:
        return "backward-not-attached"
    again = probe("local_backward", op=op, times=times, created_grad=STALE_GRAD, **p)
    start = {"a": p["a_grad"], "b": p["b_grad"]}
    stale = {n: start[n] + (want[n] - start[n]) * STALE_GRAD / p["out_grad"] for n in ("a", "b")}
    if all(numerics.close(again[n], stale[n]) for n in ("a", "b")) and any(stale[n] != start[n] for n in "ab"):
        return "stale-out-grad"
    return None


@points(2)
def test_add_backward_sends_out_grad_to_both_inputs_and_a_leaf_backward_does_nothing(probe, rng):
    """+'s _backward sends out.grad to both inputs, and a leaf's _backward does nothing."""
    p = local(rng) | {"a_grad": 0.0, "b_grad": 0.0}
    g = p["out_grad"]
    expect_local(
        probe,
        "add",
        p,
        {"a": g, "b": g},
        lambda name: [
            ("missing-out-grad", 1.0),
            ("wrong-local-derivative", 2 * g),
            ("wrong-local-derivative", (p["b"] if name == "a" else p["a"]) * g),
            ("one-child-only", 0.0),
        ],
    )
    got = probe("leaf_backward", x=1.5)
    expect(
        got["callable"],
        f"A leaf's _backward (a Value made from a number) is {got.get('kind')}, not a function, so backward "
        "cannot call it: give every Value a _backward that does nothing until an operation sets its own.",
        "leaf-backward",
    )
    expect(
        got["grad"] == 0.25,
        f"Calling _backward() of a leaf (a Value made from a number) changed its grad from 0.25 to "
        f"{fmt(got['grad'])}: a leaf has no children, so its _backward does nothing.",
        "leaf-backward",
    )


@points(2)
def test_mul_backward_sends_each_input_the_other_operand_times_out_grad(probe, rng):
    """*'s _backward sends each input the other operand times out.grad."""
    p = local(rng) | {"a_grad": 0.0, "b_grad": 0.0}
    a, b, g = p["a"], p["b"], p["out_grad"]
    expect_local(probe, "mul", p, {"a": b * g, "b": a * g}, lambda name: mul_local_variants(a, b, g, name))
    # The fixed core: an operand of 0, where a local derivative found by dividing out.data fails.
    zero = {"a": 0.0, "b": 1.5, "out_grad": 0.5, "a_grad": 0.0, "b_grad": 0.0}
    try:
        expect_local(
            probe, "mul", zero, {"a": 0.75, "b": 0.0}, lambda name: [("missing-out-grad", 1.5 if name == "a" else 0.0)]
        )
    except LearnerError as e:
        if e.error.get("type") == "ZeroDivisionError" and "_backward" in str(
            (e.error.get("where") or {}).get("function")
        ):
            e.mistake = "derivative-by-division"
        raise


@points(3)
def test_backward_adds_into_grad_with_plus_equals(probe, rng):
    """_backward adds into grad with +=: twice, onto a grad already there, and for a + a and a*a."""
    p = local(rng)
    a, b, g, ga, gb = p["a"], p["b"], p["out_grad"], p["a_grad"], p["b_grad"]
    for op, local_of in (("mul", {"a": b, "b": a}), ("add", {"a": 1.0, "b": 1.0})):
        start = {"a": ga, "b": gb}
        expect_local(
            probe,
            op,
            p,
            {n: start[n] + 2 * local_of[n] * g for n in "ab"},
            lambda name, local_of=local_of, start=start: [
                ("assigns-grad", local_of[name] * g),
                ("missing-out-grad", start[name] + 2 * local_of[name]),
                ("one-child-only", start[name]),
            ],
            times=2,
        )
    for op, sym, want, assigned in (("add", "+", 2 * g, g), ("mul", "*", 2 * a * g, a * g)):
        got = probe("local_backward", op=op, same=True, a=a, b=a, out_grad=g, a_grad=0.0, b_grad=0.0)
        if not numerics.close(got["a"], want):
            blame(
                f"For out = a {sym} a with a = Value({fmt(a)}) and out.grad = {fmt(g)}, out._backward() left "
                f"a.grad = {fmt(got['a'])}, expected {fmt(want)}: a is both children, so it gets both contributions.",
                diagnose(got["a"], {"assigns-grad": assigned}, want=want),
            )


@points(2)
def test_calling_backward_by_hand_on_the_lecture_graph_matches_finite_differences(probe):
    """Every grad starts at 0.0, and calling _backward by hand on (a*b + c)*f gives its gradients."""
    built = probe("forward", graph=LECTURE_L)
    for name, grad in built["grads"].items():
        expect(
            grad == 0.0,
            f"{name}.grad is {fmt(grad)} right after it was made, expected 0.0.",
            "grad-not-zero",
        )
    expect_manual_backprop(
        probe,
        LECTURE_L,
        "L = (a*b + c) * f, after setting L.grad = 1.0 and calling _backward() on L, d, e, ... from the root down",
        [n for n, *_ in LECTURE_L],
    )


@points(1)
def test_calling_backward_by_hand_on_random_graphs_matches_finite_differences(probe, rng):
    """Calling _backward by hand on random graphs of + and * gives their gradients."""
    # The fixed core first: a random graph can put every * under + alone, where out.grad is 1 and a
    # * that forgets it goes unseen.
    for graph in (BOTH_OPS, *(random_graph(rng, ["add", "mul"], leaves=3, size=6) for _ in range(4))):
        expect_manual_backprop(probe, graph, f"For {with_leaves(graph)}, calling _backward() from the root down")


def expect_manual_backprop(probe, graph, what, names=None):
    """Call every _backward by hand from the root down; the grads against what right closures give
    at the values the learner's own + and * computed (check-02 grades those values, not this check)."""
    names = names or numerics.leaves(graph)
    got = probe("manual_backprop", graph=graph)
    try:
        values = numerics.learner_values(graph, got["data"])
    except ValueError:
        wrong(f"{what}: your + or * gave a node that holds no number, so its gradients cannot be judged.")
    expect_grads(
        {n: got["grad"][n] for n in names},
        numerics.right_grads(graph, got["data"], names),
        what + (" (at the values your + and * gave)" if values else ""),
        predictions=backprop_predictions(graph, BACKWARD_VARIANTS, names, values=values),
    )
