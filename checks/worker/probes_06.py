"""Probes of exercise 06, the network: Neuron, Layer, MLP."""

import random
from types import SimpleNamespace

from .guard import engine, learner, number, probe

seed_random = random.seed  # bound before learner code runs: rebinding random.seed changes nothing here


def positions(model_layers):
    """id -> (layer, neuron, index or 'b') for every parameter reachable through the attributes."""
    where = {}
    for l, layer in enumerate(model_layers):
        for j, n in enumerate(layer.neurons):
            for i, w in enumerate(n.w):
                where[id(w)] = [l, j, i]
            where[id(n.b)] = [l, j, "b"]
    return where


def read_layers(model_layers):
    return [
        [{"w": [number(w.data) for w in n.w], "b": number(n.b.data)} for n in layer.neurons] for layer in model_layers
    ]


def set_layers(model_layers, values):
    """Overwrite every parameter's data in place with the kit's chosen values."""
    for layer, lvals in zip(model_layers, values):
        for n, nvals in zip(layer.neurons, lvals):
            for w, wv in zip(n.w, nvals["w"]):
                w.data = wv
            n.b.data = nvals["b"]


def output(y, Value):
    if isinstance(y, Value):
        return {"kind": "Value", "data": number(y.data)}
    if isinstance(y, list):
        return {"kind": "list", "data": [number(getattr(v, "data", v)) for v in y]}
    return {"kind": type(y).__name__, "data": None}


@probe
def neuron(nin, seed, x, values_as_inputs=False, values=None):
    """Makes Neuron(nin) after random.seed(seed) (and gives it the check's w and b) and calls it on x."""
    eng, nn = engine(), learner("micrograd.nn")
    seed_random(seed)
    n = nn.Neuron(nin)
    if values is not None:
        for w, wv in zip(n.w, values["w"]):
            w.data = wv
        n.b.data = values["b"]
    inputs = [eng.Value(xi) for xi in x] if values_as_inputs else list(x)
    weights = list(n.w)  # as made: parameters() may append to n.w
    params = n.parameters()
    ids = {id(w): i for i, w in enumerate(weights)} | {id(n.b): "b"}
    return {
        "w": [number(w.data) for w in weights],
        "b": number(n.b.data),
        "objects": len({id(p) for p in [*weights, n.b]}),  # distinct Values among the weights and the bias
        "w_after_parameters": len(n.w),
        "out": output(n(inputs), eng.Value),
        "params": [ids.get(id(p), "?") for p in params],
        "is_list": isinstance(params, list),
    }


@probe
def layer(nin, nout, seed, x):
    """Makes Layer(nin, nout) after random.seed(seed) and calls it on x."""
    eng, nn = engine(), learner("micrograd.nn")
    seed_random(seed)
    lay = nn.Layer(nin, nout)
    layers = read_layers([lay])
    distinct = len({id(n) for n in lay.neurons})  # [Neuron(nin)] * nout repeats one object
    return {
        "layers": layers,
        "out": output(lay(list(x)), eng.Value),
        "params": len(lay.parameters()),
        "distinct": distinct,
    }


def make_mlp(nin, nouts, seed, values=None):
    nn = learner("micrograd.nn")
    seed_random(seed)
    model = nn.MLP(nin, list(nouts))
    if values is not None:
        set_layers(model.layers, values)
    return model


def neurons(layers):
    return [n for layer in layers for n in layer.neurons]


@probe
def mlp_structure(nin, nouts, seed):
    """Makes MLP(nin, nouts) after random.seed(seed) and lists its parameters."""
    Value, model = engine().Value, make_mlp(nin, nouts, seed)
    where = positions(model.layers)
    sizes = [[len(n.w) for n in layer.neurons] for layer in model.layers]  # as made: parameters() may append to w
    params = model.parameters()
    again = model.parameters()  # a second call: one that appends to w gives more, and changes the network
    return {
        "sizes": sizes,
        "stable": len(again) == len(params) and [[len(n.w) for n in layer.neurons] for layer in model.layers] == sizes,
        "count": len(params),
        "unique": len({id(p) for p in params}),
        "positions": [where.get(id(p)) for p in params],
        "is_list": isinstance(params, list),
        "kinds": sorted({"Value" if isinstance(p, Value) else type(p).__name__ for p in params}),  # a subclass is one
        "biases": sorted({"Value" if isinstance(n.b, Value) else type(n.b).__name__ for n in neurons(model.layers)}),
        "total": len(where),  # the model's own distinct Values
    }


@probe
def mlp_forward(nin, nouts, seed, values, x):
    """Makes MLP(nin, nouts), sets its parameters, and calls it on x."""
    eng = engine()
    model = make_mlp(nin, nouts, seed, values)
    return output(model(list(x)), eng.Value)


@probe
def mlp_grads(nin, nouts, seed, values, xs, ys):
    """Makes MLP(nin, nouts), sets its parameters, builds the squared-error loss over xs and
    calls loss.backward()."""
    eng = engine()
    model = make_mlp(nin, nouts, seed, values)
    loss = eng.Value(0.0)
    for x, y in zip(xs, ys):
        diff = model(list(x)) + eng.Value(-y)
        loss = loss + diff * diff
    loss.backward()
    return grads_by_layer(model.layers)


def grads_by_layer(model_layers):
    return [
        [{"w": [number(w.grad) for w in n.w], "b": number(n.b.grad)} for n in layer.neurons] for layer in model_layers
    ]


@probe
def zero_grad(nin, nouts, seed, junk, kind="MLP"):
    """Gives every parameter of a Neuron, Layer or MLP a grad, then calls its zero_grad()."""
    model = make_mlp(nin, nouts, seed)
    layers = model.layers
    if kind == "Layer":
        model, layers = layers[0], layers[:1]
    elif kind == "Neuron":
        model = layers[0].neurons[0]
        layers = [SimpleNamespace(neurons=[model])]
    for layer in layers:
        for n in layer.neurons:
            for p in [*n.w, n.b]:
                p.grad = junk
    before = [(p, p.data) for layer in layers for n in layer.neurons for p in [*n.w, n.b]]
    model.zero_grad()
    # The same Values' data: a parameters() that appends to n.w changes the list, which its own test tells.
    return {"grads": grads_by_layer(layers), "data_kept": all(p.data == data for p, data in before)}
