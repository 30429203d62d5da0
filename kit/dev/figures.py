"""Draw the lessons' figures into docs/figures/.

    python -m kit figures     # from the kit's root; needs matplotlib (the `docs` extra) and Graphviz

The charts are kit/dev/plots.py's (matplotlib); the expression graphs are drawn by
kit/learner/draw.py with Graphviz's `dot`, exactly as a learner's `python -m kit draw` draws them.
The numbers in the pictures come from the reference in solutions/, never from exercises/. Seeds,
sizes and PNG metadata are fixed, so a rerun with the same matplotlib and Graphviz rewrites the
same files.
"""

import argparse
import shutil
import sys
from types import SimpleNamespace

from kit import ROOT
from kit.learner import draw
from kit.learner.imports import import_tree

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


def graphs(Value):
    """{file name: the lesson's graph root}, built with the reference Value."""

    def backpropagated():
        L = draw.lecture_expression(Value)[0]
        L.backward()
        return L

    return {
        "02_graph_forward.png": lambda: draw.lecture_expression(Value)[0],  # every grad still 0
        "03_graph_backward.png": backpropagated,
        "04_shared_graph.png": lambda: draw.example("04", Value),  # a and b each used twice
        "05_neuron_graph.png": lambda: draw.example("05", Value),
    }


def charts(plots, nn, train):
    """{file name: a function returning the matplotlib figure}."""
    lib = SimpleNamespace(MLP=nn.MLP, mse_loss=train.mse_loss, sgd_step=train.sgd_step)
    return {
        "01_tangent.png": plots.tangent,
        "01_difference_error.png": plots.difference_error,
        "05_tanh.png": plots.tanh_curve,
        "06_mlp.png": plots.mlp_diagram,
        "07_loss.png": lambda: plots.training_loss(nn.MLP, train.train),
        "07_decision_boundary.png": lambda: plots.decision_boundary(lib),
    }


def main(argv=None):
    argparse.ArgumentParser(prog="python -m kit figures", description=__doc__.split("\n\n")[0]).parse_args(argv)
    if shutil.which("dot") is None:
        print(f"make figures draws the expression graphs with Graphviz's dot program: {draw.INSTALL}")
        return 2
    try:
        import matplotlib.pyplot as plt

        from kit.dev import plots
    except ImportError:
        print("make figures needs matplotlib: .venv/bin/pip install -e '.[docs]'")
        return 2
    engine, nn, train = import_tree(ROOT / "solutions", "micrograd.engine", "micrograd.nn", "train")
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(STYLE):
        for name, figure in charts(plots, nn, train).items():
            fig = figure()
            fig.savefig(OUT / name, dpi=DPI, metadata={"Software": None})  # no timestamp or version stamp
            plt.close(fig)
            written.append(OUT / name)
    for name, root in graphs(engine.Value).items():
        written.append(draw.draw_dot(root(), format="png", filename=OUT / name))
    for path in sorted(written):
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
