"""The finale: `python -m kit demo` trains a small network on two moons with your own micrograd.

    python -m kit demo [--steps N] [--impl DIR] [--out FILE.png|FILE.svg]

It grades the tree first (exercises/ unless --impl), in a fresh process. When all seven checks
pass, the demo runs on that tree's micrograd and train.py; otherwise on the reference in
solutions/, and it says so. The data are two interleaved half circles ("two moons"), made by the
kit from a fixed seed. As in the micrograd repository's demo notebook, an MLP(2, [16, 16, 1])
learns to score the points +1 or -1: the loss is the tree's mse_loss averaged over the points
plus a little L2 regularization, and each step is its sgd_step with a learning rate that decays
from 1.0 to 0.1. The decision boundary is saved as a PNG (matplotlib) or, without matplotlib, as
an SVG the kit writes itself.
"""

import argparse
import gc
import html
import importlib
import importlib.util
import math
import os
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from kit import ROOT
from kit.exercises import EXERCISES, HELP_IMPL, default_impl
from kit.learner.term import bar, is_terminal, paint, shown
from kit.runner import GradingError, grade

SIZES = [16, 16, 1]
STEPS = 40
ALPHA = 1e-4  # weight of the L2 regularization
DATA_SEED, MODEL_SEED = 0, 1
GRID = (36, 24)  # columns, rows of the decision-boundary picture's grid
BLUE, ORANGE = "#1f77b4", "#ff7f0e"


