"""Learner code that exits, crashes, hangs, floods or is simply wrong ends in a clear report naming the
test, and in no cause the evidence does not show."""

import json
import subprocess
import sys
import textwrap

import pytest
from zoo import RECURSIVE_TOPO

from kit import ROOT
from kit.exercises import POINTS
from kit.regions import build_tree


def by_test(run, check):
    """The check's results by test function (its title is wording, which may change)."""
    return {t["nodeid"].split("::")[-1].removeprefix("test_").replace("_", " "): t for t in run.tests(check)}


def test_sys_exit_at_import_is_reported_on_every_test_and_grading_goes_on(checks, variant):
    impl = variant([("import math\n", "import math\nimport sys\nsys.exit(0)\n")])
    line = (impl / "micrograd" / "engine.py").read_text().splitlines().index("sys.exit(0)") + 1
    run = checks("02", impl)
    assert run.last_line == f"check-02: 0/{POINTS['02']} points" and run.rc == 1
    for t in run.tests():
        assert t["status"] == "crash"
        assert t["message"].startswith("Your code called sys.exit(0) while the check")
        assert f"micrograd/engine.py, line {line}:" in t["message"]
    assert "Traceback" not in run.out + run.err


def test_os_exit_mid_check_names_the_test_and_a_fresh_worker_takes_the_next(checks, variant):
    impl = variant(
        [
            (
                "        out = Value(self.data * other.data, (self, other), '*')\n",
                "        if self.data == 2.0 and other.data == -3.0:\n            import os; os._exit(3)\n"
                "        out = Value(self.data * other.data, (self, other), '*')\n",
            )
        ]
    )
    run = checks("02", impl)
    tests = by_test(run, "02")
    lecture = tests["the lecture expression L equals a times b plus c times f is minus 8"]
    assert lecture["status"] == "crash"
    assert "ended the Python process (exit code 3)" in lecture["message"]
    assert "os._exit()" in lecture["message"]
    assert tests["random expressions of plus and times compute their values"]["status"] == "pass"
    assert 0 < run.earned("02")[0] < 10


def test_a_segfault_is_reported_with_the_learners_line(checks, variant):
    impl = variant(
        [
            (
                "        out = Value(self.data + other.data, (self, other), '+')\n",
                "        import faulthandler; faulthandler._sigsegv()\n"
                "        out = Value(self.data + other.data, (self, other), '+')\n",
            )
        ]
    )
    run = checks("02", impl)
    crashed = [t for t in run.tests() if t["status"] == "crash"]
    assert crashed, run.out
    assert "killed by signal SIGSEGV" in crashed[0]["message"]
    assert "last seen at micrograd/engine.py, line" in crashed[0]["message"]
    assert run.last_line == f"check-02: 2/{POINTS['02']} points"  # the two tests that never add


def test_an_endless_backward_times_out_by_the_judges_clock_and_the_rest_is_graded(checks, variant):
    impl = variant([("        self.grad = 1.0\n", "        while True:\n            pass\n")])
    run = checks("04", impl, "--timeout", "2")
    tests = by_test(run, "04")
    hung = tests["backward matches finite differences on random graphs"]
    assert hung["status"] == "timeout"
    assert hung["message"].startswith("Took longer than 2 s while the check builds the expression")
    assert tests["topological order lists every node exactly once"]["status"] == "pass"


def test_a_recursive_topological_order_fails_only_the_deep_chain_with_a_recursion_hint(checks, variant):
    impl = variant([("def topological_order(root):", RECURSIVE_TOPO)])
    run = checks("04", impl)
    failed = [t for t in run.tests() if t["status"] != "pass"]
    assert [t["nodeid"].split("::")[-1] for t in failed] == ["test_backward_works_on_a_chain_100000_nodes_deep"]
    assert "RecursionError" in failed[0]["message"] and "a loop and a stack" in failed[0]["message"]
    assert run.last_line == f"check-04: {POINTS['04'] - 1}/{POINTS['04']} points"


def test_a_later_exercises_todo_reached_by_this_ones_code_names_the_call_and_is_not_a_todo(checks, tmp_path):
    """A * that wraps a Value in a Value reaches 05's unfinished __rmul__ while check-02 runs: an error of
    02's code, not 02 left undone, and not sent to exercise 05."""
    impl = build_tree(ROOT / "solutions", tmp_path / "impl", 3)
    engine = impl / "micrograd" / "engine.py"
    line = "        out = Value(self.data * other.data, (self, other), '*')\n"
    engine.write_text(engine.read_text().replace(line, "        other = Value(other)\n" + line, 1))
    run = checks("02", impl)
    lecture = by_test(run, "02")["the lecture expression L equals a times b plus c times f is minus 8"]
    assert lecture["status"] == "error" and lecture["mistake"] is None, lecture
    said = lecture["message"]
    assert (
        "your code called Value.__rmul__, which is exercise 05's, not done yet, and needed by nothing in check-02"
        in said
    )
    assert "Python calls it for x * v where x is not a Value." in said and "in Value.__mul__" in said
    assert not any(t["status"] == "todo" for t in run.tests("02")), run.out


