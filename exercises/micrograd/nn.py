"""A tiny neural-network library on top of Value: Neuron, Layer, MLP."""

import random

from micrograd.engine import Value


class Module:
    """Anything with parameters."""

    def zero_grad(self):
        # TODO(ex06): Set the grad of every parameter to 0.0.
        raise NotImplementedError("ex06: Module.zero_grad - see docs/06_neural_net.md")

    def parameters(self):
        return []


class Neuron(Module):
    """nin weights and a bias; the output is tanh(w . x + b)."""

    def __init__(self, nin):
        # TODO(ex06): Make nin weights self.w and a bias self.b, each a Value drawn with random.uniform(-1, 1).
        raise NotImplementedError("ex06: Neuron.__init__ - see docs/06_neural_net.md")

    def __call__(self, x):
        # TODO(ex06): Return tanh(sum(w_i * x_i) + b).
        raise NotImplementedError("ex06: Neuron.__call__ - see docs/06_neural_net.md")

    def parameters(self):
        # TODO(ex06): Return the weights and then the bias, as one list.
        raise NotImplementedError("ex06: Neuron.parameters - see docs/06_neural_net.md")


class Layer(Module):
    """nout neurons that all see the same nin inputs."""

    def __init__(self, nin, nout):
        # TODO(ex06): Make self.neurons, a list of nout Neurons with nin inputs each.
        raise NotImplementedError("ex06: Layer.__init__ - see docs/06_neural_net.md")

    def __call__(self, x):
        # TODO(ex06): Return the list of each neuron's output, or the one Value when there is one neuron.
        raise NotImplementedError("ex06: Layer.__call__ - see docs/06_neural_net.md")

    def parameters(self):
        # TODO(ex06): Return the parameters of every neuron, as one list.
        raise NotImplementedError("ex06: Layer.parameters - see docs/06_neural_net.md")


class MLP(Module):
    """Layers of sizes [nin] + nouts, each feeding the next."""

    def __init__(self, nin, nouts):
        # TODO(ex06): Make self.layers, one Layer between each pair of neighbouring sizes in [nin] + nouts.
        raise NotImplementedError("ex06: MLP.__init__ - see docs/06_neural_net.md")

    def __call__(self, x):
        # TODO(ex06): Feed x through the layers in turn and return the last one's output.
        raise NotImplementedError("ex06: MLP.__call__ - see docs/06_neural_net.md")

    def parameters(self):
        # TODO(ex06): Return the parameters of every layer, as one list.
        raise NotImplementedError("ex06: MLP.parameters - see docs/06_neural_net.md")
