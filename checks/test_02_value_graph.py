"""check-02: the Value graph, + and * (micrograd/engine.py)."""

import re

from checks import numerics
from checks.inputs import BOTH_OPS, LECTURE_L, random_graph
from checks.judge import LearnerError, blame, expect, expect_close, fmt, points, with_leaves, wrong
from checks.mistakes import advice

CHILDREN = "Pass (self, other) as the children of out."

OTHER = {"add": ("a product", "a sum", lambda x, y: x * y), "mul": ("a sum", "a product", lambda x, y: x + y)}


def changed(got):
    """Whether building the graph changed an operand (an operation that returns one of them, or writes
    into it): the nodes read are then not the ones built."""
    return not got["leaves_unchanged"] or got["changed"]


def op_cause(graph, got):
    """(mistake, sentence) behind a wrong forward value: an operand that changed, or the first node
    whose own operands are right (in the learner's data) but whose value is not."""
    if changed(got):
        return "mutates-operand", advice("mutates-operand")
    for name, op, *args in graph:
        if op == "leaf":
            continue
        x, y = (got["data"][a] for a in args)
        if not all(numerics.is_number(v) for v in (x, y)) or numerics.close(
            got["data"][name], numerics.BINARY[op](x, y)
        ):
            continue
        what, right, other = OTHER[op]
        sym = numerics.SYMBOL[op]
        if numerics.close(got["data"][name], other(x, y)):
            return (
                "wrong-result",
                f"{name} = {numerics.expression(graph, name)} came out as {what}: {sym} computes {right}.",
            )
        return "wrong-result", f"{name} = {fmt(x)} {sym} {fmt(y)} gave {fmt(got['data'][name])}."
    return None, "Each operation returns a new Value holding the result in data."


def expect_forward(probe, graph, what):
    got = forward(probe, graph)
    want = numerics.evaluate(graph)
    bad = [n for n in want if not numerics.close(got["data"][n], want[n])]
    if bad:
        mistake, cause = op_cause(graph, got)
        wrong(
            f"{what}: "
            + ", ".join(
                f"{n} = {numerics.expression(graph, n)} gave {fmt(got['data'][n])}, expected {fmt(want[n])}"
                for n in bad[:3]
            )
            + ". "
            + cause,
            mistake,
        )
    return got


def forward(probe, graph):
    """The forward probe, failing first with the true cause where + or * wrapped an operand that was
    already a Value (lesson 05's `other = Value(other)`, which runs before this lesson's line)."""
    got = probe("forward", graph=graph)
    expect(
        not got["wraps"],
        f"Building {numerics.expression(graph)} from Values gave a node whose child holds a Value as its data.",
        "wraps-value",
    )
    return got


@points(2)
def test_the_lecture_expression_L_equals_a_times_b_plus_c_times_f_is_minus_8(probe):
    """The lecture's expression L = (a*b + c)*f is -8.0."""
    got = expect_forward(probe, LECTURE_L, "With a=2.0, b=-3.0, c=10.0, f=-2.0, L = (a*b + c) * f")
    expect_close(got["data"]["L"], -8.0, "L = (a*b + c) * f")


@points(2)
def test_random_expressions_of_plus_and_times_compute_their_values(probe, rng):
    """Random expressions of + and * compute their values."""
    for graph in (BOTH_OPS, *(random_graph(rng, ["add", "mul"], leaves=3, size=5) for _ in range(5))):
        expect_forward(probe, graph, f"For {with_leaves(graph)}")


def structure(got, mistake, otherwise=""):
    """(mistake id, words after the facts) of a node whose _prev or _op is wrong: an operand changed
    where building the graph changed one; else `mistake` with `otherwise`, or its advice."""
    if changed(got):
        return "mutates-operand", "Building the graph changed an operand's data. " + advice("mutates-operand")
    return mistake, otherwise or (advice(mistake) if mistake else "")


@points(1)
def test_prev_is_the_set_of_both_operands(probe):
    """_prev is the set of both operands."""
    got = forward(probe, LECTURE_L)
    for name, want in (("e", ["a", "b"]), ("d", ["c", "e"]), ("L", ["d", "f"]), ("a", [])):
        if got["prev_type"][name] not in ("set", "frozenset"):
            blame(f"{name}._prev is a {got['prev_type'][name]}, expected a set.", "prev-not-set")
        have = got["prev"][name]
        missing = name != "a" and set(have) < set(want)
        if have != want:
            mistake, words = structure(
                got,
                "missing-child" if missing else None,
                "" if missing else "A Value made from a number has no children." if name == "a" else CHILDREN,
            )
            wrong(
                f"In the lecture's graph, {name}._prev holds {have or 'nothing'}, expected {want or 'nothing'}. "
                + words,
                mistake,
            )


