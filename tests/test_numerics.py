"""The checks' numerics helper is right, since every check trusts it."""

import math
import random

import pytest

from checks import numerics
from checks.inputs import BOTH_OPS, LECTURE_L, LECTURE_NEURON, every_operation, many_paths, random_graph


def test_rel_error_is_relative_above_tiny_and_absolute_below():
    assert numerics.rel_error(100.0, 101.0) == pytest.approx(1 / 101)
    assert numerics.rel_error(0.0, 1e-6) == pytest.approx(1e-6 / numerics.TINY)
    assert numerics.rel_error(2.0, 2.0) == 0.0


def test_rel_error_of_anything_but_finite_numbers_is_infinite_unless_equal():
    assert numerics.rel_error(None, 1.0) == math.inf
    assert numerics.rel_error("<Value>", 1.0) == math.inf
    assert numerics.rel_error(math.nan, math.nan) == math.inf
    assert numerics.rel_error(True, 1.0) == math.inf
    assert numerics.rel_error(math.inf, math.inf) == 0.0


def test_close_uses_the_stated_tolerance():
    assert numerics.close(1.0, 1.0 + 1e-10)
    assert not numerics.close(1.0, 1.0 + 1e-6)
    assert numerics.close(1.0, 1.0 + 1e-6, rtol=numerics.GRAD_RTOL)


@pytest.mark.parametrize(
    "f, df, x", [(math.sin, math.cos, 0.7), (math.exp, math.exp, 2.5), (lambda x: x**3, lambda x: 3 * x**2, -40.0)]
)
def test_central_difference_is_accurate_well_within_the_gradient_tolerance(f, df, x):
    assert numerics.rel_error(numerics.central_difference(f, x), df(x)) < numerics.GRAD_RTOL / 100


def test_partials_of_the_lecture_d_are_minus_3_2_and_1():
    got = numerics.partials(lambda a, b, c: a * b + c, [2.0, -3.0, 10.0])
    assert got == pytest.approx([-3.0, 2.0, 1.0], rel=1e-9)


def test_the_lecture_expression_evaluates_to_minus_8_with_the_lectures_gradients():
    assert numerics.evaluate(LECTURE_L)["L"] == -8.0
    grads = numerics.gradient(LECTURE_L, ["a", "b", "c", "e", "d", "f", "L"])
    want = {"a": 6.0, "b": -4.0, "c": -2.0, "e": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}
    assert grads == pytest.approx(want, rel=1e-8)


def test_the_lecture_neuron_gives_0_7071_and_its_gradients():
    assert numerics.evaluate(LECTURE_NEURON)["o"] == pytest.approx(0.7071067811865476)
    grads = numerics.gradient(LECTURE_NEURON, ["x1", "w1", "x2", "w2", "n"])
    assert grads == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "n": 0.5}, abs=1e-8)


def test_plain_number_operands_stand_on_either_side():
    graph = [["v", "leaf", 4.0], ["a", "sub", 1.0, "v"], ["b", "div", 2.0, "a"], ["c", "pow", "b", 2]]
    values = numerics.evaluate(graph)
    assert (values["a"], values["b"], values["c"]) == (-3.0, 2.0 / -3.0, (2.0 / -3.0) ** 2)
    assert numerics.expression(graph) == "(2.0 / (1.0 - v)) ** 2"


def test_random_graphs_are_reproducible_finite_and_use_every_node():
    ops = ["add", "mul", "sub", "div", "pow", "neg", "tanh", "exp", "relu"]
    for seed in range(30):
        g1 = random_graph(random.Random(seed), ops, numbers=True)
        assert g1 == random_graph(random.Random(seed), ops, numbers=True)
        assert all(math.isfinite(v) for v in numerics.evaluate(g1).values())
        used = {a for _, _, *args in g1 for a in args if isinstance(a, str)}
        assert used | {numerics.root(g1)} == {name for name, *_ in g1}


def test_the_many_paths_graph_stays_finite_over_40_levels():
    g = many_paths(40)
    assert len(g) == 83
    assert all(math.isfinite(v) for v in numerics.gradient(g).values())


def test_the_float_mlp_and_its_loss_gradient_agree_with_a_hand_computation():
    layers = [
        [([0.5, -0.25], 0.1)],
    ]
    x = [1.0, 2.0]
    assert numerics.mlp(layers, x) == pytest.approx(math.tanh(0.5 - 0.5 + 0.1))
    loss, grad = numerics.loss_gradient(layers, [x], [1.0])
    t = math.tanh(0.1)
    assert loss == pytest.approx((t - 1) ** 2)
    dz = 2 * (t - 1) * (1 - t * t)
    assert grad == pytest.approx([dz * 1.0, dz * 2.0, dz], rel=1e-6)
    assert numerics.unflatten(numerics.flatten(layers), layers) == layers


def assert_gradient_is_a_whole_pass(graph):
    """Each node's central difference, bit for bit what evaluating the whole graph with it pinned gives."""
    names, top = [name for name, *_ in graph], numerics.root(graph)
    values = numerics.evaluate(graph)
    whole = {
        name: numerics.central_difference(lambda v, name=name: numerics.evaluate(graph, {name: v})[top], values[name])
        for name in names
    }
    assert numerics.gradient(graph, names) == whole


