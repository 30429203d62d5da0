import random

from micrograd.engine import Value


class Module:
    """What a Neuron, a Layer and an MLP share: their parameters, and clearing their grads."""

    def parameters(self):
        raise NotImplementedError("every part of the network lists its own")

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    def __init__(self, nin):
        # uniform on [-1, 1): scale and shift random(); the weights kept in a tuple
        self.w = tuple(Value(2 * random.random() - 1) for _ in range(nin))
        self.b = Value(2 * random.random() - 1)

    def __call__(self, x):
        total = self.b
        for wi, xi in zip(self.w, x):
            total = total + wi * xi
        return total.tanh()

    def parameters(self):
        params = list(self.w)
        params.append(self.b)
        return params


class Layer(Module):
    def __init__(self, nin, nout):
        self.neurons = []
        for _ in range(nout):
            self.neurons.append(Neuron(nin))

    def __call__(self, x):
        if len(self.neurons) == 1:
            return self.neurons[0](x)
        return [neuron(x) for neuron in self.neurons]

    def parameters(self):
        out = []
        for neuron in self.neurons:
            out += neuron.parameters()
        return out


class MLP(Module):
    def __init__(self, nin, nouts):
        sizes = [nin, *nouts]
        self.layers = [Layer(i, o) for i, o in zip(sizes, sizes[1:])]

    def __call__(self, x):
        out = x
        for layer in self.layers:
            out = layer(out)
        return out

    def parameters(self):
        return [p for layer in self.layers for neuron in layer.neurons for p in neuron.parameters()]
