"""What the class report counts from grades.json: plain data for kit/instructor/report_page.py.

Every function reads the gradebook `kit grade` wrote (checked by report.load) and returns rows of
plain values; nothing here writes HTML or trusts a string to be anything but text.
"""

import re
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from kit.exercises import EXERCISES
from kit.instructor import adjust, gradebook, lms, score
from kit.version import code_hash

# What a learner-facing message says when Python could not read or import a file (checks/messages.py).
UNREADABLE = re.compile(
    r"raised (SyntaxError|IndentationError|TabError|ModuleNotFoundError|ImportError)\b|could not find them there"
)
REVIEW_NOTE = "for review: "  # how kit/instructor/scan.py marks a note that asks for a look
# Why a student needs a look, in the order the page lists them.
KINDS = (
    "ungradable",
    "held",
    "grader error",
    "timeout",
    "crash",
    "syntax or import error",
    "tampering",
    "for review",
    "processes left running",
    "zero score",
)


def checks_of(data):
    return lms.graded_checks(data["students"], data)


def raw_total(r):
    """What the checks gave, before any adjustment: a zero here is a submission that earned nothing."""
    return sum(c["earned"] for c in r["checks"].values())


def distribution(data):
    """{check: {"max", "counts" {points: students}, "students", "full", "mean"}} over every student graded on it."""
    stats = {}
    for ex in checks_of(data):
        rows = [r["checks"][ex] for r in data["students"] if ex in r["checks"]]
        most = EXERCISES[ex].points
        counts = Counter(int(c["earned"]) for c in rows)
        stats[ex] = {
            "max": most,
            "counts": {p: counts.get(p, 0) for p in sorted(set(range(most + 1)) | set(counts))},
            "students": len(rows),
            "full": sum(1 for c in rows if c["earned"] >= c["max"]),
            "mean": sum(c["earned"] for c in rows) / len(rows) if rows else 0.0,
        }
    return stats


def mistakes(data):
    """[{"id", "checks", "students", "tests"}], the most common first: each id's students (sorted) and failed tests."""
    students, checks, tests = defaultdict(set), defaultdict(set), Counter()
    for r in data["students"]:
        for t in r.get("tests", []):
            mid = t.get("mistake")
            if isinstance(mid, str) and mid:
                students[mid].add(r["id"])
                checks[mid].add(str(t.get("check", "")))
                tests[mid] += 1
    rows = [
        {"id": m, "checks": sorted(checks[m]), "students": sorted(s), "tests": tests[m]} for m, s in students.items()
    ]
    return sorted(rows, key=lambda row: (-len(row["students"]), row["id"]))


def _where(tests):
    return ", ".join(f"check-{ex}" for ex in sorted({str(t.get("check", "")) for t in tests}))


def needs_look(data):
    """[(student, kind, where, detail)], one row per student and reason (KINDS), sorted by student:
    every ungradable submission, grader error, timeout, crash, file Python could not read or import,
    tampering the worker refused, note of the grader's scan for review, process left running and zero
    score."""
    rows = []
    for r in data["students"]:
        sid, status, reason = r["id"], str(r.get("status", "graded")), str(r.get("reason") or "")
        if status in ("ungradable", "held"):
            rows.append((sid, status, "", reason))
        elif status != "graded":
            rows.append((sid, "grader error", "", f"{status}: {reason}" if status != "error" else reason))
        tests = r.get("tests", [])
        for kind, picked in (
            ("timeout", [t for t in tests if t.get("status") == "timeout"]),
            ("crash", [t for t in tests if t.get("status") == "crash"]),
            (
                "syntax or import error",
                [t for t in tests if t.get("status") == "error" and UNREADABLE.search(str(t.get("message", "")))],
            ),
        ):
            if picked:
                first = str(picked[0].get("message", "")).split("\n")[0]
                detail = f"{len(picked)} test{'s' if len(picked) > 1 else ''}: {first}"
                if kind == "timeout" and reason:
                    detail = f"{reason}; {detail}"
                rows.append((sid, kind, _where(picked), detail))
        for flag in r.get("review") or []:
            if isinstance(flag, dict):
                where = " · ".join(str(flag[k]) for k in ("check", "test") if flag.get(k))
                rows.append((sid, "tampering", where, str(flag.get("reason", ""))))
            else:
                rows.append((sid, "tampering", "", str(flag)))
        for note in r.get("notes") or []:  # the grader's static scan: code that reaches for the grader, a copy
            if isinstance(note, str) and note.startswith(REVIEW_NOTE):
                rows.append((sid, "for review", "", note[len(REVIEW_NOTE) :]))
        if r.get("leftovers"):
            rows.append((sid, "processes left running", "", f"killed after grading: {r['leftovers']}"))
        if status == "graded" and raw_total(r) == 0:
            rows.append((sid, "zero score", "", "no check earned a point"))
    return sorted(rows, key=lambda row: (row[0], KINDS.index(row[1])))