@points(1)
def test_op_records_plus_and_times(probe):
    """_op records '+' and '*'."""
    got = forward(probe, LECTURE_L)
    for name, want in (("e", "*"), ("d", "+"), ("L", "*"), ("a", "")):
        if got["op"][name] != want:
            mistake, words = structure(got, "wrong-op")
            wrong(f"{name}._op is {got['op'][name]!r}, expected {want!r}. {words}", mistake)


@points(1)
def test_a_plus_a_and_a_times_a_have_one_child(probe, rng):
    """a + a and a*a have one child."""
    x = round(rng.uniform(0.5, 2.0), 4)
    for op, sym, want in (("add", "+", 2 * x), ("mul", "*", x * x)):
        got = probe("same_operand", op=op, x=x)
        expect(got["a"] == x, f"a {sym} a changed a.data to {fmt(got['a'])}.", "mutates-operand")
        expect_close(
            got["data"], want, f"a {sym} a with a = Value({fmt(x)})", predictions={"wrong-result": OTHER[op][2](x, x)}
        )
        expect(
            got["prev"] == ["a"],
            f"(a {sym} a)._prev holds {got['prev']}, expected just a"
            + (": a set keeps each child once." if got["prev"] == ["a", "a"] else "."),
            "prev-not-set" if got["prev"] == ["a", "a"] else None,
        )


@points(1)
def test_operands_are_never_changed(probe, rng):
    """Operands are never changed."""
    for graph in (BOTH_OPS, random_graph(rng, ["add", "mul"], leaves=2, size=4)):
        got = forward(probe, graph)
        expect(
            not changed(got),
            f"Computing {numerics.expression(graph)} changed a leaf's data or children.",
            "mutates-operand",
        )
        for name, grad in got["grads"].items():
            expect(
                grad == got["fresh_grad"],
                f"After building the graph, {name}.grad is {fmt(grad)} where a new Value's is "
                f"{fmt(got['fresh_grad'])}; building must not touch grads.",
            )
    # Operands that already hold a grad and a label (a fresh Value's 0.0 hides a + that zeroes them).
    for op, sym in (("add", "+"), ("mul", "*")):
        got = probe("operands_kept", op=op)
        for name, before, after in zip("ab", got["before"], got["after"]):
            shown = lambda x: repr(x) if isinstance(x, str) else fmt(x)  # noqa: E731
            moved = [f"{k} from {shown(before[k])} to {shown(after[k])}" for k in before if after[k] != before[k]]
            expect(
                not moved,
                f"a {sym} b changed {name}'s {', '.join(moved)}.",
                "mutates-operand",
            )


@points(1)
def test_a_value_keeps_its_label_children_and_op(probe):
    """A Value keeps its label, children and op."""
    got = probe("new_value", data=2.0, kwargs={"label": "a"})
    expect(got["label"] == "a", f"Value(2.0, label='a').label is {got['label']!r}, expected 'a'.", "label-lost")
    got = probe("new_value", data=3.0)
    expect(
        got["label"] == "" and got["op"] == "" and got["prev"] == [],
        f"Value(3.0) has label={got['label']!r}, _op={got['op']!r}, _prev={got['prev']}; "
        "expected '', '' and an empty set.",
    )
    got = probe("new_value", data=5.0, args=[[2.0, 3.0], "+", "s"])
    expect(
        got["prev"] == ["child0", "child1"] and got["op"] == "+" and got["label"] == "s",
        "Value(5.0, (x, y), '+', 's') should keep both children in _prev, '+' in _op and 's' in label; "
        f"got _prev={got['prev']}, _op={got['op']!r}, label={got['label']!r}.",
        "label-lost" if got["prev"] == ["child0", "child1"] and got["op"] == "+" else None,
    )


@points(1)
def test_repr_shows_value_data(probe, rng):
    """repr shows Value(data=...)."""
    x = round(rng.uniform(-9, 9), 3)
    try:
        text = probe("value_repr", data=x)["repr"]
    except LearnerError as e:  # Python's own words when __repr__ prints the text and returns None
        if e.error.get("type") == "TypeError" and "__repr__ returned non-string" in str(e.error.get("message")):
            e.mistake = "no-repr"
        raise
    m = re.search(r"Value\(data\s*=\s*([-+0-9.eE]+)", text)
    expect(m is not None, f"repr(Value({x})) is {text!r}; expected it to contain 'Value(data={x}'.", "no-repr")
    try:
        shown = float(m[1])
    except ValueError:
        shown = None
    expect(
        shown is not None and numerics.close(shown, x, 1e-3),
        f"repr(Value({x})) is {text!r}; the number after 'Value(data=' should be {x}.",
        "no-repr",
    )
