"""The zoo: the reference solution with exactly one classic learner mistake each.

Each member is a patch of one solution file: (exercise it belongs to, file, [(old, new), ...],
the words the failure must use to name the likely cause, the mistake id of checks/mistakes.py
its own check must diagnose, or a tuple of it and the other ids its failures may carry: a recursive
walk is also a recursion-limit, and a member that holds two mistakes may be named for either).
`make test` builds every member as a complete tree and asserts that the check of its own exercise
loses points and names the cause.
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
        "not divided by the step",
        "not-divided-by-h",
    ),
    "central difference over h, not 2h": (
        "01",
        D,
        [("return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x - h)) / h")],
        "not by h",
        "central-over-h",
    ),
    "a central difference that is really forward": (
        "01",
        D,
        [("return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x)) / h")],
        "one-sided",
        "forward-for-central",
    ),
    "a partial derivative that moves every argument": (
        "01",
        D,
        [("    up[i] += h\n    down[i] -= h\n", "    up = [a + h for a in args]\n    down = [a - h for a in args]\n")],
        "Every argument was moved",
        "moves-every-arg",
    ),
    "a partial derivative that mutates args": (
        "01",
        D,
        [("up, down = list(args), list(args)", "up, down = args, list(args)")],
        "must not be mutated",
        "mutates-args",
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
        "mutates-operand",
    ),
    "* computing a sum": (
        "02",
        E,
        [("Value(self.data * other.data, (self, other), '*')", "Value(self.data + other.data, (self, other), '*')")],
        "came out as a sum",
        "wrong-result",
    ),
    "_prev missing a child": (
        "02",
        E,
        [("(self, other), '*')", "(self,), '*')")],
        "(self, other) as the children",
        "missing-child",
    ),
    "_op spelled out": ("02", E, [("(self, other), '+')", "(self, other), 'add')")], "symbol as _op", "wrong-op"),
    "repr without data=": (
        "02",
        E,
        [('return f"Value(data={self.data})"', 'return f"Value({self.data})"')],
        "Value(data=",
        "no-repr",
    ),
    "a repr that prints its text and returns None": (
        "02",
        E,
        [('return f"Value(data={self.data})"', 'print(f"Value(data={self.data})")')],
        "from __repr__",
        "no-repr",
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
        "assigns-grad",
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
        "assigns-grad",
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
        "missing-out-grad",
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
        "own-operand",
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
        "missing-out-grad",
    ),
    # 04 topological order and backward
    "pre-order recursion instead of a topological order": (
        "04",
        E,
        [("def topological_order(root):", PREORDER_TOPO)],
        "after all of its children",
        ("child-after-parent", "recursion-limit"),
    ),
    "a topological order without a visited set": (
        "04",
        E,
        [("def topological_order(root):", NO_VISITED_TOPO)],
        "visited",
        ("no-visited-set", "recursion-limit"),
    ),
    "calling _backward leaves-first": (
        "04",
        E,
        [("for v in reversed(topological_order(self)):", "for v in topological_order(self):")],
        "reverse",
        "not-reversed",
    ),
    "not seeding the root grad with 1": (
        "04",
        E,
        [("        self.grad = 1.0\n        for v", "        for v")],
        "self.grad = 1.0",
        "root-grad-not-one",
    ),
    "a walk that marks what it visited by data": (
        "04",
        E,
        [
            (
                "        elif v not in visited:\n            visited.add(v)",
                "        elif v.data not in visited:\n            visited.add(v.data)",
            )
        ],
        "leaves out",
        "topo-incomplete",
    ),
    "a recursive topological sort": (
        "04",
        E,
        [("def topological_order(root):", RECURSIVE_TOPO)],
        "a loop and a stack",
        "recursion-limit",
    ),
    # 05 the other operations
    "tanh backward 1 - t": (
        "05",
        E,
        [("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad")],
        "1 - t**2",
        "tanh-derivative",
    ),
    "tanh from the overflowing exp formula": (
        "05",
        E,
        [("t = math.tanh(self.data)", "t = (math.exp(2 * self.data) - 1) / (math.exp(2 * self.data) + 1)")],
        "too large",
        "tanh-overflow",
    ),
    "pow backward n * x**n": (
        "05",
        E,
        [("other * self.data ** (other - 1) * out.grad", "other * self.data**other * out.grad")],
        "k * x**(k - 1)",
        "pow-derivative",
    ),
    "__rsub__ with the operands swapped": (
        "05",
        E,
        [("return other + (-self)", "return self - other")],
        "other - self",
        "reflected-swapped",
    ),
    "__rtruediv__ with the operands swapped": (
        "05",
        E,
        [("return other * self**-1", "return self / other")],
        "other / self",
        "reflected-swapped",
    ),
    "a relu gradient of 1 everywhere": (
        "05",
        E,
        [("(out.data > 0) * out.grad", "1.0 * out.grad")],
        "1 where out > 0",
        "relu-derivative",
    ),
    "no __radd__": (
        "05",
        E,
        [("def __radd__(self, other):", "def _radd_unused(self, other):")],
        "__radd__",
        "reflected-missing",
    ),
    "exp backward with the input": (
        "05",
        E,
        [("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")],
        "exp(x) itself",
        "exp-derivative",
    ),
    # 06 the network
    "a neuron without bias": (
        "06",
        NN,
        [("zip(self.w, x)), self.b)", "zip(self.w, x)), 0.0)")],
        "bias b is missing",
        "no-bias",
    ),
    "a neuron without tanh": ("06", NN, [("return act.tanh()", "return act")], "apply tanh", "no-tanh"),
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
        "parameters-incomplete",
    ),
    "parameters() returning copies": (
        "06",
        NN,
        [("return self.w + [self.b]", "return [Value(p.data) for p in self.w + [self.b]]")],
        "not the neurons' own",
        "parameters-copies",
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
        "zero-grad-wrong",
    ),
    "a layer that never unwraps one output": (
        "06",
        NN,
        [("return outs[0] if len(outs) == 1 else outs", "return outs")],
        "unwrap",
        "single-output-list",
    ),
    # 07 training
    "training without zero_grad": (
        "07",
        TR,
        [("        model.zero_grad()\n", "")],
        "zero_grad() before loss.backward()",
        "no-zero-grad",
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
        "zero-grad-misplaced",
    ),
    "the update with the wrong sign": (
        "07",
        TR,
        [("p.data -= lr * p.grad", "p.data += lr * p.grad")],
        "Wrong sign",
        "sgd-sign",
    ),
    "a loss that uses abs": (
        "07",
        TR,
        [("sum((yout - ygt) ** 2 for", "sum((yout - ygt).relu() + (ygt - yout).relu() for")],
        "square each difference",
        "loss-formula",
    ),
    "losses recorded after the update": (
        "07",
        TR,
        [("        losses.append(loss.data)\n", "        losses.append(mse_loss([model(x) for x in xs], ys).data)\n")],
        "loss after the update",
        "loss-after-update",
    ),
}

# More members: every id of the contract's catalogue, and the mistakes a newcomer made (issue 12).
RECURSIVE_BACKWARD = """        self.grad = 1.0

        def walk(v):
            v._backward()
            for child in v._prev:
                walk(child)

        walk(self)