def test_failures(data):
    """[{"check", "test", "students", "failed", "todo", "no_id", "ids" Counter}] per test, in the
    order of the checks and then of the tests: how many students it failed, how many of those had
    not done it yet (todo), and how many of the others carry no mistake id."""
    rows = {}
    for r in data["students"]:
        for t in r.get("tests", []):
            key = (str(t.get("check", "")), str(t.get("test", "")))
            row = rows.setdefault(
                key,
                {"check": key[0], "test": key[1], "students": 0, "failed": 0, "todo": 0, "no_id": 0, "ids": Counter()},
            )
            row["students"] += 1
            if t.get("status") != "pass":
                row["failed"] += 1
                mid = t.get("mistake")
                if isinstance(mid, str) and mid:
                    row["ids"][mid] += 1
                elif t.get("status") == "todo":
                    row["todo"] += 1
                else:  # done, and wrong, but the checks cannot say how: the feedback is where to read it
                    row["no_id"] += 1
    order = {ex: i for i, ex in enumerate(EXERCISES)}
    return sorted(rows.values(), key=lambda row: order.get(row["check"], len(order)))


def totals(data):
    """{"scores" [total per student], "max", "n", "min", "q1", "median", "q3", "maximum", "mean", "left_out"}:
    the class's totals as grades.csv holds them (after adjustments and late penalties) and their
    quartiles (linear, as numpy's default); grader errors are left out, their zeros are not the
    students' scores."""
    checks = checks_of(data)
    scores = sorted(gradebook.total(r) for r in data["students"] if r.get("status", "graded") not in score.UNMARKED)
    stats = {"scores": scores, "max": sum(EXERCISES[ex].points for ex in checks), "n": len(scores)}
    stats["left_out"] = len(data["students"]) - len(scores)
    if scores:
        q1, median, q3 = statistics.quantiles(scores, n=4, method="inclusive") if len(scores) > 1 else scores * 3
        stats.update(min=scores[0], q1=q1, median=median, q3=q3, maximum=scores[-1], mean=statistics.fmean(scores))
    return stats


def bins(scores, most, count=20):
    """[(low, high, students)]: the totals 0..most in at most `count` bins of whole points."""
    width = max(1, -(-(most + 1) // count))
    edges = range(0, most + 1, width)
    return [(lo, min(lo + width - 1, most), sum(lo <= s <= lo + width - 1 for s in scores)) for lo in edges]


def per_student(data):
    """[(student, total, {check: points}, [flags])] sorted by id: every student, flagged or not, with
    the points of grades.csv (after adjustments and late penalties); the flags are the reasons for a
    look, then "adjusted" and "late" where they apply."""
    kinds = defaultdict(list)
    for sid, kind, _, _ in needs_look(data):
        if kind not in kinds[sid]:
            kinds[sid].append(kind)
    rows = []
    for r in data["students"]:
        flags = kinds[r["id"]] + ["adjusted"] * bool(r.get("adjustments"))
        flags += ["late"] * bool((r.get("lateness") or {}).get("late_seconds"))
        rows.append((r["id"], gradebook.total(r), adjust.adjusted_checks(r), flags))
    return sorted(rows, key=lambda row: row[0])


def groups(pairs, threshold):
    """[[students]]: the connected groups of the pairs in which each side shares at least `threshold`
    of its code with the other, the largest first; a chain a-b, b-c is one group."""
    parent = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, share_a, share_b in pairs:
        if min(share_a, share_b) >= threshold:
            parent[root(a)] = root(b)
    members = defaultdict(list)
    for x in parent:
        members[root(x)].append(x)
    found = [sorted(m) for m in members.values() if len(m) > 1]
    return sorted(found, key=lambda g: (-len(g), g))


def settings(data, out):
    """[(name, value)]: what the page says about how the class was graded. A whitelist, so the seed
    and any secret grades.json holds never reach the page."""
    version = data.get("kit_version")
    if not version:  # a gradebook written before grades.json recorded it
        version = f"{code_hash()} (the kit that wrote this report; grades.json does not record one)"
    when = data.get("graded_at")
    if not when:
        mtime = (Path(out) / "grades.json").stat().st_mtime
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(mtime)) + " (grades.json written)"
    rows = [
        ("checks", ", ".join(f"check-{ex}" for ex in checks_of(data))),
        ("students", str(len(data["students"]))),
        ("kit version", str(version)),
        ("graded", str(when)),
    ]
    if data.get("sandbox"):
        rows.append(("sandbox", str(data["sandbox"])))
    return rows
