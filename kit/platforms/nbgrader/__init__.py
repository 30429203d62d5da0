"""An nbgrader course of the seven exercises, graded by the kit's isolated grader.

    python -m kit nbgrader [--course DIR] [--course-id ID]          write the course (make nbgrader)
    python -m kit nbgrader grade ex03 ... [--course DIR] [-- ...]   grade submitted notebooks (make nbgrader-grade)

One module per job: course.py writes the notebooks and the config (lesson.py turns a lesson into
cells), notebook.py is what the notebooks import for the learner's practice checks, extract.py
takes a learner's tree out of a submitted notebook, grade.py grades the trees with `kit grade` and
records the grades through nbgrader's autograde, whose execution verdicts.py replaces (adjustments.py:
the late penalty and the instructor's adjustments there); local.py runs nbgrader on this machine for
the kit's tests and benchmarks.
"""

import argparse
import sys
from pathlib import Path

from kit.learner.install import lacking


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["grade"]:
        if why := lacking("nbgrader", "instructor"):  # before grade's imports, which need it
            print(why, file=sys.stderr)
            return 2
        from kit.platforms.nbgrader.grade import main as grade

        return grade(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m kit nbgrader", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--course", default="nbgrader-course", help="the course folder to write (default: nbgrader-course)"
    )
    parser.add_argument("--course-id", default="micrograd", help="nbgrader's course id (default: micrograd)")
    args = parser.parse_args(argv)
    if why := lacking("nbformat", "instructor"):
        print(why, file=sys.stderr)
        return 2
    from kit.platforms.nbgrader.course import write_course

    course = Path(args.course)
    kept = write_course(course, args.course_id)
    print(f"wrote {course / 'source'}/ex01 ... ex07 (one notebook each)")
    print(f"{'kept' if kept else 'wrote'} {course / 'nbgrader_config.py'}")
    print(f"next: cd {course} && nbgrader generate_assignment ex01   (see docs/instructor/nbgrader.md)")
    return 0
