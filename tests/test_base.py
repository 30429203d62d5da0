"""The known-good base (checks/base/): a check runs on the kit's code only in a worker of its own,
and the learner's own engine can neither read that code nor find it."""

import json

import hostile

from checks.base import OWN, Base, base_for
from kit import ROOT
from kit.dev.stubs import base_files

# An engine that leaves its own Value undone and looks for the kit's, by reading its file or by
# searching every class there is: it must find nothing while its own engine is graded.
BORROW = '''
import os, sys
_here = os.path.dirname(os.path.realpath(sys.modules["__main__"].__file__))
_kit = None
for _path in (os.path.join(_here, "..", "base", "engine.py"), os.path.join(_here, "base", "engine.py")):
    try:
        with open(_path) as _f:
            _kit = _f.read()
    except OSError:
        pass
_found = [c for c in object.__subclasses__() if c.__name__ == "Value" and c.__module__ != __name__]
'''
USE = '''
if _kit is not None:
    _space = {}
    exec(_kit, _space)
    Value, topological_order = _space["Value"], _space["topological_order"]
elif _found:
    Value = _found[0]
'''


def test_which_base_each_check_runs_on_follows_the_closed_gates():
    assert base_for("03", {"02"}) == OWN  # judged at the values the learner's + and * gave
    assert base_for("04", {"03"}) == Base(kit=("03",), patch=("03",))
    assert base_for("04", {"04"}) == OWN and base_for("05", {"04"}) == OWN
    assert base_for("06", {"04"}) == Base(kit=("04",), modules=("micrograd.engine",))
    assert base_for("07", {"06"}) == Base(kit=("06",), modules=("micrograd.nn",))
    assert base_for("07", {"02", "06"}).modules == ("micrograd.engine", "micrograd.nn")
    assert not OWN and Base(kit=("06",), modules=("micrograd.nn",))


def test_the_base_is_the_reference_solved_as_make_stubs_writes_it():
    for path, text in base_files(ROOT / "solutions").items():
        assert path.read_text() == text, f"{path} is out of date: run make stubs"


def test_an_engine_that_reaches_for_the_kits_value_finds_nothing_and_is_marked_for_review(checks, tmp_path):
    """06 and 07 run on the kit's engine (their workers hold it), yet the learner's own engine,
    graded in a worker of its own, can neither read the kit's file nor find its class."""
    engine = "micrograd/engine.py"
    impl = hostile.tree(tmp_path / "impl", upto=1, patches=[hostile.top(engine, BORROW)])
    text = (impl / engine).read_text()
    (impl / engine).write_text(text + USE)
    run = checks("all", impl)
    for ex in ("02", "03", "04", "05"):
        assert run.earned(ex)[0] == 0, run.out
    assert run.report["checks"]["06"]["base"] and run.report["checks"]["07"]["base"], run.out
    reasons = [r["reason"] for r in run.report["review"]]
    assert any("read a file outside the tree graded" in r for r in reasons), json.dumps(run.report["review"])
