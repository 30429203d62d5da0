"""A gradebook an LMS imports: grades-canvas.csv in the layout of Canvas's gradebook import.

Canvas reads a header row whose first columns are `Student, ID, SIS User ID, SIS Login ID, Section`,
then one column per assignment; a row whose first cell holds "Points Possible" sets each
assignment's maximum; every other row is a student. Canvas finds a student by ID (its own
numeric user id), else by SIS User ID, else by SIS Login ID, else by name. The kit knows a
student only by the id the submission is named after, so that id, as submitted (not the safe name
an id such as `o'brien@uni.edu` is graded under), goes into the SIS column the instructor names (SIS
Login ID unless told otherwise) and into Student, and ID stays empty.

Canvas's own export titles an assignment's column `Name (id)`, and its import matches a column to
an existing assignment by that id, else by the name; a column that matches none becomes a new
assignment. So by default each check gets a new assignment of its own title, and
`kit report --canvas-assignment NN=NAME` (or `total=NAME`, the total of the graded checks) puts the
points into the assignment the instructor already made, titled as Canvas's export titles it.
Moodle takes grades.csv itself (docs/instructor/report.md). `kit report` writes this file from
grades.json; `kit grade` does not.
"""

import csv
import io
import re

from kit.escape import cell, escape_line
from kit.exercises import EXERCISES
from kit.instructor import adjust, gradebook, ids, score
from kit.instructor.adjust import number

STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
KEYS = {"sis-login-id": "SIS Login ID", "sis-user-id": "SIS User ID"}


CANVAS_ID = re.compile(r"\((\d+)\)\s*$")  # how Canvas's export ends an assignment's title: `Name (id)`
TOTAL = "total"  # a column of the total: every graded check, after the adjustments and late penalty


class BadAssignment(ValueError):
    """A --canvas-assignment that names no graded check, or is ambiguous."""


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


def assignments(specs, checks):
    """[(column title, [checks summed into it])] from --canvas-assignment's `NN=NAME`, `total=NAME` or
    a bare NAME (when one check is graded): with a total, that column and the checks named; else every
    graded check, under the name given or the kit's own title."""
    named, whole = {}, None
    for spec in specs:
        where, sep, name = spec.partition("=")
        if sep and not (where.strip().isdigit() or where.strip() == "total"):  # a title holding "="
            sep = ""
        where, name = (where.strip(), name.strip()) if sep else ("", spec.strip())
        if not sep and len(checks) != 1:
            raise BadAssignment(f"--canvas-assignment {spec}: say which check (NN=NAME) or total=NAME")
        where = checks[0] if not sep else where if where == "total" else where.zfill(2)
        if not name:
            raise BadAssignment(f"--canvas-assignment {spec}: no assignment name")
        if where != "total" and where not in checks:
            raise BadAssignment(f"--canvas-assignment {spec}: check {where} is not graded in this gradebook")
        if where in named or (where == "total" and whole):
            raise BadAssignment(f"--canvas-assignment {spec}: {where} is given twice")
        if where == "total":
            whole = name
        else:
            named[where] = name
    if whole:
        columns = [(whole, TOTAL), *((named[ex], [ex]) for ex in checks if ex in named)]
    else:
        columns = [(named.get(ex, assignment(ex)), [ex]) for ex in checks]
    # Canvas fills one assignment from one column, found by the id of `Name (id)` else by the name: the other's is lost
    seen = {}
    for i, (title, _) in enumerate(columns):
        first = seen.setdefault(m[1] if (m := CANVAS_ID.search(title)) else title, i)
        if first != i:
            said = " and ".join(repr(escape_line(t)[:80]) for t in (columns[first][0], title))
            raise BadAssignment(f"--canvas-assignment: {said} would fill one Canvas assignment; give each its own")
    return columns


def canvas_csv(results, settings, key="sis-login-id", columns=None):
    """grades-canvas.csv: the header, the Points Possible row, one row per student sorted by id;
    `columns` as assignments() gives them (default: one new assignment per graded check).

    Every graded student gets a number in every column (0 for a submission that could not be
    graded, as in grades.csv), so an import never leaves an old score standing by accident. A late
    penalty or an adjustment of the total reaches Canvas only through a total column."""
    checks = graded_checks(results, settings)
    columns = columns or assignments([], checks)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*STUDENT_COLUMNS, *(title for title, _ in columns)])
    most = [sum(EXERCISES[ex].points for ex in (checks if c == TOTAL else c)) for _, c in columns]
    writer.writerow(["Points Possible", "", "", "", "", *most])
    for r in sorted(results, key=lambda r: r["id"]):
        login = cell(ids.login(r))  # the id as submitted, which Canvas knows, not a safe name
        known = {"Student": login, KEYS[key]: login}
        cells = [known.get(column, "") for column in STUDENT_COLUMNS]
        writer.writerow([*cells, *(points(r, c) for _, c in columns)])
    return out.getvalue()


def points(r, column):
    """A student's cell of a column: the points of grades.csv (each check after its adjustments; the
    total after every adjustment and the late penalty), or empty for a grader error, as grades.csv
    leaves it, so that an import leaves Canvas's score standing until the student is graded."""
    if r.get("status") in score.UNMARKED:
        return ""
    if column == TOTAL:
        return gradebook.total(r)
    earned = adjust.adjusted_checks(r)
    return number(sum(earned.get(ex, 0) for ex in column))
