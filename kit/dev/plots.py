"""The lessons' charts, drawn with matplotlib from fixed numbers and the reference's training.

One function per chart; each returns its figure, and `python -m kit figures` (kit/dev/figures.py)
saves it. Nothing here imports learner code or chooses where files go.
"""

import math
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from kit.learner import moons  # noqa: E402
from kit.learner.boundary import boundary_figure  # noqa: E402

BLUE, ORANGE, GREY = "#1f77b4", "#ff7f0e", "#777777"


# --- 01 numeric derivatives -------------------------------------------------------------------


def tangent():
    """The lecture's parabola, its tangent at x = 3 (slope 14) and a wide secant (slope 17)."""
    f = lambda x: 3 * x**2 - 4 * x + 5  # noqa: E731
    xs = [-5 + i * 0.05 for i in range(201)]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(xs, [f(x) for x in xs], color=BLUE, label="f(x) = 3x^2 - 4x + 5")
    line = [0.8 + i * 0.05 for i in range(85)]
    ax.plot(line, [20 + 14 * (x - 3) for x in line], color=ORANGE, label="tangent at x = 3: slope 14")
    ax.plot(
        line,
        [20 + 17 * (x - 3) for x in line],
        color=GREY,
        ls="--",
        label="secant from x = 3 to 3 + h, h = 1: slope 17",
    )
    ax.plot([3, 4], [f(3), f(4)], "o", color=GREY, ms=4)
    ax.plot([3], [f(3)], "o", color=ORANGE, ms=6)
    ax.annotate("(3, 20)", (3, 20), xytext=(3.3, 10))
    ax.set(xlabel="x", ylabel="f(x)", ylim=(-5, 105))
    ax.legend(loc="upper center")
    fig.tight_layout()
    return fig


def difference_error():
    """Error of the forward and central differences of sin at x = 1 against h, log-log."""
    x, exact = 1.0, math.cos(1.0)
    hs = [10 ** (-14 + i * 0.2) for i in range(66)]
    fwd = [abs((math.sin(x + h) - math.sin(x)) / h - exact) or 1e-17 for h in hs]
    cen = [abs((math.sin(x + h) - math.sin(x - h)) / (2 * h) - exact) or 1e-17 for h in hs]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(hs, fwd, "o-", ms=3, color=BLUE, label="forward  (f(x+h) - f(x)) / h")
    ax.loglog(hs, cen, "o-", ms=3, color=ORANGE, label="central  (f(x+h) - f(x-h)) / 2h")
    guide = [1e-5, 1e-1]
    ax.loglog(guide, [0.02 * h for h in guide], "--", lw=1, color=BLUE, label="slope 1: error ~ h")
    ax.loglog(guide, [0.004 * h * h for h in guide], "--", lw=1, color=ORANGE, label="slope 2: error ~ h^2")
    ax.text(2e-14, 1e-14, "round-off: here a smaller h\ngives a bigger error", color=GREY)
    ax.axvline(1e-4, color=GREY, lw=0.8)
    ax.text(1.3e-4, 1e-15, "h = 1e-4\n(the default)", color=GREY)
    ax.set(
        xlabel="step h",
        ylabel="|estimate - exact slope|",
        ylim=(1e-16, 1),
        title="Slope of sin at x = 1, measured numerically",
    )
    ax.legend(loc="upper center", fontsize=9)
    fig.tight_layout()
    return fig


# --- 05 tanh ---------------------------------------------------------------------------------------


def tanh_curve():
    """tanh and its derivative 1 - tanh^2 on [-5, 5], with the lecture neuron's point marked."""
    xs = [-5 + i * 0.02 for i in range(501)]
    n = 0.8813735870195432
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(xs, [math.tanh(x) for x in xs], color=BLUE, label="tanh(x)")
    ax.plot(xs, [1 - math.tanh(x) ** 2 for x in xs], color=ORANGE, label="1 - tanh(x)^2, its slope")
    ax.axhline(1, color=GREY, lw=0.8, ls=":")
    ax.axhline(-1, color=GREY, lw=0.8, ls=":")
    ax.plot([n, n], [math.tanh(n), 1 - math.tanh(n) ** 2], "o", color="black", ms=4)
    arrow = dict(arrowstyle="->", color=GREY)
    ax.annotate("tanh(0.8814) = 0.7071", (n, math.tanh(n)), xytext=(1.2, -0.3), arrowprops=arrow)
    ax.annotate("its slope: 1 - 0.7071^2 = 0.5", (n, 0.5), xytext=(1.2, -0.6), arrowprops=arrow)
    ax.set(xlabel="x", xlim=(-5, 5), ylim=(-1.15, 1.15))
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


# --- 06 and 07 the network and its training -----------------------------------------------------


def mlp_diagram():
    """MLP(3, [4, 4, 1]) as circles and connections, with each layer's parameter count."""
    sizes = [3, 4, 4, 1]
    fig, ax = plt.subplots(figsize=(7, 3.3))
    pos = [[(i * 3.0, (k - (n - 1) / 2) * 1.0) for k in range(n)] for i, n in enumerate(sizes)]
    for left, right in zip(pos, pos[1:]):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color="#bbbbbb", lw=0.8, zorder=1)
    for i, layer in enumerate(pos):
        for x, y in layer:
            ax.add_patch(Circle((x, y), 0.28, fc="white" if i == 0 else "#cfe2f3", ec="#333333", zorder=2))
    notes = [
        "input x\n3 numbers",
        "Layer(3, 4)\n4 x (3 w + 1 b)\n= 16",
        "Layer(4, 4)\n4 x (4 w + 1 b)\n= 20",
        "Layer(4, 1)\n1 x (4 w + 1 b)\n= 5",
    ]
    for i, note in enumerate(notes):
        ax.text(i * 3.0, -2.5, note, ha="center", va="top")
    ax.set_title("MLP(3, [4, 4, 1]): 16 + 20 + 5 = 41 parameters")
    ax.set(xlim=(-1.5, 10.5), ylim=(-3.9, 2.2), aspect="equal")
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    return fig


def training_loss(MLP, train):
    """Loss against step for MLP(3, [4, 4, 1]) on the lecture's four examples (seed 0, lr 0.05),
    trained with the given MLP and train()."""
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    random.seed(0)
    losses = train(MLP(3, [4, 4, 1]), xs, ys, steps=50, lr=0.05)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(range(len(losses)), losses, "o-", ms=3, color=BLUE)
    ax.annotate(f"step 0: {losses[0]:.2f}", (0, losses[0]), xytext=(4, losses[0] - 0.4))
    ax.annotate(
        f"step {len(losses) - 1}: {losses[-1]:.3f}",
        (len(losses) - 1, losses[-1]),
        xytext=(33, 1.5),
        arrowprops=dict(arrowstyle="->", color=GREY),
    )
    ax.set(
        xlabel="step",
        ylabel="loss (sum of squared errors)",
        ylim=(0, None),
        title="MLP(3, [4, 4, 1]) on the four examples, lr = 0.05",
    )
    fig.tight_layout()
    return fig


def decision_boundary(lib):
    """The finale's picture: make demo's network on two moons, trained with lib (the reference)."""
    xs, ys = moons.two_moons()
    model, acc = moons.fit(lib, xs, ys, moons.STEPS)
    title = f"MLP(2, {moons.SIZES}) on two moons: {acc:.0%} correct after {moons.STEPS} steps"
    return boundary_figure(xs, ys, moons.grid_scores(model, xs), title)
