"""A scalar autograd engine: every Value remembers how it was made."""

import math


class Value:
    """A scalar, the Values it was computed from, and the gradient of the output with respect to it."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        # TODO(ex02): Show the Value as Value(data=...).
        raise NotImplementedError("ex02: Value.__repr__ - see docs/02_value_graph.md")

    def __add__(self, other):
        # TODO(ex05): Let other be a plain number too, by wrapping it in a Value.
        # TODO(ex02): Make out, the sum, with self and other as its children and '+' as its op.
        raise NotImplementedError("ex02: Value.__add__ - see docs/02_value_graph.md")

        def _backward():
            # TODO(ex03): Add the local derivative times out.grad into the grad of each child.
            raise NotImplementedError("ex03: Value.__add__._backward - see docs/03_chain_rule.md")

        out._backward = _backward
        return out

    def __mul__(self, other):
        # TODO(ex05): Let other be a plain number too, by wrapping it in a Value.
        # TODO(ex02): Make out, the product, with self and other as its children and '*' as its op.
        raise NotImplementedError("ex02: Value.__mul__ - see docs/02_value_graph.md")

        def _backward():
            # TODO(ex03): Add the local derivative times out.grad into the grad of each child.
            raise NotImplementedError("ex03: Value.__mul__._backward - see docs/03_chain_rule.md")

        out._backward = _backward
        return out

    def __pow__(self, other):
        # TODO(ex05): Raise self to a plain int or float power; any other exponent is a TypeError.
        raise NotImplementedError("ex05: Value.__pow__ - see docs/05_operations.md")

    def exp(self):
        # TODO(ex05): Make out = e**self; its local derivative is out's own data.
        raise NotImplementedError("ex05: Value.exp - see docs/05_operations.md")

    def tanh(self):
        # TODO(ex05): Make out = tanh(self) without overflow for large inputs; its local derivative is 1 - t**2.
        raise NotImplementedError("ex05: Value.tanh - see docs/05_operations.md")

    def relu(self):
        # TODO(ex05): Make out = max(0, self); its local derivative is 1 where out > 0, else 0.
        raise NotImplementedError("ex05: Value.relu - see docs/05_operations.md")

    def __neg__(self):  # -self
        # TODO(ex05): Return -self, built from the operations you already have.
        raise NotImplementedError("ex05: Value.__neg__ - see docs/05_operations.md")

    def __radd__(self, other):  # other + self
        # TODO(ex05): Return self + other (written other + self, it would call __radd__ again).
        raise NotImplementedError("ex05: Value.__radd__ - see docs/05_operations.md")

    def __sub__(self, other):  # self - other
        # TODO(ex05): Return self + (-other), built from + and negation.
        raise NotImplementedError("ex05: Value.__sub__ - see docs/05_operations.md")

    def __rsub__(self, other):  # other - self
        # TODO(ex05): Return other + (-self), built from + and negation.
        raise NotImplementedError("ex05: Value.__rsub__ - see docs/05_operations.md")

    def __rmul__(self, other):  # other * self
        # TODO(ex05): Return self * other (written other * self, it would call __rmul__ again).
        raise NotImplementedError("ex05: Value.__rmul__ - see docs/05_operations.md")

    def __truediv__(self, other):  # self / other
        # TODO(ex05): Return self * other**-1, built from * and **.
        raise NotImplementedError("ex05: Value.__truediv__ - see docs/05_operations.md")

    def __rtruediv__(self, other):  # other / self
        # TODO(ex05): Return other * self**-1, built from * and **.
        raise NotImplementedError("ex05: Value.__rtruediv__ - see docs/05_operations.md")

    def backward(self):
        """Fill in the grad of every Value this one depends on."""
        # TODO(ex04): Seed self.grad with 1.0, then call _backward of every node in reverse topological order.
        raise NotImplementedError("ex04: Value.backward - see docs/04_backward.md")


def topological_order(root):
    """Every Value that root depends on, root included, each once, children before their parents."""
    # TODO(ex04): Return the nodes in topological order, without recursion so deep graphs work.
    raise NotImplementedError("ex04: topological_order - see docs/04_backward.md")
