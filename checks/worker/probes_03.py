"""Probes of exercise 03, local gradients: calling _backward by hand."""

from .graphs import build, grads_of, kit_backprop, made_with_grad
from .guard import engine, number, probe


@probe
def local_backward(op, a, b, out_grad, a_grad, b_grad, times=1, same=False, created_grad=None):
    """Sets the grads, then calls out._backward() by hand."""
    Value = engine().Value
    x = Value(a)
    y = x if same else Value(b)
    if created_grad is None:
        out = x + y if op == "add" else x * y
    else:
        out = made_with_grad(Value, created_grad, lambda: x + y if op == "add" else x * y)
    leaf = getattr(getattr(Value(0.0), "_backward", None), "__code__", None)
    own = getattr(out, "_backward", None)
    # A _backward that is a method of the class (a table of rules looked up by _op) is never attached
    # to a node: that it shares a leaf's code says nothing of whether the operation forgot to attach it.
    attached = getattr(own, "__self__", None) is out or getattr(own, "__code__", None) is not leaf
    x.grad = a_grad
    if not same:
        y.grad = b_grad
    out.grad = out_grad
    for _ in range(times):
        out._backward()
    operand = "a" if out is x else "b" if out is y else None  # a + that returns self: no node of its own
    return {"a": number(x.grad), "b": number(y.grad), "out": number(out.grad), "attached": attached, "operand": operand}


@probe
def leaf_backward(x):
    """Calls _backward() of a leaf Value."""
    v = engine().Value(x)
    v.grad = 0.25
    fn = getattr(v, "_backward", None)
    if not callable(fn):  # None, or never set: what the check names, rather than a TypeError
        return {"grad": number(v.grad), "callable": False, "kind": type(fn).__name__}
    fn()  # what it returns is its own affair: a no-op is judged by what it changes
    return {"grad": number(v.grad), "callable": True}


@probe
def manual_backprop(graph, names=None):
    """Builds the expression, seeds the root's grad with 1.0 and calls each _backward by hand,
    from the root down."""
    nodes = build(graph, engine().Value)
    # Read before any _backward runs: the values the learner's + and * gave, which the right grads are
    # taken at; a _backward that rewrites data cannot move them.
    data = {n: number(v.data) for n, v in nodes.items()}
    kit_backprop(nodes[graph[-1][0]], nodes, graph)
    return {"grad": grads_of(nodes, names or list(nodes)), "data": data}
