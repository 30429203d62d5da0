"""The benchmarks' own machinery: the class they grade is the mix they claim, and a comparison of two
trees pairs its rounds and says "slower" only when its interval does."""

import csv
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit import ROOT
from kit.dev.bench.grading import make_class
from kit.exercises import TOTAL


def test_the_benchmark_class_is_six_correct_three_partial_and_one_hostile_in_ten(tmp_path):
    make_class(tmp_path / "subs", 10)
    subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "subs"), str(tmp_path / "out")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        totals = [int(row["total"]) for row in csv.DictReader(f)]
    assert totals[:6] == [TOTAL] * 6
    assert all(0 < t < TOTAL for t in totals[6:9])
    assert totals[9] == 0  # stubs that print a fake score line


def test_a_benchmark_report_says_how_fast_the_machine_ran_python_at_its_start_and_end(monkeypatch):
    """The machine's speed is the best of three CPU timings of the loop: a clock that says 0.5, 0.2
    and 0.9 s gives 0.2 (wall time, the last run or the worst would not)."""
    from kit.dev.bench import speed_line, timing

    ticks = iter([10.0, 10.5, 20.0, 20.2, 30.0, 30.9])
    monkeypatch.setattr(timing.time, "process_time", lambda: next(ticks))
    assert timing.speed() == pytest.approx(0.2)
    assert next(ticks, None) is None
    line = speed_line(0.125, 0.25)
    assert "0.125 s of CPU at the start" in line and "0.250 s at the end" in line


def test_a_comparison_swaps_which_tree_goes_first_every_round():
    """Drift slower than a round then slows both trees of a round alike."""
    from kit.dev.bench.compare import paired

    ran = []

    def tree(name):
        return lambda: ran.append(name) or len(ran)

    pairs = paired(4, tree("this"), tree("other"))
    assert ran == ["this", "other", "other", "this", "this", "other", "other", "this"]
    assert pairs == [(1, 2), (4, 3), (5, 6), (8, 7)]  # (this tree's run, the other's) whatever the order


def test_a_comparison_calls_a_tree_slower_only_when_the_interval_lies_above_one():
    from kit.dev.bench.compare import interval, verdict

    slower = [1.04, 1.06, 1.05, 1.07, 1.03, 1.05, 1.06, 1.04, 1.05, 1.08]
    median, low, high = interval(slower)
    assert median == pytest.approx(1.05) and 1 < low <= median <= high
    assert interval(slower) == (median, low, high)  # a fixed seed: the same ratios, the same report
    assert verdict("Wall seconds", median, low, high).startswith("Wall seconds: this tree is slower, ratio 1.050")
    noisy = [0.85, 1.2, 0.95, 1.1, 1.0, 0.9, 1.15, 1.05, 0.8, 1.02]
    assert "no difference this run resolves" in verdict("CPU seconds", *interval(noisy))
    assert "this tree is faster" in verdict("CPU seconds", *interval([1 / r for r in slower]))


def test_a_comparison_names_each_student_the_two_trees_grade_differently_with_both_totals():
    from kit.dev.bench.compare import differences

    this = {"s000": "78", "s001": "72", "s002": "10"}
    theirs = {"s000": "78", "s001": "64", "s003": "5"}
    assert differences(this, theirs, "abc") == (
        "s001: 72 here, 64 at abc; s002: 10 here, - at abc; s003: - here, 5 at abc"
    )
    assert differences(this, dict(this), "abc") == ""


def test_a_comparison_of_no_rounds_or_no_students_is_refused_before_anything_runs(capsys):
    from kit.dev.bench import main

    for argv in (["--pairs", "0"], ["--size", "0"]):
        with pytest.raises(SystemExit) as e:
            main(["--compare", "HEAD", *argv])
        assert e.value.code == 2
        assert "--compare needs --pairs and --size of at least 1" in capsys.readouterr().err


