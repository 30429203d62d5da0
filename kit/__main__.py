"""`python -m kit COMMAND ...`: the kit's one command line; every make target calls it.

`python -m kit COMMAND --help` describes a command's options.
"""

import importlib
import sys

from kit.errors import KitError, report
from kit.learner.install import MissingDependency, advice, too_old
from kit.term import tolerant_output

# command: (module, what it does), in the order the help lists them.
COMMANDS = {
    # the learner's
    "check": ("kit.learner.check", "grade exercises: check 03, check 03,04, check all (make check-03)"),
    "progress": ("kit.learner.progress", "points per exercise and the next TODO (make progress)"),
    "hints": ("kit.learner.hints", "the next hint of an exercise (make hint-03)"),
    "watch": ("kit.learner.watch", "re-run the first unfinished check on every save (make watch)"),
    "solution": ("kit.learner.solution", "the reference solution, once its check passes (make solution-03)"),
    "demo": ("kit.learner.demo", "train on two moons with your micrograd (make demo)"),
    "draw": ("kit.learner.draw", "draw a lesson's graph with your own Value"),
    "explain": ("kit.learner.explain", "the first failing graph of a check, explained (make explain-03)"),
    # the instructor's
    "grade": ("kit.instructor.grade", "grade a folder of submissions into a gradebook (make grade)"),
    "merge": ("kit.instructor.merge", "merge the gradebooks of shards graded apart (make merge-grades)"),
    "report": ("kit.instructor.report", "the class at a glance: report.html and grades-canvas.csv (make report)"),
    # the course platforms
    "nbgrader": ("kit.platforms.nbgrader", "write an nbgrader course, or grade it: nbgrader grade (make nbgrader)"),
    "gradescope": ("kit.platforms.gradescope", "build a Gradescope autograder.zip, or run it (make gradescope)"),
    "classroom": ("kit.platforms.classroom", "write a GitHub Classroom template repository (make classroom)"),
    # the maintainers'
    "stubs": ("kit.dev.stubs", "write exercises/ from solutions/, or --check it (make stubs)"),
    "figures": ("kit.dev.figures", "redraw the lessons' figures (make figures)"),
    "mutation": ("kit.dev.mutation", "mutation testing of the checks (make mutation)"),
    "mistakes": ("checks.mistakes", "write docs/mistakes.md from the catalogue, or --check it"),
    "bench": ("kit.dev.bench", "the benchmarks, written to docs/benchmarks.md (make bench)"),
    "seeds": ("kit.dev.seeds", "run the checks at many random seeds: full marks at every one? (make soak)"),
    "pythons": ("kit.dev.pythons", "the supported Pythons this machine has, one per line (.ci/run reads it)"),
    "exercises": ("kit.exercises", "list the exercise ids, one per line (the Makefile reads it)"),
}


def usage():
    width = max(map(len, COMMANDS))
    rows = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
    return "usage: python -m kit COMMAND [ARGS]\n\n" + __doc__.strip() + "\n\ncommands:\n" + "\n".join(rows)


def main(argv=None):
    tolerant_output()
    try:
        return command(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:  # Ctrl-C: one line and the conventional status, as `kit grade` ends
        print("interrupted", file=sys.stderr)
        return 130


def command(argv):
    if argv and argv[0] in COMMANDS and (why := too_old()):  # before a command's imports can fail on it
        print(why, file=sys.stderr)
        return 2
    if not argv or argv[0] not in COMMANDS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"python -m kit: no command {argv[0]!r}", file=sys.stderr)
        print(usage())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        module = importlib.import_module(COMMANDS[argv[0]][0])
    except ModuleNotFoundError as e:
        if e.name and COMMANDS[argv[0]][0].startswith(e.name):
            # A learner's copy of the kit (a Classroom template) leaves the instructor's tools out.
            print(f"python -m kit {argv[0]}: not part of this copy of the kit", file=sys.stderr)
            return 2
        if not e.name or e.name.split(".")[0] in ("kit", "checks"):
            raise
        return not_set_up(e.name, argv)  # a dependency this Python lacks: outside .venv, most likely
    try:
        return module.main(argv[1:])
    except MissingDependency as e:  # found before a command grades in a fresh process (progress, demo)
        return not_set_up(e.name, argv)
    except KitError as e:  # a refusal of the kit's own code: its message and exit status, no traceback
        return report(e)


def not_set_up(missing, argv):
    print(advice(missing, argv), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
