"""GitHub Classroom: a workflow that grades the seven checks as seven autograding steps.

    python -m kit classroom [--out .github/workflows/classroom.yml]     (make classroom)

For a template repository made from this kit: each step runs `make check-NN` with GitHub
Classroom's command grader, worth that check's maximum when the check passes in full, and the
grading reporter adds them up. The learner owns the repository and can edit the workflow and the
checks, so this is practice grading, not an exam: grade for marks with `make grade`.
"""

import argparse
import sys
from pathlib import Path

from kit.exercises import EXERCISES, POINTS

HEADER = """\
# Autograding for GitHub Classroom, written by `make classroom`. Practice grading only: the
# learner owns this repository. Each step passes when `make check-NN` earns full marks.
name: Autograding Tests
'on':
- push
- repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
    - name: Checkout code
      uses: actions/checkout@v4
    - name: Set up Python
      uses: actions/setup-python@v5
      with:
        python-version: '3.11'
"""

STEP = """\
    - name: check-{ex}
      id: check-{ex}
      uses: classroom-resources/autograding-command-grader@v1
      with:
        test-name: check-{ex} {title}
        setup-command: make setup
        command: make check-{ex}
        timeout: 10
        max-score: {points}
"""


def workflow():
    steps = []
    for ex, title in ((e.id, e.title) for e in EXERCISES.values()):
        points = POINTS[ex]
        steps.append(STEP.format(ex=ex, title=title, points=points))
    ids = [f"check-{ex}" for ex in EXERCISES]
    reporter = [
        "    - name: Autograding Reporter",
        "      uses: classroom-resources/autograding-grading-reporter@v1",
        "      env:",
    ]
    reporter += [f'        {i.upper()}_RESULTS: "${{{{steps.{i}.outputs.result}}}}"' for i in ids]
    reporter += ["      with:", f"        runners: {','.join(ids)}"]
    return HEADER + "".join(steps) + "\n".join(reporter) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=".github/workflows/classroom.yml", help="where to write the workflow")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(workflow())
    print(f"wrote {out}: commit it to the assignment's template repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
