"""Code that reaches into the worker gains nothing; what crosses to the judge is sanitised and bounded.

Each hostile tree is the reference with one act of tampering added, so that a zero is earned by the
tampering alone: the checks it touched score 0 with status `error`, `mistake: null`, a message
naming what the kit refused, and an entry in the report's `review`; the checks it did not touch
keep full marks. Every act is bounded (a few seconds, some tens of MB at most).
"""

import json
import os
import subprocess
import sys

import pytest

from checks.sanitise import Garbled, clean_data, clean_error, clean_text
from kit import ROOT
from kit.exercises import POINTS
from kit.instructor import sandbox

ENGINE_TOP = "import math\n"
NUMERICS = (ROOT / "checks" / "numerics.py").read_text()

# The forger of the issue: walk up to the worker's loop, rebind what sends the replies, and answer
# every probe from the request with a copy of the kit's public numerics.
FORGER = """
import sys as _sys
from micrograd import numerics_copy as _numerics


def _answer(request):
    args = request.get("args", {})
    if "graph" in args:
        return {"ok": _numerics.evaluate(args["graph"]) if hasattr(_numerics, "evaluate") else {}}
    return {"ok": 0.0}


def _forge():
    frame = _sys._getframe()
    while frame is not None:
        scope = frame.f_globals
        for name in ("send", "_send", "run", "_dumps"):
            if callable(scope.get(name)) and scope.get("__name__") == "__main__":
                scope[name] = lambda *a, **k: _answer(a[1] if len(a) > 1 else {})
        frame = frame.f_back


try:
    _forge()
except Exception:
    pass  # keep going as if nothing happened: the reference below still works
"""

REPLY_WRITER = """
import os as _os
for _fd in range(3, 256):
    try:
        _os.write(_fd, b'{"ok": {"data": {}}}\\n')
    except OSError:
        pass
"""

