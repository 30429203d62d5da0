"""check-03: local gradients and the chain rule (micrograd/engine.py, _backward of + and *)."""

from checks import numerics
from checks.inputs import LECTURE_L, leaf_value, random_graph
from checks.judge import diagnose, expect, expect_grads, fmt, points, wrong

ASSIGNED = "It looks like the grad was assigned (=) instead of added to (+=): gradients must accumulate."
NO_OUT_GRAD = "The chain rule multiplies the local derivative by out.grad: child.grad += local derivative * out.grad."


def local(rng):
    """Random operands, upstream gradient and starting grads, all away from 0 and 1."""
    return {k: round(leaf_value(rng, 0.3, 2.0), 4) for k in ("a", "b", "out_grad", "a_grad", "b_grad")}


def expect_local(probe, op, p, want_a, want_b, candidates, times=1):
    sym = "+" if op == "add" else "*"
    got = probe("local_backward", op=op, times=times, **p)
    for name, want in (("a", want_a), ("b", want_b)):
        if not numerics.close(got[name], want, numerics.VALUE_RTOL):
            setup = (
                f"a = Value({p['a']}), b = Value({p['b']}), out = a {sym} b, a.grad = {p['a_grad']}, "
                f"b.grad = {p['b_grad']}, out.grad = {p['out_grad']}"
            )
            calls = "out._backward()" + (f" called {times} times" if times > 1 else "")
            wrong(
                f"With {setup}, {calls} left {name}.grad = {fmt(got[name])}, expected {fmt(want)}. "
                + (
                    diagnose(got[name], candidates(name))
                    or f"Check the local derivative of {sym} with respect to {name}."
                )
            )
    expect(
        numerics.close(got["out"], p["out_grad"]),
        f"out._backward() changed out.grad to {fmt(got['out'])}; it should only change the children's grads.",
    )


@points(1)
def test_grad_starts_at_zero_on_every_value(probe):
    got = probe("forward", graph=LECTURE_L)
    for name, grad in got["grads"].items():
        expect(grad == 0.0, f"{name}.grad is {fmt(grad)} right after it was made; every Value starts with grad 0.0.")


@points(2)
def test_add_backward_sends_out_grad_to_both_inputs_and_a_leaf_backward_does_nothing(probe, rng):
    p = local(rng) | {"a_grad": 0.0, "b_grad": 0.0}
    g = p["out_grad"]
    expect_local(
        probe,
        "add",
        p,
        g,
        g,
        lambda name: [
            (1.0, NO_OUT_GRAD),
            (2 * g, "Each child of + gets out.grad once."),
        ],
    )
    got = probe("leaf_backward", x=1.5)
    expect(
        got["grad"] == 0.25 and got["returned"] is None,
        f"Calling _backward() of a leaf (a Value made from a number) changed its grad from 0.25 to "
        f"{fmt(got['grad'])}: a leaf has no children, so its _backward does nothing.",
    )


@points(2)
def test_mul_backward_sends_each_input_the_other_operand_times_out_grad(probe, rng):
    p = local(rng) | {"a_grad": 0.0, "b_grad": 0.0}
    a, b, g = p["a"], p["b"], p["out_grad"]

    def candidates(name):
        other, own = (b, a) if name == "a" else (a, b)
        return [
            (other, NO_OUT_GRAD),
            (own * g, "Each input gets the *other* operand times out.grad: d(a*b)/da = b, d(a*b)/db = a."),
            (g, "That is the rule of +; for *, the local derivative with respect to a is b (and to b, a)."),
            (own, "Each input gets the other operand times out.grad, not its own value."),
        ]

    expect_local(probe, "mul", p, b * g, a * g, candidates)


@points(3)
def test_backward_adds_into_grad_with_plus_equals(probe, rng):
    p = local(rng)
    a, b, g, ga, gb = p["a"], p["b"], p["out_grad"], p["a_grad"], p["b_grad"]

    def candidates(own_start, local_grad):
        return lambda name: [(local_grad(name) * g, ASSIGNED), (2 * local_grad(name) * g, ASSIGNED)]

    expect_local(
        probe, "mul", p, ga + 2 * b * g, gb + 2 * a * g, candidates(0, lambda n: b if n == "a" else a), times=2
    )
    expect_local(probe, "add", p, ga + 2 * g, gb + 2 * g, candidates(0, lambda n: 1.0), times=2)
    for op, sym, want, wrong_one in (("add", "+", 2 * g, g), ("mul", "*", 2 * a * g, a * g)):
        got = probe("local_backward", op=op, same=True, a=a, b=a, out_grad=g, a_grad=0.0, b_grad=0.0)
        expect(
            numerics.close(got["a"], want),
            f"For out = a {sym} a with a = Value({a}) and out.grad = {g}, out._backward() left a.grad = "
            f"{fmt(got['a'])}, expected {fmt(want)}: a is both children, so it gets both contributions. "
            + (ASSIGNED if numerics.close(got["a"], wrong_one) else ""),
        )


@points(1)
def test_calling_backward_by_hand_on_the_lecture_graph_matches_finite_differences(probe):
    got = probe("manual_backprop", graph=LECTURE_L)
    want = numerics.gradient(LECTURE_L, [n for n, *_ in LECTURE_L])
    expect_grads(
        got,
        want,
        "L = (a*b + c) * f, after setting L.grad = 1.0 and calling _backward() on L, d, e, ... from the root down",
    )


@points(1)
def test_calling_backward_by_hand_on_random_graphs_matches_finite_differences(probe, rng):
    for _ in range(4):
        graph = random_graph(rng, ["add", "mul"], leaves=3, size=6)
        got = probe("manual_backprop", graph=graph, names=numerics.leaves(graph))
        expect_grads(
            got, numerics.gradient(graph), f"For {numerics.expression(graph)}, calling _backward() from the root down"
        )
