"""GitHub Classroom: the assignment's template repository, with a workflow that runs the seven checks.

    python -m kit classroom [--out classroom-template] [--force]     (make classroom)

Writes a folder ready to push as the template repository: the learner's part of the kit
(exercises/, the checks, the lessons, the learner's commands) without solutions/, the kit's own
tests, kit/dev/ or the instructor's tools, and .github/workflows/classroom.yml, in which each
check is one step of GitHub Classroom's command grader, worth that check's maximum when
`make check-NN` earns full marks. The learner owns the repository and can edit the workflow and
the checks, so this is practice feedback, not an exam: grade for marks with `kit grade` or
Gradescope.
"""

import argparse
import shutil
import sys
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, POINTS

WORKFLOW = ".github/workflows/classroom.yml"
# What the learner's copy holds, relative to the kit's root; folders are copied whole but for LEFT_OUT.
SHIPPED = ("Makefile", "README.md", "pyproject.toml", ".gitignore", "exercises", "checks", "docs", "kit")
LEFT_OUT = (
    "docs/instructor",
    "docs/ARCHITECTURE.md",
    "docs/benchmarks.md",
    "docs/mutation.md",
    "kit/dev",
    "kit/instructor",
    "kit/platforms/classroom.py",
    "kit/platforms/gradescope.py",
    "kit/platforms/schemas",
)
# Of the nbgrader course, only what the notebooks import (a hub may install this copy for them).
NBGRADER = ("kit/platforms/nbgrader/__init__.py", "kit/platforms/nbgrader/notebook.py")

HEADER = """\
# Autograding for GitHub Classroom, written by `make classroom`. Practice feedback only: the
# learner owns this repository and can change this file and the checks. Each step passes when
# `make check-NN` earns full marks.
"""


def workflow():
    """The workflow as data: one command-grader step per check, then the reporter of them all."""
    ids = [f"check-{ex}" for ex in EXERCISES]
    steps = [
        {"name": "Checkout code", "uses": "actions/checkout@v4"},
        {"name": "Set up Python", "uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
    ]
    for ex, e in EXERCISES.items():
        steps.append(
            {
                "name": f"check-{ex}",
                "id": f"check-{ex}",
                "uses": "classroom-resources/autograding-command-grader@v1",
                "with": {
                    "test-name": f"check-{ex} {e.title}",
                    "setup-command": "make setup",
                    "command": f"make check-{ex}",
                    "timeout": 10,
                    "max-score": POINTS[ex],
                },
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


def shipped_files(root=ROOT):
    """The files of the learner's copy, relative to `root`, sorted."""
    files = []
    for part in SHIPPED:
        path = root / part
        for f in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            rel = f.relative_to(root).as_posix()
            if "__pycache__" in rel or any(rel == x or rel.startswith(x + "/") for x in LEFT_OUT):
                continue
            if rel.startswith("kit/platforms/nbgrader/") and rel not in NBGRADER:
                continue
            files.append(rel)
    return files


def write_template(out, force=False):
    """Write the template repository into `out` (which must not exist, unless `force`)."""
    out = Path(out)
    if out.exists():
        if not force:
            raise FileExistsError(f"{out} exists: remove it, or pass --force to replace it")
        shutil.rmtree(out)
    for rel in shipped_files():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, out / rel)
    (out / WORKFLOW).parent.mkdir(parents=True, exist_ok=True)
    (out / WORKFLOW).write_text(workflow_yaml(), encoding="utf-8")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="classroom-template", help="the folder to write (default classroom-template)")
    parser.add_argument("--force", action="store_true", help="replace the folder if it exists")
    args = parser.parse_args(argv)
    try:
        import yaml  # noqa: F401
    except ImportError:
        print("error: PyYAML is not installed: pip install -e '.[instructor]'", file=sys.stderr)
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
