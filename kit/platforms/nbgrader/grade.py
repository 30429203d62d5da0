"""Grade submitted notebooks with the kit's isolated grader and record the grades in nbgrader's gradebook.

    python -m kit nbgrader grade ex03 [ex04 ...] [--course DIR] [--student ID] [-- kit grade options]

For each assignment: take the learner's tree out of every submitted/<student>/exNN/exNN.ipynb
(extract.py: no cell runs), grade the trees with `python -m kit grade` (one sandboxed worker per
student, `--only NN`), then run nbgrader's own autograde with the kit's verdicts in place of
executing the notebook (verdicts.py). The kit's gradebook and its secret stay in
DIR/kit-grades/exNN/, so a re-run grades only changed submissions and gives the same bytes the
same score; nbgrader's gradebook, formgrader, `generate_feedback` and `export` work as usual.

Lateness is nbgrader's on this route, and the instructor's adjustments become extra credit in nbgrader's
gradebook (adjustments.py).
"""

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from kit import ROOT
from kit.errors import KitError
from kit.escape import escape_line
from kit.exercises import POINTS, parse_id
from kit.instructor import adjust, ids
from kit.platforms.nbgrader import extract
from kit.platforms.nbgrader.adjustments import (
    KitLatePenalty,
    check_ids,
    extra_credit,
    late_options,
    own_adjustments,
)
from kit.platforms.nbgrader.notebook import grade_id
from kit.platforms.nbgrader.verdicts import AUTOGRADE_PREPROCESSORS, VerdictsExporter

KIT_GRADES = "kit-grades"  # beside the course's gradebook: the kit's gradebook and secret per assignment
# A grader error is the kit's failure, not the student's: nothing goes into nbgrader's gradebook for it.
NOT_RECORDED = (
    "not recorded: the kit's grader failed on this notebook ({why}); nbgrader's gradebook keeps what it held "
    "for this student: run the command again to grade it"
)
# A test cell the learner deleted costs nothing the kit does not take (verdicts.py adds it back), but is said.
LACKING = (
    "warning: the notebook lacks the test cells {cells} (deleted, or their nbgrader marks removed): the kit "
    "grades those tests all the same, and nbgrader records them in cells added back at the notebook's end"
)


def kit_id(student):
    """The name the kit's grader files a student under: the one rule of kit/instructor/ids.py."""
    return ids.graded_name(student)


def config_of(course):
    """The course's nbgrader configuration, with the kit's autograde pipeline whatever the file says."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course / "nbgrader_config.py").is_file():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    config.CourseDirectory.root = str(course)
    config.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
    config.Autograde.exporter_class = VerdictsExporter  # also where the course's file predates it
    return config


def submissions(coursedir, assignment):
    """[(student, path of the submitted notebook)], sorted by student."""
    root = Path(coursedir.root) / coursedir.submitted_directory
    found = []
    for folder in sorted(root.glob(f"*/{assignment}")) if root.is_dir() else []:
        found.append((folder.parent.name, folder / f"{assignment}.ipynb"))
    return found


def submitted(course, assignment):
    """The graded names of the students who submitted a notebook of `assignment`."""
    from nbgrader.coursedir import CourseDirectory

    found = submissions(CourseDirectory(config=config_of(course)), assignment)
    return {kit_id(student) for student, path in found if path.is_file()}


def hidden(subs):
    """The trees in `subs` named with a leading dot: students all the same (kit grade --hidden-student)."""
    return [p.name for p in sorted(subs.iterdir()) if p.name.startswith(".")]


def filed(subs):
    """{ids.key(student id): the name kit grade files that student under} of the trees in `subs`. Ids that the
    kit takes for one student (Alice and alice) share one row, which names them all (kit/instructor/ids.py)."""
    return {ids.key(raw): sid for sid, _, raw, _ in ids.find(subs, hidden(subs))}


def row_name(student, names):
    """The graded name of the kit's row of `student`, by `names` (see filed)."""
    return names.get(ids.key(student), kit_id(student))


