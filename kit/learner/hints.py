"""Hints in tiers: `python -m kit hints 03` shows the next hint for exercise 03.

    python -m kit hints 03            the next hint (after the last one, the last one again)
    python -m kit hints 03 --again    the hints of 03 seen so far
    python -m kit hints 03 --reset    start 03 over; without an exercise, start all over

The hints live beside the lessons in docs/hints.md: a `## NN` heading per exercise, its tiers
separated by `---` lines, from a nudge to the shape of the answer in words. How many tiers of
each exercise were shown is kept in .kit/hints.json in the kit's folder (kit/state.py: in the
user's cache folder where the kit's folder is read-only).
"""

import argparse
import json
import re
import sys
from pathlib import Path

from kit import ROOT
from kit.commands import command
from kit.exercises import EXERCISES, argument, doc_path, parse_id
from kit.state import place
from kit.term import paint, pipe_safe

HINTS = ROOT / "docs" / "hints.md"
HEADING = re.compile(r"^## (\d\d)\b")
SEPARATOR = re.compile(r"^---\s*$")


def load(path=HINTS):
    """{exercise: [tier, ...]} from the hints file."""
    tiers, ex = {}, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        heading = HEADING.match(line)
        if heading:
            ex = heading[1]
            tiers[ex] = [[]]
        elif ex and SEPARATOR.match(line):
            tiers[ex].append([])
        elif ex:
            tiers[ex][-1].append(line)
    return {ex: ["\n".join(tier).strip() for tier in parts] for ex, parts in tiers.items()}


def read_state(path):
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, ValueError):
        return {}  # nothing shown yet, or a damaged file: starting over is the safe reading


def write_state(path, seen):
    """Remember the hints seen; where that cannot be written, say so (the hint was shown all the same)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(seen, indent=1, sort_keys=True) + "\n")
    except OSError as e:
        print(f"note: could not remember the hints seen in {path} ({e.strerror or e}): the next ask starts over")


def show(ex, tier, number, total):
    title = EXERCISES[ex].title
    last = " (the last one)" if number == total else ""
    print(paint(f"hint {number} of {total}{last} · {ex} · {title}", "bold"))
    print()
    print(tier)
    print()


def next_hint(ex, tiers, state):
    """Show the next tier of ex and count it as seen; the last tier repeats."""
    seen = min(state.get(ex, 0) + 1, len(tiers))
    show(ex, tiers[seen - 1], seen, len(tiers))
    if seen < len(tiers):
        print(f"Still stuck? Ask again for hint {seen + 1}: {command('hint', ex)}")
    else:
        print(f"There are no more hints for {ex}. The lesson's Hints section ({doc_path(ex)}) lists the")
        print(f"classic mistakes, and {command('check', ex)} says which test fails and why.")
        print(f"{command('solution', ex)} shows the reference solution once your check passes.")
    state[ex] = seen


@pipe_safe
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit hints", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", nargs="?", type=argument(parse_id), help="01 ... 07")
    parser.add_argument("--again", action="store_true", help="show the hints seen so far, without a new one")
    parser.add_argument("--reset", action="store_true", help="forget the hints seen (of one exercise, or all)")
    parser.add_argument(
        "--state", default=None, help="where the hints seen are remembered (default: .kit/hints.json in the kit)"
    )
    args = parser.parse_args(argv)
    if args.exercise is None and not args.reset:
        parser.error(f"which exercise? e.g. {command('hint', '03')}")
    try:
        ex = parse_id(args.exercise) if args.exercise else None
    except ValueError as e:
        parser.error(str(e))
    args.state = args.state or place(".kit") / "hints.json"
    state = read_state(args.state)
    if args.reset:
        if ex is None:
            state = {}
            print("hints start over for every exercise")
        else:
            state.pop(ex, None)
            print(f"hints for {ex} start over at hint 1")
        write_state(args.state, state)
        return 0
    tiers = load().get(ex)
    if not tiers:
        print(f"no hints for {ex} yet: read {doc_path(ex)}, and its Hints section")
        return 1
    if args.again:
        seen = min(state.get(ex, 0), len(tiers))
        if not seen:
            print(f"no hints seen yet for {ex}: {command('hint', ex)} shows the first")
        for number in range(1, seen + 1):
            show(ex, tiers[number - 1], number, len(tiers))
        return 0
    next_hint(ex, tiers, state)
    write_state(args.state, state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
