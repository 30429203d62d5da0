"""A gradebook an LMS imports: grades-canvas.csv in the layout of Canvas's gradebook import.

Canvas reads a header row whose first columns are `Student, ID, SIS User ID, SIS Login ID, Section`,
then one column per assignment; a row whose first cell holds "Points Possible" sets each
assignment's maximum; every other row is a student. Canvas finds a student by ID (its own
numeric user id), else by SIS User ID, else by SIS Login ID, else by name. The kit knows a
student only by the id the submission is named after, so that id goes into the SIS column the
instructor names (SIS Login ID unless told otherwise) and into Student, and ID stays empty. A
column whose title matches no assignment becomes a new assignment. Moodle takes grades.csv itself
(docs/instructor/report.md). `kit report` writes this file from grades.json; `kit grade` does not.
"""

import csv
import io

from kit.escape import cell
from kit.exercises import EXERCISES

STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
KEYS = {"sis-login-id": "SIS Login ID", "sis-user-id": "SIS User ID"}


def assignment(ex):
    """The Canvas assignment of check `ex`: its column title."""
    return f"micrograd check-{ex}: {EXERCISES[ex].title}"


def graded_checks(results, settings):
    """The checks this gradebook graded, in the path's order."""
    only = settings.get("only")
    if only:
        return [ex for ex in EXERCISES if ex in only]
    seen = {ex for r in results for ex in r.get("checks", {})}
    return [ex for ex in EXERCISES if ex in seen]


def canvas_csv(results, settings, key="sis-login-id"):
    """grades-canvas.csv: the header, the Points Possible row, one row per student sorted by id.

    Every student gets a number in every graded check (0 for a submission that could not be
    graded, as in grades.csv), so an import never leaves an old score standing by accident."""
    checks = graded_checks(results, settings)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*STUDENT_COLUMNS, *(assignment(ex) for ex in checks)])
    writer.writerow(["Points Possible", "", "", "", "", *(EXERCISES[ex].points for ex in checks)])
    for r in sorted(results, key=lambda r: r["id"]):
        ids = {"Student": cell(r["id"]), KEYS[key]: cell(r["id"])}
        cells = [ids.get(column, "") for column in STUDENT_COLUMNS]
        writer.writerow([*cells, *(r["checks"].get(ex, {}).get("earned", 0) for ex in checks)])
    return out.getvalue()