def test_the_deep_chain_is_walked_once_where_backward_calls_topological_order(checks, variant):
    """The order judged is the one backward walks: a second walk of 100,000 nodes is a third of the test's time."""
    once = (
        "_WALKED = []\n\n\ndef topological_order(root):\n"
        "    if root.data == 50_001.0:  # the deep chain's y: a + 100,000 times 0.5\n"
        "        assert not any(r is root for r in _WALKED), 'the deep chain was walked twice'\n"
        "        _WALKED.append(root)\n"
    )
    run = checks("04", variant([("def topological_order(root):\n", once)]))
    assert run.last_line == f"check-04: {POINTS['04']}/{POINTS['04']} points", run.out


INLINE_BACKWARD = """        nodes, stack = {self}, [self]
        while stack:
            for c in stack.pop()._prev:
                if c not in nodes:
                    nodes.add(c)
                    stack.append(c)
        parents = dict.fromkeys(nodes, 0)
        for v in nodes:
            for c in v._prev:
                parents[c] += 1
        self.grad, ready = 1.0, [self]
        while ready:  # a node's _backward once every parent's has run
            v = ready.pop()
            v._backward()
            for c in v._prev:
                parents[c] -= 1
                if not parents[c]:
                    ready.append(c)
"""


def test_the_deep_chain_still_judges_topological_order_where_backward_walks_on_its_own(checks, variant):
    by_order = (
        "        self.grad = 1.0\n        for v in reversed(topological_order(self)):\n            v._backward()\n"
    )
    walked = (by_order, INLINE_BACKWARD)
    run = checks("04", variant([walked]))
    assert run.last_line == f"check-04: {POINTS['04']}/{POINTS['04']} points", run.out
    rootless = ("    return topo\n", "    return topo[:-1]\n")
    tests = by_test(checks("04", variant([walked, rootless], name="rootless")), "04")
    deep = tests["backward works on a chain 100000 nodes deep"]
    assert deep["status"] == "fail" and "topological_order(y) has 100,001 nodes" in deep["message"], deep


@pytest.mark.parametrize("where", ["at import", "as it starts", "through from-import"])
def test_a_recursive_walk_that_raises_the_recursion_limit_costs_the_same_on_every_python(checks, variant, where):
    """At the default limit whatever the learner's code sets: 3.11+ would carry the walk through, 3.10 crash."""
    raised = {
        "at import": ("import sys\nsys.setrecursionlimit(10**6)\n\n", ""),
        "as it starts": ("import sys\n\n", "    sys.setrecursionlimit(10**6)\n"),
        "through from-import": ("from sys import setrecursionlimit\n\n", "    setrecursionlimit(10**6)\n"),
    }[where]
    topo = RECURSIVE_TOPO.replace('    topo, visited = [], set()\n', raised[1] + '    topo, visited = [], set()\n')
    run = checks("04", variant([("def topological_order(root):", raised[0] + topo)]))
    failed = [t for t in run.tests() if t["status"] != "pass"]
    assert [(t["nodeid"].split("::")[-1], t["status"], t["mistake"]) for t in failed] == [
        ("test_backward_works_on_a_chain_100000_nodes_deep", "error", "recursion-limit")
    ], run.out


def test_printed_output_is_shown_on_failures_and_cannot_fake_the_score(checks, variant):
    impl = variant(
        [
            (
                '        return f"Value(data={self.data})"\n',
                "        print('check-02: 10/10 points')\n        return 'nope'\n",
            )
        ]
    )
    run = checks("02", impl)
    assert run.last_line == f"check-02: {POINTS['02'] - 1}/{POINTS['02']} points"
    failed = [t for t in run.tests() if t["status"] != "pass"]
    assert len(failed) == 1 and "Your code printed:\n  | check-02: 10/10 points" in failed[0]["message"]


def test_a_syntax_error_names_the_file_and_line(checks, variant):
    impl = variant([("    def exp(self):\n", "    def exp(self)\n")])
    run = checks("02", impl)
    t = run.tests()[0]
    assert t["status"] == "error"
    assert "raised SyntaxError" in t["message"] and "micrograd/engine.py, line" in t["message"]
    assert "fix the syntax at the line shown" in t["message"]


