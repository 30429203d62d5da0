"""The demo's experiment: two moons, and an MLP trained on them with a tree's own micrograd.

As in the micrograd repository's demo notebook, an MLP(2, [16, 16, 1]) learns to score the points
+1 or -1: the loss is the tree's mse_loss averaged over the points plus a little L2
regularization, and each step is its sgd_step with a learning rate that decays from 1.0 to 0.1.
"""

import gc
import math
import random

SIZES = [16, 16, 1]
STEPS = 40
ALPHA = 1e-4  # weight of the L2 regularization
DATA_SEED, MODEL_SEED = 0, 1
GRID = (36, 24)  # columns, rows of the decision-boundary picture's grid


def two_moons(n=100, noise=0.1, seed=DATA_SEED):
    """n points on two interleaved half circles with Gaussian noise; labels -1 (upper) and +1 (lower)."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        upper = i < n // 2
        k, m = (i, n // 2) if upper else (i - n // 2, n - n // 2)
        t = math.pi * k / (m - 1)
        x, y = (math.cos(t), math.sin(t)) if upper else (1 - math.cos(t), 0.5 - math.sin(t))
        xs.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        ys.append(-1.0 if upper else 1.0)
    return xs, ys


def accuracy(scores, ys):
    """The share of points whose score has the sign of their label."""
    return sum((s.data > 0) == (y > 0) for s, y in zip(scores, ys)) / len(ys)


def fit(lib, xs, ys, steps=STEPS, seed=MODEL_SEED, progress=None):
    """Train an MLP(2, SIZES) on (xs, ys) with lib's MLP, mse_loss and sgd_step.

    Returns the model and its training accuracy after the last step. progress(step, steps, loss,
    accuracy) is called after every step with the model as that step left it, so the last call
    reports the very accuracy that is returned.
    """
    random.seed(seed)  # Neuron draws its weights from the random module

    def evaluate():
        scores = [model(x) for x in xs]
        loss = lib.mse_loss(scores, ys) * (1.0 / len(ys))
        return scores, loss + ALPHA * sum(p * p for p in model.parameters())

    model = lib.MLP(2, SIZES)
    # A step builds about 100,000 Values tied in reference cycles. Left on, the collector rescans
    # them over and over within the step (training runs 8 times slower); once per step is enough.
    gc.disable()
    try:
        scores, total = evaluate()
        for k in range(steps):
            model.zero_grad()
            total.backward()
            lib.sgd_step(model.parameters(), 1.0 - 0.9 * k / steps)
            del scores, total
            gc.collect()
            scores, total = evaluate()  # the next step's forward pass measures this one's result
            if progress:
                progress(k + 1, steps, total.data, accuracy(scores, ys))
        final = accuracy(scores, ys)
    finally:
        gc.enable()
    return model, final


def bounds(xs, margin=0.5):
    lo = [min(x[i] for x in xs) - margin for i in (0, 1)]
    hi = [max(x[i] for x in xs) + margin for i in (0, 1)]
    return lo, hi


def grid_scores(model, xs, size=GRID):
    """The model's score at every point of a grid over the data: (x values, y values, rows of scores)."""
    (x0, y0), (x1, y1) = bounds(xs)
    cols, rows = size
    gx = [x0 + (x1 - x0) * i / (cols - 1) for i in range(cols)]
    gy = [y0 + (y1 - y0) * j / (rows - 1) for j in range(rows)]
    z = []
    gc.disable()
    try:
        for y in gy:
            z.append([model([x, y]).data for x in gx])
            gc.collect()
    finally:
        gc.enable()
    return gx, gy, z
