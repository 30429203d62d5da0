"""Gates: a quick look at whether an exercise works, for the checks that build on it.

Each gate calls a probe or two through `call(probe, **args)` and returns None when the exercise
does what the later checks rely on, and nothing more (the 02 gate asks nothing of `_op` or
`label`, which no later check uses); else (mistake id or None, what is wrong, as a clause). A
check prints "check-06 builds on 02-05; check-04 is not passing yet" before its own tests when a
gate of what it builds on is closed, and its failures carry that exercise's mistake id.

`Looks` runs each gate just before the first check that builds on it, on the base its own
exercise's check runs on: the worker of each base then serves its checks and its gates alike.
"""

import functools
import random

from checks import numerics
from checks.base import LINE, OWN, UNWRAPPED, base_for, plan
from checks.client import ProbeFailure
from checks.inputs import DIAMOND, LECTURE_L, SHARED, as_numeric, every_operation, random_graph, random_layers
from checks.judge import LearnerError, diagnose
from checks.mistakes import advice
from checks.predictions import BACKWARD_VARIANTS, backprop_predictions, neuron_variants
from kit.exercises import EXERCISES

GATE_TIMEOUT = 10.0
# What a gate that closes says of what it tried, where no mistake is named: true of every probe it
# makes (a gate looks at more than the lecture's expression).
GATE_FAILED = {
    "02": "your + or * does not build the lecture's expression L = (a*b + c) * f yet",
    "03": "calling _backward by hand does not give the right gradients yet: on L = (a*b + c) * f, adding "
    "into grads that already hold something, for an operand used twice, or for an operand of 0",
    "04": "backward() does not give the right gradients yet: on L = (a*b + c) * f, on small graphs that use "
    "a node more than once or hold two nodes of equal data, or called twice in a row (each call adds)",
    "05": "tanh, exp, relu, -, /, ** or a plain number on either side does not give its values and gradients yet",
    "06": "your MLP(3, [4, 4, 1]) does not have 41 parameters, its Neuron's output is not tanh(w.x + b) on floats "
    "and on Values, a one-neuron Layer does not give its Value, the MLP's output or its loss's gradients are not "
    "right, or zero_grad() does not zero every grad",
}


def same_grads(got, graph, data=None):
    """Whether `got` are the graph's grads (at the learner's values `data`, where given)."""
    names = [name for name, *_ in graph]
    want = numerics.right_grads(graph, data, names) if data else numerics.gradient(graph, names)
    return all(numerics.close(got[name], want[name], numerics.GRAD_RTOL) for name in want)


def closed(ex, mistake=None):
    if not mistake:
        return None, GATE_FAILED[ex]
    text = advice(mistake).rstrip(".")
    return mistake, text[0].lower() + text[1:]


def gate_02(call):
    r = call("forward", graph=LECTURE_L)
    if r["wraps"]:
        return closed("02", "wraps-value")
    values = numerics.evaluate(LECTURE_L)
    if not all(numerics.close(r["data"][n], v) for n, v in values.items()):
        return closed("02", "mutates-operand" if not r["leaves_unchanged"] or r["changed"] else "wrong-result")
    # Every node's children, + as well as *: a graph that loses one loses nodes in every later walk.
    for name, _, *children in LECTURE_L:
        have, want = r["prev"][name], sorted(c for c in children if isinstance(c, str))
        if have != want:
            return closed("02", "missing-child" if set(have) < set(want) else None)
    return None


def gate_03(call):
    r = call("manual_backprop", graph=LECTURE_L)
    got, values = r["grad"], numerics.learner_values(LECTURE_L, r["data"])
    if not same_grads(got, LECTURE_L, r["data"]):
        return closed("03", diagnose(got, backprop_predictions(LECTURE_L, BACKWARD_VARIANTS, values=values)))
    # Later checks use a Value more than once (a + a, a * a, shared nodes): every _backward must add
    # into a grad that already holds something, for each child, and for a child used twice.
    for op, same, want, assigned in (
        ("add", False, (0.75, 0.0), (0.5, 0.5)),
        ("mul", False, (-0.75, 0.25), (-1.0, 0.75)),
        ("add", True, (1.25,), (1.0,)),
        ("mul", True, (1.75,), (1.5,)),
    ):
        r = call("local_backward", op=op, same=same, a=1.5, b=-2.0, out_grad=0.5, a_grad=0.25, b_grad=-0.5)
        for got, right, wrong in zip((r["a"], r["b"]), want, assigned):
            if not numerics.close(got, right):
                return closed("03", diagnose(got, {"assigns-grad": wrong}))
    # An operand of 0: what a local derivative found by dividing out.data gets wrong.
    r = call("local_backward", op="mul", a=0.0, b=1.5, out_grad=0.5, a_grad=0.0, b_grad=0.0)
    if not (numerics.close(r["a"], 0.75) and numerics.close(r["b"], 0.0)):
        return closed("03")
    return None


