"""Draw a Value graph, the way the lecture does: with Graphviz, or as a text tree without it.

    from kit.learner.draw import draw_dot, draw_text
    print(draw_text(L))            # a text tree, needs nothing
    draw_dot(L, filename="L")      # writes L.svg with Graphviz's `dot` program

    python -m kit draw 03 [--impl DIR] [--out FILE.svg|.png|.pdf|.txt]

The functions take any object shaped like the lecture's Value (data, grad, _op, _prev, label), so
they draw the learner's graphs and the reference's alike. The command builds the example of
lesson 02, 03, 04 or 05 with the learner's own Value (from exercises/ unless --impl) and draws it.
"""

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kit.commands import command, impl_refusal
from kit.errors import KitError
from kit.exercises import HELP_IMPL, default_impl
from kit.learner.imports import import_tree
from kit.term import can_encode, pipe_safe

INSTALL = "install Graphviz: apt-get install graphviz (Debian, Ubuntu) or brew install graphviz (macOS)"
MAX_DEPTH = 60  # deep enough for an MLP's graph; a 100,000-deep chain stops here
FORMATS = ("svg", "png", "pdf", "txt")  # what --out may name: Graphviz's pictures, or the text tree
BRANCHES = {False: ("├── ", "└── ", "│   ", "    "), True: ("|-- ", "`-- ", "|   ", "    ")}


def _number(x):
    try:
        return format(x, ".4f")
    except (TypeError, ValueError):
        return repr(x)  # a learner's bug (a Value inside data, say) still draws


def _children(v):
    """v's children in a fixed order: by label, op and data (a set has no order of its own)."""
    return sorted(
        getattr(v, "_prev", ()),
        key=lambda c: (str(getattr(c, "label", "")), str(getattr(c, "_op", "")), _number(c.data)),
    )


def walk(root, max_depth=None):
    """(node, depth, is last child, first line of an earlier visit or None) in the tree's order.

    Iterative, so a graph 100,000 nodes deep draws too; each node's children are walked once.
    Below max_depth a node's children are not walked: a row (None, depth, True, None) stands for them.
    """
    seen, line = {}, 0
    stack = [(root, 0, True)]
    while stack:
        v, depth, last = stack.pop()
        line += 1
        earlier = None if v is None else seen.get(id(v))
        yield v, depth, last, earlier
        if v is None or earlier is not None:
            continue
        seen[id(v)] = line
        kids = _children(v)
        if kids and max_depth is not None and depth >= max_depth:
            stack.append((None, depth + 1, True))
        else:
            stack.extend((child, depth + 1, i == len(kids) - 1) for i, child in reversed(list(enumerate(kids))))


def draw_text(root, ascii=False, max_depth=MAX_DEPTH):
    """The graph below root as a text tree: one line per Value (label, data, grad, op).

    A Value met a second time (a shared input, a shared subgraph) gets a one-line reference to
    the line where it was drawn. Levels below max_depth are left out: each level indents the
    lines once more, so a very deep graph would make a text of quadratic size.
    """
    tee, elbow, pipe, blank = BRANCHES[ascii]
    rows, open_levels = [], []  # open_levels[d]: whether depth d still has siblings to come
    for v, depth, last, earlier in walk(root, max_depth):
        del open_levels[depth:]
        prefix = "".join(pipe if more else blank for more in open_levels[1:])
        if depth:
            prefix += elbow if last else tee
        open_levels.append(not last)
        if v is None:
            rows.append((prefix + "...", f"deeper levels not drawn (max_depth={max_depth})"))
        elif earlier is not None:
            rows.append((prefix + str(getattr(v, "label", "")), f"(same Value as line {earlier})"))
        else:
            rows.append(
                (
                    prefix + str(getattr(v, "label", "")),
                    _number(v.data),
                    _number(getattr(v, "grad", 0.0)),
                    getattr(v, "_op", ""),
                )
            )
    width = max(len(row[0]) for row in rows)
    dw = max((len(row[1]) for row in rows if len(row) == 4), default=0)
    gw = max((len(row[2]) for row in rows if len(row) == 4), default=0)
    lines = []
    for row in rows:
        if len(row) == 2:
            lines.append(f"{row[0]:<{width}}  {row[1]}")
        else:
            name, data, grad, op = row
            lines.append(f"{name:<{width}}  data {data:>{dw}}  grad {grad:>{gw}}" + (f"  op {op}" if op else ""))
    return "\n".join(line.rstrip() for line in lines)


def _record(text):
    """text inside a record label, where braces, bars and angle brackets mean structure."""
    return re.sub(r'([{}|<>"\\])', r"\\\1", text)


