"""Building the checks' graph specs out of the learner's Values, and reading them back."""

from types import CellType, FunctionType

from .guard import number


def build(graph, Value, made=None):
    """Build a graph spec (see checks/numerics.py) out of Values; returns name -> Value. `made`, a
    dict, receives each node's data the moment it was made (to see later operations change it)."""
    nodes = {}

    def operand(x):  # an int stays one: `2 + v` and sum()'s 0 + v reach __radd__ with an int
        return nodes[x] if isinstance(x, str) else x if type(x) is int else float(x)

    for name, op, *args in graph:
        if op == "leaf":
            v = Value(float(args[0]))  # no label=: labels are graded only where lesson 02 asks for them
        elif op == "neg":
            v = -operand(args[0])
        elif op in ("tanh", "exp", "relu"):
            v = getattr(operand(args[0]), op)()
        else:
            x, y = operand(args[0]), args[1] if op == "pow" else operand(args[1])
            v = {
                "add": lambda: x + y,
                "sub": lambda: x - y,
                "mul": lambda: x * y,
                "div": lambda: x / y,
                "pow": lambda: x**y,
            }[op]()
        nodes[name] = v
        if made is not None:
            made[name] = number(getattr(v, "data", None))
    return nodes


def names_of(nodes):
    return {id(v): name for name, v in nodes.items()}


def describe(v, names):
    """A node's name, '?' for a Value the graph did not make, or '<type>' for a non-Value."""
    if id(v) in names:
        return names[id(v)]
    return "?" if hasattr(v, "_prev") else f"<{type(v).__name__}>"


def kit_order(root, known=None):
    """A topological order of root's graph, computed by the kit (iteratively) from `_prev`. Each
    node's children are taken in a fixed order (`known`: id -> place, the graph's own nodes first,
    then by data), so that the order, and what a mistaken _backward makes of it, never depends on
    how a set happens to iterate."""
    known = known or {}

    def place(v):
        data = getattr(v, "data", 0.0)
        return (known.get(id(v), len(known)), data if isinstance(data, (int, float)) else 0.0)

    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((c, False) for c in sorted(v._prev, key=place, reverse=True))
    return order


def kit_backprop(root, nodes=None, graph=None):
    """Backpropagate with the learner's _backward closures, in a topological order of the checks
    (so that lessons 03 and 05 do not depend on lesson 04's order). Given the graph spec whose
    operands are all its own nodes, that order is the spec's, reversed: `_prev` is not read at all
    (it is lesson 02's to judge)."""
    nodes = nodes or {}
    root.grad = 1.0
    if graph and all(isinstance(a, str) for _, op, *args in graph if op != "leaf" for a in args):
        order = [nodes[name] for name, *_ in graph]
    else:
        order = kit_order(root, {id(v): i for i, v in enumerate(nodes.values())})
    for v in reversed(order):
        v._backward()


def grads_of(nodes, names):
    return {name: number(nodes[name].grad) for name in names}


def _logger(log, name, inner):
    def logged():
        log.append(name)
        return inner()

    return logged


# What each node's logged _backward runs. Learner code calls it and can read its __globals__ and
# __builtins__: the function is rebuilt on empty ones, so they lead nowhere in the worker.
LOGGED = _logger(None, None, None).__code__


def closure(code, name, cells):
    """The function of `code` with its free variables bound to `cells` ({name: value}), on empty builtins."""
    return FunctionType(code, {"__builtins__": {}}, name, None, tuple(CellType(cells[n]) for n in code.co_freevars))


def record_calls(nodes):
    """Wrap each node's _backward so that calls are logged by name; the log, or None when the
    learner's Value does not let _backward be replaced (a method under __slots__)."""
    log = []
    for name, v in nodes.items():
        inner = getattr(v, "_backward", None)
        if not callable(inner):
            return None
        logged = closure(LOGGED, "logged", {"log": log, "name": name, "inner": inner})
        try:
            v._backward = logged
        except (AttributeError, TypeError):
            return None
    return log


def _seeding(inner, grad):
    def seeded(self, *args, **kwargs):
        inner(self, *args, **kwargs)
        self.grad = grad

    return seeded


SEEDING = _seeding(None, None).__code__


def made_with_grad(Value, grad, make):
    """make(), with every Value it makes starting from grad `grad` (the class's __init__ wrapped for
    the call alone): a _backward that read out.grad when it was made then shows that number. The
    wrapper learner code calls is rebuilt on empty globals, like a logged _backward."""
    own = "__init__" in vars(Value)
    inner = Value.__init__
    seeded = closure(SEEDING, "__init__", {"inner": inner, "grad": grad})
    Value.__init__ = seeded
    try:
        return make()
    finally:
        if own:
            Value.__init__ = inner
        else:
            del Value.__init__


def _calling(log, name, inner):
    def logged(*args, **kwargs):
        log.append(name)
        return inner(*args, **kwargs)

    return logged


CALLING = _calling(None, None, None).__code__


def _returning(log, inner):
    def recorded(*args, **kwargs):
        out = inner(*args, **kwargs)
        log.append((args, kwargs, out))
        return out

    return recorded


RETURNING = _returning(None, None).__code__


def call_logger(log, name, inner):
    """`inner` wrapped so that each call appends `name` to `log` first; rebuilt on empty globals, as
    learner code calls it."""
    return closure(CALLING, name, {"log": log, "name": name, "inner": inner})


def result_logger(log, name, inner):
    """`inner` wrapped so that each call appends (args, kwargs, what it returned) to `log`; rebuilt
    on empty globals, as learner code calls it."""
    return closure(RETURNING, name, {"log": log, "inner": inner})


def wrapped(out, operands, Value):
    """Whether `out`, made from `operands`, shows an operand wrapped in another Value (lesson 05's
    line applied to a Value): a child whose data is that very operand, or, where the wrapper was not
    kept as a child, a result whose data is a Value and whose children are not the operands. A
    result wrapped twice (Value(Value(sum)), its children the operands) is not that."""
    children = tuple(getattr(out, "_prev", ()))  # read once: a _prev of the learner's may be an iterator
    if any(getattr(c, "data", None) is w for c in children for w in operands):
        return True
    return isinstance(getattr(out, "data", None), Value) and {id(c) for c in children} != {id(w) for w in operands}
