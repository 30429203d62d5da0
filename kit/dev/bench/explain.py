"""kit explain: how long a learner waits for the explanation of a failing graph, and for none."""

import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.dev.bench.timing import med, spread, target, wall
from kit.regions import build_tree

EXPLAIN_TARGET = 1.0  # seconds: about a second on the lessons' graphs
# One classic mistake of each exercise that `kit explain` shows (the zoo's, tests/zoo), as (file, old, new):
# each in its own exercise's code, since a check runs on the kit's engine where an earlier one fails.
ENGINE, NN = "micrograd/engine.py", "micrograd/nn.py"
MISTAKES = {
    "03": (
        "mul's _backward assigns (=) the grad",
        (ENGINE, "self.grad += other.data * out.grad", "self.grad = other.data * out.grad"),
    ),
    "04": (
        "backward() walks leaves first",
        (ENGINE, "for v in reversed(topological_order(self)):", "for v in topological_order(self):"),
    ),
    "05": (
        "tanh's local derivative 1 - t",
        (ENGINE, "self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad"),
    ),
    "06": ("a neuron without tanh", (NN, "return act.tanh()", "return act")),
}


def mistaken(folder, file, old, new):
    """The reference with one mistake in `file`."""
    tree = build_tree(ROOT / "solutions", folder, 7)
    path = tree / file
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"the reference's {file} no longer holds {old!r}")
    path.write_text(text.replace(old, new, 1))
    return tree


def explain(runs):
    rows = [
        f"`python -m kit explain NN --impl DIR` (what `make explain-NN` runs), a fresh process each time: the "
        "check's graphs until one fails, that graph rebuilt and backpropagated step by step, and its shrink; "
        f"median (min-max) of {runs} runs, wall seconds.",
        "",
        "| check | the mistake | with it | with --steps | solutions/ (nothing to explain) |",
        "|---|---|---|---|---|",
    ]
    slow = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pictures"
        for ex, (what, mistake) in MISTAKES.items():
            tree = mistaken(Path(tmp) / ex, *mistake)
            cells = []
            for impl, extra, status in ((tree, [], {1}), (tree, ["--steps"], {1}), (ROOT / "solutions", [], {0})):
                cmd = [sys.executable, "-m", "kit", "explain", ex, "--impl", str(impl), "--out", str(out), *extra]
                t = wall(cmd, runs, expect=status)
                cells.append(spread(t))
                slow += [ex] if med(t) > EXPLAIN_TARGET and ex not in slow else []
            rows.append(f"| explain {ex} | {what} | {' | '.join(cells)} |")
    rows += ["", target(f"about {EXPLAIN_TARGET:g} s for each", [f"explain {ex}" for ex in slow])]
    return rows