def verdicts(students, report, unreadable, names):
    """{student: {status, reason, tests: {grade id: [test results]}}} from the kit's grades.json."""
    by_id = {r["id"]: r for r in report["students"]}
    out = {}
    for student in students:
        if student in unreadable:
            out[student] = {"status": "ungradable", "reason": unreadable[student], "tests": {}}
            continue
        r = by_id.get(row_name(student, names))
        if r is None:
            out[student] = {"status": "error", "reason": "the kit's grader left this submission out", "tests": {}}
            continue
        tests = {}
        for t in r["tests"]:
            tests.setdefault(grade_id(t), []).append(t)
        out[student] = {"status": r["status"], "reason": r["reason"], "tests": tests}
    return out


def kit_grade(subs, out, ex, grade_args):
    """The kit's gradebook (grades.json) of the trees in `subs`, graded by `python -m kit grade` into `out`."""
    dotted = [f"--hidden-student={name}" for name in hidden(subs)]  # graded under a safe name, as any id not valid
    cmd = [sys.executable, "-m", "kit", "grade", str(subs), str(out), "--only", ex, *dotted, *grade_args]
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0 or not (out / "grades.json").is_file():
        raise KitError(f"ex{ex}: `kit grade` failed (exit status {proc.returncode}); nothing was recorded")
    return json.loads((out / "grades.json").read_text(encoding="utf-8"))


def nbgrader_config(course, ex, late):
    """The course's configuration for autograde; `late` holds late_penalty and late_cap: the kit's rule in
    place of the course's plugin."""
    config = config_of(course)
    if late is not None and late.late_penalty:  # the one plugin: nbgrader's AssignLatePenalties calls it alone
        config.AssignLatePenalties.plugin_class = KitLatePenalty
        config.KitLatePenalty.rule, config.KitLatePenalty.most = late.late_penalty, float(POINTS[ex])
        config.KitLatePenalty.cap = late.late_cap or ""
    return config


def refusal(result):
    """Why nbgrader's autograde refused a notebook, from its `result`: the exception its traceback ends with
    (not its closing "Please see the above traceback"), else its first error line."""
    lines = (result.get("log") or result.get("error") or "").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("[ERROR] Traceback")]
    for i in starts[-1:]:
        block = itertools.takewhile(lambda line: not line.startswith("["), lines[i + 1 :])
        said = [line.strip() for line in block if line.strip()]
        if said:
            return said[-1][:300]
    errors = [line.removeprefix("[ERROR]").strip() for line in lines if line.startswith("[ERROR]")]
    return (errors or [line for line in lines if line.strip()][-1:] or ["no reason given"])[0][:300]


def record(api, assignment, students, data, rows, log, adjusting):
    """Record the kit's verdicts (`data`) of `students` through nbgrader's autograde: (the students recorded,
    {student: [why]} of those not recorded or not graded). `rows` {student: the kit's row} give the
    adjustments, when `adjusting`."""
    done, failed = [], {}

    def fails(student, why, said):
        failed[student] = [why]
        log(escape_line(f"{assignment} {student}: {said}"))

    for student in students:
        verdict = data["students"].get(student)
        if verdict is None:  # nbgrader would only say it found no notebook: say which one
            why = f"submitted/{student}/{assignment} holds no {assignment}.ipynb"
            fails(student, why, f"not recorded: {why}, the one name graded")
            continue
        if verdict["status"] == "error":  # the grader's failure: never a zero
            fails(student, verdict["reason"], NOT_RECORDED.format(why=verdict["reason"]))
            continue
        if verdict["status"] == "held":  # two students to nbgrader, one to the kit: not the kit's to zero
            fails(student, verdict["reason"], f"not recorded: {verdict['reason']}")
            continue
        if verdict["status"] == "ungradable":  # recorded as 0 with the reason, and said
            fails(student, verdict["reason"], f"could not be graded: {verdict['reason']}")
        result = api.autograde(assignment, student, force=True, create=True)
        if not result["success"]:
            why = refusal(result)
            fails(student, why, f"not recorded: nbgrader refused this notebook ({why})")
            continue
        done.append(student)
        if adjusting:  # the kit owns those cells' extra credit only when given some
            extra_credit(api, assignment, student, rows.get(student))
    return done, failed