# A walk whose order hangs on how a set iterates (a pre-order walk reversed) gets a small graph right in
# some orders: the gate of 04 looks at several graphs with shared nodes, fixed (a gate draws nothing).
# TWINS has two different operations of equal data (2 * 2 = 2 + 2): a walk that marks visits by data
# or by repr leaves one out, which the other graphs, with no two data alike, never show.
TWINS = [["a", "leaf", 2.0], ["b", "leaf", 2.0], ["p", "mul", "a", "b"], ["q", "add", "a", "b"], ["L", "mul", "p", "q"]]
ORDER_GRAPHS = [LECTURE_L, DIAMOND, SHARED, TWINS] + [
    random_graph(random.Random(k), ["add", "mul"], leaves=3, size=10) for k in range(4)
]


def gate_04(call):
    for graph in ORDER_GRAPHS:
        got = call("backward", graph=graph)
        if not same_grads(got["grads"], graph):
            return closed("04", "root-grad-not-one" if all(g == 0.0 for g in got["grads"].values()) else None)
    # Twice with no zero_grad between, as a training loop that forgets it does: a backward() that zeroes
    # the grads first would hide that loop's mistake from check-07.
    got = call("backward_twice", graph=LECTURE_L)
    _, want = numerics.backprop_twice(LECTURE_L)
    if not all(numerics.close(got["second"][n], want[n], numerics.GRAD_RTOL) for n in want):
        seeded = numerics.close(got["second"][numerics.root(LECTURE_L)], 1.0)
        return closed("04", None if seeded else "root-grad-not-one")
    return None


@functools.cache
def core():
    """check-05's fixed core and its (values, grads), worked out once a process: this gate and check-05's
    own test use them. A run that needs them works them out as it collects (warm), so a grader's judges,
    forked from their server after that, do not work them out again for every student."""
    graph = every_operation()
    return graph, (numerics.evaluate(graph), numerics.gradient(graph))


def gate_05(call):
    # check-05's fixed core, every form of every operation, not only those the later checks' probes
    # use: check-07 runs the learner's own train.py, which may write y - ygt, (ygt - y) ** 2 or loss / n.
    graph, (values, want) = core()
    r = call("op_grads", graph=graph)
    ok = all(numerics.close(r["values"][k], v) for k, v in values.items()) and all(
        numerics.close(r["grad"][k], v, numerics.GRAD_RTOL) for k, v in want.items()
    )
    # A result without children: the probe calls every node's _backward, but loss.backward() never reaches it.
    return None if ok and not r["childless"] else closed("05")


NEURON = {"w": [0.5, -0.75, 0.25], "b": 0.4}
NEURON_X = [1.5, 0.5, -2.0]
MLP_VALUES = random_layers(random.Random(6), [3, 4, 4, 1])  # fixed: a gate draws nothing
MLP_XS, MLP_YS = [NEURON_X, [-1.0, 2.0, 0.25]], [1.0, -1.0]


@functools.cache
def mlp_want():
    """The gradient gate 06 expects, worked out once a process, as core()."""
    return numerics.loss_gradient(as_numeric(MLP_VALUES), MLP_XS, MLP_YS)[1]


def warm(checks):
    """Work out now what draws nothing and `checks` (ids) will use: check-05 and the gates of 05 and 06."""
    if max(checks, default="00") >= "05":
        core()
    if "07" in checks:
        mlp_want()


