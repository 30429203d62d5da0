"""The reference solution of one exercise: `python -m kit solution 03 [--impl DIR] [--force]`.

It opens once check-03 passes on the learner's tree (graded in a fresh process), so that it is
something to compare a working answer with, not a shortcut; `--force` opens it anyway. It shows
the code of the exercise's regions in solutions/, each under its file, line and function.
"""

import argparse
import sys
import textwrap
from pathlib import Path

from kit import ROOT
from kit.commands import command, impl_refusal
from kit.exercises import EXERCISES, HELP_IMPL, TREE, argument, default_impl, parse_id
from kit.learner.install import require
from kit.regions import qualnames, scan
from kit.runner import GradingError, grade
from kit.term import paint, pipe_safe, shown

SOLUTIONS = ROOT / "solutions"


def regions(ex, solutions=SOLUTIONS):
    """(file, line, function, todo sentence, code) of every region of ex, in the tree's order.

    A region of a later exercise nested inside shows as its TODO line only.
    """
    found = []
    for rel in TREE:
        text = (Path(solutions) / rel).read_text(encoding="utf-8")
        names = qualnames(text)
        for line in scan(text, rel):
            if line.ex == ex and ex not in line.open:  # ex's own markers
                if line.kind == "begin":
                    where, code = (rel, line.lineno, names.get(line.lineno, "module"), line.todo), []
                else:
                    found.append(where + (textwrap.dedent("\n".join(code)),))
            elif ex in line.open and line.kind != "end" and visible(line.open, ex):
                code.append(f"{line.indent}# TODO(ex{line.ex}): {line.todo}" if line.kind == "begin" else line.text)
    return found


def visible(around, ex):
    """Whether a line inside ex's region shows: no later exercise's region is open around it."""
    return all(other <= ex for other in around[around.index(ex) :])


def show(ex, solutions=SOLUTIONS):
    print(paint(f"reference solution of {ex} · {EXERCISES[ex].title}", "bold"))
    for rel, lineno, where, todo, code in regions(ex, solutions):
        print()
        print(paint(f"{shown(Path(solutions) / rel)}:{lineno}  {where}", "cyan"))
        print(paint(f"    # {todo}", "dim"))
        print(textwrap.indent(code, "    "))
    print()
    print("Yours may look different and still be right: the check is the judge, not this text.")


@pipe_safe
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit solution", description=__doc__.split("\n\n")[0])
    parser.add_argument("exercise", type=argument(parse_id), help="01 ... 07")
    parser.add_argument("--impl", default=str(default_impl()), help=HELP_IMPL)
    parser.add_argument("--force", action="store_true", help="show the solution even though the check does not pass")
    args = parser.parse_args(argv)
    try:
        ex = parse_id(args.exercise)
    except ValueError as e:
        parser.error(str(e))
    if not SOLUTIONS.is_dir():  # a course's copy of the kit (a Classroom template) ships none
        print(f"This copy of the kit has no reference solutions ({shown(SOLUTIONS)}/ is not here): ask your course.")
        return 2
    if not args.force:
        if why := impl_refusal(args.impl):
            parser.error(why)
        require()
        try:
            points = grade(args.impl, ex)["checks"][ex]
        except (GradingError, KeyError) as e:
            print(f"check-{ex} did not finish, so the solution stays closed:\n{e}")
            return 2
        if points["earned"] < points["max"]:
            print(
                f"The reference solution of {ex} opens once check-{ex} passes on {shown(args.impl)}/ "
                f"(now {points['earned']}/{points['max']} points)."
            )
            print(f"Keep going: {command('check', ex, args.impl)} says what is still wrong,")
            print(f"and {command('hint', ex)} gives a hint.")
            print(f"To see it anyway: {command('solution', ex, args.impl, 'force')}")
            return 1
    show(ex)
    return 0


if __name__ == "__main__":
    sys.exit(main())
