"""Generate the learner's stubs from the reference solution.

Solution files mark each piece of work as a region, the way nbgrader marks solution cells:

    ### BEGIN ex03: Add the local derivative times out.grad into the grad of each child.
    ...reference code...
    ### END ex03

A region of an exercise beyond `upto` becomes `# TODO(ex03): <sentence>` followed by
`raise NotImplementedError("ex03: <function> - see docs/03_<slug>.md")`. A region marked
`(no-op)` becomes the TODO line alone: it sits in code that earlier exercises run, where a raise
would break their checks. Regions nest; an inner region only shows once its outer one is solved.

    python -m kit.stubs                  # write exercises/ from solutions/
    python -m kit.stubs --check          # fail when exercises/ is out of date
    python -m kit.stubs --upto 3 --out D # a tree solved through exercise 03
"""
import argparse
import ast
import re
import shutil
import sys
from pathlib import Path

from checks.manifest import EXERCISES, TREE, doc_path
from kit import ROOT

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN ex(?P<ex>\d\d)(?P<noop> \(no-op\))?: (?P<todo>\S.*)$")
END = re.compile(r"^[ \t]*### END ex(?P<ex>\d\d)$")
ANY_MARKER = re.compile(r"^\s*### (BEGIN|END)\b")


class StubError(ValueError):
    """A solution file whose regions are malformed."""


def _qualnames(text):
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


def render(text, upto, path="<solution>"):
    """The file `text` with every region of an exercise after `upto` turned into its stub."""
    lines = text.splitlines(keepends=True)
    names = _qualnames(text)
    out, stack = [], []  # stack: the open regions, as (ex, indent, todo, noop, lineno, hidden)
    for lineno, line in enumerate(lines, start=1):
        begin, end = BEGIN.match(line.rstrip("\n")), END.match(line.rstrip("\n"))
        hidden = any(region[5] for region in stack)
        if begin:
            ex = begin["ex"]
            if ex not in EXERCISES:
                raise StubError(f"{path}:{lineno}: unknown exercise ex{ex}")
            stub = int(ex) > upto
            if stub and not hidden:
                indent = begin["indent"]
                out.append(f"{indent}# TODO(ex{ex}): {begin['todo']}\n")
                if not begin["noop"]:
                    where = names.get(lineno, "module")
                    out.append(f'{indent}raise NotImplementedError("ex{ex}: {where} - see {doc_path(ex)}")\n')
            stack.append((ex, begin["indent"], begin["todo"], bool(begin["noop"]), lineno, stub or hidden))
        elif end:
            if not stack or stack[-1][0] != end["ex"]:
                raise StubError(f"{path}:{lineno}: END ex{end['ex']} does not close the open region")
            stack.pop()
        elif ANY_MARKER.match(line):
            raise StubError(f"{path}:{lineno}: malformed region marker: {line.strip()}")
        elif not hidden:
            out.append(line)
    if stack:
        raise StubError(f"{path}:{stack[-1][4]}: BEGIN ex{stack[-1][0]} is never closed")
    result = "".join(out)
    try:
        ast.parse(result)
    except SyntaxError as e:
        raise StubError(f"{path}: the stub for upto={upto} is not valid Python ({e.msg}, line {e.lineno})") from e
    return result


def regions(text):
    """The (exercise, todo sentence) of every region in a solution file, in order."""
    return [(m["ex"], m["todo"]) for m in map(BEGIN.match, text.splitlines()) if m]


def build_tree(src, dst, upto):
    """Write the learner's tree from `src` into `dst`, solved through exercise `upto`."""
    src, dst = Path(src), Path(dst)
    for rel in TREE:
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render((src / rel).read_text(encoding="utf-8"), upto, rel), encoding="utf-8")
    return dst


def out_of_date(src, dst):
    """The files of the tree whose stub in `dst` differs from what `src` generates."""
    src, dst = Path(src), Path(dst)
    stale = []
    for rel in TREE:
        want = render((src / rel).read_text(encoding="utf-8"), 0, rel)
        have = (dst / rel).read_text(encoding="utf-8") if (dst / rel).is_file() else None
        if have != want:
            stale.append(rel)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit.stubs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--solutions", default=str(ROOT / "solutions"), help="the reference tree")
    parser.add_argument("--out", default=str(ROOT / "exercises"), help="where to write the stubs")
    parser.add_argument("--upto", type=int, default=0, help="keep exercises 01..UPTO solved (default 0)")
    parser.add_argument("--check", action="store_true", help="only report whether --out is up to date")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = out_of_date(args.solutions, args.out)
            for rel in stale:
                print(f"out of date: {Path(args.out) / rel}")
            if stale:
                print("run `make stubs` (python -m kit.stubs) to regenerate the stubs from solutions/")
                return 1
            print(f"{args.out} is up to date with {args.solutions}")
            return 0
        out = Path(args.out)
        if out.exists() and args.upto == 0 and out.resolve() == (ROOT / "exercises").resolve():
            shutil.rmtree(out)  # the stubs own this tree: nothing stale survives a regeneration
        build_tree(args.solutions, out, args.upto)
        print(f"wrote {out} (exercises after {args.upto:02d} as stubs)")
        return 0
    except StubError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
