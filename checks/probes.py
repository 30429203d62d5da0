"""Probes: the only code that touches the learner's objects.

Each probe runs in the worker process, imports the learner's modules, does one experiment and
returns plain data (numbers, strings, bools, lists and dicts of them). The checks compare that
data with what they expect; they never hold a learner object and never let learner code decide
a verdict. This module uses the standard library only, so that the worker can load it by path.
"""
import importlib
import os
import random
import signal
import sys

try:
    from functions import FUNCTIONS, MULTI  # in the worker, which loads this folder's files by path
except ImportError:
    from checks.functions import FUNCTIONS, MULTI  # in the judge, which only reads the docstrings

PROBES = {}
IMPL = None  # the implementation's folder, set by the worker
IMPORT_TIMEOUT = 0  # seconds an import of learner code may take (0: no limit), set by the worker
HUNG = set()  # modules whose import timed out before, as the judge tells: not waited for again


class WrongImport(Exception):
    """A learner module came from somewhere other than the implementation being graded."""


def probe(fn):
    PROBES[fn.__name__] = fn
    return fn


class ImportTimeout(Exception):
    """Importing a learner module did not finish in time."""

    def __init__(self, module):
        super().__init__(f"importing {module} took longer than {IMPORT_TIMEOUT} s: "
                         "is there an endless loop at the top level of the file?")
        self.module = module


def import_learner(name):
    if name in HUNG:
        raise ImportTimeout(name)
    if not IMPORT_TIMEOUT or name in sys.modules:
        return _import_module(name)

    def expire(signum, frame):
        raise ImportTimeout(name)
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(IMPORT_TIMEOUT)
    try:
        return _import_module(name)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_realpath, _import_module = os.path.realpath, importlib.import_module  # bound before learner code runs


def learner(name):
    module = import_learner(name)
    path = _realpath(getattr(module, "__file__", None) or "")
    if not path.startswith(_realpath(IMPL) + os.sep):
        where = path or "a namespace package"
        raise WrongImport(f"`import {name}` found {where}, not the file in {IMPL}: "
                          f"is {name.replace('.', '/')}.py (with micrograd/__init__.py) there?")
    return module


def engine():
    return learner("micrograd.engine")


def number(x):
    """A float for numbers; a short description for anything else."""
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    return f"<{type(x).__name__}>"


# --- building graphs --------------------------------------------------------------------------

def build(graph, Value):
    """Build a graph spec (see checks/numerics.py) out of Values; returns name -> Value."""
    nodes = {}

    def operand(x):
        return nodes[x] if isinstance(x, str) else float(x)

    for name, op, *args in graph:
        if op == "leaf":
            v = Value(float(args[0]), label=name)
        elif op == "neg":
            v = -operand(args[0])
        elif op in ("tanh", "exp", "relu"):
            v = getattr(operand(args[0]), op)()
        else:
            x, y = operand(args[0]), args[1] if op == "pow" else operand(args[1])
            v = {"add": lambda: x + y, "sub": lambda: x - y, "mul": lambda: x * y,
                 "div": lambda: x / y, "pow": lambda: x**y}[op]()
            if hasattr(v, "label"):
                v.label = name
        nodes[name] = v
    return nodes


def names_of(nodes):
    return {id(v): name for name, v in nodes.items()}


def describe(v, names):
    """A node's name, '?' for a Value the graph did not make, or '<type>' for a non-Value."""
    if id(v) in names:
        return names[id(v)]
    return "?" if hasattr(v, "_prev") else f"<{type(v).__name__}>"


