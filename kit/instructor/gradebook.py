"""Write the gradebook: grades.csv, grades.json and one feedback file per student, atomically."""

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path

from kit.escape import cell, escape
from kit.exercises import EXERCISES
from kit.version import code_hash

HEADER = ["student", *(f"check-{ex}" for ex in EXERCISES), "total"]


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
    return sum(c["earned"] for c in result["checks"].values())


def csv_text(results):
    """grades.csv; a grader error leaves its row's cells empty, never a zero the student did not earn."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in sorted(results, key=lambda r: r["id"]):
        if r["status"] == "error":
            writer.writerow([cell(r["id"]), *("" for _ in EXERCISES), ""])
            continue
        writer.writerow([cell(r["id"]), *(r["checks"].get(ex, {}).get("earned", "") for ex in EXERCISES), total(r)])
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
    lines += [f"**Total: {total(result)}/{most} points**", "", "| check | points |", "|---|---|"]
    lines += [
        f"| check-{ex} {titles[ex]}{on_base(c)} | {c['earned']}/{c['max']} |"
        for ex, c in sorted(result["checks"].items())
    ]
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


# What grades.json says of how it was made, beside the settings: not a setting shards must share.
# kit_version is the hash of the kit's code (kit/version.py), which changes with every change that
# may change a grade, where the package's version number does not.
STAMPS = ("kit_version", "graded_at")


def on_base(check):
    """' (on the kit's code for 04, 05)' where a check ran on the known-good base (docs/checks.md)."""
    base = check.get("base") or []
    return f" (on the kit's code for {', '.join(base)})" if base else ""


def write(out, results, settings):
    """grades.csv, grades.json and feedback/<id>.md for every result; grades.json also says which
    kit graded them and when the last of them was graded."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    titles = {ex: e.title for ex, e in EXERCISES.items()}
    results = sorted(results, key=lambda r: r["id"])
    for r in results:
        write_atomic(out / "feedback" / f"{r['id']}.md", feedback(r, titles))
    stamps = {"kit_version": code_hash(), "graded_at": max((r.get("graded_at", "") for r in results), default="")}
    write_atomic(out / "grades.json", json.dumps({**settings, **stamps, "students": results}, indent=1) + "\n")
    write_atomic(out / "grades.csv", csv_text(results))
