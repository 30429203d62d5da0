"""Measure one micrograd engine, in a process of its own: `python kit/dev/bench_engine.py DIR`.

DIR holds a `micrograd` package (the kit's solutions/, or the PyPI micrograd unpacked). Prints
one JSON object: a training step of a 2-16-16-1 MLP on 100 two-moons points (forward and
backward separately, with Python's garbage collector on and off, and the number of graph nodes), chains of 1,000,
100,000 and 1,000,000
additions (build and backward, or the error backward raised), and the peak memory per node of a
100,000-node chain. The MLP is built from Values directly, with relu hidden layers and a linear
output (the PyPI engine has no tanh), so that both engines do the same arithmetic.
"""

import gc
import json
import math
import random
import sys
import time
import tracemalloc

CHAINS = (1_000, 100_000, 1_000_000)


def moons(n, rng):
    """Two interleaving half circles with a little noise, labelled +1 and -1."""
    points = []
    for i in range(n):
        t = math.pi * rng.random()
        x, y, label = (math.cos(t), math.sin(t), 1.0) if i % 2 == 0 else (1 - math.cos(t), 0.5 - math.sin(t), -1.0)
        points.append(([x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)], label))
    return points


def mlp_loss(Value, params, data):
    """The max-margin loss of the MLP over `data`, as one graph."""
    loss = Value(0.0)
    for x, y in data:
        h = x
        for depth, layer in enumerate(params):
            outs = [sum((wi * xi for wi, xi in zip(w, h)), b) for w, b in layer]
            h = [o.relu() for o in outs] if depth < len(params) - 1 else outs
        loss = loss + (1 + -y * h[0]).relu()
    return loss


def count(root):
    seen, stack = set(), [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    return len(seen)


def step(Value, collector=True):
    """One training step; `collector=False` times the engine's own work, without Python's cyclic
    garbage collector, which otherwise dominates the forward pass of either engine."""
    rng = random.Random(0)
    data = moons(100, rng)
    sizes = [2, 16, 16, 1]
    params = [
        [([Value(rng.uniform(-1, 1)) for _ in range(a)], Value(0.0)) for _ in range(b)]
        for a, b in zip(sizes, sizes[1:])
    ]
    gc.collect()
    if not collector:
        gc.disable()
    start = time.perf_counter()
    loss = mlp_loss(Value, params, data)
    forward = time.perf_counter() - start
    start = time.perf_counter()
    loss.backward()
    backward = time.perf_counter() - start
    gc.enable()
    return {"forward_s": forward, "backward_s": backward, "nodes": count(loss)}


def chain(Value, n):
    a, c = Value(1.0), Value(0.5)
    gc.collect()
    start = time.perf_counter()
    y = a
    for _ in range(n):
        y = y + c
    built = time.perf_counter() - start
    start = time.perf_counter()
    try:
        y.backward()
        outcome = {"backward_s": time.perf_counter() - start, "ok": c.grad == n}
    except RecursionError:
        outcome = {"error": "RecursionError"}
    return {"build_s": built, **outcome}


def memory_per_node(Value, n=100_000):
    gc.collect()
    tracemalloc.start()
    a, c = Value(1.0), Value(0.5)
    y = a
    for _ in range(n):
        y = y + c
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / n


def main():
    sys.path.insert(0, sys.argv[1])
    from micrograd.engine import Value

    which = sys.argv[2:] or ["step", "chains", "memory"]
    result = {}
    if "step" in which:
        result["step"] = step(Value)
        result["step_no_gc"] = step(Value, collector=False)
    if "chains" in which:
        result["chains"] = {str(n): chain(Value, n) for n in CHAINS}
    if "memory" in which:
        result["memory_per_node"] = memory_per_node(Value)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