@pytest.mark.parametrize("seed", range(40))
def test_the_gradient_recomputes_only_what_a_node_changes_and_gets_the_same_floats_as_a_whole_pass(seed):
    """`gradient` moves one node at a time and evaluates only the nodes after it: bit for bit what
    evaluating the whole graph with that node pinned gives."""
    rng = random.Random(seed)
    ops = rng.sample(["add", "mul", "sub", "div", "tanh", "exp", "relu", "pow"], 4)
    graph = random_graph(rng, ops, leaves=rng.randint(2, 4), size=rng.randint(3, 12), numbers=seed % 2 == 0)
    assert_gradient_is_a_whole_pass(graph)


@pytest.mark.parametrize("graph", [every_operation(), many_paths(12)], ids=["every-operation", "many-paths"])
def test_the_gradient_of_the_checks_largest_graphs_is_bit_for_bit_a_whole_pass(graph):
    """check-05's core graph (a sum over 60 parts) and a graph of 2**12 paths: each node's rows found
    through the others, in the graph's order."""
    assert_gradient_is_a_whole_pass(graph)


def test_backprop_agrees_with_central_differences_on_random_graphs_of_every_operation():
    rng = random.Random(3)
    ops = ["add", "mul", "sub", "div", "pow", "neg", "tanh", "exp", "relu"]
    for _ in range(20):
        graph = random_graph(rng, ops, leaves=3, size=7, numbers=True)
        exact, fd = numerics.backprop(graph), numerics.gradient(graph)
        assert all(numerics.close(exact[n], fd[n], 1e-5) for n in fd), graph


def test_a_variant_rule_of_backprop_gives_what_that_mistake_gives():
    # out = a * a with a = 3: assigning keeps only the second contribution, 3; adding gives 6.
    graph = [["a", "leaf", 3.0], ["out", "mul", "a", "a"]]
    assert numerics.backprop(graph)["a"] == 6.0
    assert numerics.backprop(graph, {"mul": {"assign": True}})["a"] == 3.0
    assert numerics.backprop(graph, {"mul": {"no_out_grad": True}}, seed=2.0)["a"] == 6.0
    assert numerics.backprop(graph, {"mul": {"only": (0,)}})["a"] == 3.0


# Each mistake of + or * alone, as a variant rule of backprop: what check-03's fixed core must show.
ONE_OP_MISTAKES = [
    *({op: {"no_out_grad": True}} for op in ("add", "mul")),
    *({op: {"assign": True}} for op in ("add", "mul")),
    *({op: {"only": (0,)}} for op in ("add", "mul")),
    *({"mul": {"local": local}} for local in (lambda xs, out: (xs[0], xs[1]), lambda xs, out: (1.0, 1.0))),
]


@pytest.mark.parametrize("rules", ONE_OP_MISTAKES)
def test_every_mistake_of_plus_or_times_alone_changes_a_leaf_grad_of_the_fixed_core(rules):
    """A random graph can hide one (every * under + alone gets out.grad 1): BOTH_OPS, which check-03's
    random graphs start from, shows each at every seed."""
    right, wrong = numerics.backprop(BOTH_OPS), numerics.backprop(BOTH_OPS, rules)
    assert any(not numerics.close(wrong[n], right[n], 1e-3) for n in numerics.leaves(BOTH_OPS))


def test_a_random_graph_can_hide_a_times_that_forgets_out_grad():
    # Why the fixed core: this seed draws (((x1 + x0) + (x1 + x1)) * (x1 + x0)) + ..., its one * under +.
    graph = random_graph(random.Random(3), ["add", "mul"], leaves=3, size=6)
    assert any(op == "mul" for _, op, *_ in graph)
    assert numerics.backprop(graph, {"mul": {"no_out_grad": True}}) == numerics.backprop(graph)


def test_what_the_gates_work_out_once_at_import_is_what_the_numerics_give_afresh():
    """check-05's core and gate 06's gradient are worked out once a process (before a grader's judges
    fork), and shared by every student's judge: the same numbers, bit for bit, as working them out again."""
    from checks import gates
    from checks.inputs import as_numeric

    graph, want = gates.core()
    assert graph == every_operation() and gates.core() is gates.core()
    assert want == (numerics.evaluate(every_operation()), numerics.gradient(every_operation()))
    assert gates.mlp_want() == numerics.loss_gradient(as_numeric(gates.MLP_VALUES), gates.MLP_XS, gates.MLP_YS)[1]


def test_a_run_works_out_the_fixed_expectations_as_it_collects_only_where_its_checks_use_them():
    """check-01 alone pays nothing for them; a run with check-05 or check-07 (a grader's judge server
    collects all seven) works them out before its tests, and so before any judge forks."""
    from checks import gates

    for fn in (gates.core, gates.mlp_want):
        fn.cache_clear()
    gates.warm({"01": 14, "02": 10})
    assert gates.core.cache_info().currsize == gates.mlp_want.cache_info().currsize == 0
    gates.warm({"05": 14})
    assert gates.core.cache_info().currsize == 1 and gates.mlp_want.cache_info().currsize == 0
    gates.warm(["01", "07"])
    assert gates.mlp_want.cache_info().currsize == 1
