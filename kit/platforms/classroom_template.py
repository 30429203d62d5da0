"""GitHub Classroom: the assignment's template repository, with a workflow that runs the seven checks.

    python -m kit classroom [--out classroom-template] [--force]     (make classroom)

Writes a folder ready to push as the template repository: the learner's part of the kit
(exercises/, the checks, the lessons, the learner's commands) without solutions/, the kit's own
tests, kit/dev/ or the instructor's tools (this module among them), a learner's README
(kit/platforms/template/README.md, its path written from kit/exercises.py) and Makefile (the kit's
own, its learner targets only: no solution-NN, no instructor target), and
.github/workflows/classroom.yml, which sets the kit up, runs each check as one step
(`python -m kit classroom result NN`: the points it earned, kit/platforms/classroom.py) and sends
their sum to the classroom with Classroom's reporter. The learner owns the repository and can edit
the workflow and the checks, so this is practice feedback, not an exam: grade for marks with
`kit grade` or Gradescope.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, TREE, doc_path
from kit.learner.install import lacking
from kit.regions import render

WORKFLOW = ".github/workflows/classroom.yml"
VENV_PYTHON = ".venv/bin/python"  # what `make setup` makes, on the workflow's Linux runner
# What the learner's copy holds, relative to the kit's root; folders are copied whole but for LEFT_OUT.
SHIPPED = ("Makefile", "README.md", "pyproject.toml", ".gitignore", "exercises", "checks", "docs", "kit")
LEFT_OUT = (
    "docs/instructor",
    "docs/ARCHITECTURE.md",
    "docs/benchmarks.md",
    "docs/mutation.md",
    "kit/dev",
    "kit/instructor",
    "kit/platforms/classroom_template.py",
    "kit/platforms/gradescope.py",
    "kit/platforms/lateness.py",
    "kit/platforms/schemas",
    "kit/platforms/template",
)
# The Makefile's rules a learner's copy keeps (by the name of their targets): setting up, and the
# learner's commands. The solutions are not in the copy, and the instructor's tools are not either.
NOT_HERE = re.compile(r"solution|the reference")
LEARNER_TARGETS = ("setup", "$(STAMP)", ".extra", "check", "progress", "hint", "explain", "watch", "demo")
# Of the nbgrader course, only what the notebooks import (a hub may install this copy for them).
NBGRADER = ("kit/platforms/nbgrader/__init__.py", "kit/platforms/nbgrader/notebook.py")

HEADER = """\
# Autograding for GitHub Classroom, written by `make classroom`. Practice feedback only: the
# learner owns this repository and can change this file and the checks. Each check's step sends
# the points the check earned (python -m kit classroom result NN) to the reporter.
"""


def workflow():
    """The workflow as data: the kit set up, one step per check that sends its points, then the reporter."""
    ids = [f"check-{ex}" for ex in EXERCISES]
    steps = [
        {"name": "Checkout code", "uses": "actions/checkout@v4"},
        {"name": "Set up Python", "uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
        # A .venv the learner committed (another machine's, or one holding a .pth that forces a
        # result) never stands in for the kit's own: the checks run in a fresh one.
        {"name": "Set up the kit", "run": "rm -rf .venv && make setup"},
    ]
    for ex, e in EXERCISES.items():
        steps.append(
            {
                "name": f"check-{ex} {e.title}",
                "id": f"check-{ex}",
                "run": f"{VENV_PYTHON} -m kit classroom result {ex}",
                "timeout-minutes": 10,
            }
        )
    steps.append(
        {
            "name": "Autograding Reporter",
            "uses": "classroom-resources/autograding-grading-reporter@v1",
            "env": {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids},
            "with": {"runners": ",".join(ids)},
        }
    )
    return {
        "name": "Autograding Tests",
        "on": ["push", "repository_dispatch"],
        "permissions": {"checks": "write", "actions": "read", "contents": "read"},
        "jobs": {
            "run-autograding-tests": {
                "runs-on": "ubuntu-latest",
                "if": "github.actor != 'github-classroom[bot]'",
                "steps": steps,
            }
        },
    }


def workflow_yaml():
    import yaml

    return HEADER + yaml.safe_dump(workflow(), sort_keys=False, width=120)


def _rule(block):
    """The name of the rule a Makefile paragraph defines (`hint` for `$(addprefix hint-,...): ...`), or None."""
    for line in block.splitlines():
        if line and not line.startswith(("#", "\t")) and re.match(r"^[^=]*[^:=]:([^=]|$)", line):
            target = line.split(":")[0].strip()
            m = re.fullmatch(r"\$\(addprefix (\w+)-,.*", target) or re.fullmatch(r"\$\(VENV\)/(\.extra)-.*", target)
            return (m[1] if m else target), target
    return None


def learner_makefile(root=ROOT):
    """The learner's Makefile: the kit's own, with its settings and its learner rules only (LEARNER_TARGETS)."""
    blocks = (root / "Makefile").read_text(encoding="utf-8").split("\n\n")
    header = [b for b in blocks[: next(i for i, b in enumerate(blocks) if b.startswith(".PHONY"))]]
    kept = [b for b in blocks if (r := _rule(b)) and r[0] in LEARNER_TARGETS]
    # A comment about the solutions or the reference speaks of what this copy does not hold.
    kept = [
        "\n".join(line for line in b.splitlines() if not (line.startswith("#") and NOT_HERE.search(line))) for b in kept
    ]
    phony = [r[1] for b in kept if (r := _rule(b))[0] not in ("$(STAMP)", ".extra")]
    first = "# micrograd: your copy of the kit. Every target calls its one CLI, python -m kit COMMAND (README.md)."
    header[0] = "\n".join([first, *header[0].splitlines()[1:]])
    return "\n\n".join([*header, ".PHONY: " + " ".join(phony), *kept]).rstrip("\n") + "\n"


def learner_readme():
    """The learner's README: kit/platforms/template/README.md with the path of exercises written in."""
    rows = ["| step | lesson | grade it |", "|---|---|---|"]
    rows += [f"| {ex} {e.title} | `{doc_path(ex)}` | `make check-{ex}` |" for ex, e in EXERCISES.items()]
    text = (ROOT / "kit" / "platforms" / "template" / "README.md").read_text(encoding="utf-8")
    return text.replace("@PATH@", "\n".join(rows))


