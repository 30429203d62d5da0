"""Grade a class: every submission in a folder into a gradebook, each in isolation.

    python -m kit grade SUBMISSIONS OUT [--jobs N] [--secret FILE] [--only 03,04] [--force] ...

The command: its options, and its refusals turned into a message and an exit status. The pipeline's
steps (refuse, stage, seed, judge, score, record) are kit/instructor/pipeline.py's; one machine's
grading (sandboxes, user ids, warm judges) kit/instructor/machine.py's; where students are judged,
kit/instructor/dispatch.py (threads here) and kit/instructor/cluster.py (--cluster, Dask).
"""

import argparse
import os
import sys
from pathlib import Path

from checks.options import seconds
from kit.errors import KitError, report
from kit.instructor import adjust, cluster, sandbox
from kit.instructor.pipeline import INCOMPLETE, Grader
from kit.instructor.secret import SECRET_BYTES

PROBE_TIMEOUT = 5.0  # seconds per test, as for a learner
CHECK_TIMEOUT = 60.0  # seconds per check
STUDENT_TIMEOUT = 300.0  # seconds of one student's whole grading
MEMORY_MB = 1024  # address space of a worker


def options(submissions, out, **settings):
    """The settings of a grading as `python -m kit grade SUBMISSIONS OUT` parses them, with `settings`
    (e.g. jobs=1, sandbox="none") in place of the defaults: for code that grades without the command."""
    args = parser().parse_args([str(submissions), str(out)])
    unknown = set(settings) - set(vars(args))
    if unknown:
        raise TypeError(f"kit grade has no option {', '.join(sorted(unknown))}")
    vars(args).update(settings)
    return args


def parser():
    parser = argparse.ArgumentParser(prog="python -m kit grade", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "submissions",
        help="folder with one folder or .zip per student, named by id (another archive, or a notebook "
        "alone, gets a row saying so)",
    )
    parser.add_argument("out", help="folder for grades.csv, grades.json, feedback/ and grade.log")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="students graded at once (default: cores)"
    )
    parser.add_argument(
        "--secret",
        default=None,
        help=f"file holding the secret (at least {SECRET_BYTES} bytes) that seeds every student's inputs "
        "(default: OUT/.secret, made on the first run)",
    )
    parser.add_argument("--seed", type=int, default=None, help="a number as the secret (short: prefer --secret)")
    parser.add_argument("--only", default=None, help="grade these checks only, e.g. 03,04")
    parser.add_argument("--force", action="store_true", help="regrade students already graded")
    parser.add_argument("--student", default=None, help="grade (again) this student only; the others keep their grades")
    parser.add_argument(
        "--hidden-student",
        action="append",
        default=[],
        metavar="NAME",
        help="an entry of SUBMISSIONS whose name starts with a dot that is a student's (repeatable): graded under "
        "a safe name, where hidden entries are otherwise passed over",
    )
    parser.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="grade on a Dask cluster: a scheduler address, or local:N for N worker processes here "
        "(docs/instructor/scaling.md)",
    )
    parser.add_argument(
        "--cluster-wait",
        type=seconds,
        default=cluster.NO_WORKER_WAIT,
        metavar="SECONDS",
        help="with --cluster: seconds to wait for a worker once none can grade; then the students not graded yet "
        f"are grader errors, graded by a re-run, and the exit status {INCOMPLETE} (default {cluster.NO_WORKER_WAIT:g})",
    )
    parser.add_argument("--probe-timeout", type=seconds, default=PROBE_TIMEOUT, help="seconds per test (default 5)")
    parser.add_argument("--check-timeout", type=seconds, default=CHECK_TIMEOUT, help="seconds per check (default 60)")
    parser.add_argument(
        "--student-timeout",
        type=seconds,
        default=STUDENT_TIMEOUT,
        help=f"seconds of one student's whole grading; the remaining tests then score 0 (default {STUDENT_TIMEOUT:g})",
    )
    parser.add_argument("--memory", type=int, default=MEMORY_MB, help="megabytes of memory per worker (default 1024)")
    adjust.options(parser)
    parser.add_argument(
        "--sandbox",
        default="auto",
        choices=["auto", *sandbox.STRENGTH],
        help="how to isolate learner code (default auto: bwrap, else unshare, loudly; none only when named)",
    )
    return parser


def main(argv=None):
    parser_ = parser()
    args = parser_.parse_args(argv)
    if not Path(args.submissions).is_dir():
        parser_.error(f"{args.submissions}: no such folder")
    if args.jobs < 1:
        parser_.error("--jobs must be at least 1")
    if args.cluster_wait < 0:
        parser_.error("--cluster-wait must be at least 0")
    try:
        return Grader(args).run()
    except KitError as e:  # a refusal, before anyone was graded: the gradebook is untouched
        return report(e)
    except KeyboardInterrupt:  # before the students were graded: run() ends a grading interrupted later itself
        print("interrupted: nothing was graded", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
