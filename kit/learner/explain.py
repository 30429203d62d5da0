"""Your own graph, explained: `python -m kit explain 03 [--impl DIR] [--steps]`.

For check 03, 04, 05 or 06, the first test whose graph fails on your code (the check's own tests,
at the seed `make check-NN` uses) is run again with your Value in the worker; every node's data and
grad is shown beside the true values (float64), the first node whose grad goes wrong, walking back
from the root, is highlighted with the operation whose _backward gave it, and the graph is shrunk to
the smallest expression that still fails. --steps lists each _backward call, in order, with the grads
it changed, and writes a page that steps through them.
"""

import argparse
import inspect
import os
import random
import sys
from pathlib import Path

from checks import messages, numerics, options
from checks.client import ProbeFailure, Worker
from checks.judge import LearnerError
from checks.shrink import shrink
from kit import ROOT
from kit.escape import escape_line
from kit.exercises import EXERCISES, HELP_IMPL, argument, check_file, default_impl, parse_id
from kit.learner.explain_blame import blame, failure
from kit.term import pipe_safe

MODES = {"03": "kit", "04": "backward", "05": "kit", "06": "backward"}  # who walks the graph, as the check does
TIMEOUT = 10.0  # seconds one probe may take
OUT = ROOT / ".kit" / "explain"


def mlp_graph(nin, nouts, values, xs, ys, **_):
    """check-06's gradient test as a graph spec: the network of `values` and its squared-error loss,
    built as probes_06.mlp_grads builds it (loss = 0 + diff*diff per example, diff = y_pred + -y)."""
    graph = [["loss0", "leaf", 0.0]]
    for l, layer in enumerate(values):
        for j, neuron in enumerate(layer):
            graph += [[f"w{l}{j}{i}", "leaf", w] for i, w in enumerate(neuron["w"])] + [
                [f"b{l}{j}", "leaf", neuron["b"]]
            ]
    loss = "loss0"
    for k, (x, y) in enumerate(zip(xs, ys)):
        acts = list(x)
        for l, layer in enumerate(values):
            outs = []
            for j in range(len(layer)):
                total = f"b{l}{j}"
                for i, a in enumerate(acts):
                    graph.append([f"e{k}m{l}{j}{i}", "mul", f"w{l}{j}{i}", a])
                    graph.append([f"e{k}s{l}{j}{i}", "add", total, f"e{k}m{l}{j}{i}"])
                    total = f"e{k}s{l}{j}{i}"
                graph.append([f"e{k}h{l}{j}", "tanh", total])
                outs.append(f"e{k}h{l}{j}")
            acts = outs
        graph += [
            [f"y{k}", "leaf", -y],
            [f"d{k}", "add", acts[0], f"y{k}"],
            [f"q{k}", "mul", f"d{k}", f"d{k}"],
            [f"loss{k + 1}", "add", loss, f"q{k}"],
        ]
        loss = f"loss{k + 1}"
    return graph


def local_graph(op, a, b, out_grad, times=1, same=False, created_grad=None, **_):
    """check-03's call of one _backward by hand as a graph: out = a op b, and root = out * g with
    g = out_grad, so that out.grad is out_grad when the kit walks it (grads set beforehand are not
    a graph's; a call repeated or a node used twice is left to the check)."""
    if times != 1 or same or created_grad is not None:
        return None
    return [
        ["a", "leaf", a],
        ["b", "leaf", b],
        ["out", op, "a", "b"],
        ["g", "leaf", out_grad],
        ["root", "mul", "out", "g"],
    ]


# Probes without a graph argument whose inputs make one; a check's graph of its own comes first.
GRAPH_OF = {"mlp_grads": mlp_graph, "local_backward": local_graph}
BY_HAND = {"local_backward"}


def check_tests(ex):
    """The test functions of check `ex`, in the order the file defines them (pytest's order)."""
    name = Path(check_file(ex)).stem
    module = __import__(f"checks.{name}", fromlist=["_"])
    return [fn for key, fn in vars(module).items() if key.startswith("test_") and inspect.isfunction(fn)]


