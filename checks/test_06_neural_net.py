"""check-06: Neuron, Layer and MLP (micrograd/nn.py)."""

from checks import numerics
from checks.gates import neuron_variants
from checks.inputs import (
    LAYER_BIASES,
    NEURON_WEIGHTS,
    SPREAD,
    as_numeric,
    drawn_per_number,
    leaf_value,
    random_layers,
    spreading_seed,
)
from checks.judge import blame, diagnose, expect, fmt, points


def flat(layers):
    return [p for layer in layers for n in layer for p in (*n["w"], n["b"])]


def inputs(rng, n):
    return [round(rng.uniform(-2, 2), 4) for _ in range(n)]


@points(2)
def test_an_mlp_3_4_4_1_has_41_parameters(probe):
    """MLP(3, [4, 4, 1]) has 41 parameters."""
    got, want = probe("mlp_structure", nin=3, nouts=[4, 4, 1], seed=0), [[3] * 4, [4] * 4, [4]]
    sizes = got["sizes"]
    # Every neuron the same k weights off its inputs: a Neuron (or Layer) that makes k too many, not the sizes.
    shaped = [len(layer) for layer in sizes] == [len(layer) for layer in want]
    uniform = shaped and len({a - e for got_, wanted in zip(sizes, want) for a, e in zip(got_, wanted)}) == 1
    expect(
        sizes == want,
        f"MLP(3, [4, 4, 1]).layers have neurons with {got['sizes']} weights; expected 4 neurons of 3 inputs, "
        "then 4 of 4, then 1 of 4.",
        None if uniform else "layer-sizes",
    )
    expect(got["is_list"], "MLP(3, [4, 4, 1]).parameters() should return a list.")
    expect(
        got["kinds"] == ["Value"],
        f"MLP(3, [4, 4, 1]).parameters() holds {', '.join(got['kinds'])} items; expected only Values.",
        "parameters-nested" if "list" in got["kinds"] else None,
    )
    expect(
        got["count"] == 41,
        f"MLP(3, [4, 4, 1]).parameters() has {got['count']} Values, expected 41 (4*(3+1) + 4*(4+1) + 1*(4+1)).",
        "parameters-incomplete" if got["count"] < 41 and None not in got["positions"] else None,
    )
    expect(
        got["unique"] == 41,
        f"MLP(3, [4, 4, 1]).parameters() lists only {got['unique']} different Values: some are listed twice, "
        "or one Value stands for several parameters.",
        "shared-parameters" if got["unique"] < 41 and None not in got["positions"] else None,
    )


@points(1)
def test_parameters_are_the_models_own_values_not_copies(probe):
    """parameters() are the model's own Values, not copies."""
    got = probe("mlp_structure", nin=2, nouts=[3, 2], seed=1)
    odd = [kind for kind in got["biases"] if kind != "Value"]
    expect(
        not odd,
        f"A Neuron's b is a {odd[0] if odd else ''}, not one Value: the check finds each parameter among the "
        "neurons' own w (a list of Values) and b (one Value).",
    )
    strangers = sum(1 for p in got["positions"] if p is None)
    expect(
        strangers == 0,
        f"{strangers} of the {got['count']} items of MLP(2, [3, 2]).parameters() are not the neurons' own "
        "w and b objects.",
        "parameters-nested" if "list" in got["kinds"] else "parameters-copies" if got["kinds"] == ["Value"] else None,
    )
    seen = {tuple(p) for p in got["positions"]}
    expect(
        len(seen) == got["total"],
        f"MLP(2, [3, 2]).parameters() covers {len(seen)} of the {got['total']} weights "
        "and biases: every neuron of every layer belongs in it.",
        "parameters-incomplete",
    )


