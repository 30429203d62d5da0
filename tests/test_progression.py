"""The solutions earn every point, the pristine stubs none, and each exercise unlocks its check."""

import pytest

from kit import ROOT
from kit.exercises import EXERCISES
from kit.regions import build_tree

ALL = list(EXERCISES)


def test_the_reference_solution_earns_full_points_on_every_check(checks):
    run = checks("all", ROOT / "solutions")
    assert run.rc == 0, run.out
    for ex in ALL:
        earned, most = run.earned(ex)
        assert earned == most > 0, (ex, run.out)
    assert (
        run.last_line == f"total: {sum(run.earned(ex)[1] for ex in ALL)}/{sum(run.earned(ex)[1] for ex in ALL)} points"
    )


def test_the_pristine_stubs_earn_nothing_and_every_test_says_not_done_yet(checks, tree):
    run = checks("all", tree(0))
    assert run.rc == 1
    for t in run.tests():
        assert t["points"] == 0 and t["status"] == "todo", t
        assert t["message"].startswith("not done yet: TODO(ex"), t
    assert "Traceback" not in run.out + run.err
    for ex in ALL:
        assert f"check-{ex}: 0/{run.earned(ex)[1]} points" in run.out


@pytest.mark.parametrize("k", range(1, 7))
def test_a_tree_solved_through_k_passes_checks_up_to_k_and_fails_the_next(checks, tree, k):
    run = checks("all", tree(k))
    for ex in ALL[:k]:
        earned, most = run.earned(ex)
        assert earned == most, (ex, run.out)
    earned, most = run.earned(ALL[k])
    assert earned < most
    todos = [t for t in run.tests(ALL[k]) if t["status"] == "todo"]
    assert todos and all(f"TODO(ex{ALL[k]})" in t["message"] for t in todos)


def test_a_check_says_first_which_exercise_it_builds_on_is_not_passing_and_what_it_runs_on_instead(checks, tree):
    run = checks("06", tree(3))
    lines = run.out.splitlines()
    assert lines[2] == (
        "! check-06 builds on 02-05; check-04, check-05 are not passing yet. So that this check grades "
        "exercise 06 alone, it runs on the kit's engine.py instead of yours; your own micrograd does not work "
        "end to end until check-04, check-05 pass, which costs no points here."
    )
    assert lines[3].startswith("! builds on 04: ") and lines[4].startswith("! builds on 05: ")
    assert run.report["checks"]["06"]["base"] == ["04", "05"]
    solved = checks("06", tree(5))
    assert not [line for line in solved.out.splitlines() if line.startswith("!")]
    assert solved.report["checks"]["06"]["base"] == []


@pytest.mark.parametrize("ex", ALL[1:])
def test_a_tree_solved_but_for_one_exercise_earns_every_point_of_every_other_check(checks, tmp_path, ex):
    """Error carried forward: with one exercise left as its stubs, every check that builds on it runs
    on the kit's base (or, for 03, on the values the learner's + and * gave) and earns every point."""
    run = checks("all", build_tree(ROOT / "solutions", tmp_path / "impl", 7, only={ex}))
    assert run.earned(ex)[0] == 0, run.out
    # 03's _backward sits in + and * after the line 02 writes: 02's stub raises before it is reached.
    unobservable = {"03"} if ex == "02" else set()
    for other in ALL:
        assert other in {ex, *unobservable} or run.earned(other)[0] == run.earned(other)[1], (other, run.out)
        base = run.report["checks"][other]["base"]
        if other > ex and ex in EXERCISES[other].builds_on and other != "03":
            assert ex in base, (other, run.out)
        else:
            assert base == [], (other, run.out)


@pytest.mark.parametrize("body", ["return None", "pass"])
def test_stubs_whose_raises_were_only_taken_out_earn_nothing_with_no_error_of_the_kits(checks, tree, tmp_path, body):
    """Deleting each TODO's raise is not work: no test passes on the given code alone (the constructor,
    args left alone by a slope never taken), and a slope of None is the learner's, not the kit's error."""
    import re
    import shutil

    impl = shutil.copytree(tree(0), tmp_path / "impl")
    for path in impl.rglob("*.py"):
        path.write_text(re.sub(r"raise NotImplementedError\(.*\)$", body, path.read_text(), flags=re.M))
    run = checks("all", impl)
    assert [t["test"] for t in run.tests() if t["points"]] == [], run.out
    assert not [t for t in run.tests() if t.get("kit_error")], run.out


def test_a_topological_order_of_the_root_alone_and_a_power_that_refuses_everything_earn_nothing(checks, variant):
    """Tests that judge a property of what came back (an order, a refusal) give no point where nothing
    came back to judge: [root] has no child to put first; a ** that raises TypeError for every exponent
    does not tell a Value apart."""
    run = checks(
        "all",
        variant(
            [
                ("    topo, visited = [], set()\n", "    return [root]\n    topo, visited = [], set()\n"),
                (
                    "        if not isinstance(other, (int, float)):\n",
                    "        raise TypeError('no')\n        if not isinstance(other, (int, float)):\n",
                ),
            ]
        ),
    )
    failed = {t["test"]: t["message"] for t in run.tests() if t["status"] != "pass"}
    assert (
        "no node in it comes with any of its children"
        in failed["topological_order puts children before parents, and the root last"]
    ), run.out
    assert "Value(2.0) ** 2 raised TypeError too" in failed["A Value exponent raises TypeError"], run.out


def test_the_given_code_alone_earns_no_point_of_the_next_check(checks, tree):
    """A tree solved through 02 earns nothing in check-03: no point is given away by lesson 03's own stubs."""
    run = checks("03", tree(2))
    assert run.earned("03")[0] == 0, run.out


def test_a_foundation_that_passed_before_and_broke_since_is_said_to_no_longer_pass(checks, tree, tmp_path):
    import shutil

    impl = shutil.copytree(tree(7), tmp_path / "impl")
    assert checks("03", impl).rc == 0  # check-03 passes once on this tree
    engine = impl / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("self.grad += out.grad", "self.grad = out.grad", 1))
    broken = checks("04", impl)
    assert "check-03 is no longer passing (it passed before: a later edit broke it)" in broken.out, broken.out
    fresh = shutil.copytree(impl, tmp_path / "fresh")  # the same code, never seen passing
    assert "check-03 is not passing yet" in checks("04", fresh).out
