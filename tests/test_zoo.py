"""Every classic mistake is caught by the check of its own exercise, with its cause named."""

import pytest
from zoo import ZOO


@pytest.mark.parametrize("name", list(ZOO))
def test_each_classic_mistake_loses_points_on_its_own_check_with_the_cause_named(name, checks, variant):
    ex, file, patch, cause = ZOO[name]
    run = checks(ex, variant(patch, file))
    earned, most = run.earned(ex)
    assert earned < most, f"{name}: check-{ex} gave full marks\n{run.out}"
    messages = [t["message"] for t in run.tests() if t["status"] != "pass"]
    assert any(cause in m for m in messages), f"{name}: no failure names the cause {cause!r}\n{run.out}"
    assert not [t for t in run.tests() if t["status"] == "kit-error"], run.out


def test_the_zoo_covers_every_exercise_with_at_least_30_members():
    assert len(ZOO) >= 30
    assert {ex for ex, *_ in ZOO.values()} == {"01", "02", "03", "04", "05", "06", "07"}
