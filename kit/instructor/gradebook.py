"""The gradebook: grades.csv, grades.json and one feedback file per student, written atomically; and
the one check of what a tool reads back (grades.json, a shard's, a kept result) against what
`kit grade` writes.
"""

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

from kit import untrusted
from kit.escape import cell, escape, escape_line
from kit.exercises import EXERCISES, POINTS
from kit.instructor import adjust, score

HEADER = ["student", *(f"check-{ex}" for ex in EXERCISES), "total"]
KEPT_MAX = 16 << 20  # bytes of one kept result (a student's is some tens of KB)


class Invalid(ValueError):
    """A gradebook or a kept result that is not as `kit grade` writes one; says what is wrong."""


def shown(value, width=60):
    """A value read from a gradebook, as an error message may quote it."""
    return escape_line(repr(value))[:width]


def loads(text):
    """JSON as a gradebook holds it: NaN and Infinity are refused, as no grade is either."""

    def refuse(name):
        raise Invalid(f"{name} is not a number a gradebook holds")

    try:
        return json.loads(text, parse_constant=refuse)
    except RecursionError:
        raise Invalid("its JSON is nested too deeply") from None
    except Invalid:
        raise
    except ValueError as e:
        raise Invalid(f"not JSON ({e})") from None


def read(path):
    """grades.json at `path`, checked (see `checked`); Invalid says what is wrong."""
    return checked(loads(Path(path).read_text(encoding="utf-8")))


def read_kept(path):
    """The result kept at `path` (OUT/.results/<id>.json), checked (see `checked_result`), read as a file
    from outside is (kit/untrusted.py); OSError or ValueError (Invalid among them) where it is not one."""
    return checked_result(loads(untrusted.read_text(path, KEPT_MAX)))


def checked(data):
    """`data` if it is a gradebook as `kit grade` writes it: a list of students, each a valid result."""
    if not isinstance(data, dict) or not isinstance(data.get("students"), list):
        raise Invalid("no list of students")
    only = data.get("only", [])
    if not isinstance(only, list) or not all(isinstance(ex, str) and ex in POINTS for ex in only):
        raise Invalid(f"its checks graded ('only') are not a list of checks: {shown(only)}")
    seen = set()
    for i, r in enumerate(data["students"]):
        checked_result(r, f"student #{i + 1}")
        if r["id"] in seen:
            raise Invalid(f"student {shown(r['id'], 120)} has more than one row")
        seen.add(r["id"])
    return data


def checked_result(r, where="the result"):
    """`r` if it is one student's result as `kit grade` writes it: an id, every check within its
    maximum, a known status, and tests, notes and review of the types feedback and reports read."""
    if not isinstance(r, dict) or not isinstance(r.get("id"), str):
        raise Invalid(f"{where} has no id")
    who = f"student {shown(r['id'], 120)}"
    checks = r.get("checks")
    if not isinstance(checks, dict) or not checks:
        raise Invalid(f"{who} has no checks")
    for ex, c in checks.items():
        earned, most = (c.get("earned"), c.get("max")) if isinstance(c, dict) else (None, None)
        if ex not in POINTS or most != POINTS[ex] or type(earned) is not int or not 0 <= earned <= most:
            raise Invalid(f"{who} has a malformed check {shown(ex, 20)}: out of its bounds ({shown(c)})")
        base = c.get("base", [])
        if not isinstance(base, list) or not all(isinstance(b, str) for b in base):
            raise Invalid(f"{who} has a malformed check {shown(ex, 20)}: its base is not a list of exercises")
    for key in ("name", "graded_at"):  # what a merge compares and the feedback's readers take for text
        if not isinstance(r.get(key, ""), str):
            raise Invalid(f"{who} has a {key} that is not text")
    if r.get("status") not in score.STATUSES:
        raise Invalid(f"{who} has the status {shown(r.get('status'))}")
    if not isinstance(r.get("reason"), str):  # "" where there is none: the feedback reads it
        raise Invalid(f"{who} has a reason that is not text")
    tests = r.get("tests")
    if not isinstance(tests, list) or not all(valid_test(t, checks) for t in tests):
        raise Invalid(f"{who} has malformed tests")
    for key, kind in (("notes", str), ("review", dict), ("adjustments", dict)):
        if not isinstance(r.get(key, []), list) or not all(isinstance(x, kind) for x in r.get(key, [])):
            raise Invalid(f"{who} has malformed {key}")
    if not all(valid_adjustment(a, checks) for a in r.get("adjustments", [])) or not valid_total(r):
        raise Invalid(f"{who} has malformed adjustments or an adjusted total out of its bounds")
    if not all(0 <= points <= POINTS[ex] for ex, points in adjust.adjusted_checks(r).items()):
        raise Invalid(f"{who} has a check adjusted out of its bounds")
    if not valid_lateness(r.get("lateness")):
        raise Invalid(f"{who} has a malformed lateness ({shown(r.get('lateness'))})")
    return r


