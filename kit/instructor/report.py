"""What the class got wrong, and who needs a look: OUT/report.html from OUT/grades.json.

    python -m kit report OUT [--similarity SUBMISSIONS] [--pairs N] [--group-share S]
                             [--canvas-key sis-login-id] [--canvas-assignment [NN=]NAME ...]

One self-contained page (kit/instructor/report_page.py; no network: figures inline, no external CSS
or scripts, and a Content Security Policy that forbids both), readable on a phone: who needs a look
and why (every ungradable submission, grader error, timeout, crash, file Python could not read or
import, tampering flag and zero score), the totals with their median and quartiles, per check the
distribution of points, per test its failure rate (failures without a mistake id too), the most
common mistakes by catalogue id, every student with a link to their feedback, and the settings
(never the seed or a secret). What it counts is kit/instructor/report_counts.py's. Per-check
histograms need matplotlib (the report extra); without it the page shows the same numbers as
tables. --similarity adds the most similar pairs of submissions, the starter stubs excluded, as
copydetect measures them, and the groups they connect. The report also (re)writes
OUT/grades-canvas.csv (kit/instructor/lms.py).
"""

import argparse
import sys
from pathlib import Path

from kit.exercises import EXERCISES
from kit.instructor import gradebook, lms, report_counts, report_page, similar
from kit.instructor.report_figures import BAR, FULL_BAR  # noqa: F401  (the page's colours, for its tests)
from kit.instructor.report_page import text  # noqa: F401  (the page's escaping, for its tests)


class BadGradebook(Exception):
    """grades.json is missing or not the shape `kit grade` writes."""


def load(out):
    """grades.json of `out`, checked for the shape the report reads; BadGradebook says what is wrong."""
    path = Path(out) / "grades.json"
    try:
        data = gradebook.read(path)  # checked as every reader of a gradebook checks it (NaN, types, bounds)
    except FileNotFoundError:
        raise BadGradebook(f"{path}: no such file; grade the class first (make grade)") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BadGradebook(f"{path}: not a gradebook ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("students"), list):
        raise BadGradebook(f"{path}: not a gradebook (no list of students)")
    for i, r in enumerate(data["students"]):
        if not (isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("checks"), dict)):
            raise BadGradebook(f"{path}: student #{i + 1} has no id or no checks")
        for ex, c in r["checks"].items():
            if ex not in EXERCISES or not isinstance(c, dict) or not all(_number(c.get(k)) for k in ("earned", "max")):
                raise BadGradebook(f"{path}: student {r['id']!r} has a malformed check {ex!r}")
        if not isinstance(r.get("tests", []), list) or not all(isinstance(t, dict) for t in r.get("tests", [])):
            raise BadGradebook(f"{path}: student {r['id']!r} has malformed tests")
    return data


def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def catalogue():
    """{mistake id: (what the mistake is, what the learner read)} from the kit's catalogue, checks/mistakes.py."""
    try:
        from checks.mistakes import MISTAKES
    except ImportError:  # a kit older than its catalogue: the page shows the ids alone
        return {}
    return {mid: (m.what, m.advice) for mid, m in MISTAKES.items()}


def page(data, out, similarity=None):
    return report_page.page(data, out, catalogue(), similarity)


def share(value):
    """--group-share: a fraction in (0, 1], or a percentage such as 80%."""
    number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"{value}: give a share between 0 and 1 (or 1% and 100%)")
    return number


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit report", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the folder `kit grade` wrote (grades.json); report.html is written there")
    parser.add_argument(
        "--similarity",
        metavar="SUBMISSIONS",
        help="add the most similar pairs of these submissions and their groups (the folder given to kit grade; "
        "needs copydetect)",
    )
    parser.add_argument("--pairs", type=int, default=10, help="similar pairs shown (default 10)")
    parser.add_argument(
        "--group-share",
        type=share,
        default=0.8,
        metavar="S",
        help="a pair joins a group when each side shares at least this much with the other (default 0.8)",
    )
    parser.add_argument(
        "--canvas-key",
        choices=sorted(lms.KEYS),
        default="sis-login-id",
        help="the Canvas column that holds the student id in grades-canvas.csv (default sis-login-id)",
    )
    parser.add_argument(
        "--canvas-assignment",
        action="append",
        default=[],
        metavar="[NN=|total=]NAME",
        help="put check NN's points (or the total's) into the existing Canvas assignment NAME, as Canvas's "
        "export titles it (Name (id)); a bare NAME when one check is graded; repeat for more",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        data = load(out)
        columns = lms.assignments(args.canvas_assignment, report_counts.checks_of(data))
    except (BadGradebook, lms.BadAssignment) as e:
        print(f"python -m kit report: {e}", file=sys.stderr)
        return 2
    similarity = None
    if args.similarity:
        if not Path(args.similarity).is_dir():
            parser.error(f"--similarity {args.similarity}: no such folder")
        every, skipped = similar.similar_pairs(args.similarity, sys.maxsize)
        groups = report_counts.groups(every, args.group_share)
        similarity = (every[: args.pairs], groups, args.group_share, skipped)
    canvas = lms.canvas_csv(data["students"], data, args.canvas_key, columns)
    try:
        gradebook.write_atomic(out / "report.html", page(data, out, similarity))
        gradebook.write_atomic(out / "grades-canvas.csv", canvas)
    except OSError as e:  # a folder where the page goes, a full disk, no permission
        print(f"python -m kit report: cannot write into {out} ({e})", file=sys.stderr)
        return 1
    print(f"wrote {out / 'report.html'} and {out / 'grades-canvas.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