@points(1)
def test_a_neuron_draws_nin_weights_and_a_bias_and_lists_them_weights_first(probe, rng):
    """A Neuron draws nin weights and a bias from uniform(-1, 1), and lists them weights first."""
    seed = spreading_seed(rng, 100, *NEURON_WEIGHTS)
    got = probe("neuron", nin=99, seed=seed, x=inputs(rng, 99))
    expect(len(got["w"]) == 99, f"Neuron(99).w has {len(got['w'])} weights, expected 99: one for each input.")
    expect(
        got["w_after_parameters"] == 99,
        f"Neuron(99).parameters() changed the neuron: its w holds {got['w_after_parameters']} weights after the "
        "call, 99 before. Return a new list, self.w + [self.b], and leave self.w as it is.",
    )
    drawn = got["w"] + [got["b"]]
    expect(all(isinstance(p, float) for p in drawn), "Neuron(99)'s weights and bias should hold floats in data.")
    expect(
        len(set(drawn)) == 100,
        f"Neuron(99)'s weights and bias hold {len(set(drawn))} different numbers, not 100: each should be drawn "
        "separately, with a random.uniform(-1, 1) call of its own.",
        "shared-parameters" if got["objects"] < 100 else None,  # one Value in several places, not one number
    )
    # Drawn one per random() the seed gives, they are judged exactly (the same verdict at every seed);
    # else by their spread: the seed was chosen so that 99 weights drawn from uniform(-1, 1) reach past
    # +-SPREAD, in any order.
    w = got["w"]
    source = drawn_per_number(seed, [(w, got["b"])])
    expect(
        source == "uniform" if source else all(-1 <= p <= 1 for p in drawn) and min(w) < -SPREAD and max(w) > SPREAD,
        f"Neuron(99) drew weights from {fmt(min(w))} to {fmt(max(w))} and a bias of {fmt(got['b'])}; each "
        "one comes from random.uniform(-1, 1), which spreads them over all of [-1, 1].",
        "init-range",
    )
    seed = spreading_seed(rng, 200, *LAYER_BIASES)
    layer = probe("layer", nin=1, nout=100, seed=seed, x=[0.5])
    biases = [n["b"] for n in layer["layers"][0]]
    source = drawn_per_number(seed, [(n["w"], n["b"]) for n in layer["layers"][0]])
    expect(
        layer["distinct"] == 100,
        f"Layer(1, 100) holds {layer['distinct']} distinct neurons, not 100: [Neuron(nin)] * nout repeats one "
        "object; make each with its own Neuron(nin) call.",
        "shared-parameters",
    )
    expect(
        source == "uniform"
        if source
        else all(-1 <= b <= 1 for b in biases) and min(biases) < -SPREAD and max(biases) > SPREAD,
        f"The 100 neurons of Layer(1, 100) drew biases from {fmt(min(biases))} to {fmt(max(biases))}; "
        "each bias comes from random.uniform(-1, 1), which spreads them over all of [-1, 1].",
        "init-range",
    )
    expect(
        got["is_list"] and got["params"] == [*range(99), "b"],
        f"Neuron(99).parameters() gives {got['params'][:3]} ... {got['params'][-2:]} (weight indices, b for "
        "the bias); expected [0, 1, ..., 98, 'b']: the list self.w + [self.b].",
    )


@points(2)
def test_a_neuron_computes_tanh_of_w_dot_x_plus_b_on_floats_and_values(probe, rng):
    """A Neuron computes tanh(w.x + b), on floats and on Values."""
    for as_values in (False, True, False):
        x = inputs(rng, 3)
        values = {"w": [round(rng.uniform(-1, 1), 4) for _ in x], "b": round(leaf_value(rng, 0.3, 1.0), 4)}
        got = probe("neuron", nin=3, seed=0, x=x, values_as_inputs=as_values, values=values)
        expect(got["out"]["kind"] == "Value", f"Neuron(3)(x) returned a {got['out']['kind']}, expected a Value.")
        w, b = values["w"], values["b"]
        want = numerics.neuron(w, b, x)
        if not numerics.close(got["out"]["data"], want):
            blame(
                f"Neuron(3) with w = {fmt(w)}, b = {fmt(b)} on x = {fmt(x)}"
                f"{' (as Values)' if as_values else ''} gave {fmt(got['out']['data'])}, expected {fmt(want)}.",
                diagnose(got["out"]["data"], neuron_variants(w, b, x), want=want),
                "Compute sum(w_i * x_i) + b, then its tanh.",
            )


@points(1)
def test_a_layer_returns_a_list_of_outputs_or_the_single_value_when_nout_is_1(probe, rng):
    """A Layer returns a list of outputs, or the single Value when nout is 1."""
    for nout in (3, 1):
        x = inputs(rng, 2)
        got = probe("layer", nin=2, nout=nout, seed=rng.randrange(10**6), x=x)
        want = numerics.mlp(as_numeric(got["layers"]), x)
        kind = "list" if nout > 1 else "Value"
        expect(
            got["out"]["kind"] == kind,
            f"Layer(2, {nout})(x) returned a {got['out']['kind']}, expected a "
            f"{kind}" + (": unwrap the single output of a one-neuron layer." if nout == 1 else "."),
            "single-output-list" if nout == 1 and got["out"]["kind"] == "list" else None,
        )
        want = want if nout > 1 else [want]
        have = got["out"]["data"] if nout > 1 else [got["out"]["data"]]
        if len(have) != len(want):
            why = "one output per neuron."
        elif all(any(numerics.close(h, w) for h in have) for w in want):
            why = "the same outputs in another order: keep the neurons' order."
        else:  # the outputs themselves: the layer's, or its neurons' (the Neuron's test says which)
            why = "each its neuron's tanh(w . x + b)."
        expect(
            len(have) == len(want) and all(numerics.close(h, w) for h, w in zip(have, want)),
            f"Layer(2, {nout})(x) on x = {fmt(x)} gave {fmt(have)}, expected {fmt(want)}: {why}",
        )


