"""The class report's figures, as inline <svg>: each check's points (matplotlib, when installed) and
the class's totals with their quartiles (drawn here, so the page always has it)."""

import io
import re

from kit.instructor import report_counts as counts

BAR, FULL_BAR, MARK = "#3b6ea8", "#2e8b57", "#c0392b"


def check_svg(ex, stat):
    """An inline <svg> of check `ex`'s distribution of points, or None without matplotlib."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return None
    points = list(stat["counts"])
    heights = [stat["counts"][p] for p in points]
    # A fixed salt gives the same ids on every run (matplotlib draws random ones otherwise).
    with matplotlib.rc_context({"svg.hashsalt": "micrograd-kit", "svg.fonttype": "none", "font.size": 8}):
        fig = Figure(figsize=(3.4, 1.7))
        ax = fig.add_subplot()
        ax.bar(points, heights, color=[FULL_BAR if p >= stat["max"] else BAR for p in points], width=0.8)
        ax.set_xlabel("points")
        ax.set_ylabel("students")
        ax.set_xticks(points if len(points) <= 16 else points[:: max(1, len(points) // 8)])
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout(pad=0.3)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # matplotlib names its groups figure_1, axes_1, ... in every figure: give each figure's ids
    # (and the references to them) a prefix of its own, so that the page's ids stay unique.
    return re.sub(r'(\sid="|url\(#|href="#)', lambda m: f"{m.group()}c{ex}-", svg)


def totals_svg(stats):
    """The class's totals as an inline <svg> drawn here (no matplotlib needed): bars of whole-point
    bins, with the quartiles and the median marked."""
    w, h, left, bottom, top = 480, 250, 34, 40, 48
    found = counts.bins(stats["scores"], stats["max"])
    tallest = max(n for _, _, n in found) or 1
    step = (w - left - 8) / len(found)
    span = len(found) * (found[0][1] - found[0][0] + 1)  # the points the bins cover, 0 to span - 1
    x_of = lambda points: left + (points / span) * (w - left - 8)  # noqa: E731
    y_of = lambda n: h - bottom - (n / tallest) * (h - bottom - top)  # noqa: E731
    parts = [
        f'<svg id="totals-svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="totals of the class" font-size="14" font-family="system-ui, sans-serif">',
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 8}" y2="{h - bottom}" stroke="#444"/>',
        f'<text x="{left - 6}" y="{y_of(tallest) + 4:.1f}" text-anchor="end">{tallest}</text>',
        f'<text x="{left - 6}" y="{h - bottom + 4}" text-anchor="end">0</text>',
    ]
    for i, (lo, hi, n) in enumerate(found):
        x = left + i * step
        colour = FULL_BAR if hi >= stats["max"] else BAR
        label = f"{lo}" if lo == hi else f"{lo}-{hi}"
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y_of(n):.1f}" width="{step - 2:.1f}" height="{h - bottom - y_of(n):.1f}" '
            f'fill="{colour}"><title>{label} points: {n} students</title></rect>'
        )
        if i % max(1, len(found) // 7) == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{h - bottom + 17}" text-anchor="middle">{lo}</text>')
    parts.append(f'<text x="{(w + left) / 2}" y="{h - 2}" text-anchor="middle">total points</text>')
    if stats["n"]:
        for key, name, dash in (("q1", "Q1", "4 3"), ("median", "median", ""), ("q3", "Q3", "4 3")):
            x, y1 = x_of(stats[key] + 0.5), top - (24 if key == "median" else 4)
            parts.append(
                f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{h - bottom}" stroke="{MARK}" '
                f'stroke-width="2" stroke-dasharray="{dash}"/>'
            )
            # The median's label above the quartiles', which lean away from it: close marks stay legible.
            anchor, y = {"Q1": ("end", top - 8), "Q3": ("start", top - 8)}.get(name, ("middle", top - 28))
            parts.append(f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}" fill="{MARK}">{name}</text>')
    return "".join(parts) + "</svg>"
