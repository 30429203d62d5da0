"""What the class got wrong, at a glance: OUT/report.html from OUT/grades.json.

    python -m kit report OUT [--similarity SUBMISSIONS] [--pairs N] [--canvas-key sis-login-id]

One self-contained page (no network: figures inline, no external CSS or scripts, and a Content
Security Policy that forbids both): per check the distribution of points and the share at full
marks, the most common mistakes by catalogue id with links to the feedback of a few students who
made them, the submissions marked for review, and the settings (never the seed or a secret).
Histograms need matplotlib (the report extra); without it the page shows the same numbers as
tables. --similarity adds the most similar pairs of submissions, the starter stubs excluded, as
copydetect measures them. The report also (re)writes OUT/grades-canvas.csv (kit/instructor/lms.py).
"""

import argparse
import html
import io
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from kit.escape import escape
from kit.exercises import EXERCISES
from kit.instructor import gradebook, lms, similar
from kit.version import code_hash

EXAMPLES = 5  # feedback links shown per mistake


class BadGradebook(Exception):
    """grades.json is missing or not the shape `kit grade` writes."""


# --- reading --------------------------------------------------------------------------------------


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


# --- counting -------------------------------------------------------------------------------------


def checks_of(data):
    return lms.graded_checks(data["students"], data)


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


def flagged(data):
    """[(student, status, where, reason)]: every submission marked for review, and why."""
    rows = []
    for r in data["students"]:
        status = str(r.get("status", "graded"))
        if status != "graded":
            rows.append((r["id"], status, "", str(r.get("reason") or "")))
        for flag in r.get("review") or []:
            if isinstance(flag, dict):
                where = " · ".join(str(flag[k]) for k in ("check", "test") if flag.get(k))
                rows.append((r["id"], "review", where, str(flag.get("reason", ""))))
            else:
                rows.append((r["id"], "review", "", str(flag)))
        if r.get("leftovers"):
            rows.append((r["id"], status, "", f"processes left running after grading were killed: {r['leftovers']}"))
    return sorted(rows, key=lambda row: row[0])


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


# --- drawing --------------------------------------------------------------------------------------

BAR, FULL_BAR = "#3b6ea8", "#2e8b57"


def histogram_svg(ex, stat):
    """An inline <svg> of check `ex`'s distribution of points, or None without matplotlib."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return None
    points = list(stat["counts"])
    counts = [stat["counts"][p] for p in points]
    # A fixed salt gives the same ids on every run (matplotlib draws random ones otherwise).
    with matplotlib.rc_context({"svg.hashsalt": "micrograd-kit", "svg.fonttype": "none", "font.size": 8}):
        fig = Figure(figsize=(3.4, 1.7))
        ax = fig.add_subplot()
        ax.bar(points, counts, color=[FULL_BAR if p >= stat["max"] else BAR for p in points], width=0.8)
        ax.set_xlabel("points")
        ax.set_ylabel("students")
        ax.set_xticks(points if len(points) <= 16 else points[:: max(1, len(points) // 8)])
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout(pad=0.3)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    # matplotlib names its groups figure_1, axes_1, ... in every figure: give each figure's ids
    # (and the references to them) a prefix of its own, so that the page's ids stay unique.
    return re.sub(r'(\sid="|url\(#|href="#)', lambda m: f"{m.group()}c{ex}-", svg)


# --- the page -------------------------------------------------------------------------------------


def text(value):
    """Learner (or any) text, safe as HTML content or attribute."""
    return html.escape(escape(value), quote=True)


def code_spans(value):
    """The catalogue's wording, escaped, with its `code` in <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text(value))


