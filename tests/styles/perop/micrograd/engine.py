"""A class per operation: each node type knows its own backward step."""

import math


def as_value(x):
    return x if isinstance(x, Value) else Value(x)


class Value:
    op = ''

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op or self.op
        self.label = label

    def _backward(self):
        """A leaf passes nothing on."""

    def __repr__(self):
        return f"{Value.__name__}(data={self.data})"

    def __add__(self, other):
        return Add(self, as_value(other))

    def __radd__(self, other):
        return Add(as_value(other), self)

    def __mul__(self, other):
        return Mul(self, as_value(other))

    def __rmul__(self, other):
        return Mul(as_value(other), self)

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError(f"unsupported exponent {k!r}")
        return Pow(self, k)

    def __neg__(self):
        return Mul(self, Value(-1.0))

    def __sub__(self, other):
        return Add(self, -as_value(other))

    def __rsub__(self, other):
        return Add(as_value(other), -self)

    def __truediv__(self, other):
        return Mul(self, Pow(as_value(other), -1))

    def __rtruediv__(self, other):
        return Mul(as_value(other), Pow(self, -1))

    def exp(self):
        return Exp(self)

    def tanh(self):
        return Tanh(self)

    def relu(self):
        return Relu(self)

    def backward(self):
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            node._backward()


class Add(Value):
    op = '+'

    def __init__(self, a, b):
        super().__init__(a.data + b.data, (a, b))
        self.a, self.b = a, b

    def _backward(self):
        self.a.grad += self.grad
        self.b.grad += self.grad


class Mul(Value):
    op = '*'

    def __init__(self, a, b):
        super().__init__(a.data * b.data, (a, b))
        self.a, self.b = a, b

    def _backward(self):
        self.a.grad += self.b.data * self.grad
        self.b.grad += self.a.data * self.grad


class Pow(Value):
    op = '**'

    def __init__(self, a, k):
        super().__init__(a.data**k, (a,))
        self.a, self.k = a, k

    def _backward(self):
        self.a.grad += self.k * self.a.data ** (self.k - 1) * self.grad


class Exp(Value):
    op = 'exp'

    def __init__(self, a):
        super().__init__(math.exp(a.data), (a,))
        self.a = a

    def _backward(self):
        self.a.grad += self.data * self.grad


class Tanh(Value):
    op = 'tanh'

    def __init__(self, a):
        super().__init__(math.tanh(a.data), (a,))
        self.a = a

    def _backward(self):
        self.a.grad += (1.0 - self.data**2) * self.grad


class Relu(Value):
    op = 'relu'

    def __init__(self, a):
        super().__init__(a.data * (a.data > 0), (a,))
        self.a = a

    def _backward(self):
        self.a.grad += (self.a.data > 0) * self.grad


def topological_order(root):
    # A node is popped twice: first to push its children above it, then, they done, to be appended.
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    return order
