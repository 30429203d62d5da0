import functools
import random
from collections.abc import Sequence

from micrograd.engine import Value

Scalar = float | Value


class Module:
    """Each class clears its own grads."""

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    def __init__(self, nin: int) -> None:
        self.b: Value = Value(random.uniform(-1.0, 1.0), label='b')
        self.w: list[Value] = [Value(random.uniform(-1.0, 1.0), label=f'w{i}') for i in range(nin)]

    def __call__(self, x: Sequence[Scalar]) -> Value:
        return (self.b + sum(wi * xi for wi, xi in zip(self.w, x))).tanh()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def zero_grad(self) -> None:
        for wi in self.w:
            wi.grad = 0.0
        self.b.grad = 0.0


class Layer(Module):
    def __init__(self, nin: int, nout: int) -> None:
        self.neurons = [Neuron(nin) for _ in range(nout)]

    def __call__(self, x: Sequence[Scalar]) -> Value | list[Value]:
        outs = [n(x) for n in self.neurons]
        return outs if len(outs) > 1 else outs[0]

    def parameters(self) -> list[Value]:
        return sum((n.parameters() for n in self.neurons), [])

    def zero_grad(self) -> None:
        for n in self.neurons:
            n.zero_grad()


class MLP(Module):
    def __init__(self, nin: int, nouts: list[int]) -> None:
        self.layers = [Layer(a, b) for a, b in zip([nin] + nouts, nouts)]

    def __call__(self, x):
        return functools.reduce(lambda acc, layer: layer(acc), self.layers, x)

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()