"""

MORE = {
    "derivative() as a central difference": (
        "01",
        D,
        [("return (f(x + h) - f(x)) / h", "return (f(x + h) - f(x - h)) / (2 * h)")],
        "That is the central difference",
        "central-for-forward",
    ),
    "a default step of 1e-5": (
        "01",
        D,
        [("def derivative(f, x, h=1e-4):", "def derivative(f, x, h=1e-5):")],
        "1e-4",
        "wrong-default-h",
    ),
    "_prev kept as a tuple": (
        "02",
        E,
        [("self._prev = set(_children)", "self._prev = _children")],
        "set",
        "prev-not-set",
    ),
    "the label thrown away": ("02", E, [("self.label = label", "self.label = ''")], "label", "label-lost"),
    "mul backward that updates only self": (
        "03",
        E,
        [("            other.grad += self.data * out.grad\n", "")],
        "Only one of the children",
        "one-child-only",
    ),
    "add backward with mul's rule": (
        "03",
        E,
        [
            (
                "self.grad += out.grad\n            other.grad += out.grad",
                "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
            )
        ],
        "local derivative",
        "wrong-local-derivative",
    ),
    "grad starting at 1": ("03", E, [("self.grad = 0.0", "self.grad = 1.0")], "made, expected 0.0", "grad-not-zero"),
    "a leaf without a _backward to call": (
        "03",
        E,
        [("self._backward = lambda: None", "self._backward = None")],
        "not a function",
        "leaf-backward",
    ),
    "mul backward multiplying by the Value": (
        "03",
        E,
        [("self.grad += other.data * out.grad", "self.grad += out.grad * other")],
        "other.data",
        "value-in-grad",
    ),
    "backward as a recursive walk from the root": (
        "04",
        E,
        [
            (
                "        self.grad = 1.0\n        for v in reversed(topological_order(self)):\n"
                "            v._backward()\n",
                RECURSIVE_BACKWARD,
            )
        ],
        "reverse topological order",
        ("no-topological-order", "recursion-limit"),
    ),
    "a topological order that leaves out the leaves": (
        "04",
        E,
        [
            (
                "            topo.append(stack.pop())",
                "            v = stack.pop()\n            if v._prev:\n                topo.append(v)",
            )
        ],
        "leaves and root included",
        "topo-incomplete",
    ),
    "a topological order returned root first": (
        "04",
        E,
        [("    return topo\n", "    return topo[::-1]\n")],
        "reversed",
        "root-not-last",
    ),
    "tanh backward assigns the grad": (
        "05",
        E,
        [("self.grad += (1 - t**2) * out.grad", "self.grad = (1 - t**2) * out.grad")],
        "+=",
        "assigns-grad",
    ),
    "a Value exponent refused with ValueError": (
        "05",
        E,
        [("raise TypeError(f\"Value ** {type(other).__name__}", "raise ValueError(f\"Value ** {type(other).__name__}")],
        "TypeError",
        "value-exponent",
    ),
    "tanh cut off from its input": (
        "05",
        E,
        [("out = Value(t, (self,), 'tanh')", "out = Value(t)")],
        "no children",
        "detached",
    ),
    "__radd__ as other + self": (
        "05",
        E,
        [("        return self + other\n", "        return other + self\n")],
        "calls itself",
        "operator-recursion",
    ),
    "weights that are one Value": (
        "06",
        NN,
        [
            (
                "self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]",
                "self.w = [Value(random.uniform(-1, 1))] * nin",
            )
        ],
        "drawn separately",
        "shared-parameters",
    ),
    "a backward() that seeds the root with +=": (
        "04",
        E,
        [
            (
                "        self.grad = 1.0\n        for v in reversed(",
                "        self.grad += 1.0\n        for v in reversed(",
            )
        ],
        "(=, not +=)",
        "root-grad-not-one",
    ),
    "a layer that repeats one neuron": (
        "06",
        NN,
        [("self.neurons = [Neuron(nin) for _ in range(nout)]", "self.neurons = [Neuron(nin)] * nout")],
        "distinct neurons",
        "shared-parameters",
    ),
    "a + that zeroes its operands' grads": (
        "02",
        E,
        [
            (
                "        out = Value(self.data + other.data, (self, other), '+')\n",
                "        out = Value(self.data + other.data, (self, other), '+')\n"
                "        self.grad = other.grad = 0.0\n",
            )
        ],
        "changed a's grad",
        "mutates-operand",
    ),
    "zero_grad that also zeroes data": (
        "06",
        NN,
        [("            p.grad = 0.0", "            p.grad = 0.0\n            p.data = 0.0")],
        "changed the parameters' data",
        "zero-grad-wrong",
    ),
    "weights drawn from random.random()": (
        "06",
        NN,
        [
            (
                "self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]",
                "self.w = [Value(random.random()) for _ in range(nin)]",
            )
        ],
        "uniform(-1, 1)",
        "init-range",
    ),
    "layers all of size nin": (
        "06",
        NN,
        [("Layer(sz[i], sz[i + 1])", "Layer(sz[0], sz[i + 1])")],
        "previous layer's nout",
        "layer-sizes",
    ),
    "parameters() as [w, b]": (
        "06",
        NN,
        [("return self.w + [self.b]", "return [self.w, self.b]")],
        "flat list",
        "parameters-nested",
    ),
    "a mean squared error": (
        "07",
        TR,
        [
            (
                "return sum((yout - ygt) ** 2 for yout, ygt in zip(ypred, ys))",
                "return sum((yout - ygt) ** 2 for yout, ygt in zip(ypred, ys)) * (1 / len(ys))",
            )
        ],
        "the mean",
        "loss-mean",
    ),
    "losses kept as Values": (
        "07",
        TR,
        [("losses.append(loss.data)", "losses.append(loss)")],
        "floats",
        "losses-not-floats",
    ),
}
ZOO |= MORE
ZOO |= {
    "a backward difference for the forward one": (
        "01",
        D,
        [("return (f(x + h) - f(x)) / h", "return (f(x) - f(x - h)) / h")],
        "backward difference",
        "backward-for-forward",
    ),
    "a forward difference over 2h": (
        "01",
        D,
        [("return (f(x + h) - f(x)) / h", "return (f(x + h) - f(x)) / (2 * h)")],
        "not by 2h",
        "forward-over-2h",
    ),
    "a central difference over 2, times h": (
        "01",
        D,
        [("return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x - h)) / 2 * h")],
        "Mind the brackets",
        "central-brackets",
    ),
    "an update without the learning rate": (
        "07",
        TR,
        [("p.data -= lr * p.grad", "p.data -= p.grad")],
        "by lr",
        "sgd-no-lr",
    ),
    "an update that replaces the data": (
        "07",
        TR,
        [("p.data -= lr * p.grad", "p.data = -lr * p.grad")],
        "do not replace it",
        "sgd-replaces",
    ),
}

# Mistakes seen in learners' code, and members that hold two mistakes at once.
ZOO.update(
    {
        "a _backward that reads out.grad when it is made": (
            "03",
            E,
            [
                (
                    "        def _backward():\n            self.grad += out.grad\n            other.grad += out.grad\n",
                    "        g = out.grad\n\n"
                    "        def _backward():\n"
                    "            self.grad += g\n"
                    "            other.grad += g\n",
                )
            ],
            "when out was made",
            "stale-out-grad",
        ),
        "a * whose _backward is never attached": (
            "03",
            E,
            [
                (
                    "            other.grad += self.data * out.grad\n\n        out._backward = _backward\n",
                    "            other.grad += self.data * out.grad\n\n",
                )
            ],
            "out._backward = _backward",
            "backward-not-attached",
        ),
        "a * whose local derivative divides out.data by an operand": (
            "03",
            E,
            [
                (
                    "self.grad += other.data * out.grad\n            other.grad += self.data * out.grad",
                    "self.grad += out.data / self.data * out.grad\n"
                    "            other.grad += out.data / other.data * out.grad",
                )
            ],
            "divid",
            "derivative-by-division",
        ),
        "tanh backward 1 + t**2": (
            "05",
            E,
            [("self.grad += (1 - t**2) * out.grad", "self.grad += (1 + t**2) * out.grad")],
            "1 - t**2",
            "tanh-derivative",
        ),
        "a hand-written - whose _backward gives b +out.grad": (
            "05",
            E,
            [
                (
                    "        return self + (-other)\n",
                    "        other = other if isinstance(other, Value) else Value(other)\n"
                    "        out = Value(self.data - other.data, (self, other), '-')\n\n"
                    "        def _backward():\n"
                    "            self.grad += out.grad\n"
                    "            other.grad += out.grad\n\n"
                    "        out._backward = _backward\n        return out\n",
                )
            ],
            "-out.grad",
            "sub-sign",
        ),
        "Value(other) with no type test": (
            "05",
            E,
            [("other = other if isinstance(other, Value) else Value(other)", "other = Value(other)")],
            "wrap plain numbers only",
            "wraps-value",
        ),
        "a * computed from the Values themselves": (
            "02",
            E,
            [("        out = Value(self.data * other.data, (self, other), '*')\n", "        out = self * other\n")],
            "self.data * other.data",
            "forward-recursion",
        ),
        "an sgd_step that rebinds p": (
            "07",
            TR,
            [("        p.data -= lr * p.grad\n", "        p = p.data - lr * p.grad\n")],
            "p.data",
            "sgd-no-update",
        ),
        "03 with both = for += and no out.grad in *": (
            "03",
            E,
            [
                ("            self.grad += out.grad\n", "            self.grad = out.grad\n"),
                ("self.grad += other.data * out.grad", "self.grad += other.data"),
            ],
            "",
            ("missing-out-grad", "assigns-grad"),
        ),
        "04 with a root never seeded and a topological order without a visited set": (
            "04",
            E,
            [
                ("        self.grad = 1.0\n        for v", "        for v"),
                ("        elif v not in visited:\n", "        elif True:\n"),
            ],
            "",
            ("root-grad-not-one", "no-visited-set"),
        ),
        "05 with tanh 1 - t and exp using its input": (
            "05",
            E,
            [
                ("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad"),
                ("self.grad += out.data * out.grad", "self.grad += self.data * out.grad"),
            ],
            "",
            ("tanh-derivative", "exp-derivative"),
        ),
        "06 with no bias and parameters() missing the last layer": (
            "06",
            NN,
            [
                (
                    "        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)",
                    "        act = sum(wi * xi for wi, xi in zip(self.w, x))",
                ),
                (
                    "return [p for layer in self.layers for p in layer.parameters()]",
                    "return [p for layer in self.layers[:-1] for p in layer.parameters()]",
                ),
            ],
            "",
            ("no-bias", "parameters-incomplete"),
        ),
        "07 with a mean loss and the update's sign flipped": (
            "07",
            TR,
            [
                (
                    "    return sum((yout - ygt) ** 2 for yout, ygt in zip(ypred, ys))",
                    "    return sum((yout - ygt) ** 2 for yout, ygt in zip(ypred, ys)) / len(ys)",
                ),
                ("        p.data -= lr * p.grad\n", "        p.data += lr * p.grad\n"),
            ],
            "",
            ("sgd-sign", "loss-mean"),
        ),
    }
)

# Members whose messages quote an order the learner's own code took from iterating `_prev` (a set of
# Values, whose order follows their addresses): their points and ids are the same on every Python and
# in every process, the numbers and orders their messages quote need not be.
ORDER_QUOTED = frozenset(
    {
        "pre-order recursion instead of a topological order",
        "a topological order without a visited set",
        "backward as a recursive walk from the root",
        "a topological order returned root first",
        "04 with a root never seeded and a topological order without a visited set",
        "a walk that marks what it visited by data",
    }
)
assert ORDER_QUOTED <= set(ZOO)

# Where a mistake stops or breaks code of another exercise that runs after it in the same method, that
# exercise's check cannot see its own code and loses points too (named with the mistake's id, or
# none): `* computed from the Values` recurses before 03's _backward is ever made. No base can cut
# that line out of the learner's own method. (05's wrapping of an operand, which runs before 02's
# line in the same __add__, can be undone from outside: checks/base/ops.py, `unwrap`.)
ALSO_CHARGED = {
    "a * computed from the Values themselves": {"03"},
}
assert set(ALSO_CHARGED) <= set(ZOO)
