"""The smallest failing expression: a deterministic shrink of a graph spec (checks/numerics.py).

Plain data only: the shrink proposes smaller graphs, and a caller's `fails(graphs)` says which of
them still fail on the learner's code (kit explain asks the worker, one probe per round). Each round
tries every sub-expression rooted at an operation node, every graph with one operation node
replaced by a leaf holding its value, and every graph with one operation left out (its users take
one of its operands instead), smallest first; the first that still fails becomes the graph
of the next round, until none does. A mistake in one operation then shrinks to the few nodes that
show it, e.g. (x2 * x2).tanh().
"""

from checks import numerics

BATCHES = (3, 8)  # candidates are asked in rounds of at most this many operations, then all the rest


def operations(graph):
    return sum(1 for _, op, *_ in graph if op != "leaf")


def reachable(graph, top):
    """The nodes `top` depends on, `top` included, in the graph's own order."""
    seen = numerics.reachable(graph, top)
    return [node for node in graph if node[0] in seen]


def rooted_at(graph, top):
    """The sub-expression rooted at node `top`."""
    return reachable(graph, top)


def cut(graph, name, values):
    """`graph` with operation node `name` replaced by a leaf holding its value, and what only it used
    left out."""
    value = round(values[name], 6)
    replaced = [[n, "leaf", value] if n == name else node for node in graph for n in [node[0]]]
    return reachable(replaced, numerics.root(replaced))


def skip(graph, name, child):
    """`graph` with operation node `name` left out: its users take its operand `child` instead."""
    kept = [[n, op, *(child if a == name else a for a in args)] for n, op, *args in graph if n != name]
    return reachable(kept, numerics.root(kept))


def candidates(graph):
    """Every smaller graph one step from `graph`, smallest first, then in a fixed order."""
    values = numerics.evaluate(graph)
    top = numerics.root(graph)
    inner = [name for name, op, *_ in graph if op != "leaf" and name != top]
    found = {}
    kids = numerics.children(graph)
    for name in inner:
        for g in (rooted_at(graph, name), cut(graph, name, values), *(skip(graph, name, c) for c in kids[name])):
            key = repr(g)
            if operations(g) < operations(graph) and key not in found:
                found[key] = g
    return sorted(found.values(), key=lambda g: (operations(g), len(g), numerics.expression(g)))


def first_failing(graphs, fails):
    """The first of `graphs` (sorted smallest first) that fails, asking in growing batches."""
    done = 0
    for most in (*BATCHES, None):
        batch = [g for g in graphs[done:] if most is None or operations(g) <= most]
        if not batch:
            continue
        for g, failed in zip(batch, fails(batch)):
            if failed:
                return g
        done += len(batch)
    return None


def shrink(graph, fails, rounds=200):
    """The smallest graph the rounds reach from `graph` that still fails (`graph` itself when nothing
    smaller does). `fails(graphs)` returns a truth value for each graph."""
    for _ in range(rounds):
        smaller = first_failing(candidates(graph), fails)
        if smaller is None:
            break
        graph = smaller
    return graph