ACTS = {
    "gc": ("import gc\ntry:\n    gc.get_objects()\nexcept Exception:\n    pass\n", "list the worker's objects"),
    "settrace": (
        "import sys\ntry:\n    sys.settrace(lambda *a: None)\nexcept Exception:\n    pass\n",
        "trace the worker (sys.settrace)",
    ),
    "ctypes": ("try:\n    import ctypes\nexcept Exception:\n    pass\n", "use ctypes"),
    "traceback frames": (
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    try:\n        e.__traceback__.tb_frame.f_back\n"
        "    except Exception:\n        pass\n",
        "read a frame (tb_frame)",
    ),
    "write a file": (
        "try:\n    open('pwned.txt', 'w').write('x')\nexcept OSError:\n    pass\n",
        "open a file for writing",
    ),
    "read the solutions": (
        f"try:\n    exec(open({str(ROOT / 'solutions' / 'micrograd' / 'engine.py')!r}).read())\n"
        "except OSError:\n    pass\n",
        "read a file outside the tree graded",
    ),
    "start a process": (
        "import os\ntry:\n    os.system('true')\nexcept Exception:\n    pass\n",
        "start a process (os.system)",
    ),
    # warnings imports a filter option's module by name, for its caller: the route to fork_exec,
    # which raises no audit event of its own.
    "start a process through the standard library": (
        "import warnings\ntry:\n    warnings._processoptions(['ignore::_posixsubprocess.X'])\nexcept Exception:\n"
        "    pass\n",
        "start a process (_posixsubprocess)",
    ),
    # shm_open makes a file in /dev/shm with no audit event (the host's, under --sandbox none).
    "a shared memory file": (
        "import os, sys, warnings\ntry:\n    warnings._processoptions(['ignore::_posixshmem.X'])\n"
        "    os.close(sys.modules['_posixshmem'].shm_open('/kit-test-segment', os.O_CREAT | os.O_RDWR, 0o600))\n"
        "    sys.modules['_posixshmem'].shm_unlink('/kit-test-segment')\nexcept Exception:\n    pass\n",
        "change files (_posixshmem)",
    ),
    # C code of the standard library that writes files with no audit event: readline's history,
    # multiprocessing's named semaphores, the dbm databases.
    "a file written by readline": (
        "import os, sys, warnings\ntry:\n    warnings._processoptions(['ignore::readline.X'])\n"
        "    sys.modules['readline'].write_history_file(os.path.join(os.path.dirname(__file__), 'history'))\n"
        "except Exception:\n    pass\n",
        "change files (readline)",
    ),
    # os.mkfifo and os.mknod make files with no audit event.
    "a named pipe": (
        "import os\ntry:\n    os.mkfifo('/tmp/kit-test-fifo')\n    os.remove('/tmp/kit-test-fifo')\n"
        "except Exception:\n    pass\n",
        "change files (os.mkfifo, os.mknod)",
    ),
    # An interpreter of its own has none of the worker's audit hook: code run there is fenced by nothing.
    # The standard library imports the module for it (warnings' filter options, as above).
    "an interpreter of its own": (
        "import sys, warnings\ntry:\n    warnings._processoptions(['ignore::_xxsubinterpreters.X'])\n"
        "    sys.modules['_xxsubinterpreters'].create()\nexcept Exception:\n    pass\n",
        "load one of CPython's own test modules or interpreters (_xxsubinterpreters)",
    ),
    # A compiled module is initialised by the last part of its name: found through the learner's own
    # package, `micrograd._xxsubinterpreters` passes for one of the learner's modules (any compiled module
    # of the standard library here, whichever this Python has).
    "a compiled module under another name": (
        "import os, micrograd\n_dynload = os.path.join(os.path.dirname(os.__file__), 'lib-dynload')\n"
        "micrograd.__path__.append(_dynload)\n"
        "try:\n    __import__('micrograd.' + sorted(os.listdir(_dynload))[0].partition('.')[0])\n"
        "except Exception:\n    pass\n",
        "load a compiled module under another name",
    ),
    # A Python signal handler is handed the frame it interrupts, with no audit event: from there
    # f_back (never audited) leads to the worker's loop, and to the audit hook's own closures.
    "a signal handler": (
        "import signal\ntry:\n    signal.signal(signal.SIGUSR1, lambda n, frame: frame.f_back)\n"
        "    signal.raise_signal(signal.SIGUSR1)\nexcept Exception:\n    pass\n",
        "install a signal handler",
    ),
    "a signal handler through _signal": (
        "import _signal\ntry:\n    _signal.signal(10, lambda n, frame: frame.f_back)\nexcept Exception:\n    pass\n",
        "install a signal handler",
    ),
    "a fresh copy of a built-in module": (
        "import _imp\nclass _Spec:\n    name = '_signal'\ntry:\n    _imp.create_builtin(_Spec())\n"
        "except Exception:\n    pass\n",
        "make a fresh copy of a built-in module",
    ),
    # With DEBUG_SAVEALL the collector keeps what it frees in gc.garbage: a finished frame, and its f_back.
    "the collector's saved garbage": (
        "import gc\ntry:\n    gc.set_debug(gc.DEBUG_SAVEALL)\nexcept Exception:\n    pass\n",
        "keep what the collector frees (gc.set_debug)",
    ),
    # The collector on mid-probe could run a learner's __del__ inside the audit hook, where it is blind.
    "the collector turned on": (
        "import gc\ntry:\n    gc.enable()\nexcept Exception:\n    pass\n",
        "turn the collector on (gc.enable)",
    ),
    # The hook puts a rebound os.lstat back before it reads a path: the learner's object it drops must
    # not run its __del__ there, where the hook lets its own sys._getframe through.
    "a __del__ the hook's repair frees": (
        "import os, sys\nclass _Ghost:\n    def __call__(self, *a, **k):\n        return _lstat(*a, **k)\n"
        "    def __del__(self):\n        try:\n            sys._getframe(1)\n        except Exception:\n"
        "            pass\n_lstat = os.lstat\nos.lstat = _Ghost()\nopen(__file__).close()\n",
        "walk the call stack (sys._getframe)",
    ),
}
if sys.version_info >= (3, 12):
    # Its callbacks run at every start of a Python function, the audit hook's own included, where it lets
    # its own sys._getframe through.
    ACTS["sys.monitoring"] = (
        "import sys\ntry:\n    sys.monitoring.use_tool_id(4, 'learner')\n"
        "    sys.monitoring.register_callback(4, sys.monitoring.events.PY_START, lambda code, offset: None)\n"
        "except Exception:\n    pass\n",
        "watch the worker run (sys.monitoring)",
    )


