"""Adjustments and lateness: what the instructor decides beside the checks, applied on every run.

    --adjustments FILE   CSV `id,check,points,reason`: check `NN` or `total`, points `+2`, `-1.5` or `10%`
    --deadline TIME      ISO 8601 with its time zone, e.g. 2026-12-01T23:59+00:00
    --late-penalty RULE  `10%/day`, `2/hour`: per started day or hour late, a share of the maximum or points
    --late-cap AMOUNT    the most a late penalty takes: `50%` of the maximum, or points
    --extensions FILE    CSV `id,deadline`: a student's own deadline
    --times FILE         CSV `id,time`: when each student submitted

A kept result holds raw points; `apply` makes the gradebook's view afresh on every run (each adjustment with its
reason, the total after them): a re-run never reverts one nor applies one twice. A late penalty, as Canvas's and
Gradescope's: each started hour or day past a student's deadline costs a share of the maximum (or points), to the cap.
"""

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from kit.escape import escape_line
from kit.exercises import POINTS
from kit.instructor import ids, score

AMOUNT = re.compile(r"([+-]?)(\d+(?:\.\d+)?)(%?)")
RULE = re.compile(r"(\d+(?:\.\d+)?)(%?)/(hour|day)")
SECONDS = {"hour": 3600, "day": 86400}
LARGEST = 1_000_000  # points or percent of one amount: far past any maximum, far below a float's overflow
MAX_CHARS = 32 << 20  # characters of one instructor's file: far above any class, far below a memory problem


class Invalid(ValueError):
    """An adjustments, extensions or times file, or an option, that cannot be applied: says every bad line."""


@dataclass(frozen=True)
class Amount:
    value: float  # signed
    percent: bool

    def of(self, most):
        """The points this amount is out of a maximum of `most`."""
        return self.value * most / 100 if self.percent else self.value

    def __str__(self):
        return f"{'+' if self.value > 0 else ''}{number(self.value)}{'%' if self.percent else ''}"


def number(x):
    """A number as the gradebook holds it: an int where it is whole, else rounded to hundredths."""
    x = round(x, 2)
    return int(x) if x == int(x) else x


def amount(text, signed=True):
    """`+2`, `-1.5`, `10%` as an Amount; ValueError otherwise (no NaN, no exponent, no bare sign, none past LARGEST)."""
    m = AMOUNT.fullmatch(text.strip())
    if not m or (m[1] and not signed):
        raise ValueError(f"{escape_line(text)[:60]!r} is not {'+N, -N or N%' if signed else 'N or N%'}")
    if float(m[2]) > LARGEST:
        raise ValueError(f"{escape_line(text)[:60]!r} is more than {LARGEST:,} points or percent")
    return Amount(float(m[1] + m[2]), bool(m[3]))


def when(text):
    """An ISO 8601 time with its time zone (`Z` is UTC); ValueError for one without, or none at all."""
    text = text.strip()
    try:
        t = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ValueError(f"{escape_line(text)[:60]!r} is not an ISO 8601 time (2026-12-01T23:59+00:00)") from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{escape_line(text)[:60]!r} has no time zone: add one, e.g. +00:00 or Z")
    return t


@dataclass(frozen=True)
class Rule:
    """The late penalty: `per` (an Amount) for each started `unit` late, at most `cap` (an Amount or None)."""

    per: Amount
    unit: str
    cap: Amount | None = None

    def penalty(self, seconds, most):
        """The points taken from a total out of `most` for a submission `seconds` late."""
        if seconds <= 0:
            return 0
        taken = math.ceil(seconds / SECONDS[self.unit]) * self.per.of(most)
        return min(taken, self.cap.of(most)) if self.cap else taken

    def __str__(self):
        cap = f", at most {str(self.cap).lstrip('+')}" if self.cap else ""
        return f"{str(self.per).lstrip('+')}/{self.unit}{cap}"


def rule(penalty, cap=None):
    """The Rule of `--late-penalty 10%/day --late-cap 50%`; Invalid says what is wrong."""
    m = RULE.fullmatch(penalty.strip())
    for option, text in (("--late-penalty", m and m[1] + m[2]), ("--late-cap", cap)):
        try:
            amount(text or "0", signed=False)
        except ValueError as e:
            raise Invalid(f"{option}: {e}") from None
    if not m:
        raise Invalid(f"--late-penalty {escape_line(penalty)!r}: write N%/day, N%/hour, N/day or N/hour")
    return Rule(Amount(float(m[1]), bool(m[2])), m[3], amount(cap, signed=False) if cap else None)


