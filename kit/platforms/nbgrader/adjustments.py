"""The instructor's adjustments and late penalty on the nbgrader route (docs/instructor/adjustments.md).

Lateness is nbgrader's here: its due date, its extensions and the exchange's timestamp.txt say how
late a notebook is, and one late-penalty plugin turns that into points: the course's own
(nbgrader_config.py), or, with `-- --late-penalty 10%/day`, the kit's rule in its place
(KitLatePenalty), never both. `-- --adjustments FILE` is applied by each assignment's `kit grade`
and lands in nbgrader's gradebook as the extra credit of each notebook's first test cell.
"""

import argparse
import csv

from nbgrader.api import Gradebook
from nbgrader.plugins import BasePlugin
from traitlets import Float, Unicode

from kit.instructor import adjust


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


def own_adjustments(grade_args, ex, tmp):
    """kit grade's options with the adjustments file cut to the rows of check `ex` and of the total: each
    other row left empty, so that an error names the line of the instructor's file."""
    if "--adjustments" not in grade_args:
        return grade_args
    at = grade_args.index("--adjustments") + 1
    with open(grade_args[at], newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))
    mine = [r if len(r) < 2 or r[1].strip().lower() in ("total", "check", ex, ex.lstrip("0")) else [] for r in records]
    with open(tmp / "adjustments.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(mine)
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