def _quoted(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot_source(root):
    """The graph in Graphviz's DOT language: a record per Value, a small node per op, left to right."""
    ids, lines = {}, ["digraph {", "  graph [rankdir=LR]", '  node [fontname="monospace"]']
    edges = []
    for v, _, _, earlier in walk(root):
        if earlier is not None:
            continue
        uid = ids[id(v)] = f"n{len(ids)}"
        label = _record(str(getattr(v, "label", "")))
        lines.append(
            f'  {uid} [label="{{ {label} | data {_number(v.data)} | grad '
            f'{_number(getattr(v, "grad", 0.0))} }}" shape=record]'
        )
        op = str(getattr(v, "_op", ""))
        if op:
            lines.append(f'  {uid}op [label="{_quoted(op)}"]')
            lines.append(f"  {uid}op -> {uid}")
            edges += [(child, uid) for child in _children(v)]
    lines += [f"  {ids[id(child)]} -> {uid}op" for child, uid in edges]
    return "\n".join(lines + ["}"]) + "\n"


class SVG(str):
    """SVG text that Jupyter shows as a picture, like the lecture's draw_dot."""

    def _repr_svg_(self):
        return str(self)


def draw_dot(root, format="svg", filename=None):
    """Render root's graph with Graphviz (`dot`) as `format` (svg, png, pdf ...).

    With a filename, writes FILENAME.FORMAT and returns its path; else returns the SVG text (or
    the bytes of other formats). Without Graphviz it falls back to draw_text, and says so.
    """
    dot = shutil.which("dot")
    if dot is None:
        print(f"Graphviz's dot program is not installed, so here is a text tree ({INSTALL}).", file=sys.stderr)
        text = draw_text(root)
        if filename is None:
            return text
        path = Path(f"{filename}.txt")
        path.write_text(text + "\n", encoding="utf-8")
        return path
    done = subprocess.run([dot, f"-T{format}"], input=dot_source(root).encode(), capture_output=True)
    if done.returncode:
        raise RuntimeError(f"dot -T{format} failed: {done.stderr.decode(errors='replace').strip()}")
    if filename is not None:
        path = Path(str(filename) if str(filename).lower().endswith(f".{format}") else f"{filename}.{format}")
        path.write_bytes(done.stdout)
        return path
    return SVG(done.stdout.decode()) if format == "svg" else done.stdout


# --- the lessons' examples, built with the learner's Value ---------------------------------------


def lecture_expression(Value):
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return L, d, e


def example(lesson, Value):
    """The graph lesson 02, 03, 04 or 05 draws, after that lesson's backward pass."""
    if lesson in ("02", "03"):
        L, d, e = lecture_expression(Value)
        if lesson == "03":  # lesson 03 backpropagates by hand, parents first
            L.grad = 1.0
            for v in (L, d, e):
                v._backward()
        return L
    if lesson == "04":
        a, b = Value(-2.0, label="a"), Value(3.0, label="b")
        d = a * b
        d.label = "d"
        e = a + b
        e.label = "e"
        root = d * e
        root.label = "f"
    else:
        x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
        w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
        b = Value(6.8813735870195432, label="b")
        x1w1, x2w2 = x1 * w1, x2 * w2
        x1w1.label, x2w2.label = "x1*w1", "x2*w2"
        s = x1w1 + x2w2
        s.label = "x1*w1 + x2*w2"
        n = s + b
        n.label = "n"
        root = n.tanh()
        root.label = "o"
    root.backward()
    return root


@pipe_safe
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit draw", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "lesson",
        nargs="?",
        default="03",
        choices=["02", "03", "04", "05"],
        help="whose example to draw (default: 03, L = (a*b + c)*f after backpropagation)",
    )
    parser.add_argument("--impl", default=str(default_impl()), help=HELP_IMPL)
    parser.add_argument(
        "--out", default=None, help="write FILE.svg, FILE.png, FILE.pdf or FILE.txt instead of printing (FILE: .svg)"
    )
    args = parser.parse_args(argv)
    if why := impl_refusal(args.impl):
        parser.error(why)
    out = args.out and destination(args.out)
    try:
        (engine,) = import_tree(args.impl, "micrograd.engine")
        root = example(args.lesson, engine.Value)
    except Exception as e:  # the learner's Value is not done yet: say which lesson fixes it
        print(f"Your Value cannot build lesson {args.lesson}'s graph yet: {type(e).__name__}: {e}")
        progress = command("progress", None, args.impl)
        print(f"Finish the exercises up to {args.lesson} first ({progress} shows where you are).")
        return 1
    ascii = not can_encode(BRANCHES[False][0])
    if out is None or out.suffix.lower() == ".txt":
        text = draw_text(root, ascii=ascii)
        if out is None:
            print(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            print(f"wrote {out}")
        return 0
    if shutil.which("dot") is None:
        print(draw_text(root, ascii=ascii))
        print(f"\nGraphviz's dot program is not installed, so that is a text tree; {INSTALL}.")
        return 1
    print(f"wrote {draw_dot(root, format=out.suffix[1:].lower(), filename=out)}")
    return 0


def destination(name):
    """The file --out NAME writes (NAME.svg where it has no suffix), its folder made: a KitError (exit 2)
    for a format the command does not write, or a folder it cannot make, before the graph is drawn."""
    path = Path(name)
    path = path if path.suffix else Path(f"{name}.svg")
    if path.suffix.lower()[1:] not in FORMATS:
        kinds = ", ".join(f"FILE.{kind}" for kind in FORMATS[:-1]) + f" or FILE.{FORMATS[-1]}"
        raise KitError(f"python -m kit draw: --out {name}: cannot draw {path.suffix}: name {kinds}", 2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KitError(f"python -m kit draw: --out {name}: cannot make its folder ({e.strerror or e})", 2) from None
    return path


if __name__ == "__main__":
    sys.exit(main())