def engine_patch(code):
    return [(ENGINE_TOP, ENGINE_TOP + code)]


def assert_tampered(run, check, reason):
    """Every test of `check` scored 0 as an error naming `reason`, each one marked for review."""
    tests = run.tests(check)
    assert tests and run.earned(check) == (0, POINTS[check]), run.out
    for t in tests:
        assert (t["status"], t["points"], t["mistake"]) == ("error", 0, None), t
        assert reason in t["message"] and "marked for review" in t["message"], t["message"]
    flagged = {(r["check"], r["test"]) for r in run.report["review"] if reason in r["reason"]}
    assert {(check, t["test"]) for t in tests} <= flagged


def test_the_frame_walking_forger_scores_zero_where_it_ran_and_is_marked_for_review(checks, variant):
    impl = variant(engine_patch(FORGER))
    (impl / "micrograd" / "numerics_copy.py").write_text(NUMERICS)
    run = checks("01,02", impl)
    assert run.earned("01") == (POINTS["01"], POINTS["01"])  # derivatives.py never ran the forger
    assert_tampered(run, "02", "walk the call stack (sys._getframe)")
    assert all(r["check"] == "02" for r in run.report["review"])


def test_forged_replies_written_to_every_descriptor_score_zero(checks, variant):
    run = checks("02", variant(engine_patch(REPLY_WRITER)))
    assert_tampered(run, "02", "a reply the worker did not sign")


@pytest.mark.parametrize("act", list(ACTS))
def test_each_refused_act_scores_zero_on_the_check_that_ran_it(checks, variant, act):
    code, reason = ACTS[act]
    run = checks("02", variant(engine_patch(code)))
    assert_tampered(run, "02", reason)


def test_a_flood_after_rebinding_the_workers_limits_stays_bounded_at_the_judge(checks, variant):
    flood = (
        "import __main__ as _m, sys as _s\n"
        "for _name in ('PRINTED_LIMIT', 'TEXT_LIMIT', 'CODE_LIMIT'):\n"
        "    setattr(_m, _name, 10 ** 12)\n"
        "for _ in range(20):  # 20 MB at import\n"
        "    _s.stdout.write('x' * (1 << 20) + '\\n')\n"
    )
    broken_repr = (
        '        return f"Value(data={self.data})"\n',
        "        print('y' * (1 << 20))\n        return 'nope'\n",
    )
    run = checks("02", variant([*engine_patch(flood), broken_repr]))
    assert run.earned("02") == (POINTS["02"] - 1, POINTS["02"]), run.out
    failed = [t for t in run.tests() if t["status"] != "pass"]
    assert len(failed) == 1 and "Your code printed:" in failed[0]["message"]
    assert all(len(t["message"]) <= 7000 for t in run.tests())
    assert len(json.dumps(run.report)) < 100_000 and len(run.out) < 100_000
    assert run.report["review"] == []  # printing a lot is no tampering


def test_a_source_line_of_almost_a_megabyte_is_cut_short_in_every_message(checks, variant):
    # Just under the 1 MB a file of the tree may hold: a larger one is left out (checks/worker/staged.py).
    long_line = "        raise ValueError('boom')  # " + "y" * ((1 << 20) - 20_000) + "\n"
    impl = variant([("        out = Value(self.data * other.data, (self, other), '*')\n", long_line)])
    run = checks("02", impl)
    errors = [t for t in run.tests() if t["status"] == "error"]
    assert errors, run.out
    for t in errors:
        assert "raise ValueError('boom')" in t["message"] and len(t["message"]) < 3000
    assert len(run.out) < 100_000


def test_a_lone_surrogate_and_escape_codes_in_a_message_never_break_the_report(checks, variant):
    impl = variant(
        [
            (
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                "        raise ValueError('bad \\udc80 \\x1b[31mred\\x1b[0m')\n",
            )
        ]
    )
    run = checks("02", impl)
    assert run.report is not None and run.earned("02")[1] == POINTS["02"]
    messages = [t["message"] for t in run.tests() if t["status"] == "error"]
    assert messages and all("bad \ufffd \\x1b[31mred" in m for m in messages)
    assert "\x1b" not in run.out and not [t for t in run.tests() if t.get("kit_error")]