def grade_assignment(course, assignment, grade_args, only=None, log=print, late=None):
    """Grade one assignment (of the student `only`, where given: the kit's gradebook keeps the others'
    results); returns the students the kit could not grade or nbgrader could not record (with why)."""
    import nbformat
    from nbgrader.apps import NbGraderAPI

    ex = parse_id(assignment)
    config = nbgrader_config(course, ex, late)
    api = NbGraderAPI(config=config)
    source_path = Path(api.coursedir.format_path(api.coursedir.source_directory, ".", assignment))
    source = nbformat.read(str(source_path / f"{assignment}.ipynb"), as_version=4)
    found = submissions(api.coursedir, assignment)
    asked = [s for s, _ in found if only is None or s == only]
    with tempfile.TemporaryDirectory(prefix="kit-nbgrader-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        unreadable, lacking = extract.trees(source, found, subs)  # all: kit grade keeps the others' on --student
        names = filed(subs)
        students = [s for s, p in found if s in asked and p.is_file()]
        for student in (s for s in students if lacking.get(s)):  # the kit grades every test all the same
            log(escape_line(f"{assignment} {student}: {LACKING.format(cells=', '.join(lacking[student]))}"))
        log(f"{assignment}: grading {len(students)} submitted notebooks with the kit's grader (check-{ex})")
        report = {"students": []}
        if only is None or (subs / only).is_dir():  # --student with no tree to grade: nothing for kit grade
            own = own_adjustments(grade_args, ex, Path(tmp), set(names.values()))
            own += ["--student", row_name(only, names)] if only else []
            report = kit_grade(subs, course / KIT_GRADES / assignment, ex, own)
        verdicts_file = Path(tmp) / "verdicts.json"
        data = {"assignment": assignment, "students": verdicts(students, report, unreadable, names)}
        verdicts_file.write_text(json.dumps(data), encoding="utf-8")
        config.KitVerdicts.verdicts = str(verdicts_file)
        by_id = {r["id"]: r for r in report["students"]}
        rows = {s: by_id.get(row_name(s, names)) for s in students}
        api = NbGraderAPI(config=config)
        done, failed = record(api, assignment, asked, data, rows, log, "--adjustments" in grade_args)
    log(f"{assignment}: recorded {len(done)} of {len(asked)} in nbgrader's gradebook")
    return failed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit nbgrader grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="+", help="the assignments to grade: ex01 ... ex07")
    parser.add_argument("--course", default=".", help="the nbgrader course folder (default: this folder)")
    parser.add_argument(
        "--student", default=None, help="grade and record this student only; the kit's gradebook keeps the others"
    )
    parser.epilog = "Options after -- go to `python -m kit grade`, e.g. -- --jobs 4."
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, grade_args = parser.parse_args(argv[:cut]), argv[cut + 1 :]
    try:  # the whole file checked once, every check's rows; each assignment's kit grade gets its own
        grade_args, late = late_options(grade_args)
        if late.adjustments:
            adjust.adjustments(late.adjustments, None, list(POINTS))
    except adjust.Invalid as e:
        parser.error(str(e))
    course = Path(args.course).resolve()
    for assignment in args.assignments:
        try:
            parse_id(assignment)
        except ValueError as e:
            parser.error(f"{assignment}: {e}")
        if not (course / "source" / assignment / f"{assignment}.ipynb").is_file():
            parser.error(f"{course / 'source' / assignment}: no such assignment (is --course the course folder?)")
    try:  # a line that applies to no notebook of this command, said before anything is graded
        if late.adjustments:
            check_ids(late.adjustments, {a: submitted(course, a) for a in args.assignments})
    except adjust.Invalid as e:
        parser.error(str(e))
    failed, recorded = {}, []
    try:
        for assignment in args.assignments:
            found = grade_assignment(course, assignment, grade_args, args.student, late=late)
            failed.update({(assignment, s): why for s, why in found.items()})
            recorded.append(assignment)
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback; the temporary folders are gone with it
        rest = [a for a in args.assignments if a not in recorded]
        print(
            f"interrupted: {', '.join(rest)} not recorded in nbgrader's gradebook"
            + (f" ({', '.join(recorded)} recorded)" if recorded else "")
            + "; run the command again to grade them",
            file=sys.stderr,
        )
        return 130
    return 1 if failed else 0
