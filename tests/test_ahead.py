"""Workers started ahead of their first call (checks/calls.py, prepare): a learner's run starts the
workers of the bases it will likely use while pytest collects, and each then gets exactly the calls
a worker started on demand would get, so no verdict depends on it."""

import json
import shutil
import subprocess
import sys

import pytest
from test_portable import without_timings
from zoo import ZOO

from checks.base import OWN, base_for, plan
from checks.calls import Calls, todo_left
from checks.gates import Looks
from checks.inputs import LECTURE_L
from checks.judge import LearnerError
from checks.process import Fence
from kit import ROOT

ALL = {"01", "02", "03", "04", "05", "06", "07"}


def test_the_stub_lines_left_in_a_tree_name_the_exercises_still_to_do(tree, tmp_path):
    assert todo_left(tree(0)) == ALL
    assert todo_left(tree(3)) == ALL - {"01", "02", "03"}
    assert todo_left(tree(7)) == set()
    assert todo_left(tmp_path) == set()  # no tree at all


def test_an_unfinished_tree_plans_one_base_per_gate_and_check_in_the_order_they_are_called():
    closed = {"02", "03", "04", "05", "06"}
    patched, engine, both = (base_for(ex, closed) for ex in ("04", "06", "07"))
    assert plan(["07"], closed) == [OWN, OWN, patched, patched, engine, both]
    assert patched.patch and engine.modules == ("micrograd.engine",) and "micrograd.nn" in both.modules
    assert plan(["07"], set()) == [OWN] * 6  # a finished tree: the learner's own code throughout
    # All seven: each gate just before the first check that builds on it, on its own check's base,
    # so each base's worker serves its checks and gates in one go (four starts, not seven).
    assert plan(sorted(ALL), closed) == [OWN] * 5 + [patched] * 4 + [engine] * 2 + [both]
    assert plan(["06", "07"], closed, looked={"02", "03", "04", "05"}) == [engine, engine, both]


def test_a_learners_calls_take_the_workers_started_ahead_and_close_each_one_left(tree):
    calls = Calls(tree(0), Fence(), 5.0, ahead=True)
    bases = plan(["07"], todo_left(tree(0)))
    try:
        calls.prepare(bases)
        ready = dict(calls.ready)
        assert list(ready) == list(dict.fromkeys(bases)) and all(w.alive() for w in ready.values())
        with pytest.raises(LearnerError):  # the stubs' + and *
            calls.call("forward", {"graph": LECTURE_L})
        assert calls.worker is ready[OWN]
        calls.base = bases[2]
        with pytest.raises(LearnerError):
            calls.call("backward", {"graph": LECTURE_L})
        assert calls.worker is ready[bases[2]] and not ready[OWN].alive()
        calls.prepare([bases[2], bases[-1]])  # the worker in use goes on; the one no longer planned is closed
        assert list(calls.ready) == [bases[-1]] and not ready[bases[4]].alive()
    finally:
        calls.close()
    assert not any(w.alive() for w in ready.values()) and calls.ready == {}


def test_a_graders_calls_start_nothing_ahead_since_a_students_memory_is_shared_by_its_workers(tree):
    calls = Calls(tree(0), Fence(), 5.0, ahead=False)
    calls.prepare(plan(["07"], ALL))
    assert calls.ready == {}


def test_a_run_that_stops_at_the_first_unfinished_check_plans_nothing_after_it(tree):
    """Watch mode's runs stop at the first check not at full marks: for the stubs with 01 solved, the
    first with a TODO left is 02, and all it needs is the learner's own worker, already started."""
    todo = todo_left(tree(1))
    looks = Looks(None, [], 1.0, last=min(todo), guess=todo)
    assert looks.planned(sorted(ALL)) == [OWN, OWN]
    assert len(Looks(None, [], 1.0, guess=todo).planned(sorted(ALL))) == 12  # 7 checks, 5 gates


def test_nothing_is_started_ahead_for_a_folder_that_holds_no_tree(tmp_path):
    calls = Calls(tmp_path, Fence(), 5.0, ahead=True)
    calls.prepare([OWN])
    assert calls.ready == {}


@pytest.mark.parametrize(
    "upto, comment",
    [(0, ""), (3, ""), (5, ""), (7, '# raise NotImplementedError("ex04: left in a comment")\n')],
    ids=["stubs", "through 03", "through 05", "solved, with a stub line in a comment"],
)
def test_a_learners_run_gives_the_verdicts_of_a_run_that_starts_every_worker_on_demand(
    checks, tree, tmp_path, upto, comment
):
    """A run given a fence file is a grader's, which starts nothing ahead."""
    impl = tree(upto)
    if comment:
        impl = shutil.copytree(tree(upto), tmp_path / "impl")
        (impl / "train.py").write_text(comment + (impl / "train.py").read_text())
    fence = tmp_path / "fence.json"
    Fence().save(fence)
    ahead, on_demand = checks("all", impl), checks("all", impl, "--fence", str(fence))
    assert ahead.report and on_demand.report, (ahead.out, on_demand.out)

    def verdicts(run):
        return [(t["nodeid"], t["status"], t["points"], t["message"], t["mistake"]) for t in run.tests()]

    assert verdicts(ahead) == verdicts(on_demand)
    assert ahead.report["checks"] == on_demand.report["checks"]


def until_unfinished(impl, tmp_path):
    """The report of a run that stops at the first check not at full marks, as watch mode's runs do."""
    report = tmp_path / f"report-{impl.name}.json"
    code = (
        "import sys; from kit import runner; "
        f"sys.exit(runner.run({sorted(ALL)!r}, impl={str(impl)!r}, report={str(report)!r}, until_unfinished=True))"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=300)
    return json.loads(report.read_text())


@pytest.mark.parametrize("member", [None, "Value(other) with no type test"], ids=["solved", "wraps-value"])
def test_a_stopping_run_whose_guess_is_wrong_looks_at_what_each_later_check_builds_on_before_it(
    variant, tmp_path, member
):
    """A stub line left in a comment of derivatives.py makes the guess stop at check-01; the run goes
    on past it, and each later check gets the first looks it needs before it starts (wraps-value:
    02-04 run with the kit's line): the same report as the run without the comment."""
    _, file, patch, *_ = ZOO[member] if member else (None, "micrograd/engine.py", [])
    plain = variant(patch, file, name="plain")
    commented = shutil.copytree(plain, tmp_path / "commented")
    stub = '# raise NotImplementedError("ex01: a line left in a comment")\n'
    (commented / "derivatives.py").write_text(stub + (commented / "derivatives.py").read_text())
    assert todo_left(commented) == {"01"} and todo_left(plain) == set()
    expected, got = until_unfinished(plain, tmp_path), until_unfinished(commented, tmp_path)
    assert without_timings(got["checks"]) == without_timings(expected["checks"])
    assert without_timings(got["tests"]) == without_timings(expected["tests"])
    if member:  # it got past 04, on the kit's line, and stopped at 05, which charges it
        assert [c["base"] for c in list(got["checks"].values())[1:4]] == [["05"]] * 3
        assert got["checks"]["05"]["earned"] < got["checks"]["05"]["max"] and "06" not in got["checks"]
