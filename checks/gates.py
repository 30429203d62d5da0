"""Gates: a quick look at whether an exercise works, for the checks that build on it.

Each gate calls a probe or two through `call(probe, **args)` and returns True when the
exercise looks done. A check prints "check-06 builds on 02-05; check-04 is not passing yet"
before its own tests when a gate of what it builds on is closed.
"""

from checks import numerics
from checks.inputs import LECTURE_L, LECTURE_NEURON


def same_grads(got, graph):
    want = numerics.gradient(graph, [name for name, *_ in graph])
    return all(numerics.close(got[name], want[name], numerics.GRAD_RTOL) for name in want)


def gate_02(call):
    r = call("forward", graph=LECTURE_L)
    return r["data"]["L"] == -8.0 and r["prev"]["L"] == ["d", "f"] and r["op"]["L"] == "*"


def gate_03(call):
    return same_grads(call("manual_backprop", graph=LECTURE_L), LECTURE_L)


def gate_04(call):
    return same_grads(call("backward", graph=LECTURE_L), LECTURE_L)


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
    return all(numerics.close(r["grad"][k], v, numerics.GRAD_RTOL) for k, v in want.items())


def gate_06(call):
    r = call("mlp_structure", nin=3, nouts=[4, 4, 1], seed=0)
    return r["count"] == 41 and r["unique"] == 41 and None not in r["positions"]


GATES = {"02": gate_02, "03": gate_03, "04": gate_04, "05": gate_05, "06": gate_06}
