"""Self-study tools: progress, hints, watch mode, gated solutions, graph drawing and the demo."""

import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from checks.report import Report
from kit import ROOT, term
from kit.dev.bench.latency import WatchSession
from kit.exercises import EXERCISES, TREE, doc_path
from kit.learner import boundary, draw, hints, moons, progress, solution
from kit.learner.install import venv_python
from kit.learner.moons import two_moons
from kit.learner.watch import POLL_SECONDS, SERVERS, answer, split
from kit.learner.watch_server import Server, end_all

ANSI = re.compile(r"\033\[")


def cli(command, *args, env=None, timeout=120):
    """Run `python -m kit COMMAND ARGS` from the kit's root, the way make runs it."""
    return subprocess.run(
        [sys.executable, "-m", "kit", command, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def first_todo_line(path, ex):
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if f"# TODO(ex{ex})" in line:
            return lineno
    raise AssertionError(f"test setup: no TODO(ex{ex}) in {path}")


# --- colour ------------------------------------------------------------------------------------


class FakeTerminal:
    encoding = "utf-8"

    def isatty(self):
        return True


def test_colour_is_used_on_a_terminal_unless_no_color_is_set(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert term.paint("done", "green", FakeTerminal()) == "\033[32mdone\033[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert term.paint("done", "green", FakeTerminal()) == "done"


def test_piped_output_has_no_colour_and_the_bar_falls_back_to_ascii_where_unicode_cannot_print(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    piped = open(os.devnull, "w", encoding="ascii")
    assert term.paint("done", "green", piped) == "done"
    assert term.bar(0.5, 10, piped) == "#####....."
    piped.close()


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
@pytest.mark.parametrize(
    "command, last",
    [
        ("check 03 --impl {impl}", "check-03: 10/10 points"),
        ("progress --impl {impl}", "  stuck?  make hint-04"),
        (
            "solution 03 --impl {impl}",
            "Yours may look different and still be right: the check is the judge, not this text.",
        ),
        ("hints 03 --state {state}", "Still stuck? Ask again for hint 2: make hint-03"),
    ],
    ids=["check", "progress", "solution", "hints"],
)
def test_every_command_prints_in_an_encoding_that_lacks_the_kits_characters(tree, tmp_path, command, last, encoding):
    """A character the terminal cannot show is replaced; never a crash, and never a false score (check
    printed `check-03: 0/0 points` under ascii, and progress, solution and demo read the checks' output
    as UTF-8 where it was written in the learner's encoding)."""
    words = command.format(impl="{impl}", state=tmp_path / "hints.json").split()
    proc = subprocess.run(
        [sys.executable, "-m", "kit", *(str(tree(3)) if w == "{impl}" else w for w in words)],
        cwd=ROOT,
        capture_output=True,
        encoding=encoding,
        env={**os.environ, "PYTHONIOENCODING": encoding, "KIT_VIA_MAKE": "1"},
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1] == last, proc.stdout
    assert "kit error" not in proc.stdout
    assert ("?" if encoding == "ascii" else "\u00b7") in proc.stdout, "· where it can be shown, else ?"


def test_the_demo_runs_in_an_encoding_that_lacks_the_kits_characters(tree, tmp_path):
    cmd = [sys.executable, "-m", "kit", "demo", "--steps", "1", "--impl", tree(3), "--out", tmp_path / "d.svg"]
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, encoding="cp1252", env=env, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stdout + proc.stderr
    assert (tmp_path / "d.svg").is_file()


# --- progress ----------------------------------------------------------------------------------


def test_progress_on_the_stubs_shows_no_points_and_sends_the_learner_to_the_first_todo_of_01(tree, capsys, monkeypatch):
    monkeypatch.setenv("KIT_VIA_MAKE", "1")  # as make progress runs it: the commands it names are make's
    impl = tree(0)
    assert progress.main(["--impl", str(impl)]) == 0
    out = capsys.readouterr().out
    for ex, title in ((e.id, e.title) for e in EXERCISES.values()):
        assert re.search(rf"^  {ex}  {re.escape(title)} +0/\d+ +to do$", out, re.M), out
    assert "next: 01 · numeric derivatives" in out
    assert f"derivatives.py:{first_todo_line(impl / 'derivatives.py', '01')}" in out
    assert "# TODO(ex01): Return the forward-difference slope of f at x." in out
    assert "make check-01 IMPL=" in out and "make hint-01" in out and doc_path("01") in out
    assert not ANSI.search(out) and "█" not in out, "piped output is plain text"
    assert "points (0%)" in out


def test_progress_on_a_partly_solved_tree_marks_the_done_exercises_and_names_the_next_todo(tree, capsys):
    impl = tree(3)
    progress.main(["--impl", str(impl)])
    out = capsys.readouterr().out
    for ex in ("01", "02", "03"):
        assert re.search(rf"^  {ex}  .* (\d+)/\1 +done$", out, re.M), out
    assert "next: 04 · topological order and backward()" in out
    engine = impl / "micrograd" / "engine.py"
    assert f"engine.py:{first_todo_line(engine, '04')}" in out
    assert re.search(r'first   ".+" is not done yet', out)


def test_progress_on_a_solved_tree_congratulates_and_suggests_the_demo(tree, capsys, monkeypatch):
    monkeypatch.setenv("KIT_VIA_MAKE", "1")
    progress.main(["--impl", str(tree(7))])
    out = capsys.readouterr().out
    assert "points (100%)" in out
    assert "All seven exercises pass" in out and "make demo" in out
    assert "next:" not in out


# --- hints -------------------------------------------------------------------------------------


def test_every_exercise_has_three_or_four_tiers_of_hints():
    tiers = hints.load()
    assert sorted(tiers) == list(EXERCISES)
    for ex, parts in tiers.items():
        assert 3 <= len(parts) <= 4, (ex, len(parts))
        assert all(len(part) > 80 for part in parts), f"{ex}: an empty or stub tier"


def test_no_hint_contains_a_line_of_the_reference_solution_that_the_lesson_does_not_show():
    tiers = hints.load()
    for ex in EXERCISES:
        text, lesson = "\n".join(tiers[ex]), (ROOT / doc_path(ex)).read_text()
        for _, _, _, _, code in solution.regions(ex):
            for line in code.splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith(("#", "def ")) and line not in lesson:
                    assert line not in text, f"hint of {ex} gives away the solution line {line!r}"


def test_hints_file_format_is_a_heading_per_exercise_and_dashes_between_tiers(tmp_path):
    path = tmp_path / "hints.md"
    path.write_text("# Intro\n\nignored\n\n## 01 · x\n\none\n\n---\n\ntwo\nlines\n\n## 02\nthree\n")
    assert hints.load(path) == {"01": ["one", "two\nlines"], "02": ["three"]}


def test_asking_for_a_hint_again_shows_the_next_tier_until_the_last_which_then_repeats(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KIT_VIA_MAKE", "1")
    state = tmp_path / ".kit" / "hints.json"
    tiers = hints.load()["03"]
    for number in range(1, len(tiers) + 2):
        assert hints.main(["03", "--state", str(state)]) == 0
        out = capsys.readouterr().out
        shown = min(number, len(tiers))
        assert f"hint {shown} of {len(tiers)}" in out
        assert tiers[shown - 1] in out
        if shown < len(tiers):
            assert f"Ask again for hint {shown + 1}: make hint-03" in out
        else:
            assert "(the last one)" in out and "no more hints for 03" in out
    assert json.loads(state.read_text()) == {"03": len(tiers)}


def test_again_repeats_the_hints_seen_so_far_without_showing_a_new_one(tmp_path, capsys):
    state = str(tmp_path / "hints.json")
    hints.main(["ex05", "--state", state])
    hints.main(["5", "--state", state])
    capsys.readouterr()
    hints.main(["05", "--again", "--state", state])
    out = capsys.readouterr().out
    assert "hint 1 of" in out and "hint 2 of" in out and "hint 3 of" not in out
    assert json.loads(open(state).read()) == {"05": 2}


def test_reset_starts_one_exercise_over_or_all_of_them(tmp_path, capsys):
    state = str(tmp_path / "hints.json")
    for ex in ("01", "01", "02"):
        hints.main([ex, "--state", state])
    hints.main(["01", "--reset", "--state", state])
    assert json.loads(open(state).read()) == {"02": 1}
    capsys.readouterr()
    hints.main(["01", "--state", state])
    assert "hint 1 of" in capsys.readouterr().out
    hints.main(["--reset", "--state", state])
    assert json.loads(open(state).read()) == {}


def test_a_hint_for_an_unknown_exercise_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as stop:
        hints.main(["09", "--state", str(tmp_path / "s.json")])
    assert stop.value.code == 2


# --- the reference solution, gated ---------------------------------------------------------------


def test_the_solution_stays_closed_until_the_check_passes(tree, capsys, monkeypatch):
    monkeypatch.setenv("KIT_VIA_MAKE", "1")
    assert solution.main(["03", "--impl", str(tree(2))]) == 1
    out = capsys.readouterr().out
    assert "opens once check-03 passes" in out and "(now " in out
    assert "make solution-03 FORCE=1" in out
    assert "other.data * out.grad" not in out


def test_the_solution_opens_once_the_check_passes_with_file_line_and_function(tree, capsys):
    assert solution.main(["03", "--impl", str(tree(3))]) == 0
    out = capsys.readouterr().out
    assert "reference solution of 03" in out
    assert re.search(r"solutions/micrograd/engine\.py:\d+  Value\.__mul__\._backward", out), out
    assert "self.grad += other.data * out.grad" in out
    assert "### " not in out, "the region markers are not part of the solution"


def test_force_opens_the_solution_without_running_the_check(tree, capsys):
    assert solution.main(["07", "--impl", str(tree(0)), "--force"]) == 0
    out = capsys.readouterr().out
    assert "train.py" in out and "def train" not in out and "losses" in out


def test_a_copy_of_the_kit_without_solutions_says_so_even_when_forced(tree, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(solution, "SOLUTIONS", tmp_path / "solutions")
    assert solution.main(["03", "--impl", str(tree(3)), "--force"]) == 2
    out = capsys.readouterr().out
    assert "has no reference solutions" in out and "Traceback" not in out


def test_a_later_exercises_region_nested_in_the_solution_shows_only_as_its_todo(tmp_path):
    for rel in TREE:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "train.py").write_text(
        "def f(x):\n"
        "    ### BEGIN ex03: Outer.\n"
        "    y = x\n"
        "    ### BEGIN ex05: Inner.\n"
        "    y = y + 1\n"
        "    ### END ex05\n"
        "    return y\n"
        "    ### END ex03\n"
    )
    assert solution.regions("03", tmp_path) == [("train.py", 2, "f", "Outer.", "y = x\n# TODO(ex05): Inner.\nreturn y")]
    assert solution.regions("05", tmp_path) == [("train.py", 4, "f", "Inner.", "y = y + 1")]


def test_every_exercise_has_a_reference_solution_to_show():
    for ex in EXERCISES:
        found = solution.regions(ex)
        assert found and all(code.strip() for *_, code in found), ex


# --- drawing a graph -----------------------------------------------------------------------------


class Node:
    """The shape of the lecture's Value, and nothing else: the drawing is duck-typed."""

    def __init__(self, data, children=(), op="", label="", grad=0.0):
        self.data, self._prev, self._op, self.label, self.grad = data, set(children), op, label, grad


def lecture_graph():
    a, b = Node(2.0, label="a", grad=6.0), Node(-3.0, label="b", grad=-4.0)
    c, f = Node(10.0, label="c", grad=-2.0), Node(-2.0, label="f", grad=4.0)
    e = Node(-6.0, (a, b), "*", "e", -2.0)
    d = Node(4.0, (e, c), "+", "d", -2.0)
    return Node(-8.0, (d, f), "*", "L", 1.0)


LECTURE_TREE = """\
L              data -8.0000  grad  1.0000  op *
├── d          data  4.0000  grad -2.0000  op +
│   ├── c      data 10.0000  grad -2.0000
│   └── e      data -6.0000  grad -2.0000  op *
│       ├── a  data  2.0000  grad  6.0000
│       └── b  data -3.0000  grad -4.0000
└── f          data -2.0000  grad  4.0000"""


def test_the_text_tree_of_the_lecture_expression_shows_label_data_grad_and_op_per_line():
    assert draw.draw_text(lecture_graph()) == LECTURE_TREE


def test_the_text_tree_has_an_ascii_form_for_terminals_without_unicode():
    lines = draw.draw_text(lecture_graph(), ascii=True).splitlines()
    assert lines[1].startswith("|-- d ") and lines[3].startswith("|   `-- e ") and lines[6].startswith("`-- f ")


def test_a_shared_value_is_drawn_once_and_then_referenced_by_its_line():
    a, b = Node(-2.0, label="a"), Node(3.0, label="b")
    d, e = Node(-6.0, (a, b), "*", "d"), Node(1.0, (a, b), "+", "e")
    lines = draw.draw_text(Node(-6.0, (d, e), "*", "f")).splitlines()
    assert lines[2].startswith("│   ├── a  data -2.0000")
    assert lines[5] == "    ├── a  (same Value as line 3)"
    assert lines[6] == "    └── b  (same Value as line 4)"


def test_a_graph_100000_nodes_deep_draws_without_recursion_and_the_text_stops_at_max_depth():
    v = Node(0.0, label="x")
    for _ in range(100_000):
        v = Node(v.data + 1, (v,), "+")
    lines = draw.draw_text(v, max_depth=50).splitlines()
    assert len(lines) == 52
    assert lines[-1].endswith("└── ...  deeper levels not drawn (max_depth=50)")
    assert draw.dot_source(v).count("shape=record") == 100_001


def test_the_dot_source_has_a_record_per_value_and_a_small_node_per_op():
    source = draw.dot_source(lecture_graph())
    assert source.count("shape=record") == 7
    assert len(re.findall(r'^  n\d+op \[label="[*+]"\]$', source, re.M)) == 3
    assert len(re.findall(r"^  n\d+ -> n\d+op$", source, re.M)) == 6
    assert "{ L | data -8.0000 | grad 1.0000 }" in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_dot_renders_svg_with_graphviz_and_writes_a_file(tmp_path):
    svg = draw.draw_dot(lecture_graph())
    assert "<svg" in svg and "data &#45;8.0000" in svg.replace("-", "&#45;")
    assert svg._repr_svg_() == svg
    path = draw.draw_dot(lecture_graph(), filename=tmp_path / "L")
    assert path == tmp_path / "L.svg" and "<svg" in path.read_text()
    png = draw.draw_dot(lecture_graph(), format="png")
    assert png.startswith(b"\x89PNG")


def test_without_graphviz_draw_dot_falls_back_to_the_text_tree_and_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(draw.shutil, "which", lambda name: None)
    assert draw.draw_dot(lecture_graph()) == LECTURE_TREE
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_the_draw_command_builds_the_lesson_graph_with_the_chosen_tree(tree):
    run = cli("draw", "03", "--impl", tree(3))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip("\n") == LECTURE_TREE


def test_the_draw_command_says_which_lesson_is_missing_when_the_value_is_not_ready(tree):
    run = cli("draw", "04", "--impl", tree(2))
    assert run.returncode == 1
    assert "Your Value cannot build lesson 04's graph yet: NotImplementedError" in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_draw_command_makes_missing_folders_and_names_the_file_it_really_wrote(tree, tmp_path):
    """`--out DIR/g` writes DIR/g.svg, and used to say `wrote DIR/g`; a missing folder was a traceback."""
    run = cli("draw", "03", "--impl", tree(3), "--out", tmp_path / "new" / "g")
    assert run.returncode == 0 and run.stderr == "", run.stdout + run.stderr
    assert run.stdout == f"wrote {tmp_path / 'new' / 'g.svg'}\n"
    assert "<svg" in (tmp_path / "new" / "g.svg").read_text()
    run = cli("draw", "03", "--impl", tree(3), "--out", tmp_path / "png" / "g.png")
    assert run.stdout == f"wrote {tmp_path / 'png' / 'g.png'}\n"
    assert (tmp_path / "png" / "g.png").read_bytes().startswith(b"\x89PNG")


def test_the_draw_command_writes_the_text_tree_into_a_missing_folder(tree, tmp_path):
    run = cli("draw", "03", "--impl", tree(3), "--out", tmp_path / "new" / "g.txt")
    assert run.returncode == 0 and run.stdout == f"wrote {tmp_path / 'new' / 'g.txt'}\n", run.stdout + run.stderr
    assert (tmp_path / "new" / "g.txt").read_text().rstrip("\n") == LECTURE_TREE


def test_the_draw_command_refuses_a_format_it_does_not_write_in_one_line_naming_those_it_does(tree, tmp_path):
    run = cli("draw", "03", "--impl", tree(3), "--out", tmp_path / "new" / "g.xyz")
    assert run.returncode == 2 and run.stdout == "", run.stdout
    assert run.stderr == (
        f"python -m kit draw: --out {tmp_path / 'new' / 'g.xyz'}: cannot draw .xyz: "
        "name FILE.svg, FILE.png, FILE.pdf or FILE.txt\n"
    )
    assert not (tmp_path / "new").exists()


# --- watch mode ----------------------------------------------------------------------------------


def reaction_to(watch, shown, announcement, save, expect):
    """Once `shown` and the watcher's `announcement` are out: seconds from the end of `save()` to `expect`."""
    watch.wait_for(shown, 30)
    watch.wait_for(announcement, 10)
    time.sleep(1.0)  # the watcher starts just after the announcement
    save()
    start = time.monotonic()
    watch.wait_for(expect, 15)
    return time.monotonic() - start


def save_and_expect_the_next_check(tmp_path, tree, env, announcement):
    impl = shutil.copytree(tree(0), tmp_path / "impl")
    watch = WatchSession(impl, env)
    try:
        save = lambda: shutil.copy(ROOT / "solutions" / "derivatives.py", impl / "derivatives.py")  # noqa: E731
        reaction = reaction_to(watch, "check-01: 0/", announcement, save, "check-02: 0/")
    finally:
        status = watch.stop()
    output = watch.output()
    assert status == 0 and "stopped watching" in output and "Traceback" not in output, output
    assert output.count("check-01 · ") == 1 and output.count("check-02 · ") == 1, "only the first unfinished shows"
    return reaction, output


def test_watch_shows_exactly_what_make_check_shows_for_the_first_unfinished_check(tree):
    for k in (0, 4):
        once = cli("watch", "--once", "--impl", tree(k))
        check = cli("check", list(EXERCISES)[k], "--impl", tree(k))
        assert once.returncode == 0 and check.returncode == 1
        assert once.stdout == check.stdout
    done = cli("watch", "--once", "--impl", tree(7))
    assert done.stdout == "All seven checks pass. See your micrograd learn: make demo\n"


def test_watch_reruns_the_first_unfinished_check_when_a_file_is_saved(tmp_path, tree):
    pytest.importorskip("watchfiles", reason="watch mode needs watchfiles (the watch extra)")
    from kit.learner.watch import events_arrive

    if not events_arrive(tmp_path):
        pytest.skip("this file system sends no change events")
    reaction, output = save_and_expect_the_next_check(tmp_path, tree, {"KIT_WATCH_POLL": ""}, "watching for changes")
    assert "polling" not in output
    assert reaction < 10


@pytest.mark.parametrize("after", [0.01, 0.03, 0.06, 0.3])
def test_a_watch_server_ended_mid_run_leaves_no_word_of_the_interrupt_for_the_learner(tmp_path, tree, capfd, after):
    """The watcher ends a server whose run it no longer needs; what pytest says of that interrupt (once,
    an internal error of its own: a traceback) reached the learner's screen among the checks."""
    from kit.learner.watch_server import Server

    impl = shutil.copytree(tree(7), tmp_path / "impl")
    slow = impl / "derivatives.py"  # a run still going when the server is ended
    slow.write_text(slow.read_text().replace("    return (f(x + h) - f(x)) / h", "    while True:\n        pass", 1))
    server = Server(str(impl))
    time.sleep(1.5)  # its imports done: the run starts with collecting the checks
    ended = queue.Queue()
    server.run(list(EXERCISES), ended)
    time.sleep(after)  # collecting, or running a check
    server.ask_to_end()
    ended.get(timeout=60)
    said = server.printed() + capfd.readouterr().err
    assert "KeyboardInterrupt" not in said and "Traceback" not in said, said
    server.end()


def test_watch_polls_when_asked_and_says_so(tmp_path, tree):
    pytest.importorskip("watchfiles", reason="watch mode needs watchfiles (the watch extra)")
    reaction, output = save_and_expect_the_next_check(
        tmp_path, tree, {"KIT_WATCH_POLL": "1"}, f"polling for changes every {POLL_SECONDS:g} s (as asked)"
    )
    assert reaction < 10


def processes_of(impl=None, parent=None):
    """{pid: command line} of the processes whose command line names impl (the watcher, the workers),
    or whose parent is `parent` (the watcher's servers)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) if parent else None
        except (OSError, IndexError, ValueError):
            continue
        if (impl and str(impl).encode() in cmdline) or (parent and ppid == parent):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def share(**checks):
    """(the JSON report, the printed text) of a share that ran `checks` {id: (earned, max)}, as the
    plugin's report writes and prints them."""
    report = Report(io.StringIO(), ROOT / "impl", 1)
    for ex, (earned, most) in checks.items():
        report.start_check(ex)
        wrong = "" if earned == most else "a * b is ab"
        result = {"check": ex, "test": "a test", "points": earned, "max": most, "message": wrong, "mistake": None}
        report.add({**result, "status": "fail" if wrong else "pass"})
    report.finish()
    return report.as_json(), report.out.getvalue()


def block(printed, ex):
    """Check ex's block of a run's printed text, from its header to its score line."""
    end = re.search(rf"^check-{ex}: .*\n", printed, re.M).end()
    return printed[printed.index(f"check-{ex} · ") : end]


def test_a_share_that_could_still_report_a_lower_unfinished_check_is_waited_for():
    first, printed = share(**{"01": (14, 14), "03": (0, 10)})
    assert answer([first], pending=1) is None, "02, in the other share, may be the one"
    second, _ = share(**{"02": (10, 10), "04": (10, 10)})
    assert answer([first, second]) == ("03", block(printed, "03")), "the block exactly as it was printed"
    regressed, printed = share(**{"02": (8, 10)})
    assert answer([first, regressed]) == ("02", block(printed, "02")) and "FAIL  8/10  a test" in printed
    assert answer([share(**{"01": (0, 14)})[0]], pending=1)[0] == "01", "nothing is lower than 01: no wait"
    everything, _ = share(**{ex: (EXERCISES[ex].points,) * 2 for ex in ("01", "03", "05", "06", "07")})
    assert answer([everything], pending=1) is None
    done = answer([everything, second])
    assert done == (None, "All seven checks pass. See your micrograd learn: make demo\n")
    assert answer([first, None], pending=0) == (None, None), "a run without a report: what it printed says why"
    assert answer([share(**{"01": (14, 14)})[0]]) == (None, None), "02 was left out: what it printed says why"


def test_the_report_keeps_each_checks_lines_as_printed_and_the_contracts_fields_as_they_were():
    report, printed = share(**{"01": (14, 14), "02": (8, 10)})
    summary = "\ncheck     points\ncheck-01  14/14\ncheck-02  8/10\ntotal: 22/24 points\n"
    assert printed == "".join(report["printed"].values()) + summary, "the summary is no check's"
    assert json.loads(json.dumps(report))["checks"] == {
        "01": {"earned": 14, "max": 14, "base": []},
        "02": {"earned": 8, "max": 10, "base": []},
    }


def test_a_server_runs_its_share_up_to_the_first_unfinished_check_and_says_how_long_each_took(tree):
    server, ended = Server(str(tree(4))), queue.Queue()
    try:
        server.run(["03", "04", "05", "06"], ended)
        report, seconds = ended.get(timeout=120)
    finally:
        end_all([server])
    assert list(report["checks"]) == ["03", "04", "05"], "06 is passed over: 05 is not at full marks"
    assert report["printed"]["05"] == cli("check", "05", "--impl", tree(4)).stdout
    assert set(seconds) == {"03", "04", "05"} and seconds["04"] > 0.1, f"04 walks 100,000 nodes: {seconds}"
    assert not Path(server.folder.name).exists() and server.proc.returncode == 0


def test_the_watcher_starts_its_servers_without_importing_pytest_itself():
    """The servers import pytest while the watcher starts them: the watcher doing so first would delay them."""
    code = "import sys, kit.learner.watch; print(sorted(m for m in sys.modules if m.split('.')[0] == 'pytest'))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stdout == "[]\n", run.stdout + run.stderr


def test_the_shares_keep_the_checks_in_order_and_give_the_long_check_04_a_core_of_its_own():
    shares = split({ex: 0.4 if ex == "04" else 0.05 for ex in EXERCISES}, 2)
    assert sorted(shares[0] + shares[1]) == list(EXERCISES) and all(s == sorted(s) for s in shares)
    assert ["04"] in shares, shares
    assert split({ex: 1.0 for ex in EXERCISES}, 1) == [list(EXERCISES)]


def test_a_regression_in_an_earlier_check_is_shown_in_place_of_the_current_one_exactly_as_make_check_shows_it(
    tmp_path, tree
):
    pytest.importorskip("watchfiles", reason="watch mode needs watchfiles (the watch extra)")
    impl = shutil.copytree(tree(4), tmp_path / "impl")
    engine = impl / "micrograd" / "engine.py"
    watch = WatchSession(impl, {"KIT_WATCH_POLL": ""})
    shown = {}
    try:
        watch.wait_for("check-05: 0/", 30)
        watch.wait_for("for changes", 10)
        # While 05 is the current one, 04 breaks (backward seeds no 1.0), on a server of its own, then
        # 02 as well (a * b adds), on the other server, with 01 and 03 before it.
        for ex, old, new in (
            ("04", "        self.grad = 1.0\n", "        self.grad = 0.0\n"),
            ("02", "Value(self.data * other.data", "Value(self.data + other.data"),
        ):
            time.sleep(1.0)  # the watcher starts just after the announcement
            start = len(watch.output())
            engine.write_text(engine.read_text().replace(old, new))
            watch.wait_for(f"check-{ex}: ", 15)
            watch.wait_for("for changes", 10)
            output = watch.output()[start:]
            shown[ex] = output[: output.index("\nwatching for changes")], cli("check", ex, "--impl", impl)
    finally:
        watch.stop()
    for ex, (output, check) in shown.items():
        assert re.findall(r"^check-\d\d · ", output, re.M) == [f"check-{ex} · "], f"only check-{ex}:\n{output}"
        assert check.returncode == 1 and "FAIL" in check.stdout
        assert output == check.stdout


def test_stopping_watch_mid_run_ends_both_servers_and_their_workers(tmp_path, tree):
    pytest.importorskip("watchfiles", reason="watch mode needs watchfiles (the watch extra)")
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc to list processes")
    impl = shutil.copytree(tree(4), tmp_path / "impl")
    derivatives = impl / "derivatives.py"
    watch = WatchSession(impl, {"KIT_WATCH_POLL": ""})

    def servers():
        return {pid: p for pid, p in processes_of(parent=watch.proc.pid).items() if "watch_server" in p}

    running = {}
    try:
        watch.wait_for("check-05: 0/", 30)
        watch.wait_for("for changes", 10)
        time.sleep(1.0)  # the watcher starts just after the announcement
        deadline = time.monotonic() + 10
        while len(servers()) < SERVERS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(servers()) == SERVERS, processes_of(parent=watch.proc.pid)
        # A save whose derivative never returns: a worker is busy in it when Ctrl-C comes.
        derivatives.write_text(
            derivatives.read_text().replace("    return (f(x + h) - f(x)) / h", "    while True:\n        pass")
        )
        while not any("worker/main.py" in p for p in processes_of(impl).values()) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        assert any("worker/main.py" in p for p in processes_of(impl).values()), "the run had started its workers"
        running = servers()
    finally:
        status = watch.stop()
    assert status == 0 and "stopped watching" in watch.output() and "Traceback" not in watch.output()
    left = {pid: p for pid, p in running.items() if Path(f"/proc/{pid}").exists()} | processes_of(impl)
    for pid in left:  # not to leave them running if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"left running after Ctrl-C: {left}"


def test_a_save_during_a_run_ends_that_run_and_shows_only_the_answer_for_the_newer_save(tmp_path, tree):
    """A learner saves an endless loop and fixes it a second later: the fixed tree's answer comes at
    once, and the stale run, still waiting out its check's time, shows nothing."""
    pytest.importorskip("watchfiles", reason="watch mode needs watchfiles (the watch extra)")
    impl = shutil.copytree(tree(4), tmp_path / "impl")
    derivatives = impl / "derivatives.py"
    fixed = derivatives.read_text()
    watch = WatchSession(impl, {"KIT_WATCH_POLL": "", "KIT_TIMEOUT": "20"})

    def loop_then_fix():
        derivatives.write_text(fixed.replace("    return (f(x + h) - f(x)) / h", "    while True:\n        pass"))
        time.sleep(1.5)  # the run of the endless loop is under way
        derivatives.write_text(fixed)

    try:
        reaction = reaction_to(watch, "check-05: 0/", "for changes", loop_then_fix, "check-05: 0/")
    finally:
        status = watch.stop()
    output = watch.output()
    assert status == 0 and "Traceback" not in output, output
    assert "check-01 · " not in output and "Took longer" not in output, output  # the stale run said nothing
    assert output.count("check-05 · ") == 2, output
    assert reaction < 10, output  # not the 20 s the stale run's check would have waited


def record_passes(state, trees, ex, start):
    from checks import history

    for impl in trees:
        start.wait()
        history.record(impl, [ex], state)


def test_runs_recording_passes_at_once_keep_every_pass(tmp_path):
    import multiprocessing

    from checks import history

    state, trees = tmp_path / "passed.json", [str(tmp_path / f"tree{i}") for i in range(25)]
    exercises = ["01", "02", "03", "04"]
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(exercises))
    runs = [context.Process(target=record_passes, args=(state, trees, ex, start)) for ex in exercises]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    assert [run.exitcode for run in runs] == [0] * len(runs)
    lost = {impl: set(exercises) - history.passed(impl, state) for impl in trees}
    assert not any(lost.values()), f"passes lost by runs writing at once: {lost}"


# --- the demo ------------------------------------------------------------------------------------


def test_two_moons_are_fixed_balanced_and_labelled_plus_and_minus_one():
    xs, ys = two_moons()
    assert (xs, ys) == two_moons()
    assert len(xs) == 100 and ys.count(1.0) == ys.count(-1.0) == 50
    assert all(len(x) == 2 for x in xs)


def test_the_demo_runs_on_the_reference_and_says_so_when_checks_fail(tree, tmp_path):
    pytest.importorskip("matplotlib", reason="the demo's PNG needs matplotlib (the docs extra)")
    run = cli("demo", "--steps", 2, "--impl", tree(0), "--out", tmp_path / "b.png")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passes 0 of the 7 checks, so this demo runs on the reference micrograd" in run.stdout
    assert re.search(r"^  step 2/2  loss \d+\.\d{4}  accuracy \d+%$", run.stdout, re.M), run.stdout
    assert not ANSI.search(run.stdout)
    assert (tmp_path / "b.png").stat().st_size > 1000 and "drawn with matplotlib" in run.stdout


def test_the_demo_runs_on_the_learners_micrograd_once_every_check_passes_and_draws_svg_without_matplotlib(
    tree, tmp_path
):
    decoy = tmp_path / "site" / "matplotlib"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    run = cli(
        "demo",
        "--steps",
        1,
        "--impl",
        tree(7),
        "--out",
        tmp_path / "b.png",
        env={"PYTHONPATH": f"{decoy.parent}{os.pathsep}{ROOT}"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All seven checks pass: this runs on your micrograd" in run.stdout
    assert "b.svg: the decision boundary, as an SVG written by the kit (matplotlib is not installed)" in run.stdout
    svg = ElementTree.parse(tmp_path / "b.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall(".//{http://www.w3.org/2000/svg}circle")) == 100
    accuracy = re.search(r"training accuracy (\d+%)", run.stdout)[1]
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:2] == [
        f"MLP(2, [16, 16, 1]) on two moons: {accuracy} correct",
        "after 1 steps with your micrograd",
    ], texts


def test_the_svg_has_axes_with_ticks_and_names_and_room_for_its_whole_title(tmp_path):
    xs, ys = two_moons()
    grid = ([-1.5 + 0.1 * i for i in range(41)], [-1.0 + 0.1 * j for j in range(26)], [[0.5] * 41] * 26)
    title = "a title much longer than the plot is wide, so that a fixed width would clip it: " * 2
    path = tmp_path / "b.svg"
    boundary.save_svg(path, xs, ys, grid, title.strip() + "\nsecond line")
    svg = ElementTree.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    texts = {t.text: t for t in svg.iter(f"{ns}text")}
    width = float(svg.get("width"))
    for line in (title.strip(), "second line"):
        t = texts[line]
        assert float(t.get("x")) + len(line) * float(t.get("font-size")) * boundary.CHAR_W <= width, line
    assert {"x1", "x2", "-1.5", "0", "2.5", "-1", "1.5"} <= set(texts)
    ticks = [line for line in svg.iter(f"{ns}line")]
    assert len(ticks) == len(boundary.ticks(-1.5, 2.5)) + len(boundary.ticks(-1.0, 1.5)) == 9 + 6


def test_the_last_step_reports_the_accuracy_the_training_returns():
    from kit.learner.demo import library

    seen = []
    xs, ys = two_moons(n=20)
    _, final = moons.fit(library(ROOT / "solutions"), xs, ys, steps=3, progress=lambda *a: seen.append(a))
    assert [a[0] for a in seen] == [1, 2, 3] and seen[-1][3] == final


def test_the_learners_tree_is_imported_even_with_another_micrograd_on_the_path(tree, tmp_path):
    decoy = tmp_path / "site" / "micrograd"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy micrograd was imported')\n")
    code = (
        "from kit.learner.imports import import_tree; "
        f"engine, train = import_tree({str(tree(7))!r}, 'micrograd.engine', 'train'); "
        "print(engine.__file__); print(train.__file__)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{decoy.parent}{os.pathsep}{ROOT}"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(tree(7) / "micrograd" / "engine.py"), str(tree(7) / "train.py")]


@pytest.mark.slow
def test_the_demo_reaches_95_percent_training_accuracy_within_a_minute(tree, tmp_path):
    start = time.monotonic()
    run = cli("demo", "--impl", tree(0), "--out", tmp_path / "b.png", timeout=90)
    elapsed = time.monotonic() - start
    assert run.returncode == 0, run.stdout + run.stderr
    accuracy = int(re.search(r"training accuracy (\d+)%", run.stdout)[1])
    assert accuracy >= 95, run.stdout
    assert elapsed < 60, f"the demo took {elapsed:.0f} s"


# --- optional dependencies and pipes -------------------------------------------------------------


def test_the_tests_that_need_matplotlib_or_watchfiles_skip_with_a_reason_where_they_are_absent(tmp_path):
    site = tmp_path / "site"
    for name in ("matplotlib", "watchfiles"):
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text(f"raise ModuleNotFoundError('no {name} here')\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-rs", "-p", "no:cacheprovider"]
        + ["-k", "watch_reruns or watch_polls or demo_runs_on_the_reference"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"},
        timeout=120,
    )
    assert run.returncode == 0 and "3 skipped" in run.stdout, run.stdout + run.stderr
    assert "watch mode needs watchfiles" in run.stdout and "the demo's PNG needs matplotlib" in run.stdout


def test_watch_without_watchfiles_says_how_to_install_it_with_this_platforms_python(tmp_path, tree):
    site = tmp_path / "site"
    (site / "watchfiles").mkdir(parents=True)
    (site / "watchfiles" / "__init__.py").write_text("raise ModuleNotFoundError('no watchfiles here')\n")
    run = cli("watch", "--impl", tree(0), env={"PYTHONPATH": f"{site}{os.pathsep}{ROOT}"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout.startswith("watch mode needs watchfiles: ") and "make watch needs" not in run.stdout
    assert f"{venv_python()} -m pip install -e '.[watch]'" in run.stdout


def test_the_learner_commands_stop_quietly_when_the_reader_of_their_output_leaves(tree):
    for command in (["draw", "02"], ["progress"], ["solution", "03", "--force"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "kit", *command, "--impl", str(tree(3))],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc.stdout.close()  # `| head` that has read enough, before the first line comes
        err = proc.stderr.read()
        proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipeError" not in err, (command, err)