def feedback_link(sid):
    return f'<a href="feedback/{text(quote(sid, safe=""))}.md">{text(sid)}</a>'


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #eef2f7; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
#mistakes-table th { background: #f6dede; } td { overflow-wrap: anywhere; }
#mistakes-table td:nth-child(4), #mistakes-table td:nth-child(5) { min-width: 16em; }
.checks { display: flex; flex-wrap: wrap; gap: 1em; }
.check { border: 1px solid #ddd; border-radius: 6px; padding: .5em .8em; }
.check h3 { margin: .2em 0; font-size: 1.05em; } .dist td, .dist th { padding: .1em .35em; font-size: .85em; }
.nw { white-space: nowrap; } .none { color: #666; font-style: italic; } code { font-size: .95em; }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page(data, out, pairs=None, skipped=()):
    stats, found, review, about = distribution(data), mistakes(data), flagged(data), catalogue()
    n = len(data["students"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>micrograd-kit: the class at a glance</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>micrograd-kit: the class at a glance</h1>",
        f"<p>{n} submissions. Each check: its distribution of points, and how many students earned full marks.</p>",
    ]
    parts += ['<h2 id="checks">Points per check</h2>', '<table id="checks-table"><thead><tr>']
    parts += ["<th>check</th><th>students</th><th>mean</th><th>full marks</th><th>share at full marks</th>"]
    parts += ["</tr></thead><tbody>"]
    for ex, s in stats.items():
        share = s["full"] / s["students"] if s["students"] else 0.0
        parts.append(
            f'<tr data-check="{ex}"><td>check-{ex} {text(EXERCISES[ex].title)}</td><td class="n">{s["students"]}</td>'
            f'<td class="n">{s["mean"]:.1f} / {s["max"]}</td><td class="n">{s["full"]}</td>'
            f'<td class="n">{share:.0%}</td></tr>'
        )
    parts += ["</tbody></table>", '<div class="checks">']
    for ex, s in stats.items():
        svg = histogram_svg(ex, s)
        parts.append(f'<section class="check" id="check-{ex}"><h3>check-{ex} {text(EXERCISES[ex].title)}</h3>')
        if svg:
            parts.append(
                f'<figure class="histogram" data-check="{ex}" aria-label="points of check-{ex}">{svg}</figure>'
            )
        points = "".join(f"<th>{p}</th>" for p in s["counts"])
        counts = "".join(f'<td class="n">{c}</td>' for c in s["counts"].values())
        parts.append(
            f'<table class="dist" data-check="{ex}"><tr><th>points</th>{points}</tr>'
            f"<tr><th>students</th>{counts}</tr></table></section>"
        )
    parts.append("</div>")

    parts.append('<h2 id="mistakes">The most common mistakes</h2>')
    if found:
        parts.append(
            "<p>Diagnosed by the checks, by catalogue id (<code>docs/mistakes.md</code>); a student counts once "
            "per mistake, however many tests it failed.</p>"
        )
        parts.append('<table id="mistakes-table"><thead><tr><th>mistake</th><th>students</th><th>check</th>')
        parts.append("<th>what it is</th><th>what the students read</th><th>students who made it</th>")
        parts.append("</tr></thead><tbody>")
        for m in found:
            what, advice = about.get(m["id"], ("(not in the catalogue)", ""))
            shown = ", ".join(feedback_link(sid) for sid in m["students"][:EXAMPLES])
            more = len(m["students"]) - EXAMPLES
            if more > 0:
                shown += f" and {more} more"
            parts.append(
                f'<tr data-mistake="{text(m["id"])}"><td><code>{text(m["id"])}</code></td>'
                f'<td class="n">{len(m["students"])}</td>'
                f'<td class="nw">{text(", ".join("check-" + ex for ex in m["checks"]))}</td>'
                f"<td>{code_spans(what)}</td><td>{code_spans(advice)}</td><td>{shown}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="none">No test of this class carries a diagnosed mistake.</p>')

    parts.append('<h2 id="review">Marked for review</h2>')
    if review:
        parts.append(
            '<table id="review-table"><thead><tr><th>student</th><th>status</th><th>where</th><th>reason</th></tr>'
            "</thead><tbody>"
        )
        for sid, status, where, reason in review:
            parts.append(
                f"<tr><td>{feedback_link(sid)}</td><td>{text(status)}</td><td>{text(where)}</td>"
                f"<td>{text(reason)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="none">No submission is marked for review.</p>')

    if pairs is not None:
        parts.append('<h2 id="similarity">Similar submissions</h2>')
        parts.append(
            "<p>The pairs whose code overlaps most, as copydetect measures it (winnowed fingerprints of "
            "the learner's tree, the starter stubs excluded). Everyone writes micrograd after the same "
            "lecture, so some overlap is expected: a pair here is a reason to read both, not a verdict.</p>"
        )
        if pairs:
            parts.append(
                '<table id="similarity-table"><thead><tr><th>student</th><th>student</th>'
                "<th>share of the first found in the second</th><th>share of the second found in the first</th>"
                "</tr></thead><tbody>"
            )
            for a, b, share_a, share_b in pairs:
                parts.append(
                    f'<tr><td>{feedback_link(a)}</td><td>{feedback_link(b)}</td><td class="n">{share_a:.0%}</td>'
                    f'<td class="n">{share_b:.0%}</td></tr>'
                )
            parts.append("</tbody></table>")
        else:
            parts.append('<p class="none">No two submissions share code beyond the starter stubs.</p>')
        if skipped:
            parts.append(f"<p>Not compared (no gradable tree): {', '.join(feedback_link(s) for s in skipped)}.</p>")

    parts += ['<h2 id="settings">Settings</h2>', '<table id="settings-table"><tbody>']
    parts += [f"<tr><th>{text(k)}</th><td>{text(v)}</td></tr>" for k, v in settings(data, out)]
    parts += ["</tbody></table>", "</body></html>"]
    return "\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit report", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the folder `kit grade` wrote (grades.json); report.html is written there")
    parser.add_argument(
        "--similarity",
        metavar="SUBMISSIONS",
        help="add the most similar pairs of these submissions (the folder given to kit grade; needs copydetect)",
    )
    parser.add_argument("--pairs", type=int, default=10, help="similar pairs shown (default 10)")
    parser.add_argument(
        "--canvas-key",
        choices=sorted(lms.KEYS),
        default="sis-login-id",
        help="the Canvas column that holds the student id in grades-canvas.csv (default sis-login-id)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    try:
        data = load(out)
    except BadGradebook as e:
        print(f"python -m kit report: {e}", file=sys.stderr)
        return 2
    pairs, skipped = None, []
    if args.similarity:
        if not Path(args.similarity).is_dir():
            parser.error(f"--similarity {args.similarity}: no such folder")
        pairs, skipped = similar.similar_pairs(args.similarity, args.pairs)
    gradebook.write_atomic(out / "report.html", page(data, out, pairs, skipped))
    gradebook.write_atomic(out / "grades-canvas.csv", lms.canvas_csv(data["students"], data, args.canvas_key))
    print(f"wrote {out / 'report.html'} and {out / 'grades-canvas.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
