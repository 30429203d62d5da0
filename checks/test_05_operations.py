"""check-05: tanh and the other operations (micrograd/engine.py)."""

import math

from checks import numerics
from checks.inputs import LECTURE_NEURON, leaf_value, random_graph
from checks.judge import diagnose, expect, expect_close, expect_grads, fmt, points


def expect_op(probe, graph, causes=None, names=None):
    """Forward value and leaf gradients of `graph` (backpropagated by the kit) against floats."""
    what = (
        numerics.expression(graph) + " with " + ", ".join(f"{n} = {fmt(a[0])}" for n, op, *a in graph if op == "leaf")
    )
    got = probe("op_grads", graph=graph, names=names)
    expect(got["is_value"], f"{numerics.expression(graph)} did not give a Value: every operation returns one.")
    want = numerics.evaluate(graph)[numerics.root(graph)]
    expect_close(got["data"], want, what, cause=(causes or {}).get("data"))
    grads = numerics.gradient(graph, names)
    cause = (causes or {}).get("grad")
    expect_grads(
        got["grad"],
        grads,
        f"{what}, backpropagating from the result",
        causes=(lambda g, bad: cause(g, bad)) if cause else None,
    )
    return got


def unary(op, x, arg=None):
    return [["x", "leaf", x], ["y", op, "x", *([] if arg is None else [arg])]]


@points(2)
def test_the_lecture_neuron_gives_0_7071_and_its_gradients(probe):
    names = ["x1", "w1", "x2", "w2", "b", "n"]
    got = expect_op(probe, LECTURE_NEURON, names=names)
    expect_close(got["data"], 0.7071067811865476, "o = tanh(x1*w1 + x2*w2 + b)", rtol=1e-6)
    expect_grads(got["grad"], {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5, "n": 0.5}, "The lecture's neuron")


@points(1)
def test_tanh_computes_tanh_and_its_gradient_is_1_minus_t_squared(probe, rng):
    for _ in range(3):
        x = leaf_value(rng, 0.2, 2.5)
        t = math.tanh(x)
        expect_op(
            probe,
            unary("tanh", x),
            {
                "grad": lambda g, bad: diagnose(
                    g["x"],
                    [
                        (1 - t, "The local derivative of tanh is 1 - t**2, not 1 - t."),
                        (t, "The local derivative of tanh is 1 - t**2 (t is the output)."),
                        (1 - x**2, "The local derivative is 1 - t**2 with t = tanh(x), the output, not the input."),
                    ],
                )
            },
        )


@points(1)
def test_exp_computes_e_to_the_x_and_is_its_own_derivative(probe, rng):
    for _ in range(3):
        x = leaf_value(rng, 0.2, 2.5)
        expect_op(
            probe,
            unary("exp", x),
            {
                "grad": lambda g, bad: diagnose(
                    g["x"],
                    [
                        (x, "The local derivative of exp is exp(x) itself: out.data."),
                        (1.0, "The local derivative of exp is exp(x) itself, times out.grad."),
                    ],
                )
            },
        )


@points(1)
def test_relu_passes_positive_inputs_and_blocks_negative_ones(probe, rng):
    for x in (sign * rng.uniform(0.2, 2.0) for sign in (1, 1, -1, -1)):
        expect_op(
            probe,
            unary("relu", x),
            {
                "grad": lambda g, bad, x=x: diagnose(
                    g["x"],
                    [
                        (1.0, "relu's gradient is 0 where the input is negative: it passes grad only where out > 0."),
                        (x, "relu's local derivative is 1 (where out > 0) or 0, not the input itself."),
                    ],
                )
            },
        )


@points(1)
def test_pow_with_int_and_float_exponents_has_gradient_n_x_to_the_n_minus_1(probe, rng):
    for k in (2, 3, -1, 0.5, -2.5):
        x = rng.uniform(0.4, 2.0)
        expect_op(
            probe,
            unary("pow", x, k),
            {
                "grad": lambda g, bad, k=k, x=x: diagnose(
                    g["x"],
                    [
                        (k * x**k, "The power rule is n * x**(n - 1), not n * x**n."),
                        (x ** (k - 1), "The power rule is n * x**(n - 1): the factor n is missing."),
                        (k * x ** (k - 1) * x**k, "Multiply n * x**(n - 1) by out.grad, not by out.data."),
                    ],
                )
            },
        )


@points(1)
def test_a_value_exponent_raises_type_error(probe):
    got = probe("value_exponent", x=2.0)
    expect(
        got == "TypeError",
        f"Value(2.0) ** Value(2.0) {'raised ' + got if got else 'did not raise'}; "
        "expected TypeError: only int or float exponents are supported.",
    )


@points(1)
def test_negation_subtraction_and_division_of_values(probe, rng):
    a, b = leaf_value(rng), leaf_value(rng, 0.5, 2.0)
    expect_op(probe, [["a", "leaf", a], ["y", "neg", "a"]])
    for op in ("sub", "div"):
        expect_op(probe, [["a", "leaf", a], ["b", "leaf", b], ["y", op, "a", "b"]])


SWAPPED = {
    "sub": "It came out as v - k: __rsub__ computes other - self, the plain number minus the Value.",
    "div": "It came out as v / k: __rtruediv__ computes other / self, the plain number over the Value.",
}


@points(2)
def test_plain_numbers_work_on_either_side(probe, rng):
    v, k = leaf_value(rng, 0.5, 2.0), round(leaf_value(rng, 0.5, 3.0), 3)
    for op in ("add", "mul", "sub", "div"):
        for left in (True, False):
            graph = [["v", "leaf", v], ["y", op, k, "v"] if left else ["y", op, "v", k]]
            swapped = numerics.BINARY[op](v, k)
            expect_op(
                probe,
                graph,
                {
                    "data": lambda got, op=op, s=swapped: (
                        SWAPPED.get(op, "")
                        if numerics.close(got, s)
                        else "A plain number on the left calls __radd__, __rsub__, __rmul__ or "
                        "__rtruediv__ of the Value on the right."
                    )
                },
            )


@points(2)
def test_random_expressions_of_every_operation_have_the_right_gradients(probe, rng):
    ops = ["add", "mul", "sub", "div", "pow", "neg", "tanh", "exp", "relu"]
    for _ in range(6):
        expect_op(probe, random_graph(rng, ops, leaves=3, size=7, numbers=True))


@points(1)
def test_tanh_built_from_exp_agrees_with_tanh(probe, rng):
    x = leaf_value(rng, 0.2, 1.5)
    graph = [
        ["x", "leaf", x],
        ["x2", "mul", 2.0, "x"],
        ["e", "exp", "x2"],
        ["top", "sub", "e", 1.0],
        ["bot", "add", "e", 1.0],
        ["t", "div", "top", "bot"],
    ]
    got = expect_op(probe, graph)
    expect_close(got["data"], math.tanh(x), f"(exp(2x) - 1) / (exp(2x) + 1) at x = {fmt(x)}")


@points(1)
def test_tanh_of_1000_is_1_with_gradient_0(probe):
    for x, want in ((1000.0, 1.0), (-1000.0, -1.0)):
        got = probe("op_grads", graph=unary("tanh", x))
        expect_close(
            got["data"],
            want,
            f"Value({x}).tanh()",
            cause="For a large input tanh is 1 (or -1); compute it without overflowing.",
        )
        expect(
            got["grad"]["x"] == 0.0,
            f"The gradient of Value({x}).tanh() came out as {fmt(got['grad']['x'])}, expected 0.0.",
        )
