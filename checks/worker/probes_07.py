"""Probes of exercise 07, training: mse_loss, sgd_step, train."""

from .graphs import call_logger, kit_backprop
from .guard import engine, learner, number, probe
from .probes_06 import make_mlp, read_layers


@probe
def mse(ypred, ys):
    """Calls mse_loss on Values holding ypred, then backpropagates by hand."""
    eng, tr = engine(), learner("train")
    preds = [eng.Value(y) for y in ypred]
    loss = tr.mse_loss(preds, list(ys))
    if not hasattr(loss, "_prev"):
        return {"is_value": False, "data": number(loss), "grad": None}
    kit_backprop(loss)
    return {"is_value": True, "data": number(loss.data), "grad": [number(p.grad) for p in preds]}


@probe
def sgd(data, grads, lr):
    """Calls sgd_step on Values with the given data and grads."""
    eng, tr = engine(), learner("train")
    params = []
    for d, g in zip(data, grads):
        p = eng.Value(d)
        p.grad = g
        params.append(p)
    tr.sgd_step(params, lr)
    return {"data": [number(p.data) for p in params], "grads": [number(p.grad) for p in params]}


@probe
def train(nin, nouts, seed, values, xs, ys, steps, lr, junk_grad=0.0):
    """Calls train(model, xs, ys, steps, lr) on an MLP whose parameters (and grads) the check chose."""
    model = make_mlp(nin, nouts, seed, values)
    for layer in model.layers:
        for n in layer.neurons:
            for p in [*n.w, n.b]:
                p.grad = junk_grad
    tr, Value = learner("train"), engine().Value
    # Which of zero_grad, backward and sgd_step train() calls, in what order: what tells a misplaced
    # zero_grad from an sgd_step that moves nothing.
    calls, backward, step = [], vars(Value).get("backward"), vars(tr).get("sgd_step")
    try:
        model.zero_grad = call_logger(calls, "zero_grad", model.zero_grad)
        if callable(backward):
            Value.backward = call_logger(calls, "backward", backward)
        if callable(step):
            tr.sgd_step = call_logger(calls, "sgd_step", step)
    except (AttributeError, TypeError):  # a model or class that takes no new attributes: no log
        calls = None
    try:
        losses = tr.train(model, [list(x) for x in xs], list(ys), steps, lr)
    finally:
        if callable(backward):
            Value.backward = backward
        if callable(step):
            tr.sgd_step = step
    return {
        "calls": calls,
        "losses": [number(v) for v in losses] if isinstance(losses, list) else number(losses),
        "loss_kinds": sorted({type(v).__name__ for v in losses}) if isinstance(losses, list) else None,
        "layers": read_layers(model.layers),
    }
