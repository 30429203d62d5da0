"""The class report: report.html from a real graded class, grades-canvas.csv, and similar pairs."""

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from html.parser import HTMLParser

import hostile
import pytest

from kit import ROOT
from kit.exercises import EXERCISES, POINTS
from kit.instructor import lms, report
from kit.version import code_hash

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FAST = ["--probe-timeout", "2.5", "--check-timeout", "10", "--jobs", "2"]
SEED = "48151623"
HOSTILE = '<script>alert("x")</script>\x07\x1b[31m\u202egpj.exe'
LONG = "a-student-whose-id-is-" + "very-" * 20 + "long"
SYNTAX = (
    "While the check adds two Values, your code raised SyntaxError: invalid syntax (engine.py, line 3)\n"
    "  at micrograd/engine.py, line 3:\n    def __add__(self, other:\nPython could not read the file."
)


def kit(*args, env=None, timeout=600):
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )
    return proc


def make_report(out, *extra, env=None):
    proc = kit("-m", "kit", "report", str(out), *extra, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return (out / "report.html").read_text(encoding="utf-8")


class Tables(HTMLParser):
    """Every <table> of a page by its id (or class and data-check), as rows of cell texts."""

    def __init__(self, page):
        super().__init__(convert_charrefs=True)
        self.tables, self.svgs, self.links, self.current, self.row, self.cell = {}, 0, [], None, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            name = attrs.get("id") or f"{attrs.get('class')}-{attrs.get('data-check')}"
            self.current = self.tables.setdefault(name, [])
        elif tag == "tr" and self.current is not None:
            self.row = []
            self.current.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "svg":
            self.svgs += 1
        elif tag == "a":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


# --- the classes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A mixed class graded for real: correct, partly solved, a classic mistake, the untouched stubs,
    a folder without the tree, a copy of a partly solved tree with its names changed, a syntax error
    in train.py, and a student who sent only micrograd/."""
    base = tmp_path_factory.mktemp("class")
    subs = base / "subs"
    hostile.tree(subs / "ann")
    hostile.tree(subs / "ben", upto=3)
    hostile.tree(subs / "cat", patches=[("micrograd/engine.py", "(1 - t**2)", "(1 - t)")])
    hostile.tree(subs / "dan", upto=0)
    (subs / "eve").mkdir()
    (subs / "eve" / "notes.txt").write_text("I ran out of time\n")
    hostile.tree(subs / "gus", upto=3)
    engine = subs / "gus" / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("other", "rhs").replace("out", "result"))
    hostile.tree(subs / "hal", patches=[hostile.top("train.py", "def broken(:")])
    hostile.tree(base / "ida")
    shutil.copytree(base / "ida" / "micrograd", subs / "ida" / "micrograd")  # sent only micrograd/
    proc = kit("-m", "kit", "grade", str(subs), str(base / "out"), *FAST, "--seed", SEED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return base


def diagnosed(data):
    """The class's grades with cat's tanh mistake named where the checks do not name it yet."""
    for r in data["students"]:
        for t in r["tests"]:
            if r["id"] == "cat" and t["check"] == "05" and t["status"] != "pass" and not t.get("mistake"):
                t["mistake"] = "tanh-derivative"
    return data


@pytest.fixture(scope="module")
def class_report(graded, tmp_path_factory):
    """The graded class's report, with the similarity section, from a copy of its gradebook."""
    out = tmp_path_factory.mktemp("report")
    shutil.copytree(graded / "out" / "feedback", out / "feedback")
    data = diagnosed(json.loads((graded / "out" / "grades.json").read_text()))
    (out / "grades.json").write_text(json.dumps(data))
    shutil.copy(graded / "out" / "grades.csv", out / "grades.csv")
    page = make_report(out, "--similarity", str(graded / "subs"))
    return {"out": out, "data": data, "page": page}


def student(sid, earned, tests=(), **extra):
    """One student's result as `kit grade` writes it: earned {check: points}, tests [(check, mistake)]."""
    return {
        "id": sid,
        "status": extra.pop("status", "graded"),
        "reason": extra.pop("reason", ""),
        "notes": [],
        "seed": 987654321,
        "only": list(earned),
        "checks": {ex: {"earned": e, "max": POINTS[ex]} for ex, e in earned.items()},
        "tests": [
            {
                "check": ex,
                "test": f"test {i}",
                "status": "fail",
                "points": 0,
                "max": 1,
                "message": m or "",
                "mistake": m,
            }
            for i, (ex, m) in enumerate(tests)
        ],
        **extra,
    }


FULL = dict(POINTS)


def synthetic_class():
    """A class with realistic mistake ids, review flags and every status, and hostile text."""
    people = [
        student("ann", FULL),
        student(
            "ben", {**FULL, "03": 4, "04": 8}, [("03", "assigns-grad"), ("03", "assigns-grad"), ("04", "not-reversed")]
        ),
        student(
            "cat",
            {**FULL, "03": 6},
            [("03", "assigns-grad")],
            review=[{"check": "03", "test": "test_grads", "reason": "a reply the judge did not ask for"}],
        ),
        student("dan", {ex: 0 for ex in FULL}, status="ungradable", reason="train.py has a syntax error on line 1"),
        student("eve", {ex: 0 for ex in FULL}, status="error", reason="grading did not finish (TimeoutExpired)"),
        student(HOSTILE, {**FULL, "05": 3}, [("05", HOSTILE), ("05", "tanh-derivative")], reason=HOSTILE),
    ]
    people += [student(f"s{i}", {**FULL, "03": 5}, [("03", "assigns-grad")]) for i in range(6)]
    people[-1]["review"] = [{"check": "", "test": "", "reason": HOSTILE}]
    people[6]["notes"] = ["for review: micrograd/engine.py, line 3: imports gc", "a note that asks for nothing"]
    people.append(student("mo", {**FULL, "06": 0}, [("06", None)]))  # a failure the checks cannot name
    people.append(student("zed", {ex: 0 for ex in FULL}))
    people.append(student(LONG, {**FULL, "01": 0}, [("01", None)]))
    tim = student("tim", {**FULL, "04": 0, "05": 0}, reason="the grading time of 8 s per student ran out")
    tim["tests"] = [
        {
            "check": "04" if i < 5 else "05",
            "test": f"t{i}",
            "status": "timeout",
            "points": 0,
            "max": 1,
            "message": "Not run: this submission used up its 8 s of grading time.",
            "mistake": None,
        }
        for i in range(11)
    ]
    sam = student("sam", {**FULL, "02": 0}, [("02", None)])
    sam["tests"][0].update(status="error", message=SYNTAX)
    people += [tim, sam]
    return {"seed": 987654321, "secret": "hunter2-never-shown", "only": list(FULL), "students": people}


@pytest.fixture
def synthetic(tmp_path):
    data = synthetic_class()
    (tmp_path / "grades.json").write_text(json.dumps(data))
    assert report.main([str(tmp_path)]) == 0
    return {"out": tmp_path, "data": data, "page": (tmp_path / "report.html").read_text(encoding="utf-8")}


# --- what an independent count of grades.json says --------------------------------------------------


def expected_checks(data):
    rows = {}
    for ex in EXERCISES:
        earned = [r["checks"][ex]["earned"] for r in data["students"] if ex in r["checks"]]
        if earned:
            rows[ex] = (len(earned), sum(e == POINTS[ex] for e in earned), Counter(earned))
    return rows


def expected_mistakes(data):
    who = defaultdict(set)
    for r in data["students"]:
        for t in r["tests"]:
            if t.get("mistake"):
                who[t["mistake"]].add(r["id"])
    return {m: len(s) for m, s in who.items()}


def assert_counts_match(page, data):
    tables = Tables(page).tables
    want = expected_checks(data)
    got = {row[0][6:8]: row for row in tables["checks-table"][1:]}
    assert sorted(got) == sorted(want)
    for ex, (students, full, counts) in want.items():
        assert int(got[ex][1]) == students and int(got[ex][3]) == full, (ex, got[ex])
        assert got[ex][4] == f"{full / students:.0%}"
        points, dist = tables[f"dist-{ex}"]
        assert {int(p): int(n) for p, n in zip(points[1:], dist[1:]) if int(n)} == dict(counts), ex
    mistakes = {row[0]: int(row[1]) for row in tables.get("mistakes-table", [])[1:]}
    assert mistakes == {html.unescape(report.text(m)): n for m, n in expected_mistakes(data).items()}
    order = [int(row[1]) for row in tables.get("mistakes-table", [])[1:]]
    assert order == sorted(order, reverse=True), "the most common mistake comes first"


# --- the page of a real class --------------------------------------------------------------------


def chromium(page_path, tmp_path, *how):
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *how,
            page_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console  # a blocked fetch or script would be a Content-Security-Policy error here
    return proc.stdout


def pixels(png, hex_color):
    from matplotlib.image import imread

    image = imread(png)[:, :, :3]
    rgb = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return int((abs(image - rgb).max(axis=2) < 2 / 255).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_the_page_of_a_graded_class_renders_in_chromium_with_its_histograms_and_mistake_table(class_report, tmp_path):
    page = class_report["out"] / "report.html"
    dom = chromium(page, tmp_path, "--dump-dom")
    rendered = Tables(dom)
    # One figure per check, and the totals'.
    assert rendered.svgs == len(EXERCISES) + 1 and dom.count('<figure class="histogram"') == len(EXERCISES)
    assert "mistakes-table" in rendered.tables and "tanh-derivative" in dom
    shot = tmp_path / "report.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,7000", "--hide-scrollbars")
    # The bars (both colours) and the mistake table's header are on screen, not only in the source.
    assert pixels(shot, report.BAR) > 500 and pixels(shot, report.FULL_BAR) > 500
    assert pixels(shot, "#f6dede") > 500


def look(page):
    """{(student, why): [where, detail]} of the page's table of who needs a look."""
    return {(row[0], row[1]): row[2:] for row in Tables(page).tables["look-table"][1:]}


def test_counts_in_the_page_of_a_graded_class_equal_counts_recomputed_from_its_grades(class_report):
    assert_counts_match(class_report["page"], class_report["data"])
    rows = look(class_report["page"])
    assert "no exercise tree was found" in rows[("eve", "ungradable")][1]
    assert ("dan", "zero score") in rows, "the untouched stubs score zero: a look"
    where, detail = rows[("hal", "syntax or import error")]
    assert where == "check-07" and "SyntaxError" in detail
    assert ("ida", "syntax or import error") in rows, "only micrograd/: derivatives.py and train.py are missing"
    assert not {sid for sid, _ in rows} & {"ben", "gus"}, "partly solved: no look needed"
    # ann's tree is the kit's reference itself: the grader's scan asks for a look at that alone.
    assert [why for sid, why in rows if sid == "ann"] == ["for review"] and "line for line" in rows[
        ("ann", "for review")
    ][1]


def test_the_page_reaches_for_nothing_outside_itself(class_report):
    page = class_report["page"]
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", page)), "only the page's own ids"
    ids = re.findall(r'\sid="([^"]*)"', page)
    assert len(ids) == len(set(ids)), "the inline figures' ids never collide"
    assert "default-src 'none'" in page
    assert all(href.startswith("feedback/") and href.endswith(".md") for href in Tables(page).links)
    assert all((class_report["out"] / href).is_file() for href in Tables(page).links)


def test_the_seed_never_reaches_the_page(class_report):
    assert SEED not in class_report["page"]
    settings = dict(Tables(class_report["page"]).tables["settings-table"])
    assert settings["checks"] == ", ".join(f"check-{ex}" for ex in EXERCISES)
    assert settings["students"] == "8" and settings["kit version"] and settings["graded"]


def test_the_page_says_which_kit_graded_the_class_and_when_as_grades_json_records_it(class_report):
    data = class_report["data"]
    latest = max(r["graded_at"] for r in data["students"])
    assert data["graded_at"] == latest and data["kit_version"] == code_hash()
    settings = dict(Tables(class_report["page"]).tables["settings-table"])
    assert settings["graded"] == latest and settings["kit version"] == data["kit_version"]


def test_the_copied_pair_is_the_most_similar_and_untouched_stubs_resemble_nobody(class_report):
    rows = Tables(class_report["page"]).tables["similarity-table"][1:]
    pairs = {(a, b): (int(x.rstrip("%")), int(y.rstrip("%"))) for a, b, x, y in rows}
    assert pairs[("ben", "gus")] == (100, 100), pairs
    assert list(pairs)[0] in {("ben", "gus"), ("ann", "cat")}, "the pairs that share most both ways come first"
    assert ("ben", "cat") in pairs and list(pairs).index(("ben", "cat")) > list(pairs).index(("ann", "cat"))
    assert not any("dan" in pair for pair in pairs), "the stubs are excluded: dan wrote nothing of his own"
    assert "Not compared (no gradable tree): eve." in re.sub(r"<[^>]*>|\n", "", class_report["page"])


def test_similarity_is_off_unless_asked(class_report, tmp_path):
    shutil.copy(class_report["out"] / "grades.json", tmp_path / "grades.json")
    page = make_report(tmp_path)
    assert 'id="similarity"' not in page and "similarity-table" not in page


def test_the_same_gradebook_gives_the_same_page_and_another_gradebook_another(class_report, tmp_path):
    shutil.copy2(class_report["out"] / "grades.json", tmp_path / "grades.json")
    first = make_report(tmp_path)
    assert make_report(tmp_path) == first
    data = json.loads((tmp_path / "grades.json").read_text())
    gone = data["students"].pop()["id"]
    (tmp_path / "grades.json").write_text(json.dumps(data))
    other = make_report(tmp_path)
    assert other != first and f"feedback/{gone}.md" in first and f"feedback/{gone}.md" not in other
    assert dict(Tables(other).tables["settings-table"])["students"] == str(len(data["students"]))


def test_without_matplotlib_the_page_has_the_same_tables_and_no_figures(class_report, tmp_path):
    shutil.copy2(class_report["out"] / "grades.json", tmp_path / "grades.json")
    hide = "import sys; sys.modules['matplotlib'] = None; from kit.__main__ import main; sys.exit(main(sys.argv[1:]))"
    proc = kit("-c", hide, "report", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    bare = (tmp_path / "report.html").read_text(encoding="utf-8")
    with_plots = make_report(tmp_path)
    # The totals' figure is the kit's own drawing: it needs no matplotlib.
    assert Tables(bare).svgs == 1 and '<svg id="totals-svg"' in bare and Tables(with_plots).svgs == len(EXERCISES) + 1
    assert Tables(bare).tables == Tables(with_plots).tables
    assert_counts_match(bare, class_report["data"])


# --- the page of a class with every kind of result -------------------------------------------------


def test_counts_in_the_page_equal_counts_recomputed_from_grades_json(synthetic):
    assert_counts_match(synthetic["page"], synthetic["data"])
    mistakes = {row[0]: row for row in Tables(synthetic["page"]).tables["mistakes-table"][1:]}
    assert list(mistakes)[0] == "assigns-grad" and mistakes["assigns-grad"][1] == "8"
    assert mistakes["not-reversed"][2] == "check-04"


def test_each_mistake_has_its_catalogue_message_and_links_to_a_few_students_feedback(synthetic):
    catalogue = pytest.importorskip("checks.mistakes").MISTAKES
    row = next(r for r in Tables(synthetic["page"]).tables["mistakes-table"][1:] if r[0] == "assigns-grad")
    shown = catalogue["assigns-grad"].what.replace("`", ""), catalogue["assigns-grad"].advice.replace("`", "")
    assert (row[3], row[4]) == shown, "the catalogue's words, its `code` set as code"
    assert "a <code>_backward</code> assigns" in synthetic["page"]
    assert row[5] == "ben, cat, s0, s1, s2 and 3 more"
    assert "feedback/ben.md" in Tables(synthetic["page"]).links


def test_who_needs_a_look_lists_every_kind_of_trouble_with_its_reason(synthetic):
    rows = look(synthetic["page"])
    assert rows[("cat", "tampering")] == ["03 · test_grads", "a reply the judge did not ask for"]
    assert rows[("dan", "ungradable")][1] == "train.py has a syntax error on line 1"
    assert rows[("eve", "grader error")][1] == "grading did not finish (TimeoutExpired)"
    where, detail = rows[("tim", "timeout")]
    assert where == "check-04, check-05" and detail.startswith("the grading time of 8 s per student ran out; 11 tests")
    assert rows[("sam", "syntax or import error")] == [
        "check-02",
        "1 test: While the check adds two Values, your code raised SyntaxError: invalid syntax (engine.py, line 3)",
    ]
    assert rows[("zed", "zero score")] == ["", "no check earned a point"]
    assert rows[("s0", "for review")] == ["", "micrograd/engine.py, line 3: imports gc"]
    assert not any(sid in ("ann", "ben", "mo") for sid, _ in rows), "points lost to mistakes alone: no look"


def test_failures_without_a_mistake_id_are_counted_per_test_and_their_students_are_on_the_page(synthetic):
    tests = {(row[0], row[1]): row for row in Tables(synthetic["page"]).tables["tests-table"][1:]}
    head = Tables(synthetic["page"]).tables["tests-table"][0]
    assert head[:7] == ["check", "test", "students", "failed", "share", "not done", "without an id"]
    unnamed = tests[("check-06", "test 0")]
    assert unnamed[2:7] == ["1", "1", "100%", "0", "1"] and unnamed[7] == ""
    named = tests[("check-03", "test 0")]
    assert named[3] == named[2] and named[6] == "0" and named[7].startswith("assigns-grad")
    everyone = {row[0] for row in Tables(synthetic["page"]).tables["students-table"][1:]}
    assert everyone == {html.unescape(report.text(r["id"])) for r in synthetic["data"]["students"]}


def test_every_student_has_a_row_with_total_each_check_flags_and_a_link_to_feedback(synthetic):
    table = Tables(synthetic["page"]).tables["students-table"]
    assert table[0] == ["student", "total", *EXERCISES, "flags"]
    rows = {row[0]: row for row in table[1:]}
    assert rows["mo"][1:] == [str(sum(FULL.values()) - 10), *(str(p) for p in {**FULL, "06": 0}.values()), ""]
    assert rows["cat"][-1] == "tampering" and rows["tim"][-1] == "timeout"
    assert "feedback/mo.md" in Tables(synthetic["page"]).links


def test_the_totals_have_the_median_and_quartiles_numpy_gives_and_a_figure_of_their_spread(synthetic):
    numpy = pytest.importorskip("numpy")
    totals = [
        sum(c["earned"] for c in r["checks"].values()) for r in synthetic["data"]["students"] if r["status"] != "error"
    ]
    (_, row) = Tables(synthetic["page"]).tables["totals-table"]
    assert row[0] == str(len(totals)) and float(row[1]) == min(totals) and float(row[5]) == max(totals)
    assert [float(x) for x in row[2:5]] == [float(q) for q in numpy.percentile(totals, [25, 50, 75])]
    assert '<svg id="totals-svg"' in synthetic["page"] and ">median</text>" in synthetic["page"]
    assert "(1 grader error left out: not the students' scores)" in synthetic["page"]


def test_no_learner_text_appears_unescaped(synthetic):
    page = synthetic["page"]
    assert "<script" not in page and "\x07" not in page and "\x1b" not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\x07\\x1b[31m\\u202egpj.exe" in page
    assert 'href="feedback/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%07%1B%5B31m%E2%80%AEgpj.exe.md"' in page
    assert Tables(page).tables["mistakes-table"]  # the page still parses into its tables


def test_an_id_holding_a_lone_surrogate_gets_its_row_shown_as_a_replacement_character(tmp_path):
    """JSON may spell a lone surrogate (\\ud800), which UTF-8 cannot hold: the page says U+FFFD, its link %EF%BF%BD."""
    data = {"only": ["01"], "students": [student("x\ud800y", {"01": 3}), student("ann", {"01": 14})]}
    (tmp_path / "grades.json").write_text(json.dumps(data))
    assert report.main([str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'href="feedback/x%EF%BF%BDy.md">x\ufffdy</a>' in page and ">ann</a>" in page


def test_the_seed_and_any_secret_in_grades_json_never_reach_the_page(synthetic):
    assert "987654321" not in synthetic["page"] and "hunter2" not in synthetic["page"]


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "no such file"),
        ("{not json", "not a gradebook"),
        ('{"students": [{"id": "a", "checks": {"01": {"earned": "x", "max": 14}}}]}', "malformed check '01'"),
        ('{"students": [{"checks": {}}]}', "student #1 has no id"),
        ('{"only": 5, "students": []}', "are not a list of checks"),
        (json.dumps({"students": [dict(student("a", {"01": 3}), lateness="late")]}), "malformed lateness"),
        (json.dumps({"students": [student("a", {"01": 3}), student("a", {"01": 4})]}), "more than one row"),
    ],
)
def test_a_missing_or_malformed_gradebook_gets_a_clear_error_and_no_page(tmp_path, content, words):
    if content is not None:
        (tmp_path / "grades.json").write_text(content)
    proc = kit("-m", "kit", "report", str(tmp_path))
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "grades-canvas.csv").exists()


def test_a_folder_where_the_page_goes_gets_a_clear_error_not_a_traceback(tmp_path, capsys):
    (tmp_path / "grades.json").write_text(json.dumps({"only": ["01"], "students": [student("ann", {"01": 3})]}))
    (tmp_path / "report.html").mkdir()
    assert report.main([str(tmp_path)]) == 1
    assert f"python -m kit report: cannot write into {tmp_path} (" in capsys.readouterr().err


# --- grades-canvas.csv -----------------------------------------------------------------------------


def canvas_rows(out):
    with open(out / "grades-canvas.csv", newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def assert_canvas_layout(rows):
    """What Canvas's gradebook import requires of a file (its importer's header and row rules)."""
    header = rows[0]
    assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert len(header) > 5 and all(header[5:]), "one titled column per assignment"
    assert not {"Current Score", "Final Score", "Total", "total"} & set(header), "no read-only or total column"
    assert rows[1][0] == "Points Possible" and rows[1][1:5] == ["", "", "", ""]
    assert all(len(row) == len(header) for row in rows)


def test_canvas_knows_a_student_by_the_id_as_submitted_not_by_the_safe_name_it_was_graded_under():
    """o'brien@uni.edu is graded as o_brien@uni.edu~<hash>, a name Canvas has no login for; an id with a
    control character keeps its safe name, and a formula-like one is written as text."""
    results = [
        dict(student("o_brien@uni.edu~8b6ca8068c834292", {"01": 14}), name="o'brien@uni.edu"),
        dict(student("bell_~0123456789abcdef", {"01": 3}), name="bell\x07"),
        dict(student("_1_1~fedcba9876543210", {"01": 0}), name="=1+1"),
        student("plain", {"01": 7}),
    ]
    rows = list(csv.reader(io.StringIO(lms.canvas_csv(results, {"only": ["01"]}))))[2:]
    assert [(row[0], row[3], row[5]) for row in rows] == [
        ("'=1+1", "'=1+1", "0"),
        ("bell_~0123456789abcdef", "bell_~0123456789abcdef", "3"),
        ("o'brien@uni.edu", "o'brien@uni.edu", "14"),
        ("plain", "plain", "7"),
    ]


def test_the_canvas_gradebook_has_canvas_import_layout_and_the_grades_of_grades_csv(class_report, graded):
    rows = canvas_rows(class_report["out"])
    assert_canvas_layout(rows)
    assert rows[0][5:] == [f"micrograd check-{ex}: {e.title}" for ex, e in EXERCISES.items()]
    assert rows[1][5:] == [str(POINTS[ex]) for ex in EXERCISES]
    with open(graded / "out" / "grades.csv", newline="") as f:
        plain = {row["student"]: [row[f"check-{ex}"] for ex in EXERCISES] for row in csv.DictReader(f)}
    got = {row[3]: row[5:] for row in rows[2:]}
    assert [row[0] for row in rows[2:]] == sorted(plain) and got == plain
    assert all(row[1] == row[2] == row[4] == "" for row in rows[2:]), "ID, SIS User ID and Section stay empty"
    assert (class_report["out"] / "grades-canvas.csv").read_bytes().count(b"\r\n") == len(rows)


def test_the_canvas_gradebook_has_a_column_for_each_graded_check_only(tmp_path):
    data = {"only": ["03", "04"], "students": [student("ann", {"03": 10, "04": 7}), student("bo", {"03": 0, "04": 0})]}
    (tmp_path / "grades.json").write_text(json.dumps(data))
    assert report.main([str(tmp_path), "--canvas-key", "sis-user-id"]) == 0
    rows = canvas_rows(tmp_path)
    assert_canvas_layout(rows)
    assert rows[0][5:] == [
        "micrograd check-03: local gradients and the chain rule",
        "micrograd check-04: " + EXERCISES["04"].title,
    ]
    assert rows[1][5:] == ["10", "10"]
    assert rows[2:] == [["ann", "", "ann", "", "", "10", "7"], ["bo", "", "bo", "", "", "0", "0"]]


def test_an_ungradable_submission_scores_zero_in_the_canvas_gradebook_not_blank(synthetic):
    rows = {row[0]: row for row in canvas_rows(synthetic["out"])[2:]}
    assert rows["dan"][5:] == ["0"] * len(EXERCISES) and rows["ann"][5:] == [str(POINTS[ex]) for ex in EXERCISES]


# --- the command ---------------------------------------------------------------------------------


def test_the_cli_and_make_know_the_report_command(tmp_path):
    listed = kit("-m", "kit", "--help")
    assert "report" in listed.stdout and "report.html" in listed.stdout
    if shutil.which("make"):
        dry = subprocess.run(["make", "-n", "report", f"OUT={tmp_path}"], cwd=ROOT, capture_output=True, text=True)
        assert f"-m kit report '{tmp_path}'" in dry.stdout, dry.stdout + dry.stderr


@pytest.mark.parametrize(
    "specs, header, possible, ann",
    [
        (
            ["03=Week 3: backward (81234)"],
            ["Week 3: backward (81234)", "micrograd check-04: "],
            ["10", "10"],
            ["10", "7"],
        ),
        (["total=micrograd (777)"], ["micrograd (777)"], ["20"], ["17"]),
        (["total=micrograd", "4=Backward"], ["micrograd", "Backward"], ["20", "10"], ["17", "7"]),
    ],
)
def test_canvas_columns_go_into_the_existing_assignments_named(tmp_path, specs, header, possible, ann):
    data = {"only": ["03", "04"], "students": [student("ann", {"03": 10, "04": 7}), student("bo", {"03": 0, "04": 0})]}
    (tmp_path / "grades.json").write_text(json.dumps(data))
    assert report.main([str(tmp_path), *(f"--canvas-assignment={s}" for s in specs)]) == 0
    rows = canvas_rows(tmp_path)
    assert_canvas_layout(rows)
    assert [h if h.startswith(header[i]) else h for i, h in enumerate(rows[0][5:])] == rows[0][5:]
    assert all(h.startswith(want) for h, want in zip(rows[0][5:], header)) and len(rows[0][5:]) == len(header)
    assert rows[1][5:] == possible and rows[2][5:] == ann


@pytest.mark.parametrize(
    "specs, words",
    [
        (["Week 3"], "say which check (NN=NAME) or total=NAME"),
        (["07=Week 7"], "check 07 is not graded"),
        (["03="], "no assignment name"),
        (["03=A", "3=B"], "03 is given twice"),
        (["03=Week 3 (5)", "04=Week 3 (5)"], "'Week 3 (5)' and 'Week 3 (5)' would fill one Canvas assignment"),
        (["total=Week 3 (5)", "04=Week 3 (5)"], "would fill one Canvas assignment"),
        (["03=micrograd check-04: topological order and backward()"], "would fill one Canvas assignment"),
        (["03=Week 3 (81234)", "04=Week 3, backward (81234)"], "'Week 3 (81234)' and 'Week 3, backward (81234)' would"),
    ],
)
def test_a_canvas_assignment_that_names_no_graded_check_is_refused_before_anything_is_written(tmp_path, specs, words):
    data = {"only": ["03", "04"], "students": [student("ann", {"03": 10, "04": 7})]}
    (tmp_path / "grades.json").write_text(json.dumps(data))
    proc = kit("-m", "kit", "report", str(tmp_path), *(f"--canvas-assignment={s}" for s in specs))
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "grades-canvas.csv").exists()


def test_a_bare_canvas_assignment_name_fits_a_gradebook_of_one_check(tmp_path):
    data = {"only": ["05"], "students": [student("ann", {"05": 12})]}
    (tmp_path / "grades.json").write_text(json.dumps(data))
    assert report.main([str(tmp_path), "--canvas-assignment", "Week 5 (4242)"]) == 0
    assert canvas_rows(tmp_path)[0][5:] == ["Week 5 (4242)"] and canvas_rows(tmp_path)[2][5:] == ["12"]
    # A title that holds "=" is a title, not NN=NAME: only a check or total stands before a name's "=".
    assert report.main([str(tmp_path), "--canvas-assignment", "Week 5: tanh = fun (81250)"]) == 0
    assert canvas_rows(tmp_path)[0][5:] == ["Week 5: tanh = fun (81250)"]
    assert report.main([str(tmp_path), "--canvas-assignment", "05=a = b (1)"]) == 0
    assert canvas_rows(tmp_path)[0][5:] == ["a = b (1)"]


# --- similar groups ---------------------------------------------------------------------------------


def test_pairs_that_share_enough_both_ways_join_into_connected_groups():
    from kit.instructor.report_counts import groups

    pairs = [("a", "b", 0.9, 0.95), ("b", "c", 0.85, 0.8), ("d", "e", 0.99, 0.5), ("f", "g", 0.81, 0.82)]
    pairs += [("x", "y", 0.2, 0.3), ("c", "x", 0.79, 0.99)]
    assert groups(pairs, 0.8) == [["a", "b", "c"], ["f", "g"]], "a chain is one group; a one-sided share joins none"
    assert groups(pairs, 0.5) == [["a", "b", "c", "x"], ["d", "e"], ["f", "g"]]
    assert groups([], 0.8) == []


def test_the_copied_pair_forms_a_group_on_the_page(class_report):
    rows = Tables(class_report["page"]).tables["groups-table"][1:]
    members = [set(row[2].split(", ")) for row in rows]
    assert {"ben", "gus"} <= set().union(*members) and any({"ben", "gus"} <= m for m in members)
    assert not any("dan" in m or "eve" in m for m in members)


# --- the page at a phone's width and a desktop's ------------------------------------------------------

MEASURE = """<script>
const within = (e) => e.getBoundingClientRect().right <= innerWidth + 0.5;
const ids = [...document.querySelectorAll('.id')];
const wide = [...document.querySelectorAll('.wide, figure, h1, h2, h3, p')];
const outside = [...document.querySelectorAll('body *')].filter((e) => !e.closest('.wide') && !within(e));
parent.postMessage(JSON.stringify({
  inner: innerWidth, scroll: document.documentElement.scrollWidth,
  ids: ids.length, broken: ids.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent),
  boxes: wide.filter((e) => !within(e)).map((e) => e.tagName + '#' + e.id),
  outside: outside.slice(0, 5).map((e) => e.tagName + '.' + e.className),
}), '*');
</script>"""
# Chromium's window is at least 500 px wide: the phone is an <iframe> of the width asked for.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>addEventListener('message', (e) => document.body.setAttribute('data-layout', e.data));</script>
</body></html>"""


def framed(page_path, tmp_path, width, height, measure):
    """A page that shows `page_path` in a frame `width` px wide (with the measuring script let in)."""
    text = page_path.read_text(encoding="utf-8")
    if measure:
        text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
        text = text.replace("</body>", MEASURE + "</body>")
    inner = tmp_path / f"page-{width}-{measure}.html"
    inner.write_text(text, encoding="utf-8")
    outer = tmp_path / f"frame-{width}-{measure}.html"
    outer.write_text(FRAME.format(src=inner.name, width=width, height=height), encoding="utf-8")
    return outer


def layout(page_path, tmp_path, width):
    """What MEASURE finds in Chromium at `width` px: the page's scroll width, ids broken across lines,
    boxes wider than the screen."""
    frame = framed(page_path, tmp_path, width, 900, measure=True)
    dom = chromium(frame, tmp_path, "--dump-dom", "--window-size=1400,1000", "--virtual-time-budget=5000")
    found = re.search(r"data-layout=\"([^\"]*)\"", dom)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found[1]))


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("width", [375, 1280])
def test_the_page_fits_a_phone_and_a_desktop_without_overflow_or_ids_broken_mid_word(synthetic, tmp_path, width):
    """The synthetic class holds a hostile id and one of 120 characters; the page still fits."""
    got = layout(synthetic["out"] / "report.html", tmp_path, width)
    assert got["inner"] == width, got
    assert got["scroll"] <= width, f"the page scrolls sideways at {width} px: {got}"
    assert got["boxes"] == [] and got["outside"] == [], got
    assert got["ids"] > 40 and got["broken"] == [], got
    shot = tmp_path / f"report-{width}.png"
    frame = framed(synthetic["out"] / "report.html", tmp_path, width, 2400, measure=False)
    chromium(frame, tmp_path, f"--screenshot={shot}", f"--window-size={max(width, 500)},2400", "--hide-scrollbars")
    assert pixels(shot, report.BAR) > 200, "the totals' bars are on screen"


# --- adjustments and lateness, as grades.json records them (kit/instructor/adjust.py) ----------------


def adjusted_class():
    """ann: check-03 raised by 2 and the total lowered by a late penalty; bo: a grader error."""
    ann = student("ann", {"03": 6, "04": 7})
    ann["adjustments"] = [
        {"check": "03", "points": 2, "asked": "+2", "reason": "regrade request", "clipped": False},
        {"check": "total", "points": -1.5, "asked": "-1.5", "reason": "late: 1 day at 10%"},
    ]
    ann["total"] = 13.5
    ann["lateness"] = {
        "deadline": "2026-12-01T23:59:00+00:00",
        "extended": False,
        "submitted": "2026-12-02T00:59:00+00:00",
        "late_seconds": 3600,
    }
    bo = student("bo", {"03": 0, "04": 0}, status="error", reason="the judge ended with exit status 1")
    return {"only": ["03", "04"], "students": [ann, bo, student("cy", {"03": 10, "04": 10})]}


def test_the_page_shows_the_points_of_grades_csv_after_adjustments_and_lateness(tmp_path):
    (tmp_path / "grades.json").write_text(json.dumps(adjusted_class()))
    assert report.main([str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    rows = {row[0]: row for row in Tables(page).tables["students-table"][1:]}
    assert rows["ann"] == ["ann", "13.5", "8", "7", "adjusted, late"]
    assert rows["cy"][1:4] == ["20", "10", "10"] and rows["bo"][-1] == "grader error"
    (_, totals) = Tables(page).tables["totals-table"]
    assert totals[:2] == ["2", "13.5"], "bo's grader error is no score of his"


def test_the_canvas_file_has_the_adjusted_points_and_leaves_a_grader_error_blank(tmp_path):
    (tmp_path / "grades.json").write_text(json.dumps(adjusted_class()))
    assert report.main([str(tmp_path)]) == 0
    rows = {row[0]: row[5:] for row in canvas_rows(tmp_path)[2:]}
    assert rows == {"ann": ["8", "7"], "bo": ["", ""], "cy": ["10", "10"]}
    assert report.main([str(tmp_path), "--canvas-assignment", "total=micrograd (9)"]) == 0
    rows = canvas_rows(tmp_path)
    assert rows[1][5:] == ["20"] and {row[0]: row[5:] for row in rows[2:]} == {
        "ann": ["13.5"],
        "bo": [""],
        "cy": ["20"],
    }
