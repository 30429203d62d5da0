"""The class report as one self-contained HTML page, from what kit/instructor/report_counts.py counts.

Nothing is loaded from the network (figures inline, no external CSS or scripts, a Content Security
Policy that forbids both). Every string from grades.json is escaped (kit/escape.py, then HTML). The
page reads at a phone's width (375 px) and a desktop's: every table sits in a box of its own that
scrolls sideways when it is wider than the screen, so the page itself never does, and ids (of
students, of mistakes) never break mid-word.
"""

import html
import re
from urllib.parse import quote

from kit.escape import escape
from kit.exercises import EXERCISES
from kit.instructor import report_counts as counts
from kit.instructor.report_figures import check_svg, totals_svg

EXAMPLES = 5  # feedback links shown per mistake
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 1em auto; max-width: 72em; padding: 0 .8em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; font-size: 1.25em; }
.wide { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eef2f7; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td { overflow-wrap: break-word; } td.text { min-width: 12em; max-width: 32em; }
#mistakes-table th { background: #f6dede; } #look-table th { background: #fbeed5; }
.id, .nw, td.n { white-space: nowrap; }
.checks { display: flex; flex-wrap: wrap; gap: 1em; }
.check { border: 1px solid #ddd; border-radius: 6px; padding: .5em .8em; max-width: 100%; }
.check h3 { margin: .2em 0; font-size: 1.05em; } .dist td, .dist th { padding: .1em .35em; font-size: .85em; }
svg { max-width: 100%; height: auto; } figure { margin: .5em 0; }
.none { color: #666; font-style: italic; } code { font-size: .95em; }
"""


def text(value):
    """Learner (or any) text, safe as HTML content or attribute."""
    return html.escape(escape(value), quote=True)


def code_spans(value):
    """The catalogue's wording, escaped, with its `code` in <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text(value))


def sid_link(sid):
    """A link to the student's feedback file; a lone surrogate (no file name holds one) as U+FFFD, as shown."""
    href = quote(re.sub("[\ud800-\udfff]", "\ufffd", sid), safe="")
    return f'<a class="id" href="feedback/{text(href)}.md">{text(sid)}</a>'


def table(name, head, rows, numeric=(), prose=()):
    """A <table id=name> in a box that scrolls sideways; `rows` are lists of ready HTML cells, the
    columns `numeric` right-aligned, the columns `prose` given room for sentences."""

    def attr(i):
        return ' class="n"' if i in numeric else ' class="text"' if i in prose else ""

    ths = "".join(f"<th{attr(i)}>{h}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="wide"><table id="{name}"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>'


def look_section(data):
    rows = counts.needs_look(data)
    out = ['<h2 id="look">Who needs a look, and why</h2>']
    if not rows:
        return out + [
            '<p class="none">No submission needs a look: every one was graded, none ran out of time, '
            "crashed, could not be read or imported, was flagged or scored zero.</p>"
        ]
    out.append(
        f"<p>{len({r[0] for r in rows})} students: submissions that could not be graded, grader errors, timeouts, "
        "crashes, files Python could not read or import, tampering the worker refused, code the grader's scan "
        "marked for review, and zero scores.</p>"
    )
    cells = [[sid_link(s), f'<span class="nw">{text(k)}</span>', text(w), text(d)] for s, k, w, d in rows]
    return out + [table("look-table", ["student", "why", "where", "detail"], cells, prose={3})]


def totals_section(data):
    stats = counts.totals(data)
    out = ['<h2 id="totals">Totals</h2>']
    if not stats["n"]:
        return out + ['<p class="none">No student has a total yet.</p>']
    errors = f"{stats['left_out']} grader error{'s' if stats['left_out'] > 1 else ''}"
    left = f" ({errors} left out: not the students' scores)" if stats["left_out"] else ""
    out.append(
        f"<p>{stats['n']} students{left}, out of {stats['max']} points, as grades.csv holds them (after any "
        "adjustments and late penalties).</p>"
    )
    out.append(f'<figure class="totals">{totals_svg(stats)}</figure>')
    keys = ["n", "min", "q1", "median", "q3", "maximum", "mean"]
    head = ["students", "min", "Q1", "median", "Q3", "max", "mean"]
    return out + [table("totals-table", head, [[f"{stats[k]:g}" if k != "mean" else f"{stats[k]:.1f}" for k in keys]])]


def checks_section(data):
    stats = counts.distribution(data)
    out = ['<h2 id="checks">Points per check</h2>']
    rows = [
        [
            f"<span class=\"nw\">check-{ex}</span> {text(EXERCISES[ex].title)}",
            s["students"],
            f"{s['mean']:.1f} / {s['max']}",
            s["full"],
            f"{s['full'] / s['students'] if s['students'] else 0.0:.0%}",
        ]
        for ex, s in stats.items()
    ]
    out.append(
        table("checks-table", ["check", "students", "mean", "full marks", "share at full marks"], rows, {1, 2, 3, 4})
    )
    out.append('<div class="checks">')
    for ex, s in stats.items():
        svg = check_svg(ex, s)
        out.append(f'<section class="check" id="check-{ex}"><h3>check-{ex} {text(EXERCISES[ex].title)}</h3>')
        if svg:
            out.append(f'<figure class="histogram" data-check="{ex}" aria-label="points of check-{ex}">{svg}</figure>')
        points = "".join(f"<th>{p}</th>" for p in s["counts"])
        students = "".join(f'<td class="n">{c}</td>' for c in s["counts"].values())
        out.append(
            f'<div class="wide"><table class="dist" data-check="{ex}"><tr><th>points</th>{points}</tr>'
            f"<tr><th>students</th>{students}</tr></table></div></section>"
        )
    return out + ["</div>"]


def tests_section(data):
    rows = counts.test_failures(data)
    out = ['<h2 id="tests">Failure rates per test</h2>']
    out.append(
        "<p>Every test, failed by how many of the students it ran for: not done yet, and done but wrong "
        "without a mistake id the checks could name (read those in the students' feedback).</p>"
    )
    cells = [
        [
            f'<span class="nw">check-{text(r["check"])}</span>',
            text(r["test"]),
            r["students"],
            r["failed"],
            f"{r['failed'] / r['students']:.0%}",
            r["todo"],
            r["no_id"],
            ", ".join(f'<code class="id">{text(m)}</code> {n}' for m, n in r["ids"].most_common(3)),
        ]
        for r in rows
    ]
    head = ["check", "test", "students", "failed", "share", "not done", "without an id", "mistake ids"]
    return out + [table("tests-table", head, cells, {2, 3, 4, 5, 6}, {1})]


def mistakes_section(data, about):
    found = counts.mistakes(data)
    out = ['<h2 id="mistakes">The most common mistakes</h2>']
    if not found:
        return out + ['<p class="none">No test of this class carries a diagnosed mistake.</p>']
    out.append(
        "<p>Diagnosed by the checks, by catalogue id (<code>docs/mistakes.md</code>); a student counts once "
        "per mistake, however many tests it failed.</p>"
    )
    cells = []
    for m in found:
        what, advice = about.get(m["id"], ("(not in the catalogue)", ""))
        shown = ", ".join(sid_link(sid) for sid in m["students"][:EXAMPLES])
        if len(m["students"]) > EXAMPLES:
            shown += f" and {len(m['students']) - EXAMPLES} more"
        cells.append(
            [
                f'<code class="id">{text(m["id"])}</code>',
                len(m["students"]),
                f'<span class="nw">{text(", ".join("check-" + ex for ex in m["checks"]))}</span>',
                code_spans(what),
                code_spans(advice),
                shown,
            ]
        )
    head = ["mistake", "students", "check", "what it is", "what the students read", "students who made it"]
    return out + [table("mistakes-table", head, cells, {1}, {3, 4})]


def students_section(data):
    checks = counts.checks_of(data)
    out = ['<h2 id="students">Every student</h2>']
    cells = [
        [sid_link(sid), f"{score:g}", *(f"{earned.get(ex, 0):g}" for ex in checks), text(", ".join(kinds))]
        for sid, score, earned, kinds in counts.per_student(data)
    ]
    head = ["student", "total", *(f'<span title="{text(EXERCISES[ex].title)}">{ex}</span>' for ex in checks), "flags"]
    return out + [table("students-table", head, cells, set(range(1, len(checks) + 2)))]


def similarity_section(pairs, groups, threshold, skipped):
    out = ['<h2 id="similarity">Similar submissions</h2>']
    out.append(
        "<p>The pairs whose code overlaps most, as copydetect measures it (winnowed fingerprints of "
        "the learner's tree, the starter stubs excluded). Everyone writes micrograd after the same "
        "lecture, so some overlap is expected: a pair here is a reason to read both, not a verdict.</p>"
    )
    if pairs:
        cells = [[sid_link(a), sid_link(b), f"{x:.0%}", f"{y:.0%}"] for a, b, x, y in pairs]
        head = [
            "student",
            "student",
            "share of the first found in the second",
            "share of the second found in the first",
        ]
        out.append(table("similarity-table", head, cells, {2, 3}))
    else:
        out.append('<p class="none">No two submissions share code beyond the starter stubs.</p>')
    out.append(f'<h3 id="groups">Groups: pairs that share at least {threshold:.0%} both ways, connected</h3>')
    if groups:
        cells = [[i + 1, len(g), ", ".join(sid_link(s) for s in g)] for i, g in enumerate(groups)]
        out.append(table("groups-table", ["group", "students", "members"], cells, {0, 1}))
    else:
        out.append('<p class="none">No pair shares that much.</p>')
    if skipped:
        out.append(f'<p class="wide">Not compared (no gradable tree): {", ".join(sid_link(s) for s in skipped)}.</p>')
    return out


def page(data, out, about, similarity=None):
    """The page; `similarity` is (pairs shown, groups, threshold, students not compared) or None."""
    n = len(data["students"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>micrograd-kit: the class at a glance</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>micrograd-kit: the class at a glance</h1>",
        f"<p>{n} submissions: who needs a look first, then the totals, each check, each test, the mistakes and "
        "every student, each linked to the feedback file the student got.</p>",
    ]
    parts += look_section(data) + totals_section(data) + checks_section(data)
    parts += tests_section(data) + mistakes_section(data, about) + students_section(data)
    if similarity is not None:
        parts += similarity_section(*similarity)
    rows = [[f"<b>{text(k)}</b>", text(v)] for k, v in counts.settings(data, out)]
    parts += ['<h2 id="settings">Settings</h2>', table("settings-table", ["setting", "value"], rows)]
    parts += ["</body></html>"]
    return "\n".join(parts) + "\n"
