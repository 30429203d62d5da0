"""check-05: tanh and the other operations (micrograd/engine.py)."""

import math

from checks import numerics
from checks.gates import core
from checks.inputs import LECTURE_L, LECTURE_NEURON, leaf_value, random_graph
from checks.judge import (
    LONG,
    LearnerError,
    Wrong,
    blame,
    diagnose,
    expect,
    expect_close,
    expect_grads,
    fmt,
    points,
    with_leaves,
)
from checks.messages import NUMBER_LEFT
from checks.mistakes import advice
from checks.predictions import backprop_predictions, variants_of
from checks.shrink import rooted_at


def in_use(graph, rng, sign=None):
    """`graph` (whose last node is y, made from the leaf x) inside w = y * x, z = w * c: y's upstream
    grad is x*c, not 1, and x is used twice, by y and by w, whose _backward runs first in every
    order. So an operation that assigns (=) its grad, or forgets out.grad, always shows. `sign`
    fixes c's sign (else random)."""
    y, x = graph[-1][0], graph[0][0]
    c = sign * rng.uniform(0.5, 1.5) if sign else leaf_value(rng, 0.5, 1.5)
    return graph + [["c", "leaf", round(c, 4)], ["w", "mul", y, x], ["z", "mul", "w", "c"]]


def expect_op(probe, graph, variants=(), data_predictions=None, names=None, want=None):
    """The value of every node and the gradient of every leaf (calling the learner's _backward from
    the root down) against floats; a mistake is named when the learner's numbers are what one of
    `variants` predicts, or (for a wrong value) one of `data_predictions` ({node: {id: value}}), or
    when + or * wrap an operand that is already a Value (this lesson's line, which 02-04 do not grade)."""
    try:
        return judge_op(probe, graph, variants, data_predictions, names, want)
    except (Wrong, LearnerError) as e:
        if e.mistake is None and wraps_values(probe):
            if isinstance(e, Wrong):
                raise Wrong(f"{e} {advice('wraps-value')}", "wraps-value") from None
            e.mistake = "wraps-value"
        raise


def wraps_values(probe):
    """Whether the learner's + and * wrap an operand that is already a Value in another Value."""
    try:
        return bool(probe("forward", graph=LECTURE_L)["wraps"])
    except LearnerError:
        return False


def judge_op(probe, graph, variants, data_predictions, names, want):
    try:
        got = probe("op_grads", graph=graph, names=names)
    except LearnerError as e:
        numbers = any(not isinstance(a, str) for _, op, *args in graph if op not in ("leaf", "pow") for a in args)
        if e.error.get("type") == "TypeError" and NUMBER_LEFT.search(e.error.get("message", "")) and numbers:
            e.mistake = "reflected-missing"
        expression = numerics.expression(graph)
        e.about = expression if len(expression) <= LONG else None
        raise
    expect(got["is_value"], f"{numerics.expression(graph)} did not give a Value: every operation returns one.")
    values = want[0] if want else numerics.evaluate(graph)  # `want`: (values, grads) worked out before
    for name, op, *_ in graph:
        if op != "leaf" and not numerics.close(got["values"].get(name), values[name]):
            blame(
                f"{with_leaves(rooted_at(graph, name))} gave "
                f"{fmt(got['values'].get(name))}, expected {fmt(values[name])}.",
                diagnose(got["values"].get(name), (data_predictions or {}).get(name, {}), want=values[name]),
            )
    grads = want[1] if want else numerics.gradient(graph, names)
    expect_grads(
        got["grad"],
        grads,
        lambda bad: f"{with_leaves(graph, bad)}, backpropagating from the result",
        predictions=backprop_predictions(graph, variants, list(grads)) if variants else None,
        mistake="detached" if got["childless"] else None,
    )
    return got


def unary(op, x, arg=None):
    return [["x", "leaf", x], ["y", op, "x", *([] if arg is None else [arg])]]