def test_an_exception_class_whose_name_is_not_a_string_is_named_and_the_maximum_stays(checks, variant):
    odd = "class _Meta(type):\n    __name__ = 5\n\n\nclass Odd(Exception, metaclass=_Meta):\n    pass\n"
    impl = variant(
        [
            *engine_patch(odd),
            (
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                "        raise Odd('odd')\n",
            ),
        ]
    )
    run = checks("02", impl)
    assert run.earned("02")[1] == POINTS["02"]
    errors = [t for t in run.tests() if t["status"] == "error"]
    assert errors and all("your code raised Odd: odd" in t["message"] for t in errors)
    assert not [t for t in run.tests() if t.get("kit_error")]


LOUD = [
    (ENGINE_TOP, ENGINE_TOP + "for _ in range(8):  # 8 MB at import\n    print('z' * (1 << 20))\n"),
    (
        "        out = Value(self.data + other.data, (self, other), '+')\n",
        "        print('adding', self.data, other.data, '.' * 200)\n"
        "        out = Value(self.data + other.data, (self, other), '+')\n",
    ),
]


def test_a_loud_correct_printer_gets_full_marks(checks, variant):
    run = checks("all", variant(LOUD))
    assert run.rc == 0 and all(t["status"] == "pass" for t in run.tests()), run.out
    assert run.report["review"] == []


HONEST_EXTRAS = (
    "import sys\nsys.setrecursionlimit(10**6)\nimport random\nrandom.seed(1)\n"
    "from collections import namedtuple\nfrom dataclasses import dataclass\nfrom enum import Enum\n"
    "from functools import total_ordering\nfrom typing import TypeVar\n"
    "Pair = namedtuple('Pair', 'a b')\nT = TypeVar('T')\nColour = Enum('Colour', 'RED GREEN')\n\n\n"
    "@dataclass\nclass _Note:\n    text: str = ''\n\n\n"
    "import argparse, csv, logging, pathlib, pickle, pprint\nlog = logging.getLogger(__name__)\n"
)


@pytest.mark.parametrize("style", ["solutions", "table", "closures", "lecture follower"])
def test_honest_code_in_every_style_gets_full_marks_and_is_never_flagged(checks, variant, style):
    if style == "lecture follower":
        impl = variant(engine_patch(HONEST_EXTRAS))
    else:
        impl = ROOT / "solutions" if style == "solutions" else ROOT / "tests" / "styles" / style
    run = checks("all", impl)
    assert run.rc == 0 and run.report["review"] == [], run.out


# logging asks for its caller's frame and does without: told there is none, it hands none to the
# learner's code, which could walk from one to the worker's own (f_back and f_locals raise no audit event).
FRAME_FISHER = (
    "import logging\n_caught = []\nlogging._is_internal_frame = lambda f: _caught.append(f) or False\n"
    "_log = logging.getLogger('fisher')\n_log.findCaller = lambda *a, **k: _caught.append(a) or ('', 0, '', None)\n"
)
FISHING_ADD = (
    "        out = Value(self.data + other.data, (self, other), '+')\n",
    "        logging.warning('adding')\n"
    "        if any(hasattr(f, 'f_back') for f in _caught):\n            raise RuntimeError('caught a frame')\n"
    "        out = Value(self.data + other.data, (self, other), '+')\n",
)


def test_logging_in_learner_code_logs_hands_the_learner_no_frame_and_is_never_flagged(checks, variant):
    run = checks("02,03", variant([(ENGINE_TOP, ENGINE_TOP + FRAME_FISHER), FISHING_ADD]))
    assert run.rc == 0 and run.report["review"] == [], run.out
    assert all(t["status"] == "pass" for t in run.tests()), run.out


