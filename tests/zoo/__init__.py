"""The zoo: the reference solution with exactly one classic learner mistake each.

Each member is a patch of one solution file: (exercise it belongs to, file, [(old, new), ...],
the words the failure must use to name the likely cause). `make test` builds every member as a
complete tree and asserts that the check of its own exercise loses points and names the cause.
"""

RECURSIVE_TOPO = '''def topological_order(root):
    """Every Value that root depends on, root included, each once, children before their parents."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)
    build(root)
    return topo


def _reference_order(root):'''

NO_VISITED_TOPO = '''def topological_order(root):
    """Every Value that root depends on, root included, each once, children before their parents."""
    topo = []

    def build(v):
        for child in v._prev:
            build(child)
        topo.append(v)
    build(root)
    return topo


def _reference_order(root):'''

PREORDER_TOPO = '''def topological_order(root):
    """Every Value that root depends on, root included, each once, children before their parents."""
    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            topo.append(v)
            for child in v._prev:
                build(child)
    build(root)
    return topo


def _reference_order(root):'''

E, NN, TR, D = "micrograd/engine.py", "micrograd/nn.py", "train.py", "derivatives.py"

ZOO = {
    # 01 numeric derivatives
    "forward difference without /h": (
        "01",
        D,
        [("return (f(x + h) - f(x)) / h", "return f(x + h) - f(x)")],
        "not divided by h",
    ),
    "central difference over h, not 2h": (
        "01",
        D,
        [("return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x - h)) / h")],
        "not by h",
    ),
    "a central difference that is really forward": (
        "01",
        D,
        [("return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x)) / h")],
        "That is the forward difference",
    ),
    "a partial derivative that moves every argument": (
        "01",
        D,
        [("    up[i] += h\n    down[i] -= h\n", "    up = [a + h for a in args]\n    down = [a - h for a in args]\n")],
        "Every argument was moved",
    ),
    "a partial derivative that mutates args": (
        "01",
        D,
        [("up, down = list(args), list(args)", "up, down = args, list(args)")],
        "must not be mutated",
    ),
    # 02 the Value graph
    "+ that mutates its operand": (
        "02",
        E,
        [
            (
                "        out = Value(self.data + other.data, (self, other), '+')\n",
                "        self.data += other.data\n        out = Value(self.data, (self, other), '+')\n",
            )
        ],
        "leave self and other",
    ),
    "* computing a sum": (
        "02",
        E,
        [("Value(self.data * other.data, (self, other), '*')", "Value(self.data + other.data, (self, other), '*')")],
        "came out as a sum",
    ),
    "_prev missing a child": ("02", E, [("(self, other), '*')", "(self,), '*')")], "(self, other) as the children"),
    "_op spelled out": ("02", E, [("(self, other), '+')", "(self, other), 'add')")], "symbol as _op"),
    "repr without data=": (
        "02",
        E,
        [('return f"Value(data={self.data})"', 'return f"Value({self.data})"')],
        "Value(data=",
    ),
    # 03 local gradients
    "add backward assigns the grad": (
        "03",
        E,
        [
            (
                "self.grad += out.grad\n            other.grad += out.grad",
                "self.grad = out.grad\n            other.grad = out.grad",
            )
        ],
        "+=",
    ),
    "mul backward assigns the grad": (
        "03",
        E,
        [
            (
                "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
                "self.grad = other.data * out.grad\n            other.grad = self.data * out.grad",
            )
        ],
        "+=",
    ),
    "mul backward without * out.grad": (
        "03",
        E,
        [
            (
                "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
                "self.grad += other.data\n            other.grad += self.data",
            )
        ],
        "chain rule",
    ),
    "mul backward gives each input its own value": (
        "03",
        E,
        [
            (
                "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
                "self.grad += self.data * out.grad\n            other.grad += other.data * out.grad",
            )
        ],
        "*other* operand",
    ),
    "add backward without * out.grad": (
        "03",
        E,
        [
            (
                "self.grad += out.grad\n            other.grad += out.grad",
                "self.grad += 1.0\n            other.grad += 1.0",
            )
        ],
        "chain rule",
    ),
    # 04 topological order and backward
    "pre-order recursion instead of a topological order": (
        "04",
        E,
        [("def topological_order(root):", PREORDER_TOPO)],
        "after all of its children",
    ),
    "a topological order without a visited set": (
        "04",
        E,
        [("def topological_order(root):", NO_VISITED_TOPO)],
        "visited",
    ),
    "calling _backward leaves-first": (
        "04",
        E,
        [("for v in reversed(topological_order(self)):", "for v in topological_order(self):")],
        "reverse",
    ),
    "not seeding the root grad with 1": (
        "04",
        E,
        [("        self.grad = 1.0\n        for v", "        for v")],
        "self.grad = 1.0",
    ),
    "a recursive topological sort": ("04", E, [("def topological_order(root):", RECURSIVE_TOPO)], "a loop and a stack"),
    # 05 the other operations
    "tanh backward 1 - t": (
        "05",
        E,
        [("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad")],
        "not 1 - t",
    ),
    "tanh from the overflowing exp formula": (
        "05",
        E,
        [("t = math.tanh(self.data)", "t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)")],
        "too large",
    ),
    "pow backward n * x**n": (
        "05",
        E,
        [("other * self.data ** (other - 1) * out.grad", "other * self.data**other * out.grad")],
        "not n * x**n",
    ),
    "__rsub__ with the operands swapped": (
        "05",
        E,
        [("return other + (-self)", "return self - other")],
        "__rsub__ computes other - self",
    ),
    "__rtruediv__ with the operands swapped": (
        "05",
        E,
        [("return other * self**-1", "return self / other")],
        "__rtruediv__ computes other / self",
    ),
    "a relu gradient of 1 everywhere": (
        "05",
        E,
        [("(out.data > 0) * out.grad", "1.0 * out.grad")],
        "0 where the input is negative",
    ),
    "no __radd__": ("05", E, [("def __radd__(self, other):", "def _radd_unused(self, other):")], "__radd__"),
    "exp backward with the input": (
        "05",
        E,
        [("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")],
        "exp(x) itself",
    ),
    # 06 the network
    "a neuron without bias": ("06", NN, [("zip(self.w, x)), self.b)", "zip(self.w, x)), 0.0)")], "bias b is missing"),
    "a neuron without tanh": ("06", NN, [("return act.tanh()", "return act")], "apply tanh"),
    "parameters() missing the last layer": (
        "06",
        NN,
        [
            (
                "for layer in self.layers for p in layer.parameters()]",
                "for layer in self.layers[:-1] for p in layer.parameters()]",
            )
        ],
        "41",
    ),
    "parameters() returning copies": (
        "06",
        NN,
        [("return self.w + [self.b]", "return [Value(p.data) for p in self.w + [self.b]]")],
        "not the neurons' own",
    ),
    "zero_grad skipping biases": (
        "06",
        NN,
        [
            (
                "for p in self.parameters():\n            p.grad = 0.0",
                "for p in self.parameters():\n            if p not in [n.b for layer in "
                "getattr(self, 'layers', []) for n in layer.neurons]:\n"
                "                p.grad = 0.0",
            )
        ],
        "biases",
    ),
    "a layer that never unwraps one output": (
        "06",
        NN,
        [("return outs[0] if len(outs) == 1 else outs", "return outs")],
        "unwrap",
    ),
    # 07 training
    "training without zero_grad": (
        "07",
        TR,
        [("        model.zero_grad()\n", "")],
        "zero_grad() before loss.backward()",
    ),
    "zero_grad after backward": (
        "07",
        TR,
        [
            (
                "        model.zero_grad()\n        loss.backward()\n",
                "        loss.backward()\n        model.zero_grad()\n",
            )
        ],
        "zero_grad() called after backward()",
    ),
    "the update with the wrong sign": ("07", TR, [("p.data -= lr * p.grad", "p.data += lr * p.grad")], "Wrong sign"),
    "a loss that uses abs": (
        "07",
        TR,
        [("sum((yout - ygt) ** 2 for", "sum((yout - ygt).relu() + (ygt - yout).relu() for")],
        "absolute errors",
    ),
    "losses recorded after the update": (
        "07",
        TR,
        [("        losses.append(loss.data)\n", "        losses.append(mse_loss([model(x) for x in xs], ys).data)\n")],
        "loss after the update",
    ),
}
