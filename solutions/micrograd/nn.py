"""A tiny neural-network library on top of Value: Neuron, Layer, MLP."""

import random

from micrograd.engine import Value


class Module:
    """Anything with parameters."""

    def zero_grad(self):
        ### BEGIN ex06: Set the grad of every parameter to 0.0.
        for p in self.parameters():
            p.grad = 0.0
        ### END ex06

    def parameters(self):
        return []


class Neuron(Module):
    """nin weights and a bias; the output is tanh(w . x + b)."""

    def __init__(self, nin):
        ### BEGIN ex06: Make nin weights self.w and a bias self.b, each a Value drawn with random.uniform(-1, 1).
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))
        ### END ex06

    def __call__(self, x):
        ### BEGIN ex06: Return tanh(sum(w_i * x_i) + b).
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()
        ### END ex06

    def parameters(self):
        ### BEGIN ex06: Return the weights and then the bias, as one list.
        return self.w + [self.b]
        ### END ex06


class Layer(Module):
    """nout neurons that all see the same nin inputs."""

    def __init__(self, nin, nout):
        ### BEGIN ex06: Make self.neurons, a list of nout Neurons with nin inputs each.
        self.neurons = [Neuron(nin) for _ in range(nout)]
        ### END ex06

    def __call__(self, x):
        ### BEGIN ex06: Return the list of each neuron's output, or the one Value when there is one neuron.
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs
        ### END ex06

    def parameters(self):
        ### BEGIN ex06: Return the parameters of every neuron, as one list.
        return [p for n in self.neurons for p in n.parameters()]
        ### END ex06


class MLP(Module):
    """Layers of sizes [nin] + nouts, each feeding the next."""

    def __init__(self, nin, nouts):
        ### BEGIN ex06: Make self.layers, one Layer between each pair of neighbouring sizes in [nin] + nouts.
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]
        ### END ex06

    def __call__(self, x):
        ### BEGIN ex06: Feed x through the layers in turn and return the last one's output.
        for layer in self.layers:
            x = layer(x)
        return x
        ### END ex06

    def parameters(self):
        ### BEGIN ex06: Return the parameters of every layer, as one list.
        return [p for layer in self.layers for p in layer.parameters()]
        ### END ex06