TANH_FORMS = [
    ("tanh-derivative", lambda xs, t: (1 - t,)),
    ("tanh-derivative", lambda xs, t: (1 + t**2,)),
    ("tanh-derivative", lambda xs, t: (t,)),
    ("tanh-derivative", lambda xs, t: (1 - xs[0] ** 2,)),
]


@points(2)
def test_the_lecture_neuron_gives_0_7071_and_its_gradients(probe):
    """The lecture's neuron gives 0.7071 and its gradients."""
    names = ["x1", "w1", "x2", "w2", "b", "n"]
    got = expect_op(probe, LECTURE_NEURON, variants_of("tanh", TANH_FORMS), names=names)
    expect_close(got["data"], 0.7071067811865476, "o = tanh(x1*w1 + x2*w2 + b)", rtol=1e-6)
    expect_grads(got["grad"], {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5, "n": 0.5}, "The lecture's neuron")


@points(1)
def test_tanh_computes_tanh_and_its_gradient_is_1_minus_t_squared(probe, rng):
    """tanh computes tanh, and its gradient is 1 - t**2."""
    for _ in range(3):
        expect_op(probe, in_use(unary("tanh", leaf_value(rng, 0.2, 2.5)), rng), variants_of("tanh", TANH_FORMS))


@points(1)
def test_exp_computes_e_to_the_x_and_is_its_own_derivative(probe, rng):
    """exp computes e**x and is its own derivative."""
    forms = [("exp-derivative", lambda xs, out: (xs[0],)), ("exp-derivative", lambda xs, out: (1.0,))]
    for _ in range(3):
        expect_op(probe, in_use(unary("exp", leaf_value(rng, 0.2, 2.5)), rng), variants_of("exp", forms))


@points(1)
def test_relu_passes_positive_inputs_and_blocks_negative_ones(probe, rng):
    """relu passes positive inputs and blocks negative ones."""
    # A local derivative of 0 for x > 0 gives what an assigned grad gives (relu(x) is x there, so y's
    # path and w's carry the same): no name then. Both signs of x against both of the upstream grad,
    # for a derivative read off out.grad instead of out.data.
    forms = [
        ("relu-derivative", lambda xs, out: (1.0,)),
        ("relu-derivative", lambda xs, out: (xs[0],)),
        (None, lambda xs, out: (0.0,)),
    ]
    for x_sign, c_sign in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        graph = in_use(unary("relu", x_sign * rng.uniform(0.2, 2.0)), rng, sign=c_sign)
        expect_op(probe, graph, variants_of("relu", forms))


@points(1)
def test_pow_with_int_and_float_exponents_has_gradient_n_x_to_the_n_minus_1(probe, rng):
    """x**k with int and float exponents has gradient k * x**(k-1)."""
    forms = [
        ("pow-derivative", lambda xs, out: (xs[1] * xs[0] ** xs[1],)),
        ("pow-derivative", lambda xs, out: (xs[0] ** (xs[1] - 1),)),
        ("pow-derivative", lambda xs, out: (xs[1] * xs[0] ** (xs[1] - 1) * out,)),
    ]
    for k in (2, 3, -1, 0.5, -2.5):
        expect_op(probe, in_use(unary("pow", rng.uniform(0.4, 2.0), k), rng), variants_of("pow", forms))
    for k in (2, 3, -1):  # a negative base too, which an int power takes: the same rule
        expect_op(probe, in_use(unary("pow", -rng.uniform(0.4, 2.0), k), rng), variants_of("pow", forms))


@points(1)
def test_a_value_exponent_raises_type_error(probe):
    """A Value exponent raises TypeError."""
    got = probe("value_exponent", x=2.0)
    raised = got["value"]
    expect(
        raised == "TypeError",
        f"Value(2.0) ** Value(2.0) {'raised ' + raised if raised else 'did not raise'}; "
        "expected TypeError: only int or float exponents are supported.",
        "value-exponent",
    )
    # A ** that refuses every exponent refuses a Value too, without telling them apart.
    expect(got["number"] is None, "Value(2.0) ** 2 raised TypeError too: an int or float exponent is supported.")


