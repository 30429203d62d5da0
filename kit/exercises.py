"""The seven exercises: ids, slugs, titles, points, what each builds on, and the learner's tree.

This is the one place that names the exercises; the stub generator, the checks, the grader, the
platform exports and the Makefile (through `python -m kit exercises`) all read it.
"""

import argparse
import os
from pathlib import Path

from kit import ROOT


class Exercise:
    __slots__ = ("id", "slug", "title", "points", "builds_on")

    def __init__(self, id, slug, title, points, builds_on=()):
        self.id, self.slug, self.title, self.points, self.builds_on = id, slug, title, points, tuple(builds_on)

    def __repr__(self):
        return f"Exercise({self.id!r})"


_ALL = (
    Exercise("01", "numeric_derivatives", "numeric derivatives", 14),
    Exercise("02", "value_graph", "the Value graph", 10),
    Exercise("03", "chain_rule", "local gradients and the chain rule", 10, ("02",)),
    Exercise("04", "backward", "topological order and backward()", 10, ("02", "03")),
    Exercise("05", "operations", "tanh and the other operations", 14, ("02", "03")),
    Exercise("06", "neural_net", "Neuron, Layer and MLP", 10, ("02", "03", "04", "05")),
    Exercise("07", "training", "a training loop", 10, ("02", "03", "04", "05", "06")),
)

# id -> Exercise, in the order of the path.
EXERCISES = {ex.id: ex for ex in _ALL}

# The points of each check, and of all seven (a check's tests must carry exactly its points).
POINTS = {ex.id: ex.points for ex in _ALL}
TOTAL = sum(POINTS.values())

# The learner's tree, as fixed by the contract.
TREE = (
    "derivatives.py",
    "micrograd/__init__.py",
    "micrograd/engine.py",
    "micrograd/nn.py",
    "train.py",
)


def holds_tree(folder):
    """Whether `folder` holds a file of the learner's tree (one is enough: a tree is graded as it is)."""
    return any((Path(folder) / rel).is_file() for rel in TREE)


def default_impl():
    """The implementation the learner's commands grade: $IMPL, else exercises/ of the kit."""
    return Path(os.environ.get("IMPL") or ROOT / "exercises")


HELP_IMPL = "the learner's tree to use (default: $IMPL or exercises/)"


def parse_id(text, prefixes=("check-", "hint-", "solution-", "ex")):
    """'3', '03', 'ex03', 'check-03' -> '03'; ValueError for anything that names no exercise."""
    text = str(text).strip()
    for prefix in prefixes:
        text = text.removeprefix(prefix)
    ex = text.zfill(2)
    if not text.isdigit() or ex not in EXERCISES:
        raise ValueError(f"no exercise {text!r}: choose one of {', '.join(EXERCISES)}")
    return ex


def parse_ids(text):
    """'03,04' or 'all' -> ['03', '04'] (every exercise for 'all')."""
    if str(text).strip() == "all":
        return list(EXERCISES)
    return [parse_id(part) for part in str(text).split(",")]


def argument(parse):
    """`parse` (parse_id or parse_ids) as an argparse type: a bad id is the parser's own clear error."""

    def convert(text):
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = "exercise"  # what argparse names in its message
    return convert


def doc_path(ex):
    """The lesson of exercise `ex`, relative to the kit's root."""
    return f"docs/{ex}_{EXERCISES[ex].slug}.md"


def check_file(ex):
    return f"checks/test_{ex}_{EXERCISES[ex].slug}.py"


def main(argv=None):
    """`python -m kit exercises`: the ids, one per line."""
    print("\n".join(EXERCISES))
    return 0
