"""What `kit explain` prints and draws: the graph beside the true values, as a text tree and with
Graphviz (kit/learner/draw.py's walk and record labels), and backward's steps as text.

Everything shown comes from plain data the worker sent (already escaped by checks/sanitise.py) and
from the kit's own graph specs; names are escaped once more where a format gives them meaning.
"""

import shutil
import subprocess
from pathlib import Path

from checks import numerics
from checks.mistakes import MISTAKES
from kit.escape import escape_line
from kit.learner import explain_blame
from kit.learner.draw import BRANCHES, INSTALL, _number, _quoted, _record, walk
from kit.term import can_encode, paint, shown

MARK = "<-- first wrong"
MESSAGE_LINES = 6  # of the check's own message
ALL_RIGHT = {
    "kit": "Every node's data and grad is right here when the kit calls each _backward in turn: the check "
    "failed on something else about this graph (what it says above).",
    "backward": "Every node's data and grad is right here after your backward(): the check failed on something "
    "else about this graph (what it says above).",
    "06": "The network, built by the kit from {built}, gets every grad right: the wrong grads come from how "
    "your nn.py builds it (what the check says above).",
}


class Node:
    """A node of the learner's graph, rebuilt from plain data, shaped like the lecture's Value."""

    def __init__(self, label, op, data, grad):
        self.label, self._op, self.data, self.grad, self._prev = label, op, data, grad, set()


def nodes_of(result):
    """The root of the graph, rebuilt as Nodes holding the learner's data and grads."""
    got, made = result["got"], {}
    for name, op, *args in result["graph"]:
        symbol = numerics.SYMBOL.get(op, "" if op == "leaf" else op)
        made[name] = Node(name, symbol, got["data"].get(name, "?"), got["grad"].get(name, "?"))
        made[name]._prev = {made[a] for a in args if isinstance(a, str)}
    return made[numerics.root(result["graph"])], made


def cells(result, name):
    """(data, true data, grad, true grad) of a node, as text; a true value only where it differs."""
    got = result["got"]
    data, grad = got["data"].get(name), got["grad"].get(name)
    true_data, true_grad = result["data"][name], result["grads"][name]
    return (
        "-" if name not in got["data"] else _number(data),  # "-": never made, or never backpropagated
        "" if numerics.close(data, true_data) else f"(true {_number(true_data)})",
        "-" if name not in got["grad"] else _number(grad),
        "" if numerics.close(grad, true_grad, 1e-7) else f"(true {_number(true_grad)})",
    )


def tree(result, ascii=False):
    """The graph as a text tree: each node's data and grad, the true ones where they differ, and the
    first wrong node marked."""
    root, _ = nodes_of(result)
    tee, elbow, pipe, blank = BRANCHES[ascii]
    culprit = (result["blame"] or {}).get("node")
    rows, open_levels = [], []
    for v, depth, last, earlier in walk(root):
        del open_levels[depth:]
        prefix = "".join(pipe if more else blank for more in open_levels[1:]) + (
            (elbow if last else tee) if depth else ""
        )
        open_levels.append(not last)
        if earlier is not None:
            rows.append([prefix + v.label, f"(same node as line {earlier})"])
            continue
        data, true_data, grad, true_grad = cells(result, v.label)
        rows.append([prefix + v.label, v._op, data, true_data, grad, true_grad, MARK if v.label == culprit else ""])
    widths = [max(len(r[i]) for r in rows if len(r) > 2) for i in range(6)]
    lines = []
    for r in rows:
        if len(r) == 2:
            lines.append(f"{r[0]:<{widths[0]}}  {r[1]}")
            continue
        name, op, data, td, grad, tg, mark = r
        line = (
            f"{name:<{widths[0]}}  {op:<{widths[1]}}  data {data:>{widths[2]}} {td:<{widths[3]}}  "
            f"grad {grad:>{widths[4]}} {tg:<{widths[5]}}  {mark}"
        )
        lines.append(paint(line.rstrip(), "red") if mark else line.rstrip())
    return "\n".join(lines)


def dot_source(result):
    """The graph in Graphviz's DOT, as draw.py lays it out, with the true values and the first wrong node in red."""
    root, _ = nodes_of(result)
    culprit, by = ((result["blame"] or {}).get(k) for k in ("node", "by"))
    ids, lines, edges = {}, ["digraph {", "  graph [rankdir=LR]", '  node [fontname="monospace"]'], []
    for v, _, _, earlier in walk(root):
        if earlier is not None:
            continue
        uid = ids[id(v)] = f"n{len(ids)}"
        data, true_data, grad, true_grad = (_record(c) for c in cells(result, v.label))
        red = " color=red fontcolor=red penwidth=2"
        lines.append(
            f'  {uid} [label="{{ {_record(v.label)} | data {data} {true_data} | grad {grad} {true_grad} }}" '
            f"shape=record{red if v.label == culprit else ''}]"
        )
        if v._op:  # the operation whose _backward (or whose value) is at fault: filled red
            fault = red + ' style=filled fillcolor="#ffd6d6"' if v.label == by else ""
            lines += [f'  {uid}op [label="{_quoted(v._op)}"{fault}]', f"  {uid}op -> {uid}"]
            edges += [(child, uid) for child in v._prev]
    lines += sorted(f"  {ids[id(child)]} -> {uid}op" for child, uid in edges)
    return "\n".join(lines + ["}"]) + "\n"


