"""nbgrader's autograde without running the notebook: the kit's verdicts as the test cells' outputs.

`KitVerdicts` takes the place of nbgrader's `Execute` preprocessor. It reads the verdicts that
`python -m kit nbgrader grade` wrote (the kit's isolated grader on the code taken out of each
notebook) and gives each test cell the output nbgrader scores: `PASS ...` for full points, an
error with the kit's message for none, the points as the cell's result for part of them. The rest
of nbgrader's pipeline is kept, so the gradebook, late penalties, formgrader, feedback and export
work as usual. With no verdicts (plain `nbgrader autograde`), `VerdictsExporter` stops autograde
with a message as it starts, before nbgrader removes any student's autograded/ copy (which it does
first with --force), so a refused autograde leaves everything as it was.
"""

import hashlib
import json

from nbconvert.exporters import NotebookExporter
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import from_dict
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.converters.base import NbGraderException
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    SaveAutoGrades,
)
from traitlets import Unicode

from kit.platforms.nbgrader.extract import lacking

PLAIN_AUTOGRADE = (
    "this course is graded by `python -m kit nbgrader grade {assignment}`, which runs the learners' code "
    "in the kit's sandbox; `nbgrader autograde` alone would run it in a kernel with your privileges, "
    "so the course's nbgrader_config.py does not let it"
)


class KitVerdicts(NbGraderPreprocessor):
    """Write the kit's verdict on each test into its test cell, in place of running the notebook."""

    verdicts = Unicode("", help="the verdicts file written by `python -m kit nbgrader grade`").tag(config=True)

    def preprocess(self, nb, resources):
        assignment, student = resources["nbgrader"]["assignment"], resources["nbgrader"]["student"]
        if not self.verdicts:
            raise RuntimeError(PLAIN_AUTOGRADE.format(assignment=assignment))
        with open(self.verdicts, encoding="utf-8") as f:
            data = json.load(f)
        if data["assignment"] != assignment or student not in data["students"]:
            raise RuntimeError(f"the kit has no verdict on {assignment} of {student}")
        self.result = data["students"][student]
        if self.result["status"] == "error":  # the grader's failure is no verdict: nbgrader records nothing
            raise RuntimeError(f"the kit's grader failed on {assignment} of {student}: {self.result['reason']}")
        if self.result["status"] == "held":  # nor is a student the kit cannot tell from another
            raise RuntimeError(f"the kit did not mark {assignment} of {student}: {self.result['reason']}")
        nb, resources = super().preprocess(nb, resources)
        nb.cells.extend(self.restored(nb, resources))
        return nb, resources

    def restored(self, nb, resources):
        """The test cells `nb` lacks (the learner deleted them, or their marks), made again by nbgrader's own
        OverwriteCells from the gradebook's copy of the source, with the kit's verdicts: so nbgrader records
        the points the kit gives. (Its add_missing_cells cannot place a cell after a locked save cell.)"""
        where = resources["nbgrader"]
        with Gradebook(where["db_url"]) as gb:
            notebook = gb.find_notebook(where["notebook"], where["assignment"])
            points = {cell.name: cell.max_score for cell in notebook.grade_cells}
            sources = {cell.name: cell for cell in notebook.source_cells if cell.name in points}
            made = OverwriteCells(parent=self).missing_cell_transform
            cells = {name: from_dict(made(sources[name], points[name])) for name in lacking(nb, list(sources))}
        for name, cell in cells.items():
            cell.outputs = outputs(self.result, name)
            if nb.get("nbformat_minor", 0) >= 5:  # nbformat 4.5 cell ids: at most 64 characters
                cell.id = "kit-" + hashlib.sha256(name.encode()).hexdigest()[:16]
        return list(cells.values())

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.execution_count = None
            if utils.is_grade(cell):
                cell.outputs = outputs(self.result, cell.metadata["nbgrader"]["grade_id"])
        return cell, resources


class VerdictsExporter(NotebookExporter):
    """autograde's exporter (`Autograde.exporter_class`): nbgrader makes it as autograde starts, before
    its first step for any student (with --force: removing the student's autograded/ copy). Where
    the kit's verdicts are not given, it stops autograde there with a message, so nothing is touched."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not KitVerdicts(parent=self).verdicts:
            coursedir = getattr(self.parent, "coursedir", None)
            message = PLAIN_AUTOGRADE.format(assignment=coursedir.assignment_id if coursedir else "exNN")
            self.log.error(message)
            raise NbGraderException(message)


def outputs(result, grade_id):
    """The outputs that make nbgrader score a test cell as the kit scored the test `grade_id`: a submission the
    kit could not grade (status `ungradable`, the student's own) scores 0 with the reason."""
    from nbformat.v4 import new_output

    tests = result["tests"].get(grade_id, [])
    if result["status"] != "graded" or not tests:
        reason = result["reason"] if result["status"] != "graded" else "the kit's check did not run this test"
        return [new_output("error", ename="NotGraded", evalue=reason, traceback=[f"Not graded: {reason}"])]
    earned, most = sum(t["points"] for t in tests), sum(t["max"] for t in tests)
    if earned == most:
        return [new_output("stream", name="stdout", text=f"PASS  {earned}/{most}  {tests[0]['test']}\n")]
    messages = "\n\n".join(f"{t['status'].upper()}  {t['test']}\n{t['message'] or ''}".rstrip() for t in tests)
    if earned == 0:
        return [new_output("error", ename="Failed", evalue=tests[0]["test"], traceback=messages.split("\n"))]
    return [
        new_output("stream", name="stdout", text=messages + "\n"),
        new_output("execute_result", data={"text/plain": str(earned)}, execution_count=None),
    ]


# nbgrader's autograde preprocessors, with the kit's verdicts where Execute and IgnorePattern were.
AUTOGRADE_PREPROCESSORS = [
    KitVerdicts,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
