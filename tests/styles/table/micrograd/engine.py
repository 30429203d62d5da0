"""An engine whose backward rules live in a table looked up by operation name."""

import math


def _tanh(x):
    # tanh from exp, in the form that never overflows: exp of a non-positive number only.
    e = math.exp(-2 * abs(x))
    t = (1 - e) / (1 + e)
    return t if x >= 0 else -t


# op -> function of the output node giving (child, local derivative) pairs
RULES = {
    '+': lambda out: [(out._args[0], 1.0), (out._args[1], 1.0)],
    '-': lambda out: [(out._args[0], 1.0), (out._args[1], -1.0)],
    '*': lambda out: [(out._args[0], out._args[1].data), (out._args[1], out._args[0].data)],
    '/': lambda out: [
        (out._args[0], 1.0 / out._args[1].data),
        (out._args[1], -out._args[0].data / out._args[1].data ** 2),
    ],
    'neg': lambda out: [(out._args[0], -1.0)],
    'pow': lambda out: [(out._args[0], out._k * out._args[0].data ** (out._k - 1))],
    'exp': lambda out: [(out._args[0], out.data)],
    'tanh': lambda out: [(out._args[0], 1.0 - out.data**2)],
    'relu': lambda out: [(out._args[0], 1.0 if out.data > 0 else 0.0)],
}


def _value(x):
    return x if isinstance(x, Value) else Value(x)


class Value:
    __slots__ = ('data', 'grad', '_prev', '_op', 'label', '_args', '_k')

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._args = tuple(_children)
        self._prev = set(_children)
        self._op = _op
        self.label = label
        self._k = None

    def _backward(self):
        rule = RULES.get(self._op)
        if rule is not None:
            for child, local in rule(self):
                child.grad += local * self.grad

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    def _binary(self, other, op, result_of):
        other = _value(other)
        return Value(result_of(self.data, other.data), (self, other), op)

    def __add__(self, other):
        return self._binary(other, '+', lambda a, b: a + b)

    def __radd__(self, other):
        return _value(other) + self

    def __sub__(self, other):
        return self._binary(other, '-', lambda a, b: a - b)

    def __rsub__(self, other):
        return _value(other) - self

    def __mul__(self, other):
        return self._binary(other, '*', lambda a, b: a * b)

    def __rmul__(self, other):
        return _value(other) * self

    def __truediv__(self, other):
        return self._binary(other, '/', lambda a, b: a / b)

    def __rtruediv__(self, other):
        return _value(other) / self

    def __neg__(self):
        return Value(-self.data, (self,), 'neg')

    def __pow__(self, k):
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            raise TypeError(f"unsupported exponent type {type(k).__name__}")
        out = Value(self.data**k, (self,), 'pow')
        out._k = k
        return out

    def exp(self):
        return Value(math.exp(self.data), (self,), 'exp')

    def tanh(self):
        return Value(_tanh(self.data), (self,), 'tanh')

    def relu(self):
        return Value(max(0.0, self.data), (self,), 'relu')

    def backward(self):
        self.grad = 1.0
        for v in reversed(topological_order(self)):
            v._backward()


def topological_order(root):
    """Kahn's algorithm from the root: a node is emitted once all its parents are."""
    nodes, stack = {id(root): root}, [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in nodes:
                nodes[id(child)] = child
                stack.append(child)
    parents = dict.fromkeys(nodes, 0)
    for v in nodes.values():
        for child in v._prev:
            parents[id(child)] += 1
    order, ready = [], [root]
    while ready:
        v = ready.pop()
        order.append(v)
        for child in v._prev:
            parents[id(child)] -= 1
            if parents[id(child)] == 0:
                ready.append(child)
    order.reverse()
    return order
