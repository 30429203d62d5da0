"""The same mistake costs the same points whatever order a set gives: every zoo member whose
verdict could hang on the order of `_prev` (a grad assigned instead of added, a walk without a
visited set, an order reversed or left unreversed, ...) earns one score per test with string
hashing and object addresses fixed (as the worker runs) and with both varied (tests/orders.py),
as on a machine where the worker cannot turn address randomisation off.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from zoo import ZOO

from kit import ROOT
from kit.exercises import POINTS
from kit.regions import build_tree

ORDERED = {
    "assigns-grad",
    "no-visited-set",
    "not-reversed",
    "child-after-parent",
    "no-topological-order",
    "root-not-last",
    "stale-out-grad",
    "one-child-only",
}
MEMBERS = [name for name, (*_, ids) in ZOO.items() if ORDERED & ({ids} if isinstance(ids, str) else set(ids))]
HASH_SEEDS = ("1",)


def member(tmp, name):
    ex, file, patch, *_ = ZOO[name]
    tree = tmp / "tree"
    build_tree(ROOT / "solutions", tree, 7)
    text = (tree / file).read_text()
    for old, new in patch:
        text = text.replace(old, new, 1)
    (tree / file).write_text(text)
    return tree


def points(tree, ex, hash_seed):
    """[(test, points)] of check `ex` on `tree`, as the kit runs it (hash_seed None) or with set orders varied."""
    report = tree.parent / f"report-{hash_seed}.json"
    args = ["check", ex, "--impl", str(tree), "--report", str(report)]
    start = [sys.executable, "-m", "kit"] if hash_seed is None else [sys.executable, "tests/orders.py", hash_seed]
    subprocess.run([*start, *args], cwd=ROOT, capture_output=True, timeout=120)
    return [(t["nodeid"], t["points"]) for t in json.loads(report.read_text())["tests"]]


def test_the_members_whose_verdict_could_hang_on_a_set_order_are_many():
    assert len(MEMBERS) >= 12


@pytest.mark.parametrize("name", MEMBERS)
def test_a_mistake_earns_one_score_whatever_the_set_order(name, tmp_path):
    """A mistake earns one score whatever order its sets give."""
    ex, tree = ZOO[name][0], member(tmp_path, name)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda seed: points(tree, ex, seed), (None, *HASH_SEEDS)))
    assert sum(p for _, p in runs[0]) < POINTS[ex], f"{name} costs nothing in check-{ex}"
    for seed, run in zip(HASH_SEEDS, runs[1:]):
        assert run == runs[0], f"{name}: PYTHONHASHSEED={seed} with address randomisation changed the points"
