"""Fair at every seed: a correct implementation earns full marks whatever seed its inputs come from,
and every mistake of the zoo loses points on its own check at every seed.

Grading derives a different seed for every submission, so a test that fails correct code at one
seed in a hundred would take points from one honest student in a hundred. `make test` sweeps the
reference over 50 fresh random 128-bit seeds and every member of the zoo over 2 (the default and a
fresh random one, new on every run); `make soak` (KIT_SOAK=1) sweeps the reference and every
correct style over 2,000, and each member of the zoo over 200, where each must earn one score
whatever the seed. A failure names the seeds:
`python -m kit check NN --impl DIR --seed S` shows the verdict again.
"""

import itertools
import json
import os

import pytest
from test_styles import STYLES
from zoo import ALSO_CHARGED, ZOO

from checks import numerics
from checks.inputs import (
    LAYER_BIASES,
    LECTURE_XS,
    LECTURE_YS,
    NEURON_WEIGHTS,
    SPREAD,
    TRAINING_SEEDS,
    random_graph,
    spreading_seed,
    training_start,
)
from checks.test_07_training import LOSS_THRESHOLD, expected_run
from kit import ROOT
from kit.dev.seeds import describe, random_seeds, short_of_full, sweep
from kit.regions import build_tree

SOAK = bool(os.environ.get("KIT_SOAK"))
SEEDS = 2000 if SOAK else 50
ZOO_SEEDS = 200
CORRECT = list(STYLES) if SOAK else ["solutions"]


@pytest.mark.parametrize("style", CORRECT)
def test_a_correct_implementation_gets_full_marks_at_every_random_seed(style):
    result = sweep([STYLES[style]], random_seeds(SEEDS), jobs=2)[str(STYLES[style])]
    assert len(result["seeds"]) == SEEDS and len(result["earned"]) == SEEDS
    assert not short_of_full(result), describe(style, result)


def zoo_trees(folder):
    """{tree: zoo member name}: every member of the zoo built as a complete tree in `folder`."""
    trees = {}
    for k, (name, (_, file, patch, *_)) in enumerate(ZOO.items()):
        dst = build_tree(ROOT / "solutions", folder / f"member-{k}", 7)
        text = (dst / file).read_text()
        for old, new in patch:
            text = text.replace(old, new, 1)
        (dst / file).write_text(text)
        trees[str(dst)] = name
    return trees


@pytest.mark.slow
def test_each_mistake_of_the_zoo_costs_the_same_points_at_every_seed_and_only_in_its_own_check(tmp_path):
    """Seeds exist to defeat hard-coded answers, never to decide whether a mistake is seen: every
    member earns one score per check over its seeds (the default one and fresh random ones; 200 in
    make soak), short of full marks in its own check and at full marks in every other."""
    trees = zoo_trees(tmp_path)
    seeds = [1, *random_seeds(ZOO_SEEDS if SOAK else 1)]
    for tree, summary in sweep(list(trees), seeds, jobs=2).items():
        name = trees[tree]
        ex = ZOO[name][0]
        scores = {json.dumps(earned, sort_keys=True) for earned in summary["earned"].values()}
        assert len(scores) == 1, f"{name}: its points depend on the seed:\n{describe(name, summary)}"
        (earned,) = [json.loads(s) for s in scores]
        short = {e for e, points in earned.items() if points < summary["max"][e]}
        assert short and short <= {ex, *ALSO_CHARGED.get(name, ())}, (name, earned)


# A reference whose relu drops inputs below 1.0 as well: only some seeds draw such an input.
HALF_RELU = [("0.0 if self.data < 0 else self.data", "0.0 if self.data < 1.0 else self.data")]