def pictures(result, out):
    """explain-NN.svg and .png in `out`, from one layout by Graphviz; [] when dot is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        return []
    out.mkdir(parents=True, exist_ok=True)
    paths = {fmt: out / f"explain-{result['check']}.{fmt}" for fmt in ("svg", "png")}
    for path in paths.values():
        path.unlink(missing_ok=True)
    both = [f"-T{fmt}" if k == 0 else f"-o{path}" for fmt, path in paths.items() for k in (0, 1)]
    if subprocess.run([dot, *both], input=dot_source(result).encode(), capture_output=True).returncode:
        # A dot without PNG support draws nothing when asked for both: the SVG alone.
        subprocess.run([dot, "-Tsvg", f"-o{paths['svg']}"], input=dot_source(result).encode(), capture_output=True)
    return [path for path in paths.values() if path.exists()]


def steps_text(result):
    """Each _backward call of the backward pass, in order, with the grads it changed."""
    got, names = result["got"], [n for n, *_ in result["graph"]]
    if got["steps"] is None:
        return (
            "The kit could not follow the _backward calls one by one (your Value does not let _backward be replaced)."
        )
    lines, previous = [], [got["initial"].get(n) for n in names]
    for k, (name, before, after) in enumerate(got["steps"], 1):
        outside = changes(names, previous, before)
        if outside:
            lines.append(f"      ({'before the first call' if k == 1 else 'between calls'}: {outside})")
        what = explain_blame.local_form(result["graph"], name)
        if after is None:
            lines.append(f"{k:4d}. {name}._backward  ({what})  raised {result['got']['error']['type']}")
            break
        changed = changes(names, before, after)
        lines.append(f"{k:4d}. {name}._backward  ({what})  " + (changed or "changed no grad"))
        previous = after
    return "\n".join(lines)


def changes(names, before, after):
    return ", ".join(f"{n}.grad {_number(b)} -> {_number(a)}" for n, b, a in zip(names, before, after) if a != b)


def show(result, out, steps=False):
    """Print the explanation; write the pictures (and with `steps`, the page). Returns the exit status: 1."""
    from kit.learner.explain_html import built_with, page

    ex, built = result["check"], built_with(result)
    if result.get("banner"):  # the check's own, before its tests: what it runs on, and why
        print(result["banner"])
    if result.get("passes"):
        return passes(result)
    if result.get("todo"):
        print(
            f"check-{ex}: the first failing test with a graph, {escape_line(result['test'])!r}, stops at a TODO "
            "before it: there is no graph of yours to draw until that is written."
        )
    elif result["graph"] is None:
        print(
            f"check-{ex} fails on no graph, so there is none to draw: its first failing test is "
            f"{escape_line(result['test'])!r}."
        )
    elif result.get("on"):
        print(
            f"check-{ex}: the first test whose graph fails, as the check runs it ({built}), is "
            f"{escape_line(result['test'])!r}."
        )
    else:
        print(f"check-{ex}: the first test whose graph fails with your own Value is {escape_line(result['test'])!r}.")
    said = result["message"].strip().splitlines() or ["(nothing)"]
    print("The check says: " + "\n  ".join(escape_line(line) for line in said[:MESSAGE_LINES]))
    if result["mistake"] in MISTAKES:
        print(f"Mistake: {result['mistake']} ({MISTAKES[result['mistake']].what})")
    if result["graph"] is None:
        return 1
    blame = result["blame"]
    print(f"\nThe graph, {numerics.expression(result['graph'])}, with {built}:\n")
    print(tree(result, ascii=not can_encode(BRANCHES[False][0])))
    print()
    if blame:
        print(paint(escape_line(explain_blame.first_wrong(blame)), "bold"))
    else:
        print(ALL_RIGHT[result["mode"] if result["check"] != "06" else "06"].format(built=built))
    small = result["smallest"]
    if small is not None:
        print(f"smallest failing: {numerics.expression(small)}" + leaves_of(small))
    try:
        written = pictures(result, out)
    except OSError as e:
        written = None
        print(
            f"(the picture could not be written to {shown(out)}: {escape_line(e.strerror or e)}; --out DIR sets where)"
        )
    if written:
        print("picture: " + ", ".join(shown(p) for p in written))
    elif written is not None:
        print(f"(Graphviz's dot program is not installed, so that is a text tree; {INSTALL}.)")
    if steps:
        print("\nbackward, step by step (each _backward call, in order, and the grads it changed):")
        print(steps_text(result))
        path = Path(out) / f"steps-{ex}.html"
        try:
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(page(result), encoding="utf-8")
        except OSError as e:
            print(
                f"(the page could not be written to {shown(out)}: {escape_line(e.strerror or e)}; --out DIR sets where)"
            )
        else:
            print(f"page: {shown(path)} (open it in a browser; the arrow keys step)")
    return 1


def passes(result):
    """What is said where the check passes on the kit's base: nothing of its own exercise to explain,
    and the exercise it stood in for, with the command that explains it (or checks it). Returns 0."""
    ex, broken = result["check"], result["broken"]
    on = f"on {result['on']}" if result["on"] else "with your code"
    print(f"check-{ex} passes {on}: exercise {ex} has nothing to explain.")
    print(f"What fails is exercise {broken}: {result['next']}.")
    return 0


def leaves_of(graph):
    values = [f"{n} = {a[0]:g}" for n, op, *a in graph if op == "leaf"]
    return f"  with {', '.join(values)}" if values else ""
