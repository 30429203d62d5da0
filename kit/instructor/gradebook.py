"""Write the gradebook: grades.csv, grades.json and one feedback file per student, atomically."""

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from kit.exercises import EXERCISES

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
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in sorted(results, key=lambda r: r["id"]):
        writer.writerow([r["id"], *(r["checks"].get(ex, {}).get("earned", "") for ex in EXERCISES), total(r)])
    return out.getvalue()


def feedback(result, titles):
    """What a student reads: each check's score and each failed test's teaching message."""
    most = sum(c["max"] for c in result["checks"].values())
    lines = [f"# Feedback for {result['id']}", ""]
    if result["status"] != "graded":
        lines += [
            f"This submission could not be graded: {result['reason']}.",
            "",
            "Every check scores 0. Fix this and submit again.",
            "",
        ]
    lines += [f"**Total: {total(result)}/{most} points**", "", "| check | points |", "|---|---|"]
    lines += [f"| check-{ex} {titles[ex]} | {c['earned']}/{c['max']} |" for ex, c in sorted(result["checks"].items())]
    if result.get("notes"):
        lines += ["", "Notes on the files:", *(f"- {n}" for n in result["notes"])]
    for ex in sorted(result["checks"]):
        failed = [t for t in result["tests"] if t["check"] == ex and t["status"] != "pass"]
        if not failed:
            continue
        c = result["checks"][ex]
        lines += ["", f"## check-{ex} · {titles[ex]}: {c['earned']}/{c['max']}", ""]
        for t in failed:
            lines.append(f"- **{t['status'].upper()}** ({t['points']}/{t['max']}) {t['test']}")
            lines += [f"  > {line}" if line else "  >" for line in t["message"].splitlines()]
    return "\n".join(lines) + "\n"


def write(out, results, settings):
    """grades.csv, grades.json and feedback/<id>.md for every result."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    titles = {ex: e.title for ex, e in EXERCISES.items()}
    results = sorted(results, key=lambda r: r["id"])
    for r in results:
        write_atomic(out / "feedback" / f"{r['id']}.md", feedback(r, titles))
    write_atomic(out / "grades.json", json.dumps({**settings, "students": results}, indent=1) + "\n")
    write_atomic(out / "grades.csv", csv_text(results))
