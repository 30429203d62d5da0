"""Scoring: a student's result from the judge's report, as pure functions of their inputs.

A result holds every check of the grading at its full maximum (`empty`), so that a student the
grader could not grade still shows what was at stake; `score` fills it from the judge's JSON report
(checks/report.py), which it treats as hostile data: a report of an unexpected shape, or one that
lost tests, is a grader error, unless the student's time ran out (then the rest scores 0).
"""

import json

from kit.exercises import EXERCISES, POINTS

STATUSES = ("graded", "ungradable", "error", "held")
# Not marked (empty cells, no adjustment, out of the class's totals): the grader failed on it (error), or
# one student sent more than one upload (held), and which counts is the instructor's to say.
UNMARKED = ("error", "held")


def empty(sid, status, reason, settings, notes=()):
    """A result without tests: every check of `settings["only"]` at its full maximum, nothing earned."""
    return {
        "id": sid,
        "status": status,
        "reason": reason,
        "notes": list(notes),
        **settings,
        "checks": {ex: {"earned": 0, "max": POINTS[ex]} for ex in settings["only"]},
        "tests": [],
        "review": [],
    }


def read_report(path):
    """The judge's report at `path` (a Path), None where it wrote none; ValueError where it is not JSON."""
    return json.loads(path.read_text()) if path.exists() else None


def verdict(data):
    """Why the judge's `data` (its report, or None) cannot be scored, or None when it can: the report
    is the judge's one answer, and a test that failed on the kit's side makes it a grader error."""
    if not isinstance(data, dict):
        return "the judge ended with no complete report"
    tests = data.get("tests")
    if isinstance(tests, list) and any(isinstance(t, dict) and t.get("kit_error") for t in tests):
        return "the judge's report names an error of the kit's own"
    return None


def score(sid, data, settings, notes=(), out_of_time=False, budget=None):
    """The result of the judge's report `data`; `budget` is the student's time in seconds, named when
    `out_of_time`."""
    if (why := verdict(data)) is not None and not (out_of_time and isinstance(data, dict)):
        return empty(sid, "error", why, settings, notes)
    result = empty(sid, "graded", "", settings, notes)
    only = settings["only"]
    try:
        tests = [t for t in data["tests"] if t["check"] in result["checks"]]
        for t in tests:
            result["checks"][t["check"]]["earned"] += int(t["points"])
        for ex, c in data.get("checks", {}).items():  # what each check ran on (checks/base/)
            if ex in result["checks"]:
                result["checks"][ex]["base"] = sorted({b for b in c.get("base", ()) if b in EXERCISES})
        missing = {ex: POINTS[ex] - sum(int(t["max"]) for t in tests if t["check"] == ex) for ex in only}
        review = [r for r in data.get("review", []) if isinstance(r, dict)]
    except (KeyError, TypeError, ValueError, AttributeError):
        return empty(sid, "error", "the judge's report had an unexpected shape", settings, notes)
    if any(n < 0 for n in missing.values()) or (any(missing.values()) and not out_of_time):
        return empty(sid, "error", "the judge's report lost some tests", settings, notes)
    if out_of_time:
        spent = f"{budget:g} s"
        result["reason"] = f"the grading time of {spent} per student ran out; the remaining tests score 0"
        tests += [
            {
                "check": ex,
                "test": f"the remaining tests of check-{ex}",
                "status": "timeout",
                "points": 0,
                "max": rest,
                "message": f"Not run: this submission used up its {spent} of grading time.",
                "mistake": None,
            }
            for ex, rest in missing.items()
            if rest
        ]
    result["tests"], result["review"] = tests, review
    return result