def valid_adjustment(a, checks):
    """Whether `a` is one adjustment as kit/instructor/adjust.py applies it, to one of `checks` or the total."""
    number = type(a.get("points")) in (int, float) and abs(a["points"]) <= 1e6
    texts = all(isinstance(a.get(k), str) for k in ("reason", "asked"))
    return number and texts and isinstance(a.get("check"), str) and (a["check"] == "total" or a["check"] in checks)


def valid_lateness(late):
    """Whether `late` is absent or a lateness record as kit/instructor/adjust.py writes it (what feedback reads)."""
    if late is None:
        return True
    if not isinstance(late, dict) or not isinstance(late.get("deadline"), str):
        return False
    if type(late.get("extended")) is not bool:
        return False
    if late.get("submitted") is None:  # then the note says why there is no penalty
        return isinstance(late.get("note"), str) and late["note"] != ""
    seconds = late.get("late_seconds")
    return isinstance(late["submitted"], str) and type(seconds) is int and seconds >= 0


def valid_total(r):
    most = sum(c["max"] for c in r["checks"].values())
    return "total" not in r or (type(r["total"]) in (int, float) and 0 <= r["total"] <= most)


def valid_test(t, checks):
    """Whether `t` is one test's result as the judge reports it, of one of `checks`, within its maximum."""
    if not isinstance(t, dict) or not isinstance(t.get("check"), str) or t["check"] not in checks:
        return False
    points, most = t.get("points"), t.get("max")
    if type(points) is not int or type(most) is not int or not 0 <= points <= most:
        return False
    texts = (t.get("test"), t.get("status"))
    return all(isinstance(x, str) for x in texts) and all(  # both are there, text or null (the contract's report)
        k in t and isinstance(t[k], (str, type(None))) for k in ("message", "mistake")
    )


def write_atomic(path, text):
    """Write `text` to `path` so that a reader sees the old file or the new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def total(result):
    """The student's total: after the adjustments where they were applied (kit/instructor/adjust.py)."""
    return result["total"] if "total" in result else sum(c["earned"] for c in result["checks"].values())


