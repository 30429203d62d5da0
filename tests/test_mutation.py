"""make mutation's bookkeeping: the score and the survivors it reports."""

from kit.dev.mutation import CHECKS, summarise
from kit.exercises import TREE


def row(outcome, path="solutions/train.py", line=3, diff="--- a\n+++ b\n-    x = 1\n+    x = 2\n"):
    job = {"mutations": [{"module_path": path, "start_pos": [line, 0], "operator_name": "core/NumberReplacer"}]}
    return [job, {"test_outcome": outcome, "diff": diff}]


def test_the_score_counts_killed_among_killed_and_survived_and_lists_each_survivor():
    score, outcomes, survivors = summarise(
        [row("killed"), row("killed"), row("killed"), row("survived"), row("incompetent"), [row("killed")[0], None]]
    )
    assert score == 75.0
    assert outcomes == {"killed": 3, "survived": 1, "incompetent": 1, "not run": 1}
    assert survivors == [("solutions/train.py", 3, "core/NumberReplacer", ["-    x = 1", "+    x = 2"])]


def test_every_solution_file_is_tested_by_the_checks_of_its_own_exercises():
    assert set(CHECKS) == {rel for rel in TREE if not rel.endswith("__init__.py")}
    assert sorted(ex for exs in CHECKS.values() for ex in exs) == ["01", "02", "03", "04", "05", "06", "07"]