def import_tree(impl, *names):
    """Import modules ("micrograd.engine", "train", ...) from the tree impl, and from nowhere else.

    The package `micrograd` is registered from impl/micrograd before anything imports it, so an
    installed micrograd (or one earlier on sys.path) can never stand in for the learner's.
    """
    impl = Path(impl).resolve()
    for name in [m for m in sys.modules if m.split(".")[0] in ("micrograd", "train")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "micrograd", impl / "micrograd" / "__init__.py", submodule_search_locations=[str(impl / "micrograd")]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["micrograd"] = package
    spec.loader.exec_module(package)
    modules = []
    for name in names:
        if name.startswith("micrograd."):
            modules.append(importlib.import_module(name))
        else:
            spec = importlib.util.spec_from_file_location(name, impl / f"{name}.py")
            module = sys.modules[name] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            modules.append(module)
    return modules


def library(impl):
    """What the demo uses of a tree: MLP, mse_loss and sgd_step."""
    nn, train = import_tree(impl, "micrograd.nn", "train")
    return SimpleNamespace(MLP=nn.MLP, mse_loss=train.mse_loss, sgd_step=train.sgd_step)


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
    """Train an MLP(2, SIZES) on (xs, ys); returns the model and its training accuracy.

    progress(step, steps, loss, accuracy) is called after every step.
    """
    random.seed(seed)  # Neuron draws its weights from the random module
    model = lib.MLP(2, SIZES)
    # A step builds about 100,000 Values tied in reference cycles. Left on, the collector rescans
    # them over and over within the step (training runs 8 times slower); once per step is enough.
    gc.disable()
    try:
        for k in range(steps):
            scores = [model(x) for x in xs]
            loss = lib.mse_loss(scores, ys) * (1.0 / len(ys))
            total = loss + ALPHA * sum(p * p for p in model.parameters())
            model.zero_grad()
            total.backward()
            lib.sgd_step(model.parameters(), 1.0 - 0.9 * k / steps)
            if progress:
                progress(k + 1, steps, total.data, accuracy(scores, ys))
            del scores, loss, total
            gc.collect()
        final = accuracy([model(x) for x in xs], ys)
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


def boundary_figure(xs, ys, grid, title):
    """A matplotlib figure: the scores as filled contours, the boundary at 0, the points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gx, gy, z = grid
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.contourf(gx, gy, z, levels=[-1, -0.5, 0, 0.5, 1], colors=["#9ecae1", "#c6dbef", "#fdd0a2", "#fdae6b"])
    ax.contour(gx, gy, z, levels=[0], colors="#333333", linewidths=1)
    for label, color, marker in ((-1.0, BLUE, "o"), (1.0, ORANGE, "s")):
        pts = [x for x, y in zip(xs, ys) if y == label]
        ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            c=color,
            marker=marker,
            s=22,
            edgecolors="#333333",
            linewidths=0.5,
            label=f"label {label:+.0f}",
        )
    ax.set(xlabel="x1", ylabel="x2", xlim=(gx[0], gx[-1]), ylim=(gy[0], gy[-1]))
    ax.set_title(title, fontsize=11)
    ax.legend(loc="lower left", fontsize=9)
    fig.tight_layout()
    return fig


def save_png(path, xs, ys, grid, title):
    import matplotlib.pyplot as plt

    fig = boundary_figure(xs, ys, grid, title)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def save_svg(path, xs, ys, grid, title):
    """The picture without matplotlib: a cell per grid point, coloured by the score's sign and
    shaded by its size, and a circle per data point."""
    gx, gy, z = grid
    w, h, pad = 480, 320, 30
    sx = lambda x: pad + (x - gx[0]) / (gx[-1] - gx[0]) * w  # noqa: E731
    sy = lambda y: pad + h - (y - gy[0]) / (gy[-1] - gy[0]) * h  # noqa: E731
    cw, ch = w / (len(gx) - 1), h / (len(gy) - 1)
    heading = html.escape(" ".join(title.splitlines()))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 2 * pad}" height="{h + 2 * pad}">',
        f'<text x="{pad}" y="{pad - 10}" font-family="sans-serif" font-size="13">{heading}</text>',
    ]
    for j, y in enumerate(gy):
        for i, x in enumerate(gx):
            score = z[j][i]
            out.append(
                f'<rect x="{sx(x) - cw / 2:.1f}" y="{sy(y) - ch / 2:.1f}" width="{cw + 0.5:.1f}" '
                f'height="{ch + 0.5:.1f}" fill="{ORANGE if score > 0 else BLUE}" '
                f'fill-opacity="{0.15 + 0.3 * min(1.0, abs(score)):.2f}"/>'
            )
    for (x, y), label in zip(xs, ys):
        color = ORANGE if label > 0 else BLUE
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{color}" stroke="#333"/>')
    Path(path).write_text("\n".join(out + ["</svg>"]) + "\n", encoding="utf-8")


class Progress:
    """A bar redrawn in place on a terminal; a plain line every few steps elsewhere."""

    def __init__(self):
        self.live = is_terminal()

    def __call__(self, step, steps, loss, acc):
        text = f"step {step:>{len(str(steps))}}/{steps}  loss {loss:.4f}  accuracy {acc:.0%}"
        if self.live:
            end = "\n" if step == steps else ""
            print(f"\r  {bar(step / steps, 20)}  {text}", end=end, flush=True)
        elif step == steps or step % max(1, steps // 8) == 0 or step == 1:
            print(f"  {text}", flush=True)


def choose(impl):
    """(tree to train with, whose it is): the learner's when all checks pass, else the reference."""
    try:
        report = grade(impl)
    except GradingError:
        report = None
    checks = report["checks"] if report else {}
    passing = [ex for ex in EXERCISES if ex in checks and checks[ex]["earned"] == checks[ex]["max"]]
    if len(passing) == len(EXERCISES):
        print(paint(f"All seven checks pass: this runs on your micrograd in {shown(impl)}/.", "green"))
        return impl, "your micrograd"
    print(
        f"{shown(impl)}/ passes {len(passing)} of the {len(EXERCISES)} checks, so this demo runs on the "
        f"reference micrograd in {shown(ROOT / 'solutions')}/."
    )
    print("Finish the exercises (make progress shows what is next) and it runs on yours.")
    return ROOT / "solutions", "the reference micrograd"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (default: %(default)s)")
    parser.add_argument("--impl", default=str(default_impl()), help=HELP_IMPL)
    parser.add_argument(
        "--out",
        default=None,
        help="the picture: FILE.png (needs matplotlib) or FILE.svg (default: out/demo.png, "
        "or out/demo.svg without matplotlib)",
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if not os.path.isdir(args.impl):
        parser.error(f"--impl {args.impl}: no such folder")
    tree, whose = choose(args.impl)
    lib = library(tree)
    xs, ys = two_moons()
    print(f"\nTraining MLP(2, {SIZES}) on {len(xs)} points of two moons for {args.steps} steps ...")
    start = time.perf_counter()
    model, acc = fit(lib, xs, ys, args.steps, progress=Progress())
    print(
        f"trained in {time.perf_counter() - start:.1f} s: training accuracy {acc:.0%} "
        f"({round(acc * len(ys))} of {len(ys)} points)"
    )
    title = f"MLP(2, {SIZES}) on two moons: {acc:.0%} correct\nafter {args.steps} steps with {whose}"
    grid = grid_scores(model, xs)
    try:
        import matplotlib  # noqa: F401

        png = True
    except ImportError:
        png = False
    out = Path(args.out or ROOT / "out" / ("demo.png" if png else "demo.svg"))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".png" and png:
        save_png(out, xs, ys, grid, title)
        print(f"wrote {shown(out)}: the decision boundary, drawn with matplotlib")
    else:
        out = out.with_suffix(".svg")
        save_svg(out, xs, ys, grid, title)
        why = "" if png else " (matplotlib is not installed)"
        print(f"wrote {shown(out)}: the decision boundary, as an SVG written by the kit{why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
