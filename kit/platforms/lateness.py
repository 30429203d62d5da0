"""What a course platform knows of adjustments and lateness, as `kit grade`'s options for one submission.

Gradescope grades one submission per run: its submission_metadata.json gives the submission's time
(`created_at`) and the assignment's due date (`assignment.due_date`), and the students it belongs to
(`users`, by email and Gradescope id); the zip carries the late-penalty rule and the class's
adjustments file, of which a run keeps its own students' rows, matched as `kit grade` reads ids
(kit/instructor/ids.py: spaces around them left out, the same once accents are composed and case is
ignored). The rules themselves are kit/instructor/adjust.py's, the same on every route.
"""

import csv
import json
from pathlib import Path

from kit.escape import escape_line
from kit.instructor import adjust, ids

COLUMNS = ["id", "check", "points", "reason"]
ADJUSTMENTS = "adjustments.csv"  # in a Gradescope zip: the class's adjustments, by Gradescope email or user id
METADATA = "submission_metadata.json"  # Gradescope's, beside submission/: created_at, assignment.due_date


def checked(penalty, cap, adjustments, checks):
    """({"late_penalty", "late_cap"} or None, the adjustments file's text or None) for a zip, checked
    as `kit grade` checks them (any id: which students exist is known only at each run); Invalid else."""
    if cap and not penalty:
        raise adjust.Invalid("--late-cap needs --late-penalty")
    if penalty:
        adjust.rule(penalty, cap)
    if adjustments:
        adjust.adjustments(adjustments, None, checks)
        one_spelling(adjustments)
    text = Path(adjustments).read_text(encoding="utf-8-sig") if adjustments else None
    return ({"late_penalty": penalty, "late_cap": cap} if penalty else None), text


def one_spelling(path):
    """Invalid where the adjustments file at `path` names one student under two ids equal but for accents'
    composition or case (`Ann@uni.edu`, `ann@uni.edu`): a run would apply the lines of both, where
    `kit grade` refuses the one that names no submission."""
    first, bad = {}, []
    for n, row in adjust.rows(path, COLUMNS, "--adjustments"):
        sid = row[0].strip()
        m, other = first.setdefault(matched(sid), (n, sid))
        if ids.graded_name(other) != ids.graded_name(sid):
            said = f"{escape_line(sid)[:60]!r} and line {m}'s {escape_line(other)[:60]!r}"
            bad.append((n, f"{said} are one student's id (the same once accents are composed and case is ignored)"))
    adjust.fail("--adjustments", path, bad)


def matched(cell):
    """An id as a run matches it with Gradescope's users: as `kit grade` reads it (stripped), by ids.key."""
    return ids.key(cell.strip())


def write_rows(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return str(path)


def metadata(path):
    """Gradescope's submission metadata at `path`, as a dict ({} where it is missing or not a JSON object)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def gradescope(settings, adjustments, meta_path, tmp, sid="submission"):
    """`kit grade`'s options for the one submission (graded as `sid`) of a Gradescope run: its rows of
    the zip's `adjustments` file, and with the zip's late penalty the assignment's due date and the
    submission's time. Files for them go into `tmp`."""
    meta = metadata(meta_path)
    users = meta.get("users") if isinstance(meta.get("users"), list) else []
    names = {matched(str(u[k])) for u in users if isinstance(u, dict) for k in ("email", "id") if u.get(k) is not None}
    flags = []
    if Path(adjustments).is_file():
        rows = adjust.rows(adjustments, COLUMNS, "--adjustments")
        mine = [[sid, *row[1:]] for _, row in rows if matched(row[0]) in names]
        flags += ["--adjustments", write_rows(tmp / "adjustments.csv", mine)] if mine else []
    assignment = meta.get("assignment") if isinstance(meta.get("assignment"), dict) else {}
    due = assignment.get("due_date")
    if settings.get("late_penalty") and due:
        flags += ["--deadline", str(due), "--late-penalty", settings["late_penalty"]]
        flags += ["--late-cap", settings["late_cap"]] if settings.get("late_cap") else []
        if meta.get("created_at"):  # else kit grade notes that no time was recorded: no penalty
            flags += ["--times", write_rows(tmp / "times.csv", [[sid, str(meta["created_at"])]])]
    elif settings.get("late_penalty"):
        print("No late penalty: Gradescope's metadata gives this assignment no due date.", flush=True)
    return flags


def options(parser):
    """`kit gradescope`'s options of lateness and adjustments (the due date and the times are Gradescope's)."""
    parser.add_argument("--late-penalty", metavar="RULE", help="per started day or hour after the due date: 10%%/day")
    parser.add_argument("--late-cap", metavar="AMOUNT", help="the most a late penalty takes: 50%% or points")
    parser.add_argument("--adjustments", metavar="FILE", help="CSV id,check,points,reason; id: a Gradescope email")
