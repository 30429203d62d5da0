"""The catalogue of mistakes the checks can name: id, exercise, what it is, what the learner reads.

A check names a mistake only when the learner's data matches what that mistake predicts on the
very inputs the test used (the predictions are the rules of checks/predictions.py, over checks/numerics.py,
run in float64, never on learner code), or when a signature is decisive (an empty `_prev`, a
call log with a node twice). Otherwise it states the facts and names none: a wrong id is worse
than none. The ids of the contract's catalogue are fixed; the rest are the kit's own.
docs/mistakes.md is written from this file: `python -m kit mistakes` (`--check` tests it is current).
"""

import argparse
import dataclasses
import sys
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Mistake:
    id: str
    ex: str
    what: str  # the mistake, for an instructor
    advice: str  # what the learner reads when the check names it


def _m(ex, id, what, advice):
    return Mistake(id, ex, what, advice)


CATALOGUE = [
    # 01 numeric derivatives
    _m(
        "01",
        "not-divided-by-h",
        "a difference quotient returns the change in f without dividing by the step",
        "It looks like the difference was not divided by the step.",
    ),
    _m(
        "01",
        "central-over-h",
        "a central difference divides by h instead of 2h",
        "The two points x-h and x+h are 2h apart: divide by 2*h, not by h.",
    ),
    _m(
        "01",
        "forward-for-central",
        "a one-sided difference where the central one is asked",
        "That is a one-sided (forward) difference; the central one is (f(x+h) - f(x-h)) / (2h).",
    ),
    _m(
        "01",
        "central-for-forward",
        "the central difference where the forward one is asked",
        "That is the central difference; derivative() is the forward one: (f(x+h) - f(x)) / h.",
    ),
    _m(
        "01",
        "moves-every-arg",
        "partial_derivative nudges every argument, not only args[i]",
        "Every argument was moved; only args[i] may move, the others stay fixed.",
    ),
    _m(
        "01",
        "mutates-args",
        "partial_derivative changes the caller's args",
        "args must not be mutated: work on copies, e.g. list(args).",
    ),
    _m(
        "01",
        "wrong-default-h",
        "a default step other than 1e-4",
        "The default step is h=1e-4, in derivative, central_derivative and partial_derivative alike: "
        "def partial_derivative(f, args, i, h=1e-4).",
    ),
    _m(
        "01",
        "backward-for-forward",
        "the backward difference (f(x) - f(x-h)) / h where the forward one is asked",
        "That is the backward difference (f(x) - f(x-h)) / h; step forward: (f(x+h) - f(x)) / h.",
    ),
    _m(
        "01", "forward-over-2h", "a forward difference divided by 2h", "The forward difference divides by h, not by 2h."
    ),
    _m(
        "01",
        "central-brackets",
        "(f(x+h) - f(x-h)) / 2 * h: divided by 2, then multiplied by h",
        "Mind the brackets: divide by (2 * h), not by 2 and then times h.",
    ),
    # 02 the Value graph
    _m(
        "02",
        "wrong-result",
        "an operation computes the wrong value (e.g. `*` adds, `a - b` gives b - a)",
        "This operation computes the wrong value from its operands.",
    ),
    _m(
        "02",
        "mutates-operand",
        "an operation changes an operand",
        "An operand changed: an operation must return a new Value (out) and leave self and other alone.",
    ),
    _m(
        "02",
        "missing-child",
        "`_prev` lacks an operand",
        "Pass (self, other) as the children of out, so that _prev holds both operands.",
    ),
    _m("02", "prev-not-set", "`_prev` is not a set", "Store the children as a set: self._prev = set(_children)."),
    _m("02", "wrong-op", "`_op` is not the contract's symbol", "Pass the operation's symbol as _op: '+' or '*'."),
    _m(
        "02",
        "no-repr",
        "`repr(v)` does not contain `Value(data=` and the number",
        'Return f"Value(data={self.data})" from __repr__.',
    ),
    _m("02", "label-lost", "the label argument is not stored", "Keep the label argument: self.label = label."),
    _m(
        "02",
        "forward-recursion",
        "+ or * computes its result from the Values (`self * other`) instead of their data, and calls itself",
        "Inside __add__ and __mul__, compute out's data from the numbers (self.data * other.data): `self * other` "
        "calls __mul__ again, without end.",
    ),
    # 03 local gradients
    _m(
        "03",
        "assigns-grad",
        "a `_backward` assigns (=) a child's grad instead of adding (+=) to it",
        "It looks like the grad was assigned (=) instead of added to (+=): gradients must accumulate.",
    ),
    _m(
        "03",
        "missing-out-grad",
        "a `_backward` forgets the factor `out.grad`",
        "The chain rule multiplies the local derivative by out.grad: child.grad += local derivative * out.grad.",
    ),
    _m(
        "03",
        "own-operand",
        "mul's `_backward` gives an input its own data instead of the other operand's",
        "Each input of * gets the *other* operand times out.grad: d(a*b)/da = b, d(a*b)/db = a.",
    ),
    _m(
        "03",
        "one-child-only",
        "a `_backward` updates only some of its children",
        "Only one of the children received a gradient: a _backward updates the grad of every child.",
    ),
    _m("03", "grad-not-zero", "`grad` does not start at 0.0", "Every Value starts with self.grad = 0.0."),
    _m(
        "03",
        "leaf-backward",
        "a leaf's `_backward` is not a callable no-op",
        "A leaf has no children: its _backward is a function that does nothing (lambda: None).",
    ),
    _m(
        "03",
        "wrong-local-derivative",
        "an operation's local derivative is wrong",
        "The local derivative is wrong: for +, each child gets out.grad; for *, each gets the other operand "
        "times out.grad.",
    ),
    _m(
        "03",
        "value-in-grad",
        "a `_backward` multiplies by a Value (`other`) where a number (`other.data`) is due",
        "Inside _backward, grads are plain numbers: multiply by other.data and self.data, not by the Values.",
    ),
    _m(
        "03",
        "stale-out-grad",
        "a `_backward` uses `out.grad` (or another value) read when the closure was made, not when it runs",
        "The _backward used out.grad as it was when out was made (0.0): read out.grad inside _backward, when it runs.",
    ),
    _m(
        "03",
        "backward-not-attached",
        "an operation never attaches its `_backward` to out",
        "The _backward was never attached: after defining it, set out._backward = _backward.",
    ),
    _m(
        "03",
        "derivative-by-division",
        "a local derivative computed by dividing out.data by an operand, which fails when that operand is 0",
        "The local derivative divides out.data by an operand, which fails when that operand is 0: for *, each "
        "child gets the other operand's data times out.grad.",
    ),
    # 04 topological order and backward
    _m(
        "04",
        "no-topological-order",
        "backward walks the graph without a topological order",
        "backward() must call _backward of each node once, in reverse topological order: "
        "for v in reversed(topological_order(self)): v._backward().",
    ),
    _m(
        "04",
        "child-after-parent",
        "topological_order lists a node before one of its children",
        "Append a node only after all of its children have been appended.",
    ),
    _m(
        "04",
        "topo-incomplete",
        "topological_order leaves out nodes the root depends on",
        "Every node the root depends on belongs in the order, leaves and root included.",
    ),
    _m(
        "04",
        "no-visited-set",
        "topological_order lists a node more than once",
        "Keep a set of visited nodes and skip a node you have already seen.",
    ),
    _m(
        "04",
        "not-reversed",
        "backward calls `_backward` in leaves-first order",
        "Call _backward() of each node in *reverse* topological order (root first), so a node's grad is "
        "complete before it passes it on.",
    ),
    _m(
        "04",
        "root-grad-not-one",
        "backward does not seed the root's grad with 1.0",
        "Every grad is 0: backward() must start by setting self.grad = 1.0 on the root.",
    ),
    _m(
        "04",
        "recursion-limit",
        "a recursive walk that fails on deep graphs",
        "A recursive walk fails on deep graphs: walk the graph with a loop and a stack (a list) instead.",
    ),
    _m(
        "04",
        "root-not-last",
        "topological_order does not end with the root",
        "That is the order reversed: topological_order lists the leaves first and the root last; "
        "backward() is the one that walks it in reverse.",
    ),
    # 05 the other operations
    _m(
        "05",
        "tanh-derivative",
        "tanh's local derivative is not 1 - t**2",
        "The local derivative of tanh is 1 - t**2, with t = tanh(x) the output.",
    ),
    _m(
        "05",
        "tanh-overflow",
        "tanh overflows (or fails) for large |x|",
        "For a large input tanh is 1 (or -1): compute it without overflowing (math.tanh, for one).",
    ),
    _m(
        "05",
        "exp-derivative",
        "exp's local derivative is not e**x",
        "The local derivative of exp is exp(x) itself: out.data, times out.grad.",
    ),
    _m(
        "05",
        "pow-derivative",
        "pow's local derivative is not k * x**(k-1)",
        "The power rule is k * x**(k - 1), times out.grad.",
    ),
    _m(
        "05",
        "relu-derivative",
        "relu's local derivative is not 1 for positive and 0 for negative inputs",
        "relu's local derivative is 1 where out > 0 and 0 elsewhere: self.grad += (out.data > 0) * out.grad.",
    ),
    _m(
        "05",
        "reflected-swapped",
        "a reflected operation swaps its operands (`1 - v` gives v - 1)",
        "The reflected form swapped its operands: k - v is other - self, and k / v is other / self.",
    ),
    _m(
        "05",
        "reflected-missing",
        "a reflected operation is missing (`2 + v`, `3 * v`, `sum()` fail)",
        "A plain number on the left calls __radd__, __rsub__, __rmul__ or __rtruediv__ of the Value on the right.",
    ),
    _m(
        "05",
        "value-exponent",
        "a Value exponent is accepted, or refused with something other than TypeError",
        "Only int or float exponents are supported: raise TypeError for anything else.",
    ),
    _m(
        "05",
        "detached",
        "an operation returns a Value cut off from its inputs",
        "The result has no children: pass (self,) (or (self, other)) as its _children, so gradients reach the inputs.",
    ),
    _m(
        "05",
        "operator-recursion",
        "a reflected or derived operator that calls itself forever",
        "An operator calls itself: with a plain number on the left, `other + self` calls __radd__ again. "
        "Write it with the Value first (self + other), or with operations you already have.",
    ),
    _m(
        "05",
        "wraps-value",
        "an operand that is already a Value is wrapped in another Value (`other = Value(other)` without a type test)",
        "An operand that is already a Value was wrapped in another Value: wrap plain numbers only, "
        "other = other if isinstance(other, Value) else Value(other).",
    ),
    _m(
        "05",
        "sub-sign",
        "a hand-written `-` gives its second operand +out.grad instead of -out.grad",
        "d(a - b)/db is -1: in a - b, the second operand gets -out.grad.",
    ),
    # 06 the network
    _m("06", "no-bias", "a neuron leaves out its bias", "The bias b is missing: tanh(w.x + b)."),
    _m(
        "06",
        "no-tanh",
        "a neuron (or the output layer) leaves out the tanh",
        "The neuron's output is not tanh(w.x + b): apply tanh to w.x + b.",
    ),
    _m(
        "06",
        "parameters-incomplete",
        "`parameters()` misses some of the model's Values",
        "Every Neuron gives its weights *and* its bias, every Layer its neurons', every MLP its layers'.",
    ),
    _m(
        "06",
        "parameters-copies",
        "`parameters()` returns copies or new Values, not the model's own",
        "Return the Values themselves (not copies, not new Values), so that an update to a parameter changes "
        "the model.",
    ),
    _m(
        "06",
        "parameters-nested",
        "`parameters()` returns lists of Values, not one flat list",
        "parameters() is one flat list of Values at every level: a Neuron's self.w + [self.b]; a Layer's and an "
        "MLP's the parameters() of each of their parts joined into one list (extend, or a comprehension with two "
        "fors), not a list of lists.",
    ),
    _m(
        "06",
        "shared-parameters",
        "one Value object stands for several parameters",
        "Each weight and bias is a Value of its own: make a new Value (and a new Neuron) for each.",
    ),
    _m(
        "06",
        "zero-grad-wrong",
        "`zero_grad()` does not set every parameter's grad to 0.0",
        "zero_grad() sets p.grad = 0.0 for every p in self.parameters(), and nothing else (never p.data).",
    ),
    _m(
        "06",
        "single-output-list",
        "a layer of one neuron returns a list, not the Value",
        "Unwrap the single output of a one-neuron layer: return outs[0] if len(outs) == 1 else outs.",
    ),
    _m(
        "06",
        "init-range",
        "weights or bias not drawn with `random.uniform(-1, 1)`",
        "Draw every weight and the bias with random.uniform(-1, 1).",
    ),
    _m(
        "06",
        "layer-sizes",
        "the layers' sizes are not `[nin] + nouts`",
        "Each layer's nin is the previous layer's nout: sizes [nin] + nouts.",
    ),
    # 07 training
    _m(
        "07",
        "no-zero-grad",
        "train never zeroes the gradients",
        "Old gradients were still in the grads: call model.zero_grad() before loss.backward() in every step.",
    ),
    _m(
        "07",
        "zero-grad-misplaced",
        "train zeroes the gradients at the wrong point of a step",
        "The grads were wiped before the update: is zero_grad() called after backward()? Order: forward, loss, "
        "zero_grad, backward, update.",
    ),
    _m(
        "07",
        "sgd-sign",
        "sgd_step moves with the gradient instead of against it",
        "Wrong sign: step *against* the gradient, p.data -= lr * p.grad.",
    ),
    _m("07", "sgd-no-lr", "sgd_step leaves out the learning rate", "Scale the step by lr: p.data -= lr * p.grad."),
    _m(
        "07",
        "sgd-no-update",
        "sgd_step leaves `p.data` unchanged (e.g. rebinds the loop variable `p`)",
        "sgd_step left p.data unchanged: change each parameter in place, p.data -= lr * p.grad (assigning to p "
        "only gives the name p to a new number).",
    ),
    _m(
        "07",
        "sgd-replaces",
        "sgd_step replaces p.data instead of moving it",
        "Subtract from p.data; do not replace it: p.data -= lr * p.grad.",
    ),
    _m(
        "07",
        "loss-formula",
        "mse_loss is not the sum of squared differences",
        "The loss is the sum of (ypred_i - ys_i) ** 2: square each difference, then add them up.",
    ),
    _m(
        "07",
        "loss-mean",
        "mse_loss divides by the number of examples",
        "That is the mean; this loss is the sum of (ypred_i - ys_i) ** 2, not divided by their number.",
    ),
    _m(
        "07",
        "loss-after-update",
        "train records the loss measured after the update",
        "That is the loss after the update: record loss.data before sgd_step changes the model.",
    ),
    _m(
        "07",
        "losses-not-floats",
        "train returns Values (or anything but floats) as the losses",
        "Record each step's loss as a float: losses.append(loss.data), not the Value itself.",
    ),
]