def kit_order(root):
    """A topological order of root's graph, computed by the kit (iteratively) from `_prev`."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in v._prev)
    return order


def kit_backprop(root):
    """Backpropagate with the learner's _backward closures, in the kit's own order."""
    root.grad = 1.0
    for v in reversed(kit_order(root)):
        v._backward()


def grads_of(nodes, names):
    return {name: number(nodes[name].grad) for name in names}


# --- 01 numeric derivatives ------------------------------------------------------------------

@probe
def slope(func, fn, x, h=None):
    """Calls your numeric derivative of f at x (derivative or central_derivative)."""
    f = FUNCTIONS[fn][0]
    d = getattr(learner("derivatives"), func)
    return number(d(f, x) if h is None else d(f, x, h))


@probe
def partial(fn, args, i, h=None, as_tuple=False):
    """Calls derivatives.partial_derivative(f, args, i[, h])."""
    f = MULTI[fn][0]
    passed = tuple(args) if as_tuple else list(args)
    pd = learner("derivatives").partial_derivative
    value = pd(f, passed, i) if h is None else pd(f, passed, i, h)
    return {"value": number(value), "args_after": [number(a) for a in passed]}


# --- 02 the Value graph ----------------------------------------------------------------------

@probe
def forward(graph):
    """Builds the expression from Values and reads every node."""
    Value = engine().Value
    nodes = build(graph, Value)
    names = names_of(nodes)
    leaves = [name for name, op, *_ in graph if op == "leaf"]
    before = {name: float(args[0]) for name, op, *args in graph if op == "leaf"}
    return {
        "data": {name: number(getattr(v, "data", None)) for name, v in nodes.items()},
        "op": {name: getattr(v, "_op", None) if isinstance(getattr(v, "_op", None), str) else "<not a str>"
               for name, v in nodes.items()},
        "prev": {name: sorted(describe(c, names) for c in v._prev) for name, v in nodes.items()},
        "prev_type": {name: type(v._prev).__name__ for name, v in nodes.items()},
        "is_value": {name: type(v).__name__ == "Value" for name, v in nodes.items()},
        "leaves_unchanged": all(number(nodes[n].data) == before[n] and not nodes[n]._prev for n in leaves),
        "grads": {name: number(getattr(v, "grad", None)) for name, v in nodes.items()},
    }


@probe
def new_value(data, args=(), kwargs=None):
    """Makes Value(data, ...) and reads its attributes and repr."""
    Value = engine().Value
    kids = [Value(float(c)) for c in args[0]] if args else []
    rest = list(args[1:]) if args else []
    v = Value(data, *([tuple(kids)] if args else []), *rest, **(kwargs or {}))
    names = {id(k): f"child{i}" for i, k in enumerate(kids)}
    return {
        "data": number(v.data),
        "prev": sorted(describe(c, names) for c in v._prev),
        "prev_type": type(v._prev).__name__,
        "op": v._op,
        "label": v.label,
        "repr": repr(v),
    }


@probe
def same_operand(op, x):
    """Builds a + a or a * a and reads the node."""
    a = engine().Value(x)
    out = a + a if op == "add" else a * a
    return {"data": number(out.data), "prev": [describe(c, {id(a): "a"}) for c in out._prev],
            "a": number(a.data)}


# --- 03 local gradients ----------------------------------------------------------------------

@probe
def local_backward(op, a, b, out_grad, a_grad, b_grad, times=1, same=False):
    """Sets the grads, then calls out._backward() by hand."""
    Value = engine().Value
    x = Value(a)
    y = x if same else Value(b)
    out = x + y if op == "add" else x * y
    x.grad = a_grad
    if not same:
        y.grad = b_grad
    out.grad = out_grad
    for _ in range(times):
        out._backward()
    return {"a": number(x.grad), "b": number(y.grad), "out": number(out.grad)}


@probe
def leaf_backward(x):
    """Calls _backward() of a leaf Value."""
    v = engine().Value(x)
    v.grad = 0.25
    returned = v._backward()
    return {"grad": number(v.grad), "returned": None if returned is None else number(returned)}


@probe
def manual_backprop(graph, names=None):
    """Builds the expression, seeds the root's grad with 1.0 and calls each _backward by hand,
    from the root down."""
    nodes = build(graph, engine().Value)
    kit_backprop(nodes[graph[-1][0]])
    return grads_of(nodes, names or list(nodes))


# --- 04 topological order and backward -------------------------------------------------------

@probe
def topo(graph):
    """Calls topological_order(root)."""
    eng = engine()
    nodes = build(graph, eng.Value)
    order = eng.topological_order(nodes[graph[-1][0]])
    names = names_of(nodes)
    return [describe(v, names) for v in order]


@probe
def backward(graph, names=None):
    """Builds the expression and calls root.backward()."""
    nodes = build(graph, engine().Value)
    nodes[graph[-1][0]].backward()
    return grads_of(nodes, names or list(nodes))


@probe
def deep_chain(n):
    """Builds y = a + c + c + ... (n additions) and calls y.backward()."""
    eng = engine()
    a, c = eng.Value(1.0), eng.Value(0.5)
    y = a
    for _ in range(n):
        y = y + c
    order = eng.topological_order(y)
    first_is_leaf, last_is_root, length = order[0] in (a, c), order[-1] is y, len(order)
    del order
    y.backward()
    return {"a": number(a.grad), "c": number(c.grad), "data": number(y.data),
            "length": length, "first_is_leaf": first_is_leaf, "last_is_root": last_is_root}


# --- 05 the other operations -----------------------------------------------------------------

@probe
def op_grads(graph, names=None):
    """Builds the expression, then backpropagates by hand (the kit's own order, your _backward)."""
    nodes = build(graph, engine().Value)
    top = nodes[graph[-1][0]]
    kit_backprop(top)
    leaves = names or [name for name, op, *_ in graph if op == "leaf"]
    return {"data": number(top.data), "grad": grads_of(nodes, leaves),
            "is_value": type(top).__name__ == "Value"}


@probe
def value_exponent(x):
    """Calls Value(x) ** Value(2.0), which must raise TypeError."""
    Value = engine().Value
    try:
        Value(x) ** Value(2.0)
    except NotImplementedError:
        raise  # not done yet, which the check reports as such
    except Exception as e:  # the verdict is the exception's type, judged by the check
        return type(e).__name__
    return None


# --- 06 the network --------------------------------------------------------------------------

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
    return [[{"w": [number(w.data) for w in n.w], "b": number(n.b.data)} for n in layer.neurons]
            for layer in model_layers]


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
def neuron(nin, seed, x, values_as_inputs=False):
    """Makes Neuron(nin) after random.seed(seed) and calls it on x."""
    eng, nn = engine(), learner("micrograd.nn")
    random.seed(seed)
    n = nn.Neuron(nin)
    inputs = [eng.Value(xi) for xi in x] if values_as_inputs else list(x)
    params = n.parameters()
    ids = {id(w): i for i, w in enumerate(n.w)} | {id(n.b): "b"}
    return {
        "w": [number(w.data) for w in n.w],
        "b": number(n.b.data),
        "out": output(n(inputs), eng.Value),
        "params": [ids.get(id(p), "?") for p in params],
        "is_list": isinstance(params, list),
    }


@probe
def layer(nin, nout, seed, x):
    """Makes Layer(nin, nout) after random.seed(seed) and calls it on x."""
    eng, nn = engine(), learner("micrograd.nn")
    random.seed(seed)
    lay = nn.Layer(nin, nout)
    return {"layers": read_layers([lay]), "out": output(lay(list(x)), eng.Value),
            "params": len(lay.parameters())}


def make_mlp(nin, nouts, seed, values=None):
    nn = learner("micrograd.nn")
    random.seed(seed)
    model = nn.MLP(nin, list(nouts))
    if values is not None:
        set_layers(model.layers, values)
    return model


@probe
def mlp_structure(nin, nouts, seed):
    """Makes MLP(nin, nouts) after random.seed(seed) and lists its parameters."""
    model = make_mlp(nin, nouts, seed)
    where = positions(model.layers)
    params = model.parameters()
    return {
        "sizes": [[len(n.w) for n in layer.neurons] for layer in model.layers],
        "count": len(params),
        "unique": len({id(p) for p in params}),
        "positions": [where.get(id(p)) for p in params],
        "is_list": isinstance(params, list),
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
    return [[{"w": [number(w.grad) for w in n.w], "b": number(n.b.grad)} for n in layer.neurons]
            for layer in model_layers]


@probe
def zero_grad(nin, nouts, seed, junk):
    """Makes MLP(nin, nouts), puts `junk` in every parameter's grad, and calls model.zero_grad()."""
    model = make_mlp(nin, nouts, seed)
    where = positions(model.layers)
    for layer in model.layers:
        for n in layer.neurons:
            for p in n.w + [n.b]:
                p.grad = junk
    model.zero_grad()
    return {"grads": grads_by_layer(model.layers), "count": len(where)}


# --- 07 training -----------------------------------------------------------------------------

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
    """Makes MLP(nin, nouts), sets its parameters (and puts junk_grad in their grads), then calls
    train(model, xs, ys, steps, lr)."""
    model = make_mlp(nin, nouts, seed, values)
    for layer in model.layers:
        for n in layer.neurons:
            for p in n.w + [n.b]:
                p.grad = junk_grad
    losses = learner("train").train(model, [list(x) for x in xs], list(ys), steps, lr)
    return {"losses": [number(v) for v in losses] if isinstance(losses, list) else number(losses),
            "layers": read_layers(model.layers)}