# The files of the learner's copy written for it rather than copied from the kit.
WRITTEN = {"Makefile": learner_makefile, "README.md": learner_readme}
STUBS = "exercises/"  # its tree's files are the stubs, written from solutions/
LESSONS = "docs/"  # written without what the copy cannot do: the solutions are not in it


def shipped_files(root=ROOT):
    """The files of the learner's copy, relative to `root`, sorted: of those git tracks where `root` is a
    git checkout (an instructor's notes or scratch files never ship), exercises/ as the stubs' tree."""
    tracked = git_files(root)
    files = []
    for part in SHIPPED:
        path = root / part
        for f in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            rel = f.relative_to(root).as_posix()
            if "__pycache__" in rel or any(rel == x or rel.startswith(x + "/") for x in LEFT_OUT):
                continue
            if rel.startswith("kit/platforms/nbgrader/") and rel not in NBGRADER:
                continue
            if rel.startswith(STUBS) and rel.removeprefix(STUBS) not in TREE:
                continue
            if tracked is not None and rel not in tracked and rel not in WRITTEN:
                continue
            files.append(rel)
    return files


def git_files(root):
    """The files git tracks in `root`, or None where it is no git checkout (a kit from an archive)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return set(os.fsdecode(listed.stdout).split("\0")) - {""} if listed.returncode == 0 else None


def shipped_text(rel):
    """The text of a file written for the learner's copy: the Makefile and README, exercises/ as
    solutions/ renders the stubs, whatever the instructor's own exercises/ holds now, and the lessons
    without what this copy cannot do (grade the reference, show a solution)."""
    if rel in WRITTEN:
        return WRITTEN[rel]()
    if rel.startswith(STUBS):
        rel = rel.removeprefix(STUBS)
        return render((ROOT / "solutions" / rel).read_text(encoding="utf-8"), 0, rel)
    text = (ROOT / rel).read_text(encoding="utf-8")
    text = text.replace(
        " None of them is the answer itself: that is `make solution-03`,\nwhich opens once your check passes.",
        " None of them is the answer itself.",
    )
    return "\n\n".join(p for p in text.split("\n\n") if "IMPL=solutions" not in p)


def write_template(out, force=False):
    """Write the template repository into `out` (which must not exist, unless `force`)."""
    out = Path(out)
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists: remove it, or pass --force to replace it")
        shutil.rmtree(out)
    for rel in shipped_files():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel in WRITTEN or rel.startswith(STUBS) or (rel.startswith(LESSONS) and rel.endswith(".md")):
            (out / rel).write_text(shipped_text(rel), encoding="utf-8")
        else:
            shutil.copy2(ROOT / rel, out / rel)
    (out / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (out / WORKFLOW).write_text(workflow_yaml(), encoding="utf-8")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="classroom-template", help="the folder to write (default classroom-template)")
    parser.add_argument("--force", action="store_true", help="replace the folder if it exists")
    args = parser.parse_args(argv)
    if why := lacking("yaml", "instructor", "PyYAML"):
        print(why, file=sys.stderr)
        return 2
    try:
        out = write_template(args.out, args.force)
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}/: the assignment's template repository, with {WORKFLOW}")
    print(
        f"next: cd {out} && git init && git add . && git commit -m template, and push it (docs/instructor/classroom.md)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
