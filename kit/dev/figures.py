"""Draw the lessons' figures into docs/figures/.

    python -m kit figures     # from the kit's root; needs matplotlib (the `docs` extra)

One function per figure; main() writes them all. The numbers in the pictures come from the
reference engine in solutions/, never from exercises/. Seeds, sizes and PNG metadata are fixed,
so a rerun with the same matplotlib rewrites the same files.
"""

import math
import random
import sys
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle  # noqa: E402

from kit import ROOT  # noqa: E402
from kit.learner import demo, draw  # noqa: E402

sys.path.insert(0, str(ROOT / "solutions"))
from micrograd.engine import Value, topological_order  # noqa: E402
from micrograd.nn import MLP  # noqa: E402
from train import mse_loss, sgd_step, train  # noqa: E402

OUT = ROOT / "docs" / "figures"
DPI = 100
STYLE = {
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}
BLUE, ORANGE, GREY, RED = "#1f77b4", "#ff7f0e", "#777777", "#b03a2e"


def save(fig, name):
    """Write fig to docs/figures/name without a timestamp or version stamp, and close it."""
    OUT.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT / name, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return OUT / name


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
    return save(fig, "01_tangent.png")


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
    return save(fig, "01_difference_error.png")


# --- expression graphs in the style of the lecture's draw_dot --------------------------------

FONT_PT = 9
UNIT = 0.602 * FONT_PT / 72  # inches per character of DejaVu Sans Mono: the drawing's unit
BOX_H, ROW, GAP = 5.2, 7.5, 12.0  # box height, row pitch, room for an op circle between columns


def _layout(root):
    """Columns by distance from root (leaves left, root right), rows spread without overlaps."""
    nodes = topological_order(root)
    depth = {root: 0}
    for v in reversed(nodes):  # parents before children: the longest path from root wins
        for child in v._prev:
            depth[child] = max(depth.get(child, 0), depth[v] + 1)
    ncols = max(depth.values()) + 1
    y, leaves = {}, []

    def place(v):  # leaves take rows in the order a walk from root meets them
        if v in y:
            return
        kids = sorted(v._prev, key=lambda c: c.label)
        for k in kids:
            place(k)
        if kids:
            y[v] = sum(y[k] for k in kids) / len(kids)
        else:
            leaves.append(v)
            y[v] = -len(leaves) * ROW

    place(root)  # recursion is fine here: these graphs are a few levels deep
    columns = [[] for _ in range(ncols)]
    for v in nodes:
        columns[ncols - 1 - depth[v]].append(v)
    for col in columns:
        col.sort(key=lambda v: (-y[v], v.label))
        ideal = sum(y[v] for v in col) / len(col)
        for above, below in zip(col, col[1:]):
            y[below] = min(y[below], y[above] - ROW)
        shift = ideal - sum(y[v] for v in col) / len(col)
        for v in col:
            y[v] += shift
    return columns, y


def _box_text(v):
    return f"data {v.data:.4f}", f"grad {v.grad:.4f}"


def draw_graph(root, name, grads=True):
    """Draw root's graph: a box per Value (label | data, grad), a circle per op, arrows forward."""
    columns, y = _layout(root)
    label_w = [max(len(v.label) for v in col) + 2 for col in columns]
    value_w = max(len(s) for v in y for s in _box_text(v)) + 2
    lefts, x = [], GAP / 2
    for w in label_w:
        lefts.append(x)
        x += w + value_w + GAP
    width = x - GAP / 2
    top, bottom = max(y.values()) + ROW / 2 + 0.5, min(y.values()) - ROW / 2 - 0.5
    fig = plt.figure(figsize=(width * UNIT, (top - bottom) * UNIT))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set(xlim=(0, width), ylim=(bottom, top))
    ax.axis("off")
    text = dict(family="DejaVu Sans Mono", fontsize=FONT_PT, va="center")
    right = {}
    for c, col in enumerate(columns):
        for v in col:
            x0, y0, w = lefts[c], y[v], label_w[c] + value_w
            ax.add_patch(Rectangle((x0, y0 - BOX_H / 2), w, BOX_H, fc="white", ec="#333333", lw=1))
            ax.plot([x0 + label_w[c]] * 2, [y0 - BOX_H / 2, y0 + BOX_H / 2], color="#333333", lw=1)
            ax.text(x0 + label_w[c] / 2, y0, v.label, ha="center", weight="bold", **text)
            data, grad = _box_text(v)
            ax.text(x0 + label_w[c] + 1, y0 + BOX_H / 4.5, data, ha="left", **text)
            ax.text(x0 + label_w[c] + 1, y0 - BOX_H / 4.5, grad, ha="left", color=RED if grads else GREY, **text)
            right[v] = (x0 + w, y0)
            if v._op:
                r = max(1.8, 0.45 * len(v._op) + 0.9)
                cx = x0 - GAP / 2
                ax.add_patch(Circle((cx, y0), r, fc="#eeeeee", ec="#333333", lw=1))
                ax.text(cx, y0, v._op, ha="center", **text)
                _arrow(ax, (cx + r, y0), (x0, y0))
                for child in sorted(v._prev, key=lambda c: c.label):
                    sx, sy = right[child]
                    d = math.hypot(cx - sx, y0 - sy)
                    _arrow(ax, (sx, sy), (cx - r * (cx - sx) / d, y0 - r * (y0 - sy) / d))
    return save(fig, name)


def _arrow(ax, start, end):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=1, color="#333333", shrinkA=0, shrinkB=0)
    )


def lecture_expression():
    """L = (a*b + c) * f with the lecture's numbers and labels."""
    return draw.lecture_expression(Value)[0]


def graph_forward():
    """02: the lecture's expression after the forward pass; every grad is still 0."""
    return draw_graph(lecture_expression(), "02_graph_forward.png", grads=False)


def graph_backward():
    """03: the same expression after backpropagation."""
    L = lecture_expression()
    L.backward()
    return draw_graph(L, "03_graph_backward.png")


def shared_graph():
    """04: (a*b) * (a+b) with a = -2, b = 3: a and b are each used twice."""
    return draw_graph(draw.example("04", Value), "04_shared_graph.png")


# --- 05 tanh and the neuron --------------------------------------------------------------------


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
    return save(fig, "05_tanh.png")


def neuron_graph():
    """The lecture's neuron o = tanh(x1*w1 + x2*w2 + b) after backpropagation."""
    return draw_graph(draw.example("05", Value), "05_neuron_graph.png")


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
    return save(fig, "06_mlp.png")


def training_loss():
    """Loss against step for MLP(3, [4, 4, 1]) on the lecture's four examples (seed 0, lr 0.05)."""
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
    return save(fig, "07_loss.png")


def decision_boundary():
    """The finale's picture: make demo's network on two moons, trained with the reference."""
    lib = SimpleNamespace(MLP=MLP, mse_loss=mse_loss, sgd_step=sgd_step)
    xs, ys = demo.two_moons()
    model, acc = demo.fit(lib, xs, ys, demo.STEPS)
    title = f"MLP(2, {demo.SIZES}) on two moons: {acc:.0%} correct after {demo.STEPS} steps"
    return save(demo.boundary_figure(xs, ys, demo.grid_scores(model, xs), title), "07_decision_boundary.png")


FIGURES = [
    tangent,
    difference_error,
    graph_forward,
    graph_backward,
    shared_graph,
    tanh_curve,
    neuron_graph,
    mlp_diagram,
    training_loss,
    decision_boundary,
]


def main(argv=None):
    with plt.rc_context(STYLE):
        for figure in FIGURES:
            path = figure()
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