@points(1)
def test_negation_subtraction_and_division_of_values(probe, rng):
    """-a, a - b and a / b of Values."""
    a, b = leaf_value(rng), leaf_value(rng, 0.5, 2.0)
    expect_op(probe, in_use([["a", "leaf", a], ["y", "neg", "a"]], rng), data_predictions={"y": {"wrong-result": a}})
    # a / b with b of either sign, every seed: b ** -1 of a negative base is a case of its own.
    for op, c in (("sub", b), ("div", abs(b)), ("div", -abs(b))):
        swapped = numerics.BINARY[op](c, a)
        expect_op(
            probe,
            in_use([["a", "leaf", a], ["b", "leaf", c], ["y", op, "a", "b"]], rng),
            # -a passed above: a - b whose b gets +out.grad is a - b's own _backward
            variants_of(op, [("sub-sign", lambda xs, out: (1.0, 1.0))] if op == "sub" else []),
            data_predictions={"y": {"wrong-result": swapped}},
        )


@points(2)
def test_plain_numbers_work_on_either_side(probe, rng):
    """Plain numbers work on either side: 2 + v, v + 2, 3*v, v*3, 1 - v, v - 1, 2 / v, v / 2."""
    v, k = leaf_value(rng, 0.5, 2.0), round(leaf_value(rng, 0.5, 3.0), 3)
    for op, n in (("add", 2), ("mul", 3), ("sub", 1), ("div", 2)):
        cases = [(True, k, v), (False, k, v), (True, n, v), (False, n, v)]  # a float, then an int as written
        if op == "div":  # k / v takes v ** -1: v of either sign, every seed
            cases += [(True, k, -v), (True, n, -v)]
        for left, x, u in cases:
            graph = [["v", "leaf", u], ["y", op, x, "v"] if left else ["y", op, "v", x]]
            swapped = numerics.BINARY[op](u, x) if left else numerics.BINARY[op](x, u)
            expect_op(
                probe,
                in_use(graph, rng),
                data_predictions={"y": {"reflected-swapped" if left else "wrong-result": swapped}},
            )


@points(2)
def test_random_expressions_of_every_operation_have_the_right_gradients(probe, rng):
    """Random expressions of every operation have the right gradients."""
    graph, want = core()
    expect_op(probe, graph, want=want)  # the fixed core: every mistake of an operation shows here
    ops = ["add", "mul", "sub", "div", "pow", "neg", "tanh", "exp", "relu"]
    for _ in range(6):
        expect_op(probe, random_graph(rng, ops, leaves=3, size=7, numbers=True))


@points(1)
def test_tanh_built_from_exp_agrees_with_tanh(probe, rng):
    """tanh built from exp, (e**2x - 1)/(e**2x + 1), agrees with tanh."""
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
    """tanh of ±1000 is ±1, with gradient 0."""
    for x, want in ((1000.0, 1.0), (-1000.0, -1.0)):
        try:
            got = probe("op_grads", graph=unary("tanh", x))
        except LearnerError as e:
            if e.error.get("type") in ("OverflowError", "ZeroDivisionError", "ValueError"):
                e.mistake = "tanh-overflow"
            raise
        overflowed = not numerics.is_number(got["data"]) or not math.isfinite(got["data"])
        if overflowed or got["data"] != want:
            blame(
                f"Value({fmt(x)}).tanh() gave {fmt(got['data'])}, expected {fmt(want)}.",
                "tanh-overflow" if overflowed else None,
                "For a large input tanh is 1 (or -1).",
            )
        expect(
            got["grad"]["x"] == 0.0,
            f"The gradient of Value({fmt(x)}).tanh() came out as {fmt(got['grad']['x'])}, expected 0.0.",
            "tanh-overflow" if not numerics.is_number(got["grad"]["x"]) or math.isnan(got["grad"]["x"]) else None,
        )