def test_a_learner_file_named_like_a_module_the_worker_loads_is_never_loaded_by_the_worker(checks, variant):
    """The worker's own imports happen before the learner's folder is on the path: a random.py or
    types.py in the tree would otherwise run inside the worker before its audit hook is in."""
    impl = variant([])
    for name in ("random", "types", "sysconfig", "bisect", "importlib"):
        (impl / f"{name}.py").write_text("raise RuntimeError('the worker loaded a learner file')\n")
    run = checks("all", impl)
    assert run.rc == 0 and run.report["review"] == [], run.out


# --- rebinding what the worker relies on ---------------------------------------------------------

# Each act leaves the reference's results as they were (a wrapper that calls the original, or a name
# micrograd never uses), so that a zero is earned by the rebinding alone.
REBINDINGS = {
    "a builtin the worker uses": (
        "import builtins\n_isinstance = builtins.isinstance\nbuiltins.isinstance = lambda o, t: _isinstance(o, t)\n",
        "builtins.isinstance was rebound",
    ),
    "a math function": ("math.isfinite = lambda x: True\n", "math.isfinite was rebound"),
    "a clock": (
        "import time\n_monotonic = time.monotonic\ntime.monotonic = lambda: _monotonic()\n",
        "time.monotonic was rebound",
    ),
    "a deleted builtin": ("import builtins\ndel builtins.divmod\n", "builtins.divmod was deleted"),
    "a function's code": (
        "import os\ntry:\n    os.path.realpath.__code__ = (lambda p, *, strict=False: p).__code__\n"
        "except Exception:\n    pass\n",
        "change a function of the kit or the standard library (realpath.__code__)",
    ),
}


@pytest.mark.parametrize("act", list(REBINDINGS))
def test_rebinding_what_the_worker_relies_on_scores_zero_where_it_ran_and_is_marked_for_review(checks, variant, act):
    code, reason = REBINDINGS[act]
    run = checks("01,02", variant(engine_patch(code)))
    assert run.earned("01") == (POINTS["01"], POINTS["01"]), run.out  # derivatives.py never ran it
    assert_tampered(run, "02", reason)
    assert all(r["check"] == "02" for r in run.report["review"])


def test_rebinding_a_module_the_worker_does_not_use_costs_nothing(checks, variant):
    """The worker reads its requests and writes its replies with json's C parts, bound before
    learner code runs: json itself, which a learner may import and change, is the learner's own."""
    run = checks("01,02", variant(engine_patch("import json\njson.dumps = lambda *a, **k: '{}'\n")))
    assert run.earned("02") == (POINTS["02"], POINTS["02"]), run.out
    assert run.report["review"] == []


def test_a_rebinding_inside_a_method_costs_only_the_tests_whose_probes_ran_it(checks, variant):
    impl = variant(
        [
            (
                "    def tanh(self):\n",
                "    def tanh(self):\n        import random\n        random.random = lambda: 0.5\n",
            )
        ]
    )
    run = checks("02,05", impl)
    assert run.earned("02") == (POINTS["02"], POINTS["02"]), run.out
    tanh = [t for t in run.tests("05") if t["status"] == "error"]
    assert tanh and all("random.random was rebound" in t["message"] for t in tanh)
    assert 0 < run.earned("05")[0] < POINTS["05"]
    assert {(r["check"], r["test"]) for r in run.report["review"]} == {("05", t["test"]) for t in tanh}


# Mul adds, and hands out its sum as a float whose __class__ (which isinstance reads) rebinds float,
# for one call, to a function that puts float back and returns the product: were the worker's float
# the learner's, its reading of every number would report the product, and nothing would be left
# rebound to see afterwards. The worker's builtins are its own: it reads the sum, and the forger,
# never called, is still in builtins when the probe ends.
SLY = """
import builtins as _builtins


class _Sly(float):
    @property
    def __class__(self):
        seen = self.__dict__["seen"] = self.__dict__.get("seen", 0) + 1
        if seen % 2 == 0:
            real, product = _builtins.float, self.__dict__["product"]

            def forged(x=0.0):
                _builtins.float = real
                return real(product)

            _builtins.float = forged
        return float
"""
SLY_MUL = (
    "        out = Value(self.data * other.data, (self, other), '*')\n",
    "        out = Value(_Sly(self.data + other.data), (self, other), '*')\n"
    "        out.data.product = self.data * other.data\n",
)
WRONG_MUL = (
    "        out = Value(self.data * other.data, (self, other), '*')\n",
    "        out = Value(self.data + other.data, (self, other), '*')\n",
)