def test_the_sweep_gives_each_seed_the_verdict_kit_check_gives_it(variant, checks):
    impl = variant(HALF_RELU)
    seeds = list(range(1, 13))
    (summary,) = sweep([impl], seeds, ["05"], jobs=2).values()
    short = short_of_full(summary)
    assert short and len(short) < len(seeds), "the half relu should be caught at some of these seeds, not all"
    for seed in [min(short), min(set(seeds) - set(short))]:
        run = checks("05", impl, "--seed", str(seed))
        assert run.earned("05")[0] == summary["earned"][str(seed)]["05"], seed


def test_the_sweep_runs_a_test_that_draws_nothing_once_and_charges_it_at_every_seed(variant):
    # A wrong add breaks the lecture's expression (no draws) as well as the random ones (draws).
    impl = variant([("Value(self.data + other.data", "Value(self.data - other.data")])
    (summary,) = sweep([impl], [5, 6, 7], ["02"], jobs=1).values()
    lecture = next(f for nodeid, f in summary["failing"].items() if "::test_the_lecture_expression" in nodeid)
    assert lecture["seeds"] == [None]
    assert set(short_of_full(summary)) == {5, 6, 7}


def test_the_seeds_command_exits_0_only_when_every_seed_earns_full_marks(variant):
    import subprocess
    import sys

    def run(*args):
        cmd = [sys.executable, "-m", "kit", "seeds", "--seeds", "1,2", "--only", "05", "--jobs", "1", *args]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)

    good = run()
    assert good.returncode == 0 and "every check at full marks at each of 2 seeds" in good.stdout, good.stdout
    bad = run("--impl", str(variant([("self.grad += (out.data > 0) * out.grad", "self.grad += out.grad")])))
    assert bad.returncode == 1 and "short of full marks" in bad.stdout, bad.stdout


def test_a_spreading_seed_spreads_weights_and_biases_past_the_threshold_whichever_is_drawn_first():
    import random

    rng = random.Random("spreading")
    for draws, parts in ((100, NEURON_WEIGHTS), (200, LAYER_BIASES)):
        for _ in range(200):
            seed = spreading_seed(rng, draws, *parts)
            gen = random.Random(seed)
            xs = [gen.uniform(-1, 1) for _ in range(draws)]
            for part in parts:
                assert min(xs[part]) < -SPREAD and max(xs[part]) > SPREAD, (seed, part)
    assert spreading_seed(random.Random(3), 100) == spreading_seed(random.Random(3), 100)


ORDERS = list(itertools.permutations(range(4))) if SOAK else [(0, 1, 2, 3), (3, 2, 1, 0)]


@pytest.mark.parametrize("start", TRAINING_SEEDS)
def test_every_training_start_brings_the_lecture_loss_below_a_fifth_of_the_threshold_in_any_order(start):
    """Gradient descent in float64, with gradients by finite differences: no learner code."""
    values = training_start(start)
    for order in ORDERS:
        xs, ys = [LECTURE_XS[i] for i in order], [LECTURE_YS[i] for i in order]
        losses, _ = expected_run(values, xs, ys, 60, 0.1)  # the last is measured before the 60th update
        assert losses[59] < losses[0] and losses[59] < LOSS_THRESHOLD / 5, (start, order, losses[59])


@pytest.mark.parametrize(
    "ops, size, numbers",
    [(["add", "mul"], 8, False), (["add", "mul", "sub", "div", "pow", "neg", "tanh", "exp", "relu"], 7, True)],
    ids=["check-04's graphs", "check-05's graphs"],
)
def test_drawn_graphs_keep_their_finite_difference_gradients_far_inside_the_tolerance(ops, size, numbers):
    """Exact reverse-mode gradients against the central differences the checks compare with."""
    import random

    rng = random.Random(f"conditioning {size}")
    for _ in range(300):
        graph = random_graph(rng, ops, leaves=3, size=size, numbers=numbers)
        names = [name for name, *_ in graph]
        exact, fd = numerics.backprop(graph), numerics.gradient(graph, names)
        worst = max(numerics.rel_error(exact[n], fd[n]) for n in names)
        assert worst < numerics.GRAD_RTOL / 10, (graph, worst)