def csv_text(results):
    """grades.csv; a row not marked (a grader error, two uploads held) has empty cells, never a zero the
    student did not earn."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in sorted(results, key=lambda r: r["id"]):
        if r["status"] in score.UNMARKED:
            writer.writerow([cell(r["id"]), *("" for _ in EXERCISES), ""])
            continue
        points = adjust.adjusted_checks(r)  # the raw points where nothing was adjusted
        writer.writerow([cell(r["id"]), *(points.get(ex, "") for ex in EXERCISES), total(r)])
    return out.getvalue()


def fenced(text):
    """`text` in a fenced block that no run of backticks inside it can close."""
    text = escape(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *text.splitlines(), fence]


def feedback(result, titles):
    """What a student reads: each check's score and each failed test's teaching message."""
    most = sum(c["max"] for c in result["checks"].values())
    lines = [f"# Feedback for {result['id']}", ""]
    if result["status"] == "error":
        lines += [
            "The grader itself failed on this submission; it is not marked yet and will be graded again.",
            "",
            *fenced(result["reason"]),
            "",
        ]
    elif result["status"] == "held":
        lines += ["This submission is not marked yet:", "", *fenced(result["reason"]), ""]
    elif result["status"] != "graded":
        lines += [
            "This submission could not be graded:",
            "",
            *fenced(result["reason"]),
            "",
            "Every check scores 0. Fix this and submit again.",
            "",
        ]
    elif result["reason"]:
        lines += [escape(result["reason"]) + ".", ""]
    if result["status"] not in score.UNMARKED:  # no table of zeros that are no one's score
        lines += [f"**Total: {total(result)}/{most} points**", "", "| check | points |", "|---|---|"]
        lines += [
            f"| check-{ex} {titles[ex]}{on_base(c)} | {c['earned']}/{c['max']} |"
            for ex, c in sorted(result["checks"].items())
        ]
        lines += adjust_lines(result)
    if result.get("notes"):
        lines += ["", "Notes on the files:", "", *fenced("\n".join(f"- {n}" for n in result["notes"]))]
    if result.get("review"):
        lines += ["", "Marked for your instructor's review:", ""]
        lines += fenced(
            "\n".join(f"- check-{r.get('check')} {r.get('test')}: {r.get('reason')}" for r in result["review"])
        )
    for ex in sorted(result["checks"]):
        failed = [t for t in result["tests"] if t["check"] == ex and t["status"] != "pass"]
        if not failed:
            continue
        c = result["checks"][ex]
        lines += ["", f"## check-{ex} · {titles[ex]}: {c['earned']}/{c['max']}", ""]
        for t in failed:
            lines.append(f"- **{escape(t['status']).upper()}** ({t['points']}/{t['max']}) {escape(t['test'])}")
            if t["message"]:
                lines += ["", *("  " + line if line else "" for line in fenced(t["message"])), ""]
    return "\n".join(lines) + "\n"


# What grades.json says of how it was made, beside the settings: not compared as a setting. kit_version
# is the hash of the kit's code (kit/version.py), which changes with every change that may change a
# grade, where the package's version number does not: kit merge compares it on its own, naming each shard's.
STAMPS = ("kit_version", "graded_at")


def on_base(check):
    """' (on the kit's code for 04, 05)' where a check ran on the known-good base (docs/checks.md)."""
    base = check.get("base") or []
    return f" (on the kit's code for {', '.join(base)})" if base else ""


def adjust_lines(result):
    """The feedback's account of the adjustments and the lateness applied (kit/instructor/adjust.py)."""
    lines, late = [], result.get("lateness")
    if result.get("adjustments"):
        raw = sum(c["earned"] for c in result["checks"].values())
        lines += ["", f"Adjusted by your instructor: {raw} points from the checks, {total(result)} after these:", ""]
        lines += fenced(
            "\n".join(
                f"- {'the total' if a['check'] == 'total' else 'check-' + a['check']}: {a['points']:+g} "
                f"(asked {a['asked']}{', kept within bounds' if a.get('clipped') else ''}): {a['reason']}"
                for a in result["adjustments"]
            )
        )
    if late:
        due = f"{'your extended' if late['extended'] else 'the'} deadline {late['deadline']}"
        said = late.get("note") or f"submitted {late['submitted']}, {'after' if late['late_seconds'] else 'by'} {due}"
        lines += ["", *fenced(f"Deadline: {said}" + (f" ({due})" if late.get("note") else ""))]
    return lines


def write(out, results, settings, kit, plan=None):
    """grades.csv, grades.json and feedback/<id>.md for every result; grades.json also says which
    kit graded them (`kit`: the grader's code hash, read once as its grading began, or the shards'
    in kit merge) and when the last of them was graded. With a `plan` (kit/instructor/adjust.py), its
    adjustments and late penalty are applied afresh to the raw results and recorded."""
    out = Path(out)
    if plan is not None:
        results, settings = [adjust.apply(r, plan) for r in results], {**settings, **plan.settings()}
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    titles = {ex: e.title for ex, e in EXERCISES.items()}
    results = sorted(results, key=lambda r: r["id"])
    for r in results:
        write_atomic(out / "feedback" / f"{r['id']}.md", feedback(r, titles))
    kept = {f"{r['id']}.md" for r in results}
    for stale in (out / "feedback").glob("*.md"):  # a student no longer in the gradebook: not sent by mistake
        if stale.name not in kept:
            stale.unlink()
    latest = max((r.get("graded_at", "") for r in results), default="")
    stamps = {"kit_version": kit, "graded_at": latest}
    write_atomic(out / "grades.json", json.dumps({**settings, **stamps, "students": results}, indent=1) + "\n")
    write_atomic(out / "grades.csv", csv_text(results))