def test_a_builtin_rebound_only_while_the_worker_reads_a_number_gains_nothing(checks, variant):
    forger = checks("02", variant([*engine_patch(SLY), SLY_MUL], name="forger"))
    wrong = checks("02", variant([WRONG_MUL], name="wrong"))
    assert 0 < wrong.earned("02")[0] < POINTS["02"], wrong.out
    by_test = {t["test"]: t for t in wrong.tests()}
    for t in forger.tests():
        assert t["points"] <= by_test[t["test"]]["points"], (t, by_test[t["test"]])
        assert t["status"] == by_test[t["test"]]["status"] or "builtins.float was rebound" in t["message"], t
    assert any("builtins.float was rebound" in r["reason"] for r in forger.report["review"]), forger.out


def test_the_grader_marks_a_rebinding_for_review_and_its_neighbour_keeps_full_marks(variant, tmp_path):
    bwrap_or_skip()
    subs = tmp_path / "subs"
    subs.mkdir()
    code, reason = REBINDINGS["a math function"]
    subprocess.run(["cp", "-r", str(variant(engine_patch(code), name="rebinder")), str(subs / "rebinder")], check=True)
    subprocess.run(["cp", "-r", str(ROOT / "solutions"), str(subs / "honest")], check=True)
    out = tmp_path / "out"
    proc = grade(subs, out, "--sandbox", "bwrap")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    by_id = {s["id"]: s for s in json.loads((out / "grades.json").read_text())["students"]}
    assert sum(t["points"] for t in by_id["honest"]["tests"]) == sum(POINTS.values())
    assert by_id["honest"]["review"] == []
    rebinder = by_id["rebinder"]
    assert rebinder["review"] and all(reason in r["reason"] for r in rebinder["review"])
    assert {r["check"] for r in rebinder["review"]} >= {"02", "03", "04", "05"}
    earned = {c: sum(t["points"] for t in rebinder["tests"] if t["check"] == c) for c in POINTS}
    # 06 and 07 run on the kit's engine (the rebinding engine's gates are closed), never importing it.
    assert all(earned[c] == POINTS[c] for c in ("01", "06", "07")), earned
    assert all(earned[c] == 0 for c in ("02", "03", "04", "05")), earned


def grade(submissions, out, *extra):
    return subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(submissions), str(out), "--jobs", "1", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def bwrap_or_skip():
    try:
        sandbox.choose("bwrap")
    except sandbox.Unavailable as e:
        pytest.skip(f"bwrap is not usable here: {e}")


def verdicts(tests):
    return [(t["nodeid"], t["status"], t["points"]) for t in tests]


def test_the_grader_gives_the_verdict_make_check_gives_to_a_loud_printer_a_forger_and_a_graphviz_import(
    checks, variant, tmp_path
):
    bwrap_or_skip()
    subs = tmp_path / "subs"
    subs.mkdir()
    trees = {
        "loud": variant(LOUD, name="loud"),
        "forger": variant(engine_patch(FORGER), name="forger"),
        "graphviz": variant(engine_patch("from graphviz import Digraph\n"), name="graphviz"),
    }
    (trees["forger"] / "micrograd" / "numerics_copy.py").write_text(NUMERICS)
    for sid, tree in trees.items():
        subprocess.run(["cp", "-r", str(tree), str(subs / sid)], check=True)
    out = tmp_path / "out"
    proc = grade(subs, out, "--sandbox", "bwrap")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    by_id = {s["id"]: s for s in json.loads((out / "grades.json").read_text())["students"]}
    assert sum(t["points"] for t in by_id["loud"]["tests"]) == sum(POINTS.values())
    assert by_id["loud"]["review"] == []
    assert by_id["forger"]["review"] and all(r["check"] != "01" for r in by_id["forger"]["review"])
    graphviz = by_id["graphviz"]["tests"]
    assert by_id["graphviz"]["review"] == []
    at_laptop = checks("all", trees["graphviz"]).tests()
    assert [(t["status"], t["points"]) for t in graphviz] == [(t["status"], t["points"]) for t in at_laptop]
    assert all(
        "No module named 'graphviz'" in t["message"] for t in at_laptop if t["check"] in ("02", "03", "04", "05")
    )
    assert all(t["status"] == "pass" for t in at_laptop if t["check"] in ("01", "06", "07"))  # on the kit's engine


