"""Gates: a quick look at whether an exercise works, for the checks that build on it.

Each gate calls a probe or two through `call(probe, **args)` and returns None when the exercise
does what the later checks rely on, and nothing more (the 02 gate asks nothing of `_op` or
`label`, which no later check uses); else (mistake id or None, what is wrong, as a clause). A
check prints "check-06 builds on 02-05; check-04 is not passing yet" before its own tests when a
gate of what it builds on is closed, and its failures carry that exercise's mistake id.

`Looks` runs the gates of a run before its first test (a run that stops early, those of a later
check before that check), each on the base its check would run on.
"""

from checks import numerics
from checks.base import OWN, UNWRAPPED, base_for, plan
from checks.client import ProbeFailure
from checks.inputs import DIAMOND, LECTURE_L, LECTURE_NEURON
from checks.judge import LearnerError, diagnose
from checks.messages import GATE_FAILED
from checks.mistakes import advice
from checks.predictions import BACKWARD_VARIANTS, backprop_predictions, neuron_variants
from kit.exercises import EXERCISES

GATE_TIMEOUT = 10.0


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
    if r["prev"]["L"] != ["d", "f"] or r["prev"]["e"] != ["a", "b"]:
        return closed("02", "missing-child")
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


def gate_04(call):
    for graph in (LECTURE_L, DIAMOND):
        got = call("backward", graph=graph)
        if not same_grads(got["grads"], graph):
            return closed("04", "root-grad-not-one" if all(g == 0.0 for g in got["grads"].values()) else None)
    return None


def gate_05(call):
    graph = LECTURE_NEURON + [
        ["k", "sub", 1.0, "o"],
        ["q", "div", "k", 2.0],
        ["r", "pow", "q", 2],
        ["s", "add", "r", "o"],
        ["t", "mul", 3.0, "s"],
    ]
    r = call("op_grads", graph=graph)
    want = numerics.gradient(graph)
    ok = all(numerics.close(r["grad"][k], v, numerics.GRAD_RTOL) for k, v in want.items())
    return None if ok else closed("05")


NEURON = {"w": [0.5, -0.75, 0.25], "b": 0.4}
NEURON_X = [1.5, 0.5, -2.0]


def gate_06(call):
    r = call("mlp_structure", nin=3, nouts=[4, 4, 1], seed=0)
    if r["sizes"] != [[3] * 4, [4] * 4, [4]]:
        return closed("06", "layer-sizes")
    if r["count"] != 41 or r["unique"] != 41 or None in r["positions"]:
        return closed("06", "parameters-incomplete" if r["count"] < 41 and None not in r["positions"] else None)
    out = call("neuron", nin=3, seed=0, x=NEURON_X, values=NEURON)["out"]
    w, b = NEURON["w"], NEURON["b"]
    if out["kind"] != "Value" or not numerics.close(out["data"], numerics.neuron(w, b, NEURON_X)):
        return closed("06", diagnose(out["data"], neuron_variants(w, b, NEURON_X)))
    # What train() relies on besides: a one-neuron layer gives its Value, and zero_grad() zeroes grads only.
    if call("layer", nin=2, nout=1, seed=0, x=[0.5, -1.0])["out"]["kind"] != "Value":
        return closed("06", "single-output-list")
    got = call("zero_grad", nin=3, nouts=[4, 2], seed=2, junk=0.75, kind="MLP")
    if not got["data_kept"] or any(g != 0.0 for layer in got["grads"] for n in layer for g in [*n["w"], n["b"]]):
        return closed("06", "zero-grad-wrong")
    return None


GATES = {"02": gate_02, "03": gate_03, "04": gate_04, "05": gate_05, "06": gate_06}


class Looks:
    """The first looks of a run, outside every test's timeout: whether the learner's + and * wrap a
    Value in a Value, then the gate of everything the checks build on, each on the base its check
    would run on. Meanwhile the workers that come next are started ahead."""

    def __init__(self, calls, review, timeout, last=None):
        self.calls, self.review, self.timeout = calls, review, timeout
        self.last = last  # the last check the run gets to, if it stops early (watch mode)
        self.gates = {}  # exercise -> None when its gate is open, else (mistake id or None, sentence)
        self.wraps = None  # whether the learner's + and * wrap a Value in a Value (05's line); None: not looked
        self.unfinished = False  # whether + and * failed at the first look
        self.wanted = []  # the checks of the run, in order
        self.at = None  # the check under way

    def run(self, wanted):
        """The first looks the checks `wanted` need, before any test; those only checks past `last`
        need wait until such a check starts (before), should the run get there."""
        self.wanted = wanted
        self.look_for(self.reached(wanted))

    def before(self, ex):
        """At check `ex`: the first looks it needs that the run has not had yet."""
        self.at = ex
        self.look_for([ex])

    def look_for(self, checks):
        deps = sorted({dep for ex in checks for dep in EXERCISES[ex].builds_on} - set(self.gates))
        if self.wraps is None and set(checks + deps) & set(UNWRAPPED):
            self.wraps = self.wraps_values()
        for i, dep in enumerate(deps):
            self.prepare(deps[i:])
            self.calls.base = base_for(dep, self.closed(), self.wraps)
            self.gates[dep] = self.gate(dep)
        if deps:
            self.prepare([])
        self.calls.base = OWN

    def closed(self):
        """The exercises whose gates are closed."""
        return {ex for ex, gate in self.gates.items() if gate}

    def prepare(self, left):
        """Start ahead the workers that the gates still to look at (`left`) and then the checks call
        on, should every gate left close: an unfinished tree's way, the one with many bases. Nothing
        while every gate is open and + and * work: then all run on the learner's own code."""
        closed = self.closed()
        if closed or self.wraps or self.unfinished:
            self.calls.prepare(plan(self.later(), closed | set(left), self.wraps, left))

    def prepare_checks(self):
        """Once the check under way has its base: start ahead the workers of the checks from it on."""
        self.calls.prepare(plan(self.later(), self.closed(), self.wraps, gates=[]))

    def later(self):
        """The checks from the one under way (or the first) on that the run will get to."""
        start = self.wanted.index(self.at) if self.at in self.wanted else 0
        return self.reached(self.wanted[start:])

    def reached(self, checks):
        """Those of `checks` the run will get to."""
        return [ex for ex in checks if self.last is None or ex <= self.last]

    def wraps_values(self):
        """Whether the learner's + and * wrap an operand that is already a Value in another Value
        (05's line, inside 02's code): then 02-04 run with the kit's line (checks/base/)."""
        try:
            return self.look("02", lambda call: bool(call("forward", graph=LECTURE_L)["wraps"]))
        except (LearnerError, ProbeFailure, KeyError, TypeError):
            self.unfinished = True
            return False

    def look(self, ex, look):
        """Run a first look at exercise `ex` through its probes, outside any test."""

        def call(probe, **args):
            return self.calls.call(probe, args, timeout=self.timeout)

        self.calls.title = f"the first look at check-{ex}"
        try:
            return look(call)
        finally:
            for reason in self.calls.tampered:
                self.review.append({"check": ex, "test": f"the first look at check-{ex}", "reason": reason})
            self.calls.new_test()

    def gate(self, ex):
        """A quick look at whether exercise `ex` works, through its gate probes."""
        try:
            return self.look(ex, GATES[ex])
        except (LearnerError, ProbeFailure, AssertionError, KeyError, TypeError, ValueError, IndexError):
            return None, GATE_FAILED[ex]
