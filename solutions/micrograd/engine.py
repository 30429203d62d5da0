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
        ### BEGIN ex02: Show the Value as Value(data=...).
        return f"Value(data={self.data})"
        ### END ex02

    def __add__(self, other):
        ### BEGIN ex05 (no-op): Let other be a plain number too, by wrapping it in a Value.
        other = other if isinstance(other, Value) else Value(other)
        ### END ex05
        ### BEGIN ex02: Make out, the sum, with self and other as its children and '+' as its op.
        out = Value(self.data + other.data, (self, other), '+')
        ### END ex02

        def _backward():
            ### BEGIN ex03: Add the local derivative times out.grad into the grad of each child.
            self.grad += out.grad
            other.grad += out.grad
            ### END ex03

        out._backward = _backward
        return out

    def __mul__(self, other):
        ### BEGIN ex05 (no-op): Let other be a plain number too, by wrapping it in a Value.
        other = other if isinstance(other, Value) else Value(other)
        ### END ex05
        ### BEGIN ex02: Make out, the product, with self and other as its children and '*' as its op.
        out = Value(self.data * other.data, (self, other), '*')
        ### END ex02

        def _backward():
            ### BEGIN ex03: Add the local derivative times out.grad into the grad of each child.
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            ### END ex03

        out._backward = _backward
        return out

    def __pow__(self, other):
        ### BEGIN ex05: Raise self to a plain int or float power; any other exponent is a TypeError.
        if not isinstance(other, (int, float)):
            raise TypeError(f"Value ** {type(other).__name__}: only int or float powers are supported")
        out = Value(self.data**other, (self,), f'**{other}')

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out
        ### END ex05

    def exp(self):
        ### BEGIN ex05: Make out = e**self; its local derivative is out's own data.
        out = Value(math.exp(self.data), (self,), 'exp')

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out
        ### END ex05

    def tanh(self):
        ### BEGIN ex05: Make out = tanh(self) without overflow for large inputs; its local derivative is 1 - t**2.
        t = math.tanh(self.data)
        out = Value(t, (self,), 'tanh')

        def _backward():
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out
        ### END ex05

    def relu(self):
        ### BEGIN ex05: Make out = max(0, self); its local derivative is 1 where out > 0, else 0.
        out = Value(0.0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out
        ### END ex05

    def __neg__(self):  # -self
        ### BEGIN ex05: Return -self, built from the operations you already have.
        return self * -1
        ### END ex05

    def __radd__(self, other):  # other + self
        ### BEGIN ex05: Return self + other (written other + self, it would call __radd__ again).
        return self + other
        ### END ex05

    def __sub__(self, other):  # self - other
        ### BEGIN ex05: Return self + (-other), built from + and negation.
        return self + (-other)
        ### END ex05

    def __rsub__(self, other):  # other - self
        ### BEGIN ex05: Return other + (-self), built from + and negation.
        return other + (-self)
        ### END ex05

    def __rmul__(self, other):  # other * self
        ### BEGIN ex05: Return self * other (written other * self, it would call __rmul__ again).
        return self * other
        ### END ex05

    def __truediv__(self, other):  # self / other
        ### BEGIN ex05: Return self * other**-1, built from * and **.
        return self * other**-1
        ### END ex05

    def __rtruediv__(self, other):  # other / self
        ### BEGIN ex05: Return other * self**-1, built from * and **.
        return other * self**-1
        ### END ex05

    def backward(self):
        """Fill in the grad of every Value this one depends on."""
        ### BEGIN ex04: Seed self.grad with 1.0, then call _backward of every node in reverse topological order.
        self.grad = 1.0
        for v in reversed(topological_order(self)):
            v._backward()
        ### END ex04


def topological_order(root):
    """Every Value that root depends on, root included, each once, children before their parents."""
    ### BEGIN ex04: Return the nodes in topological order, without recursion so deep graphs work.
    topo, visited = [], set()
    stack = [root]
    while stack:
        v = stack.pop()
        if v is None:  # the marker under v's children: they are all in topo, so v goes next
            topo.append(stack.pop())
        elif v not in visited:
            visited.add(v)
            stack.append(v)
            stack.append(None)
            stack.extend(v._prev)
    return topo
    ### END ex04
