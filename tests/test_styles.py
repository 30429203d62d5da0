"""Correct implementations in other styles get full marks, under several seeds, every time.

Each style is graded end to end by `python -m kit check all` at a few seeds here, the largest a
128-bit one as grading derives them; tests/test_seeds.py sweeps them over thousands of seeds in one
process each. `make soak` (KIT_SOAK=1) repeats one seed's run 50 times.
"""

import json
import os
import subprocess
import sys

import pytest

from kit import ROOT

SOAK = bool(os.environ.get("KIT_SOAK"))
STYLES = {
    "solutions": ROOT / "solutions",
    # backward rules in a table looked up by op name, Kahn's algorithm, __slots__, stable exp tanh,
    # subtraction and division as nodes of their own, bias drawn before the weights
    "table": ROOT / "tests" / "styles" / "table",
    # the lecture's closures with every operation its own node, a depth-first order driven by
    # child iterators, derivatives built from one another
    "closures": ROOT / "tests" / "styles" / "closures",
    # PyTorch's names: each node keeps a grad_fn that its _backward, a method bound in __init__, runs;
    # Kahn's algorithm in backward() and topological_order; a network that zero_grads per class
    "gradfn": ROOT / "tests" / "styles" / "gradfn",
    # a subclass of Value per operation, each with its own _backward method; - and / built from those
    # classes directly; derivatives as lambdas; a network of explicit loops, its weights in tuples
    "perop": ROOT / "tests" / "styles" / "perop",
}
SEEDS = [1, 31337, 2**128 - 1]
REPEATS = 50 if SOAK else 2


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("style", list(STYLES))
def test_a_correct_implementation_in_any_style_gets_full_marks(checks, style, seed):
    run = checks("all", STYLES[style], "--seed", str(seed))
    assert run.rc == 0, run.out
    assert all(t["status"] == "pass" for t in run.tests())


# Small departures from the reference that the contract allows, each on its own.
VARIATIONS = {
    "_prev a frozenset": (
        "micrograd/engine.py",
        [("self._prev = set(_children)", "self._prev = frozenset(_children)")],
    ),
    "a leaf's _backward returns 0": (
        "micrograd/engine.py",
        [("self._backward = lambda: None", "self._backward = lambda: 0")],
    ),
    "type hints from typing (3.10's typing reads its caller's module name as it loads)": (
        "micrograd/nn.py",
        [("import random\n", "import random\nfrom typing import List, NamedTuple, TypeVar\n\nT = TypeVar('T')\n")],
    ),
    "a training loop that logs and warns": (
        "train.py",
        [
            (
                '"""Exercise 07: fit a model by gradient descent."""\n',
                '"""Exercise 07."""\n\nimport logging\nimport warnings\n',
            ),
            (
                "        losses.append(loss.data)\n",
                "        losses.append(loss.data)\n        logging.warning('step %d loss %.4f', k, loss.data)\n",
            ),
            ("    losses = []\n", "    losses = []\n    warnings.warn('a slow loop', stacklevel=2)\n"),
        ],
    ),
    "parameters from a private random.Random": (
        "micrograd/nn.py",
        [("import random\n", "import random as _random\n\nrandom = _random.Random(2024)\n")],
    ),
    "parameters drawn from uniform(1, -1)": (
        "micrograd/nn.py",
        [("Value(random.uniform(-1, 1)) for _ in range(nin)]", "Value(random.uniform(1, -1)) for _ in range(nin)]")],
    ),
    "operations that return a subclass of Value": (
        "micrograd/engine.py",
        [
            (
                "out = Value(self.data + other.data, (self, other), '+')",
                "out = Node(self.data + other.data, (self, other), '+')",
            ),
            (
                "out = Value(self.data * other.data, (self, other), '*')",
                "out = Node(self.data * other.data, (self, other), '*')",
            ),
            ("out = Value(t, (self,), 'tanh')", "out = Node(t, (self,), 'tanh')"),
            (
                "\n\ndef topological_order(root):",
                "\n\nclass Node(Value):\n    \"\"\"A Value an operation made.\"\"\"\n\n\ndef topological_order(root):",
            ),
        ],
    ),
    "weights of a Value subclass": (
        "micrograd/nn.py",
        [
            ("class Neuron(Module):", "class Parameter(Value):\n    pass\n\n\nclass Neuron(Module):"),
            (
                "self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]",
                "self.w = [Parameter(random.uniform(-1, 1)) for _ in range(nin)]",
            ),
            ("self.b = Value(random.uniform(-1, 1))", "self.b = Parameter(random.uniform(-1, 1))"),
        ],
    ),
}


@pytest.mark.parametrize("name", list(VARIATIONS))
def test_a_correct_variation_the_contract_allows_gets_full_marks(checks, variant, name):
    file, patch = VARIATIONS[name]
    run = checks("all", variant(patch, file), "--seed", "2")
    assert run.rc == 0 and all(t["status"] == "pass" for t in run.tests()), run.out


def test_the_same_seed_gives_the_same_score_run_after_run(checks, tree):
    scores = {
        tuple((t["nodeid"], t["points"]) for t in checks("all", tree(5), "--seed", "3").tests()) for _ in range(REPEATS)
    }
    assert len(scores) == 1


def test_an_implementation_that_hard_codes_the_default_seeds_answers_fails_under_another_seed(checks, tmp_path):
    """Record what check-01 asks for under the default seed, then answer from that table alone."""
    from kit.regions import build_tree

    impl = build_tree(ROOT / "solutions", tmp_path / "hardcoded", 7)
    log = tmp_path / "calls.json"
    # The judge's side records each question and the reference's answer (learner code may not write files).
    proc = subprocess.run(
        [sys.executable, "-c", RECORDER.format(impl=str(impl), log=str(log))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = {}
    for probe, args, reply in json.loads(log.read_text()):
        if probe == "slope":
            rest = () if args.get("h") is None else (args["h"],)
            table[(args["func"], repr(args["x"]), repr(rest))] = reply["ok"]
        elif probe == "partial":
            passed = tuple(args["args"]) if args.get("as_tuple") else list(args["args"])
            rest = (args["i"],) if args.get("h") is None else (args["i"], args["h"])
            table[("partial_derivative", repr(passed), repr(rest))] = reply["ok"]["value"]
    assert table, "the recording saw check-01's questions"
    (impl / "derivatives.py").write_text(HARDCODED.format(table=table))
    honest_seed = checks("01", impl)
    assert honest_seed.rc == 0, "the hard-coded table answers the default seed's questions"
    other = checks("01", impl, "--seed", "2")
    earned, most = other.earned("01")
    assert earned < most / 2


RECORDER = """
import json
from checks import client
from kit import runner

real, calls = client.Worker.call, []


def call(self, probe, args, **options):
    reply = real(self, probe, args, **options)
    calls.append((probe, args, reply))
    return reply


client.Worker.call = call
assert runner.run(["01"], impl={impl!r}) == 0
with open({log!r}, "w") as f:
    json.dump(calls, f)
"""

HARDCODED = """
TABLE = {table!r}


def _lookup(name, x, rest):
    return TABLE.get((name, repr(x), repr(rest)), 0.0)


def derivative(f, x, *rest):
    return _lookup("derivative", x, rest)


def central_derivative(f, x, *rest):
    return _lookup("central_derivative", x, rest)


def partial_derivative(f, args, *rest):
    f(*args)  # the check asks that f be called: the table answers all the same
    return _lookup("partial_derivative", args, rest)
"""