def test_a_comparison_takes_the_other_tree_from_git_and_refuses_a_commit_git_does_not_know(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("the kit is not a git clone here")
    from kit.dev.bench.compare import extract

    other = extract("HEAD", tmp_path / "other")
    assert (other / "kit" / "__init__.py").read_bytes() == subprocess.run(
        ["git", "show", "HEAD:kit/__init__.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with pytest.raises(SystemExit, match="git cannot archive 'no-such-commit'"):
        extract("no-such-commit", tmp_path / "none")


def test_a_comparison_takes_this_tree_from_git_too_with_its_uncommitted_changes(tmp_path):
    """Graded from the working folder, a commit read 5-7% slower than its own archive: both trees are
    archives, this one as it is now, untracked files aside, and the working folder is left as it was."""
    from kit.dev.bench.compare import extract, snapshot

    if shutil.which("git") is None:
        pytest.skip("no git here")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=k", "-c", "user.email=k@example.org"]
    (repo / "engine.py").write_text("committed\n")
    for args in (["init", "-q"], ["add", "engine.py"], ["commit", "-qm", "one"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    assert snapshot(repo) == "HEAD"  # nothing changed
    (repo / "engine.py").write_text("changed\n")
    (repo / "scratch.py").write_text("untracked\n")
    taken = extract(snapshot(repo), tmp_path / "this", repo)
    assert (taken / "engine.py").read_text() == "changed\n" and not (taken / "scratch.py").exists()
    assert (repo / "engine.py").read_text() == "changed\n" and (repo / "scratch.py").exists()


def test_a_comparison_compiles_both_trees_so_that_neither_compiles_its_modules_in_a_round(tmp_path):
    """The judges run with PYTHONDONTWRITEBYTECODE: a tree fresh from git would compile again every run."""
    from kit.dev.bench.compare import compiled

    for part in ("kit", "checks"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    compiled(tmp_path)
    modules = [p for part in ("kit", "checks") for p in (tmp_path / part).rglob("*.py")]
    assert modules and all(Path(importlib.util.cache_from_source(str(p))).is_file() for p in modules)


@pytest.mark.slow
def test_each_round_of_a_comparison_grades_the_whole_class_again_instead_of_resuming(tmp_path):
    from kit.dev.bench.compare import grade_once

    make_class(tmp_path / "subs", 1)
    for _ in range(2):
        took, cpu, totals = grade_once(ROOT, tmp_path / "subs", tmp_path / "out", 1)
        assert totals == {"s000": str(TOTAL)} and took > 0 and cpu > 0
        log = (tmp_path / "out" / "grade.log").read_text()
        runs = re.findall(r"grading (\d+) of (\d+) submissions", log)
        assert runs == [("1", "1")], log  # one run in a fresh folder: a resumed one grades 0 of 1


@pytest.mark.slow
def test_a_comparison_of_a_commit_with_itself_grades_the_class_alike_and_reports_each_round():
    if not (ROOT / ".git").exists():
        pytest.skip("the kit is not a git clone here")
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "bench", "--compare", "HEAD", "--pairs", "2", "--size", "2", "--jobs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rounds = [line for line in proc.stdout.splitlines() if re.match(r"\| [12] \| \d", line)]
    assert len(rounds) == 2, proc.stdout
    assert re.search(r"^Wall seconds: .* ratio \d\.\d{3} \(95% interval", proc.stdout, re.M), proc.stdout
    assert re.search(r"^CPU seconds: .* ratio \d\.\d{3}", proc.stdout, re.M), proc.stdout
    assert "grade this class differently" not in proc.stdout


def test_each_mistake_the_benchmark_explains_fails_a_graph_of_its_own_check(tmp_path):
    """Each check's mistake is in its own exercise's code: one of 05 in a tree timed for check-06 would
    time the one line that check-06 passes on the kit's engine (kit explain exits 0)."""
    from kit.dev.bench.explain import MISTAKES, mistaken
    from kit.learner.explain import explain

    for ex, (_, mistake) in MISTAKES.items():
        shown = explain(mistaken(tmp_path / ex, *mistake), ex)
        assert isinstance(shown, dict) and not shown["passes"] and shown["graph"], (ex, shown)