# Mul's backward unpacks `_prev` and takes its first element for self: right only for the nodes whose
# set happens to iterate self first. Which nodes those are depends on the Values' addresses and on
# string hashing; the worker keeps both the same from run to run (without that: 2/10 or 7/10).
SET_ORDER_MUL = [
    (
        "            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad\n",
        "            first, second = out._prev if len(out._prev) == 2 else (self, other)\n"
        "            first.grad += other.data * out.grad\n            second.grad += self.data * out.grad\n",
    )
]


def test_a_bug_that_depends_on_set_order_gets_the_same_score_in_ten_fresh_processes(checks, variant):
    """On a busy machine too, as a grading's is: the worker's own threads, whose timing the load
    changes, must not change the addresses learner code's Values get (checks/worker/watch.py; the
    look is tested on its own below). Without that, 4 runs in 12 failed here on 3.11."""
    impl = variant(SET_ORDER_MUL)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        scores = {tuple(verdicts(checks("03", impl).tests())) for _ in range(10)}
    finally:
        busy.kill()
        busy.wait()
    assert len(scores) == 1, scores
    assert 0 < sum(points for _, _, points in scores.pop()) < POINTS["03"]


# The forward difference is right only where the module's random generator draws 0.5 or less: which
# tests pass depends on its state when the probe calls it (drawn from os.urandom at import, without
# the worker's seed: 9 to 11 of 14 from run to run).
COIN_DERIVATIVE = [
    (
        "    return (f(x + h) - f(x)) / h\n",
        "    import random\n    if random.random() > 0.5:\n        return 0.0\n    return (f(x + h) - f(x)) / h\n",
    )
]


def test_a_bug_that_depends_on_random_draws_gets_the_same_score_in_six_fresh_processes(checks, variant):
    impl = variant(COIN_DERIVATIVE, file="derivatives.py")
    scores = {tuple(verdicts(checks("01", impl).tests())) for _ in range(6)}
    assert len(scores) == 1, scores
    assert 0 < sum(points for _, _, points in scores.pop()) < POINTS["01"]


def test_the_watchdogs_look_at_a_probe_leaves_nothing_behind_however_often_it_comes():
    """Nothing a look allocates outlives it: the same blocks in use, and the same count of the collector's,
    after 10 looks as after 2000, so that when the looks come (a timer's business) changes neither
    learner Values' addresses nor when the collector runs (the worker's threads, checks/worker/watch.py)."""
    import _thread
    import gc
    import itertools
    import time

    from checks.worker import watch

    state = [7, time.monotonic(), 60.0, False, False, _thread.allocate_lock()]
    importing = [("micrograd.engine", time.monotonic())]
    look = watch.looker(state, importing, 60)

    def left_by(n):
        gc.disable()
        try:
            blocks, young = sys.getallocatedblocks(), gc.get_count()[0]
            for _ in itertools.repeat(None, n):  # no int of the loop's left over
                assert look() is None
            return sys.getallocatedblocks() - blocks, gc.get_count()[0] - young
        finally:
            gc.enable()

    for done, entry in [(False, importing[0]), (False, None), (True, None)]:
        state[3], importing[0] = done, entry
        left_by(1)
        # Another thread of this process (pytest-xdist's) may allocate meanwhile; a leak shows in every try.
        assert any(left_by(10) == left_by(2000) for _ in range(5))
    state[3], state[1] = False, time.monotonic() - 61  # past its time: found once
    assert look() == (7, None) and state[4] and look() is None


# --- the judge boundary, on the records themselves ----------------------------------------------


