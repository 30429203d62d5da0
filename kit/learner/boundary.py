"""The demo's picture: a decision boundary over two moons, as a PNG (matplotlib) or an SVG.

The SVG needs nothing but the standard library, for learners without matplotlib: a cell per grid
point coloured by the score's sign and shaded by its size, a circle per data point, axes with
ticks, and the title on as many lines as it has.
"""

import html
import math
from pathlib import Path

BLUE, ORANGE = "#1f77b4", "#ff7f0e"
LABELS = ((-1.0, BLUE, "o"), (1.0, ORANGE, "s"))  # label, colour, matplotlib marker


def boundary_figure(xs, ys, grid, title):
    """A matplotlib figure: the scores as filled contours, the boundary at 0, the points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gx, gy, z = grid
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.contourf(gx, gy, z, levels=[-1, -0.5, 0, 0.5, 1], colors=["#9ecae1", "#c6dbef", "#fdd0a2", "#fdae6b"])
    ax.contour(gx, gy, z, levels=[0], colors="#333333", linewidths=1)
    for label, color, marker in LABELS:
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


# The SVG's layout, in pixels: the plot's size, the margins around it, the title's font size.
PLOT_W, PLOT_H = 480, 320
LEFT, RIGHT, BOTTOM, TOP_PAD = 50, 20, 45, 12
TITLE_PT, LINE = 13, 18
CHAR_W = 0.6  # a sans-serif character is at most about 0.6 em wide: room for the title


def ticks(lo, hi, step=0.5):
    """The multiples of step within [lo, hi]."""
    first = math.ceil(lo / step)
    return [k * step for k in range(first, math.floor(hi / step) + 1)]


def svg_text(xs, ys, grid, title):
    """The SVG document of the picture."""
    gx, gy, z = grid
    lines = [html.escape(line) for line in title.splitlines()] or [""]
    top = TOP_PAD + LINE * len(lines) + 10
    width = max(LEFT + PLOT_W + RIGHT, int(max(map(len, lines)) * TITLE_PT * CHAR_W) + 2 * TOP_PAD)
    height = top + PLOT_H + BOTTOM
    sx = lambda x: LEFT + (x - gx[0]) / (gx[-1] - gx[0]) * PLOT_W  # noqa: E731
    sy = lambda y: top + PLOT_H - (y - gy[0]) / (gy[-1] - gy[0]) * PLOT_H  # noqa: E731
    cw, ch = PLOT_W / (len(gx) - 1), PLOT_H / (len(gy) - 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for i, line in enumerate(lines):
        out.append(f'<text x="{TOP_PAD}" y="{TOP_PAD + LINE * (i + 1) - 4}" font-size="{TITLE_PT}">{line}</text>')
    # The cells are clipped to the plot, as the outer ones are centred on its edges.
    out.append(f'<clipPath id="plot"><rect x="{LEFT}" y="{top}" width="{PLOT_W}" height="{PLOT_H}"/></clipPath>')
    out.append('<g clip-path="url(#plot)">')
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
    out.append("</g>")
    out += axes(gx, gy, sx, sy, top)
    return "\n".join(out + ["</svg>"]) + "\n"


def axes(gx, gy, sx, sy, top):
    """The frame, the ticks with their numbers, and the axis names x1 and x2."""
    bottom = top + PLOT_H
    out = [f'<rect x="{LEFT}" y="{top}" width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="#333"/>']
    for x in ticks(gx[0], gx[-1]):
        px = sx(x)
        out.append(f'<line x1="{px:.1f}" y1="{bottom}" x2="{px:.1f}" y2="{bottom + 5}" stroke="#333"/>')
        out.append(f'<text x="{px:.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle">{x:g}</text>')
    for y in ticks(gy[0], gy[-1]):
        py = sy(y)
        out.append(f'<line x1="{LEFT - 5}" y1="{py:.1f}" x2="{LEFT}" y2="{py:.1f}" stroke="#333"/>')
        out.append(f'<text x="{LEFT - 8}" y="{py + 4:.1f}" font-size="11" text-anchor="end">{y:g}</text>')
    out.append(f'<text x="{LEFT + PLOT_W / 2}" y="{bottom + 38}" font-size="12" text-anchor="middle">x1</text>')
    middle = top + PLOT_H / 2
    out.append(
        f'<text x="14" y="{middle}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {middle})">x2</text>'
    )
    return out


def save_svg(path, xs, ys, grid, title):
    Path(path).write_text(svg_text(xs, ys, grid, title), encoding="utf-8")
