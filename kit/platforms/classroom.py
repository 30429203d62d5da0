"""GitHub Classroom: `python -m kit classroom` writes the assignment's template repository
(kit/platforms/classroom_template.py, an instructor's tool that the template itself leaves out), and
`python -m kit classroom result NN`, which the template's workflow runs, grades one check for
Classroom's reporter.

    python -m kit classroom [--out classroom-template] [--force]     (make classroom)
    python -m kit classroom result NN

`result` runs `python -m kit check NN` as the learner would (its feedback goes to the workflow's
log), then writes the check's points as the output `result` of the workflow's step, in the format
of Classroom's runners (autograding-grading-reporter reads it): an entry per point of each test, so
that a check at 13/14 sends 13 where Classroom's command grader sends 0. The step ends
with status 0 whatever the check earned, as the command grader's does, so that the next check runs.
"""

import argparse
import base64
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kit.exercises import EXERCISES, POINTS, parse_id

MESSAGE = 1000  # characters of a test's message kept in the result: the log above has them all


def runner_result(ex, report):
    """The reporter's input for check `ex`, from the kit's JSON report (a dict, or None where the check
    gave none): {"version", "status", "max_score", "tests": [{"name", "status", "score", ...}]}.

    Each point of a test is an entry worth 1: the reporter sends the classroom the sum of the entries'
    scores, and its log's table shows the share of entries passed times max_score; with entries of
    equal worth the two agree, and both are the check's points."""
    tests = [t for t in (report or {}).get("tests", ()) if isinstance(t, dict) and t.get("check") == ex]
    if not tests:
        entries = [entry(f"check-{ex}", "error", 0, f"check-{ex} gave no result: its output above says why")]
        return {"version": 1, "status": "error", "max_score": POINTS[ex], "tests": entries}
    entries = []
    for t in tests:
        worth, earned = points(t)
        for i in range(worth):
            name = str(t.get("test")) + (f" ({i + 1} of {worth} points)" if worth > 1 else "")
            entries.append(entry(name, "pass" if i < earned else "fail", int(i < earned), t.get("message") or ""))
    status = "pass" if sum(e["score"] for e in entries) == POINTS[ex] else "fail"
    return {"version": 1, "status": status, "max_score": POINTS[ex], "tests": entries}


def points(test):
    """(what a test is worth, what it earned), as whole points within reason."""
    worth, earned = test.get("max"), test.get("points")
    worth = worth if type(worth) is int and 0 < worth <= max(POINTS.values()) else 1
    return worth, (earned if type(earned) is int and 0 <= earned <= worth else 0)


def entry(name, status, score, message):
    return {
        "name": name,
        "status": status,
        "score": score,
        "message": str(message)[:MESSAGE],
        "test_code": "",
        "filename": "",
        "line_no": 0,
        "duration": 0,
    }


def read_report(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def result(argv):
    parser = argparse.ArgumentParser(
        prog="python -m kit classroom result",
        description="Run kit check NN and write its points as the step output `result` of Classroom's runners "
        "(to $GITHUB_OUTPUT; printed where there is none). Exits 0 whatever the check earned.",
    )
    parser.add_argument("exercise", help=f"the check to run: {', '.join(EXERCISES)}")
    args = parser.parse_args(argv)
    try:
        ex = parse_id(args.exercise)
    except ValueError:
        parser.error(f"no exercise {args.exercise!r} ({', '.join(EXERCISES)})")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        sys.stdout.flush()
        subprocess.run([sys.executable, "-m", "kit", "check", ex, "--report", str(report)])
        data = runner_result(ex, read_report(report))
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    output = os.environ.get("GITHUB_OUTPUT")
    if not output:  # not in a workflow: show what the step would send
        print(json.dumps(data, indent=1))
        return 0
    with open(output, "a", encoding="utf-8") as f:
        f.write(f"result={encoded}\n")
    earned = sum(t["score"] for t in data["tests"])
    print(f"classroom: check-{ex} sends {earned}/{data['max_score']} points ({data['status']})")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["result"]:
        return result(argv[1:])
    try:
        classroom_template = importlib.import_module("kit.platforms.classroom_template")
    except ModuleNotFoundError as e:
        if e.name != "kit.platforms.classroom_template":
            raise
        print("python -m kit classroom: not part of this copy of the kit", file=sys.stderr)
        return 2
    return classroom_template.main(argv)


if __name__ == "__main__":
    sys.exit(main())
