"""The one parser of the solution files' regions, the way nbgrader marks solution cells:

    ### BEGIN ex03: Add the local derivative times out.grad into the grad of each child.
    ...reference code...
    ### END ex03

`### BEGIN ex05 (no-op): ...` marks a region in code that earlier exercises run. Regions nest.
The stubs (kit/dev/stubs.py), the solutions shown once earned (kit/learner/solution.py) and the
nbgrader notebooks (kit/platforms/nbgrader/) all read the files through `scan`; `render` turns
the regions of the exercises after `upto` into their TODO stubs, and `build_tree` writes a whole
learner's tree solved through exercise `upto` (0: the stubs of exercises/).
"""

import ast
import re
from pathlib import Path
from typing import NamedTuple

from kit.exercises import EXERCISES, TREE, doc_path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN ex(?P<ex>\d\d)(?P<noop> \(no-op\))?: (?P<todo>\S.*)$")
END = re.compile(r"^(?P<indent>[ \t]*)### END ex(?P<ex>\d\d)$")
ANY_MARKER = re.compile(r"^\s*### (BEGIN|END)\b")


class RegionError(ValueError):
    """A solution file whose regions are malformed."""


class Line(NamedTuple):
    lineno: int
    text: str  # without its newline
    kind: str  # "begin", "end" or "code"
    ex: str | None  # the exercise of a begin or end marker
    todo: str  # the TODO sentence of a begin marker
    noop: bool  # whether a begin marker is "(no-op)"
    indent: str  # a marker's indentation
    open: tuple  # the exercises of the regions around the line, outermost first (not its own)


def scan(text, path="<solution>"):
    """Every line of a solution file, with its regions checked: known exercises, nested, closed."""
    lines, stack = [], []  # stack: (exercise, line number) of the open regions
    for lineno, raw in enumerate(text.splitlines(), start=1):
        begin, end = BEGIN.match(raw), END.match(raw)
        around = tuple(ex for ex, _ in stack)
        if begin:
            if begin["ex"] not in EXERCISES:
                raise RegionError(f"{path}:{lineno}: unknown exercise ex{begin['ex']}")
            lines.append(
                Line(lineno, raw, "begin", begin["ex"], begin["todo"], bool(begin["noop"]), begin["indent"], around)
            )
            stack.append((begin["ex"], lineno))
        elif end:
            if not stack or stack[-1][0] != end["ex"]:
                raise RegionError(f"{path}:{lineno}: END ex{end['ex']} does not close the open region")
            stack.pop()
            lines.append(Line(lineno, raw, "end", end["ex"], "", False, end["indent"], around[:-1]))
        elif ANY_MARKER.match(raw):
            raise RegionError(f"{path}:{lineno}: malformed region marker: {raw.strip()}")
        else:
            lines.append(Line(lineno, raw, "code", None, "", False, "", around))
    if stack:
        raise RegionError(f"{path}:{stack[-1][1]}: BEGIN ex{stack[-1][0]} is never closed")
    return lines


def regions(text, path="<solution>"):
    """The (exercise, todo sentence) of every region in a solution file, in order."""
    return [(line.ex, line.todo) for line in scan(text, path) if line.kind == "begin"]


def qualnames(text):
    """Map each line number to the dotted name of the innermost def or class around it."""
    names = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                for line in range(child.lineno, child.end_lineno + 1):
                    names[line] = name
                visit(child, name)
            else:
                visit(child, prefix)

    visit(ast.parse(text), "")
    return names


def render(text, upto, path="<solution>", only=None):
    """The file `text` with every region of an exercise after `upto` turned into its stub (or, given
    `only`, every region of those exercises alone)."""
    names = qualnames(text)
    stub = (lambda ex: ex in only) if only else (lambda ex: int(ex) > upto)
    out = []
    for line in scan(text, path):
        hidden = any(stub(ex) for ex in line.open)
        if line.kind == "begin" and stub(line.ex) and not hidden:
            out.append(f"{line.indent}# TODO(ex{line.ex}): {line.todo}\n")
            if not line.noop:
                where = names.get(line.lineno, "module")
                out.append(
                    f'{line.indent}raise NotImplementedError("ex{line.ex}: {where} - see {doc_path(line.ex)}")\n'
                )
        elif line.kind == "code" and not hidden:
            out.append(line.text + "\n")
    result = "".join(out)
    try:
        ast.parse(result)
    except SyntaxError as e:
        raise RegionError(f"{path}: the stub for upto={upto} is not valid Python ({e.msg}, line {e.lineno})") from e
    return result


def build_tree(src, dst, upto, only=None):
    """Write the learner's tree from `src` into `dst`, solved through exercise `upto` (or solved but
    for the exercises `only`)."""
    src, dst = Path(src), Path(dst)
    for rel in TREE:
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render((src / rel).read_text(encoding="utf-8"), upto, rel, only), encoding="utf-8")
    return dst