@points(1)
def test_an_mlp_feeds_each_layer_into_the_next(probe, rng):
    """An MLP feeds each layer into the next."""
    for nouts in ([4, 4, 1], [3, 2]):
        sizes = [3] + nouts
        values = random_layers(rng, sizes)
        x = inputs(rng, 3)
        got = probe("mlp_forward", nin=3, nouts=nouts, seed=0, values=values, x=x)
        want = numerics.mlp(as_numeric(values), x)
        have = got["data"]
        ok = (
            numerics.close(have, want)
            if nouts[-1] == 1
            else isinstance(have, list) and len(have) == len(want) and all(map(numerics.close, have, want))
        )
        expect(
            ok,
            f"MLP(3, {nouts})(x) on x = {fmt(x)} gave {fmt(have)}, expected {fmt(want)}, recomputed from its "
            "parameters: each layer's outputs are the next layer's inputs, and every neuron gives tanh(w . x + b).",
        )


@points(1)
def test_parameter_gradients_match_finite_differences_of_the_loss(probe, rng):
    """Parameter gradients match finite differences of the loss."""
    sizes = [2, 3, 1]
    values = random_layers(rng, sizes)
    xs = [inputs(rng, 2) for _ in range(3)]
    ys = [rng.choice([-1.0, 1.0]) for _ in xs]
    got = flat(probe("mlp_grads", nin=2, nouts=sizes[1:], seed=0, values=values, xs=xs, ys=ys))
    _, want = numerics.loss_gradient(as_numeric(values), xs, ys)
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if not numerics.close(g, w, numerics.GRAD_RTOL)]
    # A grad left at 0 is a parameter the loss never reached; any other wrong grad may come from the forward
    # pass as well (a neuron that is not tanh(w.x + b)): the facts alone then.
    untouched = bool(bad) and all(got[i] == 0 for i in bad)
    expect(
        not bad,
        f"For MLP(2, [3, 1]) and the loss sum((y_pred - y)**2) over 3 examples, after "
        f"loss.backward() {len(bad)} of {len(want)} parameter grads are wrong; the first is "
        f"{fmt(got[bad[0]] if bad else 0)} where finite differences of the loss of tanh(w.x + b) neurons give "
        f"{fmt(want[bad[0]] if bad else 0)}."
        + (" Every weight and bias must take part in the forward pass (as Values)." if untouched else ""),
    )


def example(left):
    """'e.g. layer 0 neuron 2' for the first parameter left with a grad."""
    return f"e.g. layer {left[0][0]} neuron {left[0][1]}" if left else ""


@points(1)
def test_zero_grad_sets_every_parameter_grad_to_zero(probe):
    """zero_grad() on a Neuron, a Layer and an MLP sets every parameter's grad to 0.0, and leaves data alone."""
    own = probe("mlp_structure", nin=3, nouts=[4, 2], seed=2)
    copies = None in own["positions"]
    incomplete = len({tuple(p) for p in own["positions"] if p}) < own["total"]
    for kind, model in (("MLP", "MLP(3, [4, 2])"), ("Layer", "Layer(3, 4)"), ("Neuron", "Neuron(3)")):
        got = probe("zero_grad", nin=3, nouts=[4, 2], seed=2, junk=0.75, kind=kind)
        left = [
            (l, j, what)
            for l, layer in enumerate(got["grads"])
            for j, n in enumerate(layer)
            for what, g in [("w", g) for g in n["w"]] + [("b", n["b"])]
            if g != 0.0
        ]
        facts = f"After zero_grad() on {model}, {len(left)} parameters still have a grad"
        if left and (copies or incomplete):
            blame(
                f"{facts}: zero_grad() works on parameters(), which "
                + ("are not the model's own Values." if copies else "leave some of the model's Values out."),
                "parameters-copies" if copies else "parameters-incomplete",
            )
        expect(
            not left,
            f"{facts} ({'biases' if all(k == 'b' for *_, k in left) else example(left)}).",
            "zero-grad-wrong",
        )
        expect(got["data_kept"], f"zero_grad() on {model} changed the parameters' data.", "zero-grad-wrong")
