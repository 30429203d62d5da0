"""The instructor's adjustments and late penalty on the nbgrader route (docs/instructor/adjustments.md).

Lateness is nbgrader's here: its due date, its extensions and the exchange's timestamp.txt say how
late a notebook is, and one late-penalty plugin turns that into points: the course's own
(nbgrader_config.py), or, with `-- --late-penalty 10%/day`, the kit's rule in its place
(KitLatePenalty), never both. `-- --adjustments FILE` is applied by each assignment's `kit grade`
and lands in nbgrader's gradebook as the extra credit of each notebook's first test cell. A total
line applies to every assignment of the command its student submitted; a line that applies to none
stops the command before anything is graded.
"""

import argparse
import csv

from nbgrader.api import Gradebook
from nbgrader.plugins import BasePlugin
from traitlets import Float, Unicode

from kit.escape import escape_line
from kit.exercises import parse_id
from kit.instructor import adjust, ids
from kit.platforms.lateness import COLUMNS


class KitLatePenalty(BasePlugin):
    """nbgrader's late-penalty plugin with the kit's rule (kit/instructor/adjust.py), in place of the course's."""

    rule = Unicode("", help="the kit's --late-penalty, e.g. 10%/day").tag(config=True)
    cap = Unicode("", help="the kit's --late-cap, e.g. 50%").tag(config=True)
    most = Float(0.0, help="the assignment's maximum, of which a percentage is taken").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return adjust.number(adjust.rule(self.rule, self.cap or None).penalty(total_seconds_late, self.most))


def late_options(grade_args):
    """(kit grade's options without the lateness ones, --late-penalty, --late-cap); Invalid for the times and
    due dates that are nbgrader's on this route, or a rule that is not one."""
    parser = argparse.ArgumentParser(add_help=False)
    adjust.options(parser)
    given, rest = parser.parse_known_args(grade_args)
    if given.deadline or given.extensions or given.times:
        raise adjust.Invalid(
            "on the nbgrader route the due date, extensions and submission times are nbgrader's "
            "(nbgrader db assignment add --duedate, the exchange's timestamp.txt): leave out --deadline, "
            "--extensions and --times"
        )
    if given.late_cap and not given.late_penalty:
        raise adjust.Invalid("--late-cap needs --late-penalty")
    if given.late_penalty:
        adjust.rule(given.late_penalty, given.late_cap)
    return rest + (["--adjustments", given.adjustments] if given.adjustments else []), given


def check_ids(path, submitted):
    """Invalid, listing every such line, unless each line of the adjustments file at `path` applies to a
    notebook submitted for this command: `submitted` {assignment: the graded names of its students}. A
    line of a check graded here needs its student's notebook of that check; a total line, any of them."""
    bad = []
    for n, row in adjust.rows(path, COLUMNS, "--adjustments"):
        sid, where = ids.graded_name(row[0].strip()), adjust.target(row[1])
        theirs = [a for a in submitted if where in ("total", parse_id(a))]
        if theirs and not any(sid in submitted[a] for a in theirs):
            bad.append((n, f"no submission of the id {escape_line(row[0])[:60]!r} in {', '.join(theirs)}"))
    adjust.fail("--adjustments", path, bad)


def own_adjustments(grade_args, ex, tmp, graded):
    """kit grade's options with the adjustments file cut to the lines of check `ex` and of the total of the
    students it grades (`graded`: their graded names), as a total line applies to each assignment its
    student submitted. Every other line is left empty, so that each keeps its number."""
    if "--adjustments" not in grade_args:
        return grade_args
    at = grade_args.index("--adjustments") + 1
    with open(grade_args[at], newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))

    def mine(r):
        if [c.strip().lower() for c in r] == COLUMNS:
            return True  # the header
        return len(r) == 4 and adjust.target(r[1]) in ("total", ex) and ids.graded_name(r[0].strip()) in graded

    with open(tmp / "adjustments.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(r if mine(r) else [] for r in records)
    return [*grade_args[:at], str(tmp / "adjustments.csv"), *grade_args[at + 1 :]]


def extra_credit(api, assignment, student, result):
    """Put the kit's adjustments of `result` into nbgrader's gradebook as the extra credit of the notebook's
    first test cell by grade id (None where there are none), so nbgrader's score, feedback and export hold them."""
    points = sum(a["points"] for a in (result or {}).get("adjustments", []))
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        tests = sorted((g for g in notebook.grades if g.auto_score is not None), key=lambda g: g.name)
        if tests:
            tests[0].extra_credit = adjust.number(points) if points else None
            gb.db.commit()
