"""An engine named as in PyTorch: each node keeps a grad_fn, which its _backward (a method bound in
__init__) runs; backward() and topological_order both by Kahn's algorithm."""

import math
from collections import deque


class Value:
    """PyTorch-like naming inside: grad_fn holds the backward step, inputs the operands."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = float(data)
        self.grad = 0.0
        self._prev = set(_children)
        self._op = _op
        self.label = label
        self.grad_fn = None
        self._backward = self._run_grad_fn

    def _run_grad_fn(self):
        if self.grad_fn is not None:
            self.grad_fn(self.grad)

    def __repr__(self):
        return "Value(data = %r)" % self.data

    def item(self):
        return self.data

    def __float__(self):
        return float(self.data)

    def __lt__(self, other):
        return self.data < (other.data if isinstance(other, Value) else other)

    def __add__(self, other):
        if not isinstance(other, Value):
            other = Value(other)
        out = Value(self.data + other.data, (self, other), '+')

        def grad_fn(g):
            self.grad += g
            other.grad += g

        out.grad_fn = grad_fn
        return out

    def __mul__(self, other):
        if not isinstance(other, Value):
            other = Value(other)
        out = Value(self.data * other.data, (self, other), '*')

        def grad_fn(g):
            self.grad += other.data * g
            other.grad += self.data * g

        out.grad_fn = grad_fn
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, Value):
            raise TypeError("only int/float powers")
        assert isinstance(exponent, (int, float))
        out = Value(self.data**exponent, (self,), '**')

        def grad_fn(g):
            self.grad += exponent * self.data ** (exponent - 1) * g

        out.grad_fn = grad_fn
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), 'exp')

        def grad_fn(g):
            self.grad += out.data * g

        out.grad_fn = grad_fn
        return out

    def tanh(self):
        x = self.data
        if x > 0:
            z = math.exp(-2 * x)
            t = (1 - z) / (1 + z)
        else:
            z = math.exp(2 * x)
            t = (z - 1) / (z + 1)
        out = Value(t, (self,), 'tanh')

        def grad_fn(g):
            self.grad += (1 - out.data**2) * g

        out.grad_fn = grad_fn
        return out

    def relu(self):
        out = Value(max(0.0, self.data), (self,), 'ReLU')

        def grad_fn(g):
            self.grad += (1.0 if self.data > 0 else 0.0) * g

        out.grad_fn = grad_fn
        return out

    def __neg__(self):
        return -1 * self

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        return self.__add__(-other)

    def __rsub__(self, other):
        return (-self).__add__(other)

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return self**-1 * other

    def backward(self):
        # Kahn's algorithm on the reversed edges: a node is ready once every parent has passed its grad on.
        waiting = {}
        for v in topological_order(self):
            waiting.setdefault(v, 0)
            for c in v._prev:
                waiting[c] = waiting.get(c, 0) + 1
        self.grad = 1.0
        ready = deque([self])
        while ready:
            v = ready.popleft()
            v._backward()
            for c in v._prev:
                waiting[c] -= 1
                if waiting[c] == 0:
                    ready.append(c)


def topological_order(root):
    # Kahn's algorithm: count each node's children, start from the leaves.
    nodes, stack, seen = [], [root], {root}
    while stack:
        v = stack.pop()
        nodes.append(v)
        for c in v._prev:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    pending = {v: len(v._prev) for v in nodes}
    parents = {v: [] for v in nodes}
    for v in nodes:
        for c in v._prev:
            parents[c].append(v)
    ready = deque(v for v in nodes if pending[v] == 0)
    order = []
    while ready:
        v = ready.popleft()
        order.append(v)
        for p in parents[v]:
            pending[p] -= 1
            if pending[p] == 0:
                ready.append(p)
    return order
