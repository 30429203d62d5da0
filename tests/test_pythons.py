"""The same tree gets the same report on every supported Python (kit/dev/pythons.py): the worker,
where the learner's code runs and where Pythons differ (code objects, tracebacks, comprehensions),
runs under each version this machine has, and every report is byte for byte the one it gives under
the Python of this suite. `.ci/run` also runs the judge's own tests under each version."""

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_seeds import zoo_trees
from test_styles import STYLES
from zoo import ORDER_QUOTED

from checks.options import DEFAULT_SEED, DEFAULT_TIMEOUT
from checks.process import Fence
from kit import ROOT
from kit.dev import pythons
from kit.exercises import EXERCISES
from kit.instructor.pool import Pool, Request
from kit.regions import build_tree

FOUND = pythons.found()
OTHERS = [v for v in pythons.SUPPORTED if f"{sys.version_info[0]}.{sys.version_info[1]}" != v]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """{name: tree}: the reference, the stubs, every correct style and every member of the zoo."""
    base = tmp_path_factory.mktemp("pythons")
    found = {"the reference": ROOT / "solutions", "the stubs": build_tree(ROOT / "solutions", base / "stubs", 0)}
    found |= {f"the {name} style": Path(tree) for name, tree in STYLES.items() if name != "solutions"}
    found |= {f"the zoo's {name!r}": Path(tree) for tree, name in zoo_trees(base / "zoo").items()}
    return found


def verdicts(report):
    """A report without its messages: what an order quoted from the learner's own walk leaves alone."""
    data = json.loads(report)
    data.pop("printed", None)  # each check's printed block, messages included
    for t in data["tests"]:
        t.pop("message")
    return data


def reports(trees, python, folder):
    """{name: the JSON report of `kit check all --fence F`} with the worker under `python`, from the
    grader's warm judges (each report byte for byte a fresh run's: tests/test_judge_server.py)."""
    fence = folder / f"fence-{Path(python).name}.json"
    Fence(python=python).save(fence)

    def one(item):
        number, name = item
        report = folder / f"report-{number}.json"
        request = Request(
            tuple(EXERCISES),
            str(Path(trees[name]).resolve()),
            DEFAULT_SEED,
            str(report),
            str(fence),
            DEFAULT_TIMEOUT,
            3600.0,
        )
        judges.run(request, timeout=300, grace=1.0)
        assert report.exists(), name
        return name, json.dumps(json.loads(report.read_text()), indent=1, sort_keys=True)

    with Pool() as judges, ThreadPoolExecutor(2) as threads:
        return dict(threads.map(one, enumerate(trees)))


def quotes_order(name):
    return any(name == f"the zoo's {member!r}" for member in ORDER_QUOTED)


@pytest.fixture(scope="module")
def here(trees, tmp_path_factory):
    return reports(trees, sys.executable, tmp_path_factory.mktemp("here"))


def test_every_supported_python_is_found_or_named_as_absent():
    assert pythons.SUPPORTED[0] == "3.10"
    text = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={pythons.SUPPORTED[0]}"' in text
    for version, path in FOUND.items():
        assert pythons.runs(path, version)


@pytest.mark.slow
@pytest.mark.parametrize("version", OTHERS)
def test_every_tree_gets_byte_identical_reports_with_its_worker_on_each_python(version, trees, here, tmp_path):
    if version not in FOUND:
        pytest.skip(f"Python {version} is not on this machine")
    there = reports(trees, FOUND[version], tmp_path)
    differ = [
        name
        for name in trees
        if (verdicts(there[name]) != verdicts(here[name]) if quotes_order(name) else there[name] != here[name])
    ]
    assert not differ, f"Python {version} reports differently for {differ}:\n{there[differ[0]]}\n---\n{here[differ[0]]}"
