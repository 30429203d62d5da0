"""Where am I? `python -m kit progress [--impl DIR]`: points per exercise, and what to do next.

It grades the whole tree once (`python -m kit check all`, in a fresh process), shows the seven
exercises with their points, and points at the first one not at full marks: its lesson, the file
and line of its first TODO, the first test still failing, and the commands that help.
"""

import argparse
import re
import sys
from pathlib import Path

from kit import ROOT
from kit.commands import command, impl_refusal
from kit.exercises import EXERCISES, HELP_IMPL, TREE, default_impl, doc_path
from kit.learner.install import require
from kit.runner import GradingError, grade
from kit.term import bar, is_terminal, paint, pipe_safe, shown


def next_exercise(report):
    """The first exercise not at full marks, or None when all are."""
    for ex in EXERCISES:
        points = report["checks"].get(ex)
        if points is None or points["earned"] < points["max"]:
            return ex
    return None


def find_todo(impl, ex):
    """(path, line number, line) of the first `# TODO(exNN)` in the tree, or None."""
    todo = re.compile(rf"#\s*TODO\(ex{ex}\)")
    for rel in TREE:
        path = Path(impl) / rel
        if not path.is_file():
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if todo.search(line):
                return path, lineno, line.strip()
    return None


def table(report):
    lines = []
    width = max(len(e.title) for e in EXERCISES.values())
    for ex, title in ((e.id, e.title) for e in EXERCISES.values()):
        points = report["checks"].get(ex, {"earned": 0, "max": 0})
        earned, most = points["earned"], points["max"]
        if most and earned == most:
            status = paint("done", "green")
        elif earned:
            status = paint("started", "yellow")
        else:
            status = "to do"
        lines.append(f"  {ex}  {title:<{width}}  {earned:>3}/{most:<3} {status}")
    earned = sum(c["earned"] for c in report["checks"].values())
    most = sum(c["max"] for c in report["checks"].values())
    share = earned / most if most else 0.0
    total = f"  {'':<2}  {'total':<{width}}  {earned:>3}/{most:<3}"
    if is_terminal():
        lines.append(f"{total} {bar(share)} {share:.0%}")
    else:
        lines.append(f"{total} points ({share:.0%})")
    return lines


def advice(report, impl, ex):
    """What to do next for exercise ex: the lesson, the TODO, the first failing test, the commands."""
    title = EXERCISES[ex].title
    lines = [paint(f"next: {ex} · {title}", "bold"), f"  read    {shown(ROOT / doc_path(ex))}"]
    todo = find_todo(impl, ex)
    if todo:
        path, lineno, line = todo
        lines += [f"  edit    {shown(path)}:{lineno}", f"          {line}"]
    else:
        lines.append(f"  edit    no TODO(ex{ex}) left in {shown(impl)}: the check says what is still wrong")
    failing = [t for t in report["tests"] if t["check"] == ex and t["status"] != "pass"]
    if failing:
        first = failing[0]
        verdict = {"todo": "is not done yet", "fail": "fails"}.get(first["status"], f"ends in {first['status']}")
        lines.append(f'  first   "{first["test"]}" {verdict}')
    lines.append(f"  check   {command('check', ex, impl)}")
    lines.append(f"  stuck?  {command('hint', ex)}")
    return lines


@pipe_safe
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit progress", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default=str(default_impl()), help=HELP_IMPL)
    args = parser.parse_args(argv)
    if why := impl_refusal(args.impl):
        parser.error(why)
    require()
    try:
        report = grade(args.impl)
    except GradingError as e:
        print(f"the checks did not finish:\n{e}")
        return 2
    print(paint(f"micrograd-kit · progress of {shown(args.impl)}/", "bold"))
    print()
    print("\n".join(table(report)))
    print()
    ex = next_exercise(report)
    if ex is None:
        print(paint("All seven exercises pass: your micrograd is complete.", "green"))
        print(f"  see it learn  {command('demo', None, args.impl)}")
    else:
        print("\n".join(advice(report, args.impl, ex)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