def test_a_worker_record_of_any_shape_becomes_the_record_the_messages_read():
    err = clean_error(
        {
            "type": 5,
            "message": "bad \udc80 \x1b[2J" + "x" * 5000,
            "where": {"file": ["a"], "line": "7", "function": None, "code": "y" * (1 << 20)},
            "frames": "not a list",
            "repeats": -3,
        }
    )
    assert err["type"] == "?" and err["message"].startswith("bad \ufffd \\x1b[2J") and len(err["message"]) < 1100
    assert err["where"] == {"file": "?", "line": 0, "function": "?", "code": "y" * 200 + " ..."}
    assert err["frames"] == [] and err["repeats"] == 0
    json.dumps(err, ensure_ascii=False).encode("utf-8")  # writable as UTF-8: no lone surrogate left
    assert clean_error("nonsense")["type"] == "?"


def test_data_too_deep_is_refused_and_strings_are_made_safe():

    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(Garbled):
        clean_data(deep)
    assert clean_data({"\udc80": ["\x07", 1.5, None, True]}) == {"\ufffd": ["\\x07", 1.5, None, True]}
    assert clean_text("tab\tand\nnewline stay", 100) == "tab\tand\nnewline stay"


# --- the static scan at collect time ------------------------------------------------------------


def test_the_scan_names_each_line_that_reaches_into_the_grader_and_nothing_in_honest_code(variant, tmp_path):
    from kit.instructor import collect, scan

    for honest in (ROOT / "solutions", ROOT / "tests" / "styles" / "table", ROOT / "tests" / "styles" / "closures"):
        assert scan.scan(honest) == []
    assert scan.scan(variant(engine_patch(HONEST_EXTRAS), name="honest")) == []
    impl = variant(engine_patch(FORGER + "x = [c for c in object.__subclasses__()]\ny = eval('1')\n"), name="forger")
    found = {(f["file"], f["reason"]) for f in scan.scan(impl)}
    assert ("micrograd/engine.py", "reads the call stack (sys._getframe)") in found
    assert ("micrograd/engine.py", "walks frames (f_back)") in found
    assert ("micrograd/engine.py", "reads a frame's globals") in found
    assert ("micrograd/engine.py", "lists every subclass (reaches the grader's classes)") in found
    assert ("micrograd/engine.py", "calls eval") in found
    notes = collect.collect(impl, tmp_path)
    assert any(n.startswith("for review: micrograd/engine.py, line ") and "sys._getframe" in n for n in notes)


def region(rel, ex, function):
    """The reference's code inside exercise `ex`'s region of `function` in the tree's file `rel`."""
    from kit.regions import scan as lines_of

    lines = lines_of((ROOT / "solutions" / rel).read_text())
    start = next(line.lineno for line in lines if line.text.startswith(f"def {function}("))
    return "".join(
        line.text + "\n" for line in lines if line.kind == "code" and ex in line.open and line.lineno > start
    )


RECURSIVE_TOPO = """    topo, visited = [], set()

    def build(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build(child)
            topo.append(v)

    build(root)
    return topo
"""


def test_an_engine_that_is_the_kits_reference_line_for_line_is_marked_for_review_and_honest_ones_are_not(
    variant, tmp_path
):
    """The checks run on the reference where a learner's engine does not work yet (checks/base/): a
    submission that copied it is shown to a person, never scored down."""
    from kit.instructor import collect, scan

    copied = variant([("import math\n", "import math  # my own work\n")], name="copied")
    assert [rel for rel, _ in scan.copies(copied)] == ["micrograd/engine.py"]
    (tmp_path / "home").mkdir()
    assert any("the kit's reference code line for line" in n for n in collect.collect(copied, tmp_path / "home"))
    for honest in (ROOT / "tests" / "styles" / "table", ROOT / "tests" / "styles" / "closures", ROOT / "exercises"):
        assert scan.copies(honest) == [], honest
    own_walk = variant(
        [("        elif v not in visited:\n", "        elif v in visited:\n            continue\n        else:\n")],
        name="own",
    )
    assert scan.copies(own_walk) != []  # one line apart is still the reference
    lecture = variant([(region("micrograd/engine.py", "04", "topological_order"), RECURSIVE_TOPO)], name="lecture-walk")
    assert scan.copies(lecture) == []  # a walk of one's own