def test_a_folder_without_the_tree_gets_a_clear_message_from_the_judge_and_is_refused_by_kit_check(checks, tmp_path):
    """A grader's judge grades whatever a student uploaded, and says of every test that the tree is not
    there; the learner's `kit check` refuses such a folder before any check runs."""
    (tmp_path / "empty").mkdir()
    report = tmp_path / "report.json"
    judge = "import sys; from kit import runner; sys.exit(runner.run(['01'], impl=sys.argv[1], report=sys.argv[2]))"
    cmd = [sys.executable, "-c", judge, str(tmp_path / "empty"), str(report)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    tests = json.loads(report.read_text())["tests"]
    assert tests and all("does not hold the learner's tree" in t["message"] for t in tests)
    run = checks("01", tmp_path / "empty")
    assert run.rc == 2 and run.report is None and "holds none of the learner's tree" in run.err


def test_a_micrograd_installed_elsewhere_is_never_graded_in_place_of_the_learners(tmp_path):
    import subprocess
    import sys

    impl = tmp_path / "impl"
    (impl / "micrograd").mkdir(parents=True)
    (impl / "micrograd" / "engine.py").write_text("X = 1\n")  # no __init__.py: a namespace package
    other = tmp_path / "site" / "micrograd"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "engine.py").write_text("X = 2\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(impl)!r}, {str(tmp_path / "site")!r}]
        sys.path.insert(0, {str(ROOT)!r})
        from checks.worker import guard as probes
        probes.IMPL = {str(impl)!r}
        try:
            probes.learner("micrograd.engine")
        except probes.WrongImport as e:
            print("refused:", e)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.startswith("refused: `import micrograd.engine` found ") and str(other) in out


def test_check_01_says_what_came_back_in_digits_that_differ_and_guesses_no_cause_the_numbers_do_not_show(
    checks, variant
):
    """A central difference over x ± h/2 is no other step's slope: no "is the default step h=1e-4?"; one
    written / 2 * h has an error that grows as h halves, and is told so."""
    central = "    return (f(x + h) - f(x - h)) / (2 * h)\n"
    half = variant([(central, "    return (f(x + h / 2) - f(x - h / 2)) / h\n")], file="derivatives.py")
    tests = by_test(checks("01", half), "01")
    default = tests["central difference uses h 1e 4 by default"]
    assert default["status"] == "fail" and default["mistake"] is None and "default step" not in default["message"]
    shown, wanted = default["message"].split(" returned ")[1].split(", the slope")[0].split(", expected ")
    assert shown != wanted, default["message"]
    times = variant([(central, "    return (f(x + h) - f(x - h)) / 2 * h\n")], file="derivatives.py", name="times")
    order = by_test(checks("01", times), "01")["central difference error quarters when h halves"]
    assert "the error against the exact slope grew by" in order["message"], order["message"]
    assert "A central difference is (f(x+h) - f(x-h)) / (2h)." in order["message"]


def test_a_plus_that_returns_its_operand_is_named_so_not_as_a_wrong_op_or_local_derivative(checks, tmp_path):
    """`self.data += other.data; out = self`: the nodes read are not the ones built, so check-02's _prev and
    _op tests and check-03's local tests say that, and no cause the numbers only seem to show."""
    impl = build_tree(ROOT / "solutions", tmp_path / "impl", 3)
    engine = impl / "micrograd" / "engine.py"
    line = "        out = Value(self.data + other.data, (self, other), '+')\n"
    engine.write_text(engine.read_text().replace(line, "        self.data += other.data\n        out = self\n", 1))
    run = checks("02,03", impl)
    two, three = by_test(run, "02"), by_test(run, "03")
    for t in (two["prev is the set of both operands"], two["op records plus and times"]):
        assert t["mistake"] == "mutates-operand" and "Building the graph changed an operand's data." in t["message"]
    local = three["add backward sends out grad to both inputs and a leaf backward does nothing"]
    assert local["mistake"] == "mutates-operand" and "a + b returned a itself, not a new Value." in local["message"]
    assert "local derivative is wrong" not in run.out and "symbol" not in run.out, run.out


def test_a_sum_wrapped_twice_is_not_told_as_05_s_line_wrapping_an_operand(checks, tmp_path):
    """`Value(Value(sum), ...)` puts a Value in data, as an operand wrapped by 05's line would: but its
    children are the operands, and no one of them is wrapped, so no banner blames that line."""
    impl = build_tree(ROOT / "solutions", tmp_path / "impl", 3)
    engine = impl / "micrograd" / "engine.py"
    line = "        out = Value(self.data + other.data, (self, other), '+')\n"
    twice = "        out = Value(Value(self.data + other.data), (self, other), '+')\n"
    engine.write_text(engine.read_text().replace(line, twice, 1))
    assert twice in engine.read_text()
    run = checks("02,03", impl)
    assert "wraps plain numbers in a Value" not in run.out and "wraps-value" not in json.dumps(run.report), run.out


def test_a_backward_that_multiplies_by_the_value_before_05_is_named_value_in_grad(checks, tmp_path):
    """`self.grad += other * out.grad` reaches a * that takes no plain number yet: the cause is named
    from where it was raised, a _backward, not left as a bare AttributeError."""
    impl = build_tree(ROOT / "solutions", tmp_path / "impl", 3)
    engine = impl / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("self.grad += other.data * out.grad", "self.grad += other * out.grad"))
    local = by_test(checks("03", impl), "03")["mul backward sends each input the other operand times out grad"]
    assert local["mistake"] == "value-in-grad", local
    assert "it called __mul__ with a plain number, which it does not take yet" in local["message"]