def rows(path, columns, what):
    """[(line it starts on, [cells])] of a CSV file of `columns` cells a row, its header (if any) left out; bounded."""
    found, n = [], 1
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read(MAX_CHARS + 1)  # no further: a file far too large, a pipe or device that never ends
        if len(text) > MAX_CHARS:
            raise Invalid(f"{what} {escape_line(path)}: more than {MAX_CHARS >> 20} MB, far more than a class needs")
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        for row in reader:
            found += [(n, row)] if any(c.strip() for c in row) else []
            n = reader.line_num + 1
    except (OSError, UnicodeDecodeError) as e:
        raise Invalid(f"{what} {escape_line(path)}: cannot be read ({escape_line(e)})") from None
    except csv.Error as e:  # strict: a quote never closed (it would take the lines after it into one reason), ...
        said = "a quote opened on this line is never closed" if "end of data" in str(e) else escape_line(e)
        raise Invalid(f"{what} {escape_line(path)}: line {n}: cannot be read ({said}); nothing was graded") from None
    head = [c.strip().lower() for c in found[0][1]] if found else []
    if head == [";".join(columns)]:  # as Excel saves a CSV where a comma is the decimal mark
        raise Invalid(f"{what} {escape_line(path)}: its cells are separated by ';': save it with commas (CSV UTF-8)")
    found = found[1:] if head == columns else found
    return found


def fail(what, path, bad):
    if bad:
        listed, lines = "\n".join(f"  line {n}: {why}" for n, why in bad), "lines" if len(bad) > 1 else "line"
        raise Invalid(f"{what} {escape_line(path)}: {len(bad)} bad {lines}, nothing was graded:\n{listed}")


def student(cell, students, seen):
    """The graded name of the id in `cell` (the id as submitted, or the name it is graded under, as grades.json
    has it, in any case), or ValueError: unknown (not on `students`, an ids.roster) or given twice."""
    sid = ids.on_roster(students, cell) if students is not None else ids.graded_name(cell.strip())
    if sid is None:  # students None: any id (a Gradescope zip's, checked at each run)
        raise ValueError(f"no submission of the id {escape_line(cell)[:60]!r}")
    if sid in seen:
        raise ValueError(f"the id {escape_line(cell)[:60]!r} is given twice")
    return sid


def target(cell):
    """What the check cell of an adjustments line names: "total", or a check ("3" and "03" alike: "03")."""
    where = cell.strip().lower()
    return where if where == "total" else where.zfill(2)


def adjustments(path, students, checks):
    """{graded name: [(check or "total", Amount, reason)]} of the adjustments file at `path`, for the
    `students` of this run graded on `checks`; Invalid lists every bad line."""
    out, bad, students = {}, [], None if students is None else ids.roster(students)
    for n, row in rows(path, ["id", "check", "points", "reason"], "--adjustments"):
        try:
            if len(row) != 4:
                raise ValueError(f"{len(row)} cell{'s' * (len(row) != 1)} for id,check,points,reason (quote commas)")
            sid = student(row[0], students, ())
            where = target(row[1])
            if where != "total" and where not in checks:
                raise ValueError(f"check {escape_line(row[1])[:20]!r} is not one graded here ({', '.join(checks)})")
            reason = row[3].strip()
            if not reason:
                raise ValueError("no reason: the student reads it")
            out.setdefault(sid, []).append((where, amount(row[2]), reason))
        except ValueError as e:
            bad.append((n, str(e)))
    fail("--adjustments", path, bad)
    return out


def times(path, students, what):
    """{graded name: aware datetime} of an `id,time` file (--times, --extensions); Invalid lists every bad line."""
    out, bad, students = {}, [], None if students is None else ids.roster(students)
    for n, row in rows(path, ["id", "time" if what == "--times" else "deadline"], what):
        try:
            if len(row) != 2:
                raise ValueError(f"{len(row)} cell{'s' * (len(row) != 1)} where id and a time are 2")
            out[student(row[0], students, out)] = when(row[1])
        except ValueError as e:
            bad.append((n, str(e)))
    fail(what, path, bad)
    return out


@dataclass
class Plan:
    """What is applied to every result: the adjustments, and the deadline with its rule, extensions and times."""

    adjustments: dict = field(default_factory=dict)
    deadline: datetime | None = None
    rule: Rule | None = None
    extensions: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)

    def settings(self):
        """What grades.json says of the plan (the files' contents are in each student's result)."""
        if self.deadline is None:
            return {"adjustments": True} if self.adjustments else {}
        late = {"deadline": self.deadline.isoformat(), "late_penalty": str(self.rule) if self.rule else None}
        return {"adjustments": bool(self.adjustments), **late}