MISTAKES = {m.id: m for m in CATALOGUE}
DOC = Path(__file__).resolve().parent.parent / "docs" / "mistakes.md"


def advice(mistake_id):
    return MISTAKES[mistake_id].advice


# --- the docs ---------------------------------------------------------------------------------


def markdown():
    rows = ["| ex | id | the mistake | what the learner reads |", "|---|---|---|---|"]
    for m in CATALOGUE:
        cell = m.advice.replace("|", "\\|")
        rows.append(f"| {m.ex} | `{m.id}` | {m.what.replace('|', chr(92) + '|')} | {cell} |")
    return (
        "# The mistakes the checks name\n\n"
        "Written by `python -m kit mistakes` from `checks/mistakes.py`; do not edit by hand.\n\n"
        "Every result of `--report` and of `grades.json` carries `mistake`: one of these ids, or `null`\n"
        "when the check cannot tell. A check names a mistake only when the learner's numbers match what\n"
        "that mistake predicts on the very inputs the test used, or when a signature is decisive;\n"
        "otherwise it states the call, what came back and what was expected, and names none. Where a\n"
        "check builds on an exercise that does not work yet, it runs on the kit's code for that\n"
        "exercise instead (docs/checks.md), so each id costs points in its own exercise's check only.\n\n"
        + "\n".join(rows)
        + "\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit mistakes", description="write docs/mistakes.md")
    parser.add_argument("--check", action="store_true", help="only check that docs/mistakes.md is current")
    args = parser.parse_args(argv)
    if args.check:
        if not DOC.exists() or DOC.read_text() != markdown():
            print(f"{DOC} is out of date: run python -m kit mistakes", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(markdown())
    print(f"wrote {DOC}")
    return 0
