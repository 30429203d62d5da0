"""The finale: `python -m kit demo` trains a small network on two moons with your own micrograd.

    python -m kit demo [--steps N] [--impl DIR] [--out FILE.png|FILE.svg]

It grades the tree first (exercises/ unless --impl), in a fresh process. When all seven checks
pass, the demo runs on that tree's micrograd and train.py; otherwise on the reference in
solutions/, and it says so. The experiment is kit/learner/moons.py's (two moons, an MLP(2, [16,
16, 1]), as in the micrograd repository's demo notebook); the picture of its decision boundary is
kit/learner/boundary.py's: a PNG with matplotlib, or without it an SVG the kit writes itself, in the
kit's out/ (kit/state.py: in the user's cache folder where the kit's folder is read-only).
"""

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from kit import ROOT
from kit.commands import command, impl_refusal
from kit.exercises import EXERCISES, HELP_IMPL, default_impl
from kit.learner.boundary import save_png, save_svg
from kit.learner.imports import import_tree
from kit.learner.install import require
from kit.learner.moons import SIZES, STEPS, fit, grid_scores, two_moons
from kit.runner import GradingError, grade
from kit.state import place
from kit.term import bar, is_terminal, paint, pipe_safe, shown


def library(impl):
    """What the demo uses of a tree: MLP, mse_loss and sgd_step."""
    nn, train = import_tree(impl, "micrograd.nn", "train")
    return SimpleNamespace(MLP=nn.MLP, mse_loss=train.mse_loss, sgd_step=train.sgd_step)


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
    """(tree to train with, whose it is): the learner's when all checks pass, else the reference, or
    (None, None) where there is no reference to fall back on."""
    try:
        report = grade(impl)
    except GradingError:
        report = None
    checks = report["checks"] if report else {}
    passing = [ex for ex in EXERCISES if ex in checks and checks[ex]["earned"] == checks[ex]["max"]]
    if len(passing) == len(EXERCISES):
        print(paint(f"All seven checks pass: this runs on your micrograd in {shown(impl)}/.", "green"))
        return impl, "your micrograd"
    if not (ROOT / "solutions").is_dir():  # a learner's copy (a Classroom template) holds no reference
        print(f"{shown(impl)}/ passes {len(passing)} of the {len(EXERCISES)} checks: finish the checks first.")
        print(f"({command('progress', None, impl)} shows what is next.) Then the demo trains your micrograd.")
        return None, None
    print(
        f"{shown(impl)}/ passes {len(passing)} of the {len(EXERCISES)} checks, so this demo runs on the "
        f"reference micrograd in {shown(ROOT / 'solutions')}/."
    )
    print(f"Finish the exercises ({command('progress', None, impl)} shows what is next) and it runs on yours.")
    return ROOT / "solutions", "the reference micrograd"


@pipe_safe
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
    if why := impl_refusal(args.impl):
        parser.error(why)
    # The picture's folder is made first, so that a training is never spent on a picture with nowhere to go.
    folder = Path(args.out).parent if args.out else place("out")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"cannot write the picture in {shown(folder)} ({e.strerror or e}): name another with --out FILE")
        return 1
    require()
    tree, whose = choose(args.impl)
    if tree is None:
        return 1
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
    out = Path(args.out) if args.out else folder / ("demo.png" if png else "demo.svg")
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
