"""Generate the learner's stubs from the reference solution.

Solution files mark each piece of work as a region, the way nbgrader marks solution cells:

    ### BEGIN ex03: Add the local derivative times out.grad into the grad of each child.
    ...reference code...
    ### END ex03

A region of an exercise beyond `upto` becomes `# TODO(ex03): <sentence>` followed by
`raise NotImplementedError("ex03: <function> - see docs/03_<slug>.md")`. A region marked
`(no-op)` becomes the TODO line alone: it sits in code that earlier exercises run, where a raise
would break their checks. Regions nest; an inner region only shows once its outer one is solved.

    python -m kit stubs                  # write exercises/ (and checks/base/) from solutions/
    python -m kit stubs --check          # fail when either is out of date
    python -m kit stubs --upto 3 --out D # a tree solved through exercise 03
"""

import argparse
import shutil
import sys
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, TREE
from kit.regions import RegionError, build_tree, render

# The checks' known-good base (checks/base/__init__.py): the reference engine and network, solved.
BASE = {"micrograd/engine.py": "engine.py", "micrograd/nn.py": "nn.py"}
BASE_HEADER = "# Written by `python -m kit stubs` from solutions/{rel}: the checks' known-good base. Do not edit.\n"


def base_files(src):
    """{path in checks/base/: text} from the solutions in `src`."""
    return {
        ROOT / "checks" / "base" / name: BASE_HEADER.format(rel=rel)
        + render((Path(src) / rel).read_text(encoding="utf-8"), len(EXERCISES), rel)
        for rel, name in BASE.items()
    }


def out_of_date(src, dst, base=True):
    """The files of the tree whose stub in `dst` differs from what `src` generates, and (with `base`)
    the files of checks/base/ that differ."""
    src, dst = Path(src), Path(dst)
    stale = []
    for rel in TREE:
        want = render((src / rel).read_text(encoding="utf-8"), 0, rel)
        have = (dst / rel).read_text(encoding="utf-8") if (dst / rel).is_file() else None
        if have != want:
            stale.append(dst / rel)
    for path, want in base_files(src).items() if base else ():
        if not path.is_file() or path.read_text(encoding="utf-8") != want:
            stale.append(path)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit stubs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--solutions", default=str(ROOT / "solutions"), help="the reference tree")
    parser.add_argument("--out", default=str(ROOT / "exercises"), help="where to write the stubs")
    parser.add_argument("--upto", type=int, default=0, help="keep exercises 01..UPTO solved (default 0)")
    parser.add_argument("--check", action="store_true", help="only report whether --out is up to date")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = out_of_date(args.solutions, args.out)
            for path in stale:
                print(f"out of date: {path}")
            if stale:
                print("run `make stubs` (python -m kit stubs) to regenerate the stubs from solutions/")
                return 1
            print(f"{args.out} is up to date with {args.solutions}")
            return 0
        out = Path(args.out)
        kits_own = args.upto == 0 and out.resolve() == (ROOT / "exercises").resolve()
        if out.exists() and kits_own:
            shutil.rmtree(out)  # the stubs own this tree: nothing stale survives a regeneration
        build_tree(args.solutions, out, args.upto)
        if kits_own:
            for path, text in base_files(args.solutions).items():
                path.write_text(text, encoding="utf-8")
        print(f"wrote {out} (exercises after {args.upto:02d} as stubs)")
        return 0
    except RegionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
