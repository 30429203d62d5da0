"""Your own graph, explained: `python -m kit explain 03 [--impl DIR] [--steps]`.

For check 03, 04, 05 or 06, the first test whose graph fails, run as `make check-NN` runs it (its
gates, then its tests at its seed, on your code or on the kit's base where an exercise it builds on
does not work yet: kit/learner/explain_run.py), is run again with your Value in the worker; every
node's data and grad is shown beside the true values (float64), the first node whose grad goes wrong,
walking back from the root, is highlighted with the operation whose _backward gave it, and the graph
is shrunk to the smallest expression that still fails. Where the check passes on the kit's base, the
exercise it stood in for is named instead. --steps lists each _backward call, in order, with the
grads it changed, and writes a page that steps through them."""

import argparse
import os
import sys
from pathlib import Path

from checks import numerics, options
from checks.client import ProbeFailure
from checks.judge import LearnerError
from checks.shrink import shrink
from kit.commands import command, impl_refusal
from kit.escape import escape_line
from kit.exercises import EXERCISES, HELP_IMPL, TREE, argument, default_impl, parse_id
from kit.learner.explain_blame import blame, failure
from kit.learner.explain_run import Session
from kit.state import place
from kit.term import pipe_safe

MODES = {"03": "kit", "04": "backward", "05": "kit", "06": "backward"}  # who walks the graph, as the check does
HELP_OUT = (
    "the folder the pictures go to (default: .kit/explain in the kit's folder, or in the user's cache folder "
    "where the kit's folder is read-only)"
)


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


def graph_of(name, args):
    """The graph a probe call of a check stands for, or None, and whether it is a _backward called by hand."""
    graph = args.get("graph") or (GRAPH_OF[name](**args) if name in GRAPH_OF else None)
    return graph, name in BY_HAND


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


def first_failing(session, seed, mode):
    """(the test, its graph or None, the learner's run of it or None) of the first failing test whose
    graph fails as `kit explain` runs it (a graph of the check's own before one of a _backward called
    by hand), else of the first failing test with a graph (what failed is another part of it: grads
    set before a _backward, a call repeated), else of the first failing test; and the first mistake
    id the check names. None when no test fails."""
    first = by_hand = without = None
    named = None
    for test, hand in session.failing_tests(seed, graph_of):
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


def stub_place(impl, stub):
    """Where in the learner's files the kit's stub line of `stub` is: "micrograd/engine.py, line 105", or None."""
    line = f'raise NotImplementedError("ex{stub["ex"]}: {stub["function"]} - see'
    for name in TREE:
        try:
            with open(Path(impl) / name, "rb") as f:
                text = f.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            continue
        for number, source in enumerate(text.splitlines(), 1):
            if line in source:
                return f"{name}, line {number}"
    return None


def on_base(session, ex):
    """What every explanation of check `ex` says of the base the check ran on (checks/base/)."""
    return {"check": ex, "banner": session.banner, "on": session.on, "own_value": not session.base.modules}


def passing(session, ex, impl):
    """check `ex` passes: None on the learner's own code; where it ran on the kit's base in place of
    an exercise that does not work yet, that exercise (`broken`) and the command that explains it
    (`next`: "make explain-03 shows where"; check-02, which has no graph to explain, says what)."""
    broken = session.elsewhere()
    if broken is None:
        return None
    then = (
        f"{command('explain', broken, impl)} shows where"
        if broken in MODES
        else f"{command('check', broken, impl)} says what"
    )
    return {**on_base(session, ex), "passes": True, "broken": broken, "next": then, "graph": None}


def explain(impl, ex, seed=options.DEFAULT_SEED, shrunk=True, timeout=options.DEFAULT_TIMEOUT):
    """Everything `kit explain` shows, as plain data, of check `ex` run as `kit check` runs it: on the
    learner's own code, or on the kit's base where an exercise it builds on does not work yet. None
    when the check passes on the learner's own code; "passes" where it passes on the kit's base
    (then "broken": the exercise to look at instead); no "graph" (None) when it fails only on tests
    without one."""
    session = Session(impl, ex, timeout)
    try:
        mode = MODES[ex]
        found = first_failing(session, seed, mode)
        if found is None:
            return passing(session, ex, impl)
        ((test, _, _, message, mistake, status), graph, got), named = found
        said = {**on_base(session, ex), "passes": False, "test": test, "message": message, "todo": False}
        if status == "todo" and graph is not None and not failure(graph, got):
            # The test stopped at a TODO that the graph rebuilt here does not reach (nn.py's, for a
            # network the kit builds from Values): there is nothing of the learner's to draw yet.
            return {**said, "mistake": None, "graph": None, "todo": True}
        if graph is None:  # the check fails on no graph: its own words and the mistake it names
            return {**said, "mistake": mistake or named, "graph": None}
        found_blame = blame(graph, got, mode, lambda stub: stub_place(impl, stub))
        small, kind = None, failure(graph, got)
        if shrunk and kind and not (found_blame or {}).get("todo"):  # a stub fails every graph alike
            # A smaller graph counts when it fails the same way (the same error, or wrong numbers).
            def fails(graphs):
                replies = session.call("explain_many", graphs=graphs, mode=mode)
                return [failure(g, r) == kind for g, r in zip(graphs, replies)]

            small = shrink(graph, fails)
    finally:
        session.close()
    return {
        **said,
        "mistake": mistake or (found_blame or {}).get("mistake") or named,
        "graph": graph,
        "mode": mode,
        "got": got,
        "data": numerics.evaluate(graph),
        "grads": numerics.backprop(graph),
        "blame": found_blame,
        "smallest": small,
    }


def number(name, kind, default, parser, what):
    """$name read as `kind`, or `default` where it is not set; a usage error where it is not `what`."""
    text = os.environ.get(name, "").strip()
    try:
        return kind(text) if text else default
    except ValueError:
        parser.error(f"{name}={text!r} is not {what}")


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
    parser.add_argument("--out", default=None, help=HELP_OUT)
    args = parser.parse_args(argv)
    if args.exercise not in MODES:
        parser.error(f"check-{args.exercise} has no graph to explain: choose one of {', '.join(MODES)}")
    seed = (
        args.seed if args.seed is not None else number("KIT_SEED", int, options.DEFAULT_SEED, parser, "a whole number")
    )
    timeout = number("KIT_TIMEOUT", float, options.DEFAULT_TIMEOUT, parser, "a number of seconds")
    if why := impl_refusal(args.impl):
        parser.error(why)
    try:
        result = explain(Path(args.impl), args.exercise, seed, timeout=timeout)
    except (LearnerError, ProbeFailure) as e:
        print(f"kit explain could not rebuild check-{args.exercise}'s graph with your code: {escape_line(e)}")
        return 1
    if result is None:
        print(f"check-{args.exercise} ({EXERCISES[args.exercise].title}) passes with your code: nothing to explain.")
        return 0
    # The kit's .kit/explain, or the user's cache folder where the kit's folder is read-only (kit/state.py).
    out = Path(args.out) if args.out else place(".kit") / "explain"
    return explain_show.show(result, out, args.steps)


if __name__ == "__main__":
    sys.exit(main())