def title(fn):
    doc = (fn.__doc__ or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else fn.__name__.removeprefix("test_").replace("_", " ")


class Session:
    """One worker on the learner's tree, and the probe calls `kit explain` makes through it."""

    def __init__(self, impl):
        self.worker = Worker(impl, import_timeout=5)

    def call(self, name, **args):
        reply = self.worker.call(name, args, timeout=TIMEOUT)
        if "error" in reply:
            raise LearnerError(name, reply["error"])
        return reply["ok"]

    def close(self):
        self.worker.close()


def failing_tests(session, ex, seed):
    """((test title, the graphs it probed, the one whose probe raised or None, the check's message, its
    mistake id), whether its graphs are all of _backward calls by hand) of each test of check `ex`
    that fails, in order (a test without a graph has none)."""
    for fn in check_tests(ex):
        seen, raised, hand = [], [], []

        def probe(name, **args):
            graph = args.get("graph") or (GRAPH_OF[name](**args) if name in GRAPH_OF else None)
            if graph is not None:
                seen.append(graph)
                hand.append(name in BY_HAND)
            try:
                return session.call(name, **args)
            except (LearnerError, ProbeFailure):
                if graph is not None:
                    raised.append(graph)
                raise

        wanted = inspect.signature(fn).parameters
        kwargs = {"probe": probe, "rng": random.Random(f"{seed}:{fn.__name__}")}
        if not set(wanted) <= set(kwargs):
            continue  # a test of other fixtures is not one of probes
        try:
            fn(**{k: v for k, v in kwargs.items() if k in wanted})
        except Exception as e:  # noqa: BLE001 - any failure of the test is what is looked for
            yield (title(fn), seen, raised[0] if raised else None, *worded(e)), all(hand)


def worded(e):
    """(the check's words for a test's failure, the mistake id it names), as checks/plugin.py has them."""
    if isinstance(e, LearnerError):
        status, text = messages.learner_error(e)
    elif isinstance(e, ProbeFailure):
        status, text = messages.probe_failure(e)
    else:
        status, text = "fail", str(e)
    return text, getattr(e, "mistake", None) if status != "todo" else None


def run(session, graph, mode):
    """The learner's run of `graph` (probes_explain.explain_graph). Its log of steps is the one record
    learner code can reach while it runs (through the wrapped _backward): an entry that is not
    [a node's name, its grads before, after or None] drops the log, never the explanation."""
    got = session.call("explain_graph", graph=graph, mode=mode)
    names = {name for name, *_ in graph}

    def entry(step):
        return (
            isinstance(step, list)
            and len(step) == 3
            and step[0] in names
            and all(isinstance(g, list) and len(g) == len(graph) for g in step[1:] if g is not None)
            and isinstance(step[1], list)
        )

    if not (isinstance(got.get("steps"), list) and all(map(entry, got["steps"]))):
        got["steps"] = None
    return got


def failing_graph(session, seen, raised, mode):
    """The graph to explain, the learner's run of it, and whether it fails: the one whose probe
    raised, else the first of the test's graphs that fails when backpropagated (a test may probe more
    graphs to word its verdict), else the last it probed."""
    for graph in [raised] if raised else seen:
        got = run(session, graph, mode)
        if raised or failure(graph, got):
            return graph, got, True
    return graph, got, False


def first_failing(session, ex, seed, mode):
    """(the test, its graph or None, the learner's run of it or None) of the first failing test whose
    graph fails as `kit explain` runs it (a graph of the check's own before one of a _backward called
    by hand), else of the first failing test with a graph (what failed is another part of it: grads
    set before a _backward, a call repeated), else of the first failing test; and the first mistake
    id the check names. None when no test fails."""
    first = by_hand = without = None
    named = None
    for test, hand in failing_tests(session, ex, seed):
        named = named or test[4]
        if not test[1]:
            without = without or (test, None, None)
            continue
        graph, got, fails = failing_graph(session, test[1], test[2], mode)
        if fails and not hand:
            return (test, graph, got), named
        first = first or (test, graph, got)
        by_hand = by_hand or ((test, graph, got) if fails else None)
    chosen = by_hand or first or without
    return (chosen, named) if chosen else None


def explain(impl, ex, seed=options.DEFAULT_SEED, shrunk=True):
    """Everything `kit explain` shows, as plain data; None when no test of the check fails, and no
    "graph" (None) when it fails only on tests without one."""
    session = Session(impl)
    try:
        mode = MODES[ex]
        found = first_failing(session, ex, seed, mode)
        if found is None:
            return None
        ((test, _, _, message, mistake), graph, got), named = found
        if graph is None:  # the check fails on no graph: its own words and the mistake it names
            return {"check": ex, "test": test, "message": message, "mistake": mistake or named, "graph": None}
        small, kind = None, failure(graph, got)
        if shrunk and kind:
            # A smaller graph counts when it fails the same way (the same error, or wrong numbers).
            def fails(graphs):
                replies = session.call("explain_many", graphs=graphs, mode=mode)
                return [failure(g, r) == kind for g, r in zip(graphs, replies)]

            small = shrink(graph, fails)
    finally:
        session.close()
    found_blame = blame(graph, got, mode)
    return {
        "check": ex,
        "test": test,
        "message": message,
        "mistake": mistake or (found_blame or {}).get("mistake") or named,
        "graph": graph,
        "mode": mode,
        "got": got,
        "data": numerics.evaluate(graph),
        "grads": numerics.backprop(graph),
        "blame": found_blame,
        "smallest": small,
    }


@pipe_safe
def main(argv=None):
    from kit.learner import explain_show

    parser = argparse.ArgumentParser(prog="python -m kit explain", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", type=argument(parse_id), help="03, 04, 05 or 06")
    parser.add_argument("--impl", default=str(default_impl()), help=HELP_IMPL)
    parser.add_argument("--seed", type=int, default=None, help=options.HELP_SEED)
    parser.add_argument(
        "--steps", action="store_true", help="each _backward call in order, and a page that steps through them"
    )
    parser.add_argument("--out", default=str(OUT), help=f"the folder the pictures go to (default: {OUT})")
    args = parser.parse_args(argv)
    if args.exercise not in MODES:
        parser.error(f"check-{args.exercise} has no graph to explain: choose one of {', '.join(MODES)}")
    try:
        seed = args.seed if args.seed is not None else int(os.environ.get("KIT_SEED") or options.DEFAULT_SEED)
    except ValueError:
        parser.error(f"KIT_SEED={os.environ['KIT_SEED']!r} is not a whole number")
    if not (Path(args.impl) / "micrograd").is_dir():
        print(f"{escape_line(args.impl)} does not hold the learner's tree (micrograd/engine.py): see --impl")
        return 2
    try:
        result = explain(Path(args.impl), args.exercise, seed)
    except (LearnerError, ProbeFailure) as e:
        print(f"kit explain could not rebuild check-{args.exercise}'s graph with your code: {escape_line(e)}")
        return 1
    if result is None:
        print(f"check-{args.exercise} ({EXERCISES[args.exercise].title}) passes with your code: nothing to explain.")
        return 0
    return explain_show.show(result, Path(args.out), args.steps)


if __name__ == "__main__":
    sys.exit(main())