def plan(args, students, checks):
    """The Plan of `kit grade`'s options for these `students` (graded names) and `checks`; Invalid else."""
    adjust = getattr(args, "adjustments", None)
    deadline, penalty = getattr(args, "deadline", None), getattr(args, "late_penalty", None)
    extensions, submitted = getattr(args, "extensions", None), getattr(args, "times", None)
    if not deadline and (penalty or getattr(args, "late_cap", None) or extensions):
        raise Invalid("--late-penalty, --late-cap and --extensions need --deadline")
    if getattr(args, "late_cap", None) and not penalty:
        raise Invalid("--late-cap needs --late-penalty")
    try:
        due = when(deadline) if deadline else None
    except ValueError as e:
        raise Invalid(f"--deadline: {e}") from None
    return Plan(
        adjustments(adjust, students, checks) if adjust else {},
        due,
        rule(penalty, getattr(args, "late_cap", None)) if penalty else None,
        times(extensions, students, "--extensions") if extensions else {},
        times(submitted, students, "--times") if submitted else {},
    )


def late(result, plan_, most, total):
    """(points taken, the lateness record) of `result` with a total of `total` out of `most`."""
    due = plan_.extensions.get(result["id"], plan_.deadline)
    record = {"deadline": due.isoformat(), "extended": result["id"] in plan_.extensions}
    submitted = plan_.times.get(result["id"])
    if submitted is None:
        return 0, dict(record, submitted=None, note="no submission time was recorded: no late penalty")
    seconds = (submitted - due).total_seconds()
    taken = min(plan_.rule.penalty(seconds, most), total) if plan_.rule else 0
    record.update(submitted=submitted.isoformat(), late_seconds=max(0, int(seconds)))
    return taken, record


def apply(result, plan_):
    """`result` as the gradebook shows it: its raw checks untouched, with `adjustments` (each applied,
    clipped to its check's bounds or the total's, with its reason), `lateness` and the `total` after them."""
    r = {k: v for k, v in result.items() if k not in ("adjustments", "lateness", "total")}
    if r["status"] in score.UNMARKED or not (plan_.adjustments.get(r["id"]) or plan_.deadline):
        return r  # not marked yet; a student with nothing to apply stays as graded
    checks = {ex: c["earned"] for ex, c in r["checks"].items()}
    most = sum(c["max"] for c in r["checks"].values())
    applied, extra = [], 0
    # Checks first, then the total: a total kept within its bounds is not pushed past them by a check after it.
    for where, asked, reason in sorted(plan_.adjustments.get(r["id"], []), key=lambda a: a[0] == "total"):
        top = most if where == "total" else POINTS[where]
        now = sum(checks.values()) + extra if where == "total" else checks[where]
        change = number(min(max(now + asked.of(top), 0), top) - now)  # a check stays within 0..its maximum
        if where == "total":
            extra += change
        else:
            checks[where] = number(now + change)
        clipped = change != number(asked.of(top))
        applied.append({"check": where, "asked": str(asked), "points": change, "reason": reason, "clipped": clipped})
    total = sum(checks.values()) + extra
    if plan_.deadline:
        taken, r["lateness"] = late(r, plan_, most, total)
        if taken:
            hours = r["lateness"]["late_seconds"] / 3600
            reason = f"late penalty: submitted {hours:.1f} hours after the deadline ({plan_.rule})"
            applied.append({"check": "total", "asked": f"-{taken}", "points": -taken, "reason": reason})
            total -= taken
    r["adjustments"], r["total"] = applied, number(total)
    return r


def adjusted_checks(result):
    """{check: points after that check's adjustments} of an applied result (the raw points where none)."""
    out = {ex: c["earned"] for ex, c in result["checks"].items()}
    for a in result.get("adjustments", []):
        if a["check"] in out:
            out[a["check"]] = number(out[a["check"]] + a["points"])
    return out


def options(parser):
    """`kit grade`'s options of adjustments and lateness (docs/instructor/adjustments.md)."""
    group = parser.add_argument_group("adjustments and deadlines (docs/instructor/adjustments.md)")
    group.add_argument("--adjustments", metavar="FILE", help="CSV id,check,points,reason applied on every run")
    group.add_argument("--deadline", metavar="TIME", help="ISO 8601 with a time zone, e.g. 2026-12-01T23:59+00:00")
    group.add_argument("--late-penalty", metavar="RULE", help="per started day or hour late: 10%%/day, 2/hour")
    group.add_argument("--late-cap", metavar="AMOUNT", help="the most a late penalty takes: 50%% or points")
    group.add_argument("--extensions", metavar="FILE", help="CSV id,deadline: a student's own deadline")
    group.add_argument("--times", metavar="FILE", help="CSV id,time: when each student submitted")
    return group


FLAGS = ("--adjustments", "--deadline", "--late-penalty", "--late-cap", "--extensions", "--times")