def gate_06(call):
    r = call("mlp_structure", nin=3, nouts=[4, 4, 1], seed=0)
    if r["sizes"] != [[3] * 4, [4] * 4, [4]]:
        return closed("06", "layer-sizes")
    if not r["stable"]:  # parameters() changes the network it lists: train() would then change it every step
        return closed("06")
    if r["count"] != 41 or r["unique"] != 41 or None in r["positions"]:
        return closed("06", "parameters-incomplete" if r["count"] < 41 and None not in r["positions"] else None)
    w, b = NEURON["w"], NEURON["b"]
    for as_values in (False, True):  # train() may hand a neuron floats or Values
        out = call("neuron", nin=3, seed=0, x=NEURON_X, values_as_inputs=as_values, values=NEURON)["out"]
        if out["kind"] != "Value" or not numerics.close(out["data"], numerics.neuron(w, b, NEURON_X)):
            return closed("06", diagnose(out["data"], neuron_variants(w, b, NEURON_X)))
    # What train() relies on besides: a one-neuron layer gives its Value, an MLP feeds each layer into
    # the next, its loss backpropagates into every parameter, and zero_grad() zeroes grads only.
    if call("layer", nin=2, nout=1, seed=0, x=[0.5, -1.0])["out"]["kind"] != "Value":
        return closed("06", "single-output-list")
    out = call("mlp_forward", nin=3, nouts=[4, 4, 1], seed=0, values=MLP_VALUES, x=NEURON_X)
    if out["kind"] != "Value" or not numerics.close(out["data"], numerics.mlp(as_numeric(MLP_VALUES), NEURON_X)):
        return closed("06")
    got = call("mlp_grads", nin=3, nouts=[4, 4, 1], seed=0, values=MLP_VALUES, xs=MLP_XS, ys=MLP_YS)
    have, want = numerics.flatten(as_numeric(got)), mlp_want()
    if len(have) != len(want) or not all(numerics.close(g, v, numerics.GRAD_RTOL) for g, v in zip(have, want)):
        return closed("06")
    got = call("zero_grad", nin=3, nouts=[4, 2], seed=2, junk=0.75, kind="MLP")
    if not got["data_kept"] or any(g != 0.0 for layer in got["grads"] for n in layer for g in [*n["w"], n["b"]]):
        return closed("06", "zero-grad-wrong")
    return None


GATES = {"02": gate_02, "03": gate_03, "04": gate_04, "05": gate_05, "06": gate_06}


class Looks:
    """The first looks of a run, each just before the first check that needs it, outside every
    test's timeout: whether the learner's + and * wrap a Value in a Value, then the gate of each
    exercise a check builds on, on the base that exercise's own check runs on, so that the worker
    of each base serves its gates and its checks in one go. Meanwhile the workers that come next
    are started ahead (a learner's run)."""

    def __init__(self, calls, review, timeout, last=None, guess=()):
        self.calls, self.review, self.timeout = calls, review, timeout
        self.last = last  # the last check the run gets to, if it stops early (watch mode)
        self.guess = set(guess)  # the exercises whose gates will likely close (checks/calls.py, todo_left)
        self.gates = {}  # exercise -> None when its gate is open, else (mistake id or None, sentence)
        self.line = None  # 05's line as the learner's + and * have it (checks/base/, LINE); None: not looked
        self.wanted = []  # the checks of the run, in order
        self.at = None  # the check under way

    def before(self, ex):
        """At check `ex`: the first looks it needs that the run has not had yet."""
        self.at = ex
        deps = sorted(set(EXERCISES[ex].builds_on) - set(self.gates))
        if self.line is None and {ex, *deps} & set(UNWRAPPED):
            self.line = self.own_line()
        for dep in deps:
            self.calls.base = base_for(dep, self.closed(), self.line or ())
            self.gates[dep] = self.gate(dep)
            self.prepare()
        self.calls.base = OWN

    def closed(self):
        """The exercises whose gates are closed."""
        return {ex for ex, gate in self.gates.items() if gate}

    def planned(self, checks=None):
        """The bases the run calls on from the check under way (or the first) on, as far as it gets,
        should the gates not looked at yet close where the guess says they will."""
        checks = self.wanted if checks is None else checks
        start = checks.index(self.at) if self.at in checks else 0
        later = [ex for ex in checks[start:] if self.last is None or ex <= self.last]
        return plan(later, self.closed() | (self.guess - set(self.gates)), self.line or (), self.gates)

    def prepare(self, checks=None):
        """Start ahead the workers of the bases planned (where the run may: checks/calls.py)."""
        self.calls.prepare(self.planned(checks))

    def own_line(self):
        """05's line as the learner's own + and * have it (checks/base/, LINE): whether they wrap an
        operand that is already a Value in another Value (then 02-04 run with the kit's line), and the
        plain numbers they refuse (where check-05 runs on the kit's + and *, they refuse them too).
        What cannot be seen (+ or * failing) counts as the lecture's line."""
        try:
            return tuple(form for form in self.look("02", lambda call: call("operands")) if form in LINE)
        except (LearnerError, ProbeFailure, TypeError):
            return ()

    def look(self, ex, look):
        """Run a first look at exercise `ex` through its probes, outside any test."""

        def call(probe, **args):
            return self.calls.call(probe, args, timeout=self.timeout)

        self.calls.new_look(f"the first look at check-{ex}")
        try:
            return look(call)
        finally:
            for reason in self.calls.tampered:
                self.review.append({"check": ex, "test": f"the first look at check-{ex}", "reason": reason})
            self.calls.end_look()

    def gate(self, ex):
        """A quick look at whether exercise `ex` works, through its gate probes."""
        try:
            return self.look(ex, GATES[ex])
        except (LearnerError, ProbeFailure, AssertionError, KeyError, TypeError, ValueError, IndexError):
            return None, GATE_FAILED[ex]
