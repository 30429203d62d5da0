"""Every classic mistake is caught by the check of its own exercise, with its cause and its id named,
and no check names a mistake that is not there."""

import re

import pytest
from conftest import copy_tree
from zoo import ALSO_CHARGED, ZOO

from checks.mistakes import MISTAKES, markdown
from kit import ROOT
from kit.exercises import EXERCISES


def charged(run):
    """The checks of a run that lost points."""
    return [ex for ex in EXERCISES if run.earned(ex)[0] < run.earned(ex)[1]]


@pytest.mark.parametrize("name", list(ZOO))
def test_each_classic_mistake_costs_points_in_its_own_check_alone_which_names_it(name, checks, variant):
    ex, file, patch, cause, ids = ZOO[name]
    mistake, *also = ids if isinstance(ids, tuple) else (ids,)
    run = checks("all", variant(patch, file))
    charged_elsewhere = [c for c in ALSO_CHARGED.get(name, ()) if run.earned(c)[0] < run.earned(c)[1]]
    ex = ex if run.earned(ex)[0] < run.earned(ex)[1] or not charged_elsewhere else charged_elsewhere[0]
    earned, most = run.earned(ex)
    assert earned < most, f"{name}: check-{ex} gave full marks\n{run.out}"
    allowed = {ex, *ALSO_CHARGED.get(name, ())}
    elsewhere = [other for other in EXERCISES if other not in allowed and run.earned(other)[0] < run.earned(other)[1]]
    assert not elsewhere, f"{name}: a mistake of {ex} cost points in check-{', check-'.join(elsewhere)}\n{run.out}"
    failed = [t for t in run.tests() if t["status"] != "pass"]
    own = [t for t in failed if t["check"] == ex]
    assert any(cause in t["message"] for t in own), f"{name}: no failure names the cause {cause!r}\n{run.out}"
    assert any(t["mistake"] == mistake for t in own), f"{name}: no failure of check-{ex} carries {mistake}\n{run.out}"
    wrong_ids = [(t["check"], t["test"], t["mistake"]) for t in failed if t["mistake"] not in (mistake, None, *also)]
    assert not wrong_ids, f"{name}: a wrong id\n{run.out}"
    assert not [t for t in run.tests() if t.get("kit_error")], run.out


def test_the_zoo_diagnoses_every_id_of_the_catalogue():
    diagnosed = {ids[0] if isinstance(ids, tuple) else ids for *_, ids in ZOO.values()}
    assert set(MISTAKES) == diagnosed, set(MISTAKES) ^ diagnosed
    assert {ex for ex, *_ in ZOO.values()} == set(EXERCISES)


def test_docs_mistakes_md_is_written_from_the_catalogue():
    assert (ROOT / "docs" / "mistakes.md").read_text() == markdown()


def test_the_reference_earns_every_point_and_no_result_names_a_mistake(checks):
    run = checks("all", ROOT / "solutions")
    assert run.rc == 0, run.out
    assert all(t["mistake"] is None for t in run.tests())


def test_an_engine_without_the_label_keyword_loses_only_lesson_02s_label_test(checks, variant):
    """The canonical micrograd engine before lesson 02's labels: nothing else may depend on them."""
    impl = variant(
        [
            (
                "def __init__(self, data, _children=(), _op='', label=''):",
                "def __init__(self, data, _children=(), _op=''):",
            ),
            ("self.label = label", "self.label = ''"),
        ]
    )
    run = checks("all", impl)
    lost = [(t["check"], t["test"]) for t in run.tests() if t["status"] != "pass"]
    assert [c for c, _ in lost] == ["02"], run.out
    assert "label" in lost[0][1], run.out


def test_an_engine_that_records_no_op_loses_only_lesson_02s_op_test_and_no_banner(checks, variant):
    impl = variant([("(self, other), '+')", "(self, other))"), ("(self, other), '*')", "(self, other))")])
    run = checks("all", impl)
    lost = [t for t in run.tests() if t["status"] != "pass"]
    assert [t["check"] for t in lost] == ["02"] and lost[0]["mistake"] == "wrong-op", run.out
    assert "builds on" not in run.out, run.out


def test_a_relu_network_is_charged_in_06_and_check_07_runs_on_the_kits_network_at_full_marks(checks, variant):
    """micrograd's own network: ReLU neurons and a linear last layer."""
    impl = variant([("return act.tanh()", "return act.relu()")], file="micrograd/nn.py")
    run = checks("06,07", impl)
    assert run.earned("06")[0] < run.earned("06")[1]
    assert any(t["mistake"] == "no-tanh" for t in run.tests("06")), run.out
    assert run.earned("07")[0] == run.earned("07")[1] and run.report["checks"]["07"]["base"] == ["06"], run.out
    assert "it runs on the kit's nn.py instead of yours" in run.out, run.out


def test_a_backward_without_the_seed_names_the_seed_in_every_failure(checks, variant):
    impl = variant([("        self.grad = 1.0\n        for v", "        for v")])
    run = checks("04", impl)
    failed = [t for t in run.tests("04") if t["status"] != "pass"]
    assert failed and all(t["mistake"] in ("root-grad-not-one", None) for t in failed), run.out
    assert all("+=" not in t["message"] for t in failed), run.out


def test_a_recursing_radd_gets_operator_advice_not_stack_advice(checks, variant):
    run = checks("05", variant([("        return self + other\n", "        return other + self\n")]))
    messages = [t["message"] for t in run.tests("05") if t["mistake"] == "operator-recursion"]
    assert messages and all("loop and a stack" not in m for m in messages), run.out


@pytest.mark.parametrize("sym", ["+", "*"])
def test_an_operator_whose_out_is_a_number_is_told_to_build_a_value(sym, checks, variant):
    """`out = self.data + other.data`: setting out._backward then fails; the message says what out
    should be, for the operator that raised, and names no mistake id (the catalogue has none)."""
    old = f"        out = Value(self.data {sym} other.data, (self, other), '{sym}')\n"
    run = checks("02", variant([(old, f"        out = self.data {sym} other.data\n")]))
    failed = [t for t in run.tests("02") if t["status"] != "pass"]
    assert failed and all(t["mistake"] is None for t in failed), run.out
    said = f"out is a plain number there, not a Value: build it as Value(self.data {sym} other.data, (self, other)"
    assert any(said in t["message"] for t in failed), run.out
    other = "*" if sym == "+" else "+"
    assert all(f"self.data {other} other.data" not in t["message"] for t in failed), run.out


# Mistakes in forms that only the learner's own later code uses (train.py's y - ygt, an MLP's forward
# pass): the gates of 05 and 06 look at every such form, so the later checks run on the kit's code.
LATER_FORMS = {
    "a hand-written - whose grads have the wrong signs": (
        "05",
        "micrograd/engine.py",
        [
            (
                "        return self + (-other)\n",
                "        other = other if isinstance(other, Value) else Value(other)\n"
                "        out = Value(self.data - other.data, (self, other), '-')\n\n"
                "        def _backward():\n"
                "            self.grad -= out.grad\n"
                "            other.grad += out.grad\n"
                "        out._backward = _backward\n"
                "        return out\n",
            )
        ],
    ),
    "a __radd__ that takes floats only (sum() starts at the int 0)": (
        "05",
        "micrograd/engine.py",
        [
            (
                "    def __radd__(self, other):  # other + self\n        return self + other\n",
                "    def __radd__(self, other):  # other + self\n"
                "        if not isinstance(other, float):\n            return NotImplemented\n"
                "        return self + other\n",
            )
        ],
    ),
    "an MLP whose last layer is linear": (
        "06",
        "micrograd/nn.py",
        [
            (
                "        for layer in self.layers:\n            x = layer(x)\n",
                "        for layer in self.layers[:-1]:\n"
                "            x = layer(x)\n        last = self.layers[-1]\n"
                "        x = [sum((wi * xi for wi, xi in zip(n.w, x)), n.b) for n in last.neurons]\n"
                "        x = x[0] if len(x) == 1 else x\n",
            )
        ],
    ),
    "a neuron that wraps its inputs in new Values": (
        "06",
        "micrograd/nn.py",
        [("        act = sum(", "        x = [Value(xi) for xi in x]\n        act = sum(")],
    ),
    "an MLP that feeds every layer the input": (
        "06",
        "micrograd/nn.py",
        [
            (
                "        for layer in self.layers:\n            x = layer(x)\n        return x\n",
                "        for layer in self.layers:\n            out = layer(x)\n        return out\n",
            )
        ],
    ),
}


@pytest.mark.parametrize("name", list(LATER_FORMS))
def test_a_mistake_in_a_form_only_later_code_uses_costs_points_in_its_own_check_alone(name, checks, variant):
    ex, file, patch = LATER_FORMS[name]
    run = checks("all", variant(patch, file))
    assert run.earned(ex)[0] < run.earned(ex)[1], run.out
    elsewhere = [other for other in EXERCISES if other != ex and run.earned(other)[0] < run.earned(other)[1]]
    assert not elsewhere, f"{name}: a mistake of {ex} cost points in check-{', check-'.join(elsewhere)}\n{run.out}"
    assert ex in run.report["checks"]["07"]["base"], run.out


def test_a_sum_that_keeps_one_child_closes_the_02_gate_and_costs_check_02_alone(checks, variant):
    """The 02 gate looks at every node's children: a + with one child loses nodes in every later walk."""
    run = checks("all", variant([("(self, other), '+')", "(self,), '+')")]))
    assert {t["mistake"] for t in run.tests("02") if t["status"] != "pass"} == {"missing-child"}, run.out
    assert charged(run) == ["02"], run.out  # its own check, and no other
    assert all("02" in run.report["checks"][ex]["base"] for ex in ("04", "05", "06", "07")), run.out


def test_an_error_of_03_s_own_code_where_02_is_broken_is_not_given_02_s_mistake(checks, variant):
    """A leaf whose _backward is None fails check-03 as an error: 02's * that adds did not raise it."""
    both = variant(
        [
            ("self._backward = lambda: None", "self._backward = None"),
            ("Value(self.data * other.data, (self, other), '*')", "Value(self.data + other.data, (self, other), '*')"),
        ]
    )
    run = checks("03", both)
    errors = [t for t in run.tests("03") if t["status"] == "error"]
    assert errors and all(t["mistake"] != "wrong-result" for t in errors), run.out
    assert all(t["message"].startswith("builds on 02") or "check-02" in t["message"] for t in errors), run.out


# 05's line lives inside 02's + and *: where the kit's + and * stand in for the learner's (02 or 03 not
# passing), they wrap operands as the learner's own do, so that check-05 still grades the line.
WRAP = "        other = other if isinstance(other, Value) else Value(other)\n"
LINE_FORMS = {
    "+ that wraps a Value in another Value": [
        (WRAP + "        out = Value(self.data +", "        other = Value(other)\n        out = Value(self.data +")
    ],
    "* that leaves plain numbers as they are": [
        (WRAP + "        out = Value(self.data *", "        out = Value(self.data *")
    ],
}
FOUNDATIONS = {
    "03: + assigns its grads": [
        (
            "            self.grad += out.grad\n            other.grad += out.grad\n",
            "            self.grad = out.grad\n            other.grad = out.grad\n",
        )
    ],
    "02: * adds": [
        ("Value(self.data * other.data, (self, other), '*')", "Value(self.data + other.data, (self, other), '*')")
    ],
    "02: + keeps one child": [("(self, other), '+')", "(self,), '+')")],
}


@pytest.mark.parametrize("foundation", list(FOUNDATIONS))
@pytest.mark.parametrize("form", list(LINE_FORMS))
def test_05_s_line_inside_a_broken_plus_or_times_costs_check_05_what_it_costs_alone(form, foundation, checks, variant):
    alone = checks("all", variant(LINE_FORMS[form], name="alone"))
    under = checks("all", variant(FOUNDATIONS[foundation], name="under"))
    both = checks("all", variant(LINE_FORMS[form] + FOUNDATIONS[foundation], name="both"))
    assert alone.earned("05")[0] < alone.earned("05")[1], alone.out
    ids = lambda run, ex: sorted(str(t["mistake"]) for t in run.tests(ex) if t["status"] != "pass")  # noqa: E731
    for ex in EXERCISES:
        single = alone if ex == "05" else under
        assert (both.earned(ex), ids(both, ex)) == (single.earned(ex), ids(single, ex)), f"check-{ex}\n{both.out}"
    assert both.report["checks"]["05"]["base"] == [foundation[:2]], both.out


@pytest.mark.parametrize("step", ["1e-2", "1e-3", "1e-5"])
def test_a_partial_derivative_with_another_default_step_loses_that_test_alone_and_is_named(step, checks, variant):
    """A step far from 1e-4 is off by more than the formula's check allows: it is still the step's mistake."""
    impl = variant(
        [("def partial_derivative(f, args, i, h=1e-4):", f"def partial_derivative(f, args, i, h={step}):")],
        "derivatives.py",
    )
    run = checks("01", impl)
    failed = [(t["test"], t["mistake"]) for t in run.tests() if t["status"] != "pass"]
    assert failed == [("partial_derivative uses h = 1e-4 by default", "wrong-default-h")], run.out


PRE_ORDER_REVERSED = (
    "    stack = [root]\n",
    "    visited.add(root)\n    stack = [root]\n    while stack:\n        v = stack.pop()\n        topo.append(v)\n"
    "        for c in v._prev:\n            if c not in visited:\n                visited.add(c)\n"
    "                stack.append(c)\n    return topo[::-1]\n    stack = [root]\n",
)


@pytest.mark.parametrize("folder", ["a", "hhhhhhhh", "k1", "o55555"])
def test_a_pre_order_walk_reversed_closes_the_04_gate_whatever_the_set_order(folder, checks, variant):
    """Right on a small graph in some set orders: the gate looks at graphs it gets wrong in nearly every order,
    so the later checks run on the kit's engine, and no banner blames an exercise that passes."""
    run = checks("all", variant([PRE_ORDER_REVERSED], name=folder))
    assert run.earned("04")[0] < run.earned("04")[1], run.out
    assert [run.report["checks"][ex]["base"] for ex in ("06", "07")] == [["04"], ["04"]], run.out


ZEROING_BACKWARD = (
    "        self.grad = 1.0\n        for v in reversed(",
    "        for v in topological_order(self):\n            v.grad = 0.0\n        self.grad = 1.0\n"
    "        for v in reversed(",
)


def test_a_backward_that_zeroes_the_grads_first_costs_check_04_and_hides_no_mistake_of_07(checks, variant, tmp_path):
    """It makes a training loop without zero_grad work: so 07 runs on the kit's engine, which shows that loop."""
    alone = checks("all", variant([ZEROING_BACKWARD], name="alone"))
    assert alone.earned("04")[0] == alone.earned("04")[1] - 1, alone.out
    assert [t["mistake"] for t in alone.tests("04") if t["status"] != "pass"] == [None], alone.out
    no_zero_grad = checks("07", variant([("        model.zero_grad()\n", "")], "train.py", name="loop"))
    both = variant([ZEROING_BACKWARD], name="both")
    (both / "train.py").write_text((tmp_path / "loop" / "train.py").read_text())
    run = checks("all", both)
    assert run.earned("07") == no_zero_grad.earned("07") and run.earned("04") == alone.earned("04"), run.out
    assert "no-zero-grad" in {t["mistake"] for t in run.tests("07")}, run.out


# Mistakes whose look at some seeds matched another mistake's prediction, or hid: each now costs the
# same points at every seed, and no failure names a mistake that is not there.
SEED_PROOF = {
    "a power rule that takes abs of the base": (
        "05",
        "micrograd/engine.py",
        [("other * self.data ** (other - 1) * out.grad", "other * abs(self.data) ** (other - 1) * out.grad")],
        (),
        ("value-exponent",),
    ),
    "a power that takes abs of the base": (
        "05",
        "micrograd/engine.py",
        [
            ("other * self.data ** (other - 1) * out.grad", "other * abs(self.data) ** (other - 1) * out.grad"),
            ("Value(self.data**other, (self,)", "Value(abs(self.data)**other, (self,)"),
        ],
        (),
        ("value-exponent",),
    ),
    "a Layer whose parameters are a list of lists": (
        "06",
        "micrograd/nn.py",
        [
            (
                "        return [p for n in self.neurons for p in n.parameters()]\n",
                "        return [n.parameters() for n in self.neurons]\n",
            )
        ],
        ("parameters-nested",),
        (),
    ),
    "args moved in place and put back by arithmetic": (
        "01",
        "derivatives.py",
        [
            (
                "    up, down = list(args), list(args)\n    up[i] += h\n    down[i] -= h\n"
                "    return (f(*up) - f(*down)) / (2 * h)\n",
                "    args[i] += h\n    fp = f(*args)\n    args[i] -= 2 * h\n    fm = f(*args)\n    args[i] += h\n"
                "    return (fp - fm) / (2 * h)\n",
            )
        ],
        ("mutates-args",),
        ("moves-every-arg",),
    ),
    "up and down one list": (
        "01",
        "derivatives.py",
        [("    up, down = list(args), list(args)\n", "    up = down = list(args)\n")],
        (),
        ("moves-every-arg",),
    ),
    "weights drawn from uniform(-0.83, 0.83)": (
        "06",
        "micrograd/nn.py",
        [
            (
                "Value(random.uniform(-1, 1)) for _ in range(nin)]",
                "Value(random.uniform(-0.83, 0.83)) for _ in range(nin)]",
            )
        ],
        ("init-range",),
        (),
    ),
    "weights drawn from triangular(-1, 1)": (
        "06",
        "micrograd/nn.py",
        [("Value(random.uniform(-1, 1)) for _ in range(nin)]", "Value(random.triangular(-1, 1)) for _ in range(nin)]")],
        ("init-range",),
        (),
    ),
    "a backward that skips the root's _backward": (
        "04",
        "micrograd/engine.py",
        [("for v in reversed(topological_order(self)):", "for v in reversed(topological_order(self)[:-1]):")],
        (),
        ("not-reversed", "no-topological-order", "child-after-parent"),
    ),
    "a topological order that marks a node visited when it is pushed": (
        "04",
        "micrograd/engine.py",
        [
            (
                "    topo, visited = [], set()\n    stack = [root]\n    while stack:\n        v = stack.pop()\n"
                "        if v is None:  # the marker under v's children: they are all in topo, so v goes next\n"
                "            topo.append(stack.pop())\n        elif v not in visited:\n            visited.add(v)\n"
                "            stack.append(v)\n            stack.append(None)\n            stack.extend(v._prev)\n",
                "    topo, visited, stack = [], {root}, [(root, False)]\n    while stack:\n"
                "        v, done = stack.pop()\n        if done:\n            topo.append(v)\n            continue\n"
                "        stack.append((v, True))\n        for c in v._prev:\n            if c not in visited:\n"
                "                visited.add(c)\n                stack.append((c, False))\n",
            )
        ],
        ("child-after-parent",),
        (),
    ),
    "a relu gradient read off out.grad instead of out.data": (
        "05",
        "micrograd/engine.py",
        [("(out.data > 0) * out.grad", "(out.grad > 0) * out.grad")],
        (),
        ("assigns-grad",),
    ),
    # A central difference over h/2 each way, divided by h: no slope at another default step, and the same
    # points whatever step the seed draws.
    "a central difference that moves half a step each way": (
        "01",
        "derivatives.py",
        [
            (
                "    up[i] += h\n    down[i] -= h\n    return (f(*up) - f(*down)) / (2 * h)\n",
                "    up[i] += h / 2\n    down[i] -= h / 2\n    return (f(*up) - f(*down)) / h\n",
            )
        ],
        (),
        ("wrong-default-h",),
    ),
    # A None from the learner's own operation meets a number: no reflected method is missing.
    "a negation that forgets to return": (
        "05",
        "micrograd/engine.py",
        [("return self * -1", "self * -1")],
        (),
        ("reflected-missing",),
    ),
    # The weight count is the Neuron's, not the wiring of the layers' sizes.
    "a neuron with a weight too many": (
        "06",
        "micrograd/nn.py",
        [("for _ in range(nin)]", "for _ in range(nin + 1)]")],
        (),
        ("layer-sizes",),
    ),
    # One number drawn for every weight, each weight a Value of its own: not one Value shared.
    "one draw for every weight": (
        "06",
        "micrograd/nn.py",
        [
            (
                "        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]\n",
                "        r = random.uniform(-1, 1)\n        self.w = [Value(r) for _ in range(nin)]\n",
            )
        ],
        (),
        ("shared-parameters",),
    ),
    # The update before backward (zsb zsb): zero_grad is where it belongs, the update is not.
    "an update before backward": (
        "07",
        "train.py",
        [
            (
                "        loss.backward()\n        sgd_step(model.parameters(), lr)\n",
                "        sgd_step(model.parameters(), lr)\n        loss.backward()\n",
            )
        ],
        (),
        ("zero-grad-misplaced",),
    ),
}


@pytest.mark.parametrize("name", list(SEED_PROOF))
def test_a_mistake_costs_the_same_at_every_seed_and_is_never_named_for_another(name, checks, variant):
    ex, file, patch, named, never = SEED_PROOF[name]
    impl = variant(patch, file)
    earned = set()
    # At 8, 10 and 13 arithmetic put the args back; at 4 relu's upstream grad was > 0; at 2 and 3 triangular's
    # weights did not reach past 0.8.
    for seed in (1, 2, 3, 4, 8, 10, 13):
        run = checks(ex, impl, "--seed", str(seed))
        earned.add(run.earned(ex)[0])
        ids = {t["mistake"] for t in run.tests(ex) if t["status"] != "pass"}
        assert run.earned(ex)[0] < run.earned(ex)[1] and set(named) <= ids and not ids & set(never), run.out
    assert len(earned) == 1, f"{name}: {sorted(earned)} points at different seeds"


def test_a_parameters_that_appends_to_w_costs_check_06_alone_and_blames_neither_sizes_nor_zero_grad(checks, variant):
    """`self.w.append(self.b); return self.w` grows the network on every call: told in 06 as what it is,
    and check-07 runs on the kit's network (train() would grow it every step)."""
    appends = [("        return self.w + [self.b]\n", "        self.w.append(self.b)\n        return self.w\n")]
    run = checks("all", variant(appends, "micrograd/nn.py"))
    assert charged(run) == ["06"], run.out
    failed = [(t["mistake"], t["message"]) for t in run.tests("06") if t["status"] != "pass"]
    assert [m for m, _ in failed] == [None] and "parameters() changed the neuron" in failed[0][1], run.out


def test_an_operation_that_returns_none_is_told_so_not_that_the_learners_code_raised_attributeerror(checks, variant):
    """The check's own reading of the None fails, with no line of the learner's on the way."""
    run = checks(
        "02",
        variant([("        out._backward = _backward\n        return out\n", "        out._backward = _backward\n")]),
    )
    said = [t["message"] for t in run.tests("02") if "'NoneType' object has no attribute" in t["message"]]
    assert said and all("your code gave None where a Value is due" in m for m in said), run.out
    assert not any("raised AttributeError" in t["message"] for t in run.tests("02")), run.out


@pytest.mark.parametrize("body", ["(f(x + h) - f(x)) / h", "(f(x + h) - f(x - h)) / (2 * h)"])
def test_a_derivative_that_returns_nothing_fails_its_own_tests_with_no_error_of_the_kits(body, checks, variant):
    """A slope of None (a forgotten return) is told as such, also where a test takes the slope's error
    (it raised a TypeError in the check's own code: an error of the kit's, and a grader's error row)."""
    run = checks("all", variant([(f"    return {body}\n", f"    {body}\n")], "derivatives.py"))
    failed = [t for t in run.tests() if t["status"] != "pass"]
    assert failed and all(t["check"] == "01" and not t.get("kit_error") for t in failed), run.out
    assert all("gave None, expected a number (int or float): is a return missing?" in t["message"] for t in failed), (
        run.out
    )
    assert any("error" in t["test"] and "h halves" in t["test"] for t in failed), run.out


def test_a_train_with_one_step_too_many_is_told_how_many_losses_it_returned_in_short_digits(checks, variant):
    """The count and the first losses as a learner writes numbers, the same on every Python: not a list of
    61 numbers in full digits, whose last digits differ between Pythons' maths."""
    run = checks("07", variant([("for k in range(steps):", "for k in range(steps + 1):")], "train.py"))
    said = [t["message"] for t in run.tests("07") if "one per step" in t["message"]]
    assert len(said) == 3, run.out  # one, two and sixty steps
    for message in said:
        count, expected = map(
            int, re.search(r"returned (\d+) losses .*, expected (\d+), one per step", message).groups()
        )
        assert count == expected + 1, message
        assert not re.search(r"\d\.\d{6}", message), message  # six significant digits at most
    assert "returned 61 losses [8.03439, 7.93213, 7.91605, ...], expected 60, one per step." in said[-1]


@pytest.mark.parametrize(
    "name", ["training without zero_grad", "zero_grad after backward", "the update with the wrong sign"]
)
def test_a_wrong_update_is_named_in_the_two_step_test_too_and_not_blamed_on_when_the_loss_is_recorded(
    name, checks, variant
):
    """The second step's loss is wrong because the first update was: the two-step test names the
    update's mistake, as the one-step test does, never "the loss before that step's update"."""
    ex, file, patch, cause, mistake = ZOO[name]
    run = checks(ex, variant(patch, file))
    steps = {t["test"].split(" of train")[0]: t for t in run.tests(ex) if " of train match" in t["test"]}
    assert set(steps) == {"One step", "Two steps"}, run.out
    for t in steps.values():
        assert t["status"] == "fail" and t["mistake"] == mistake and cause in t["message"], run.out
        assert "before that step's update" not in t["message"], run.out


def test_a_repr_that_prints_costs_the_repr_test_alone(checks, variant):
    """The attributes are read apart from repr: a __repr__ that prints and returns None fails only the
    test of repr, named no-repr, not the test of the label, children and op."""
    run = checks("02", variant([('return f"Value(data={self.data})"', 'print(f"Value(data={self.data})")')]))
    failed = [(t["test"], t["mistake"]) for t in run.tests("02") if t["status"] != "pass"]
    assert failed == [("repr shows Value(data=...)", "no-repr")], run.out


def test_a_wrong_gradient_on_a_random_graph_is_told_with_the_leaves_values():
    """The learner can redo the arithmetic: the expression comes with the value of every leaf."""
    from checks import judge

    graph = [["x", "leaf", 1.5], ["y", "leaf", -0.5], ["s", "add", "x", "y"], ["p", "mul", "s", "x"]]
    assert judge.with_leaves(graph) == "(x + y) * x with x = 1.5, y = -0.5"


@pytest.mark.parametrize("check", ["02", "03", "05"])
def test_each_random_graph_failure_shows_the_values_of_its_leaves(check, checks, variant):
    mistake = {
        "02": [("Value(self.data * other.data", "Value(self.data * other.data + 1")],
        "03": [("self.grad += other.data * out.grad", "self.grad += out.grad")],
        "05": [("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad")],
    }[check]
    run = checks(check, variant(mistake))
    random = [t for t in run.tests(check) if t["test"].startswith("Random") or "random graphs" in t["test"]]
    failed = [t for t in random if t["status"] != "pass"]
    assert failed, run.out
    assert all(re.search(r" with [a-z]\w* = -?\d", t["message"]) for t in failed), run.out


def test_a_long_sum_is_shown_by_the_parts_that_use_the_leaves_in_question():
    """check-05's core graph (56 parts) would run to 2,000 characters: a message about some of its
    leaves shows the parts that use them, and those leaves' values; a short graph is shown whole."""
    from checks import judge
    from checks.inputs import every_operation

    core = every_operation()
    whole = judge.with_leaves(core)
    assert len(whole) > 2000 and judge.with_leaves(core, ["x0", "x1"]) != whole
    one = judge.with_leaves(core, ["x2"])
    assert one.startswith("((x2.exp() * x2) * 1.0) + ... (1 of a sum of 56 parts; the other 55 do not use x2)"), one
    assert one.endswith(" with x2 = 0.4"), one
    many = judge.with_leaves(core, [f"x{k}" for k in range(8)])
    assert "(8 of a sum of 56 parts, 3 shown; the other 48 use none of x0, x1" in many and " x3 = " not in many, many
    small = [["x", "leaf", 1.5], ["y", "leaf", -0.5], ["s", "add", "x", "y"], ["p", "add", "s", "x"]]
    assert judge.with_leaves(small, ["y"]) == "(x + y) + x with x = 1.5, y = -0.5"


def test_a_mistake_in_check_05s_core_graph_is_told_in_the_parts_it_shows_in(checks, variant):
    run = checks("05", variant([("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")]))
    core = [t for t in run.tests("05") if t["test"].startswith("Random") and t["status"] != "pass"]
    assert core and "x2.exp()" in core[0]["message"] and "tanh" not in core[0]["message"], run.out
    assert len(core[0]["message"]) < 500 and " x30 = " not in core[0]["message"], run.out


def test_a_backward_that_zeroes_the_data_instead_of_sending_grads_earns_nothing_in_check_03(checks, variant):
    """The right grads are taken at the values + and * gave before any _backward ran: a _backward that
    rewrites data to 0 cannot make all-zero grads look right."""
    zero = "            self.data = other.data = out.data = 0.0\n"
    run = checks(
        "03",
        variant(
            [
                ("            self.grad += out.grad\n            other.grad += out.grad\n", zero),
                (
                    "            self.grad += other.data * out.grad\n            other.grad += self.data * out.grad\n",
                    zero,
                ),
            ]
        ),
    )
    assert run.earned("03")[0] == 0, run.out


def test_a_train_that_reports_falling_losses_without_training_fails_the_training_test(checks, variant):
    """The losses are train's word; the parameters it leaves are the evidence the kit computes from."""
    run = checks(
        "07", variant([("    losses = []\n", "    return [1.0] + [0.0] * (steps - 1)\n    losses = []\n")], "train.py")
    )
    test = [t for t in run.tests("07") if t["test"] == "Training on the lecture's examples brings the loss below 0.05"]
    assert test[0]["status"] == "fail" and "the model it trained has loss 8.03439" in test[0]["message"], run.out


def test_a_missing_reflected_method_is_told_by_the_expression_and_the_method_its_operator_calls(checks, variant):
    rmul = "    def __rmul__(self, other):  # other * self\n"
    run = checks("05", variant([(rmul, "    def _unused(self, other):\n")]))
    said = [t["message"] for t in run.tests("05") if t["mistake"] == "reflected-missing"]
    assert said and all("Here a number * a Value: __rmul__." in m for m in said), run.out
    assert any(
        m.startswith("While the check builds ((2.0 * x).exp() - 1.0) / ((2.0 * x).exp() + 1.0), then") for m in said
    )


def test_a_list_that_meets_a_number_is_not_told_as_a_missing_reflected_method(checks, variant):
    """An MLP that returns its last layer's list: the loss adds a float and a list; __radd__ is fine."""
    short = [("for i in range(len(nouts))]", "for i in range(len(nouts) - 1)]")]
    run = checks("06", variant(short, "micrograd/nn.py"))
    failed = [t for t in run.tests("06") if t["status"] != "pass"]
    assert failed and all("__radd__" not in t["message"].split("\n")[-1] for t in failed), run.out
    assert not {t["mistake"] for t in failed} & {"reflected-missing"}, run.out


def table_variant(tmp_path, old, new):
    """tests/styles/table (a Value under __slots__ whose _backward is a method looking up a table of
    rules by _op) with one rule changed."""
    impl = copy_tree(ROOT / "tests" / "styles" / "table", tmp_path / "table")
    engine = impl / "micrograd" / "engine.py"
    text = engine.read_text()
    assert old in text, f"test setup: {old!r} not in the table style"
    engine.write_text(text.replace(old, new, 1))
    return impl


def test_a_wrong_rule_of_an_engine_under_slots_costs_check_03_alone(checks, tmp_path):
    """The kit's + and * for 04 and 05 must make out nodes whose _backward can be set, where the
    learner's Value has no slot for it; leaves keep the learner's method."""
    rule = "'+': lambda out: [(out._args[0], 1.0), (out._args[1], 1.0)],"
    run = checks("all", table_variant(tmp_path, rule, "'+': lambda out: [(out._args[0], 1.0)],"))
    assert charged(run) == ["03"], run.out  # its own check, and no other
    assert {t["mistake"] for t in run.tests("03") if t["status"] != "pass"} <= {"one-child-only", None}, run.out


def test_a_missing_rule_of_an_engine_whose_backward_is_a_method_is_not_called_never_attached(checks, tmp_path):
    """A _backward that is a method of the class is never attached to a node, so sharing a leaf's
    code shows nothing: the grads that did not move are told, the cause left unnamed."""
    rule = "    '+': lambda out: [(out._args[0], 1.0), (out._args[1], 1.0)],\n"
    run = checks("03", table_variant(tmp_path, rule, ""))
    failed = [t for t in run.tests("03") if t["status"] != "pass"]
    assert failed and all(t["mistake"] is None for t in failed), run.out
    assert all("never attached" not in t["message"] for t in failed), run.out


def test_a_train_that_passes_minus_lr_to_a_right_sgd_step_is_not_told_its_sgd_step_has_the_wrong_sign(checks, variant):
    """The parameters move with the gradient, but sgd_step steps against it when asked alone: the
    cause is train's call, not sgd-sign."""
    impl = variant([("sgd_step(model.parameters(), lr)", "sgd_step(model.parameters(), -lr)")], file="train.py")
    run = checks("07", impl)
    assert run.earned("07")[0] < run.earned("07")[1], run.out
    failed = [t for t in run.tests("07") if t["status"] != "pass"]
    assert all(t["mistake"] is None for t in failed), run.out
    assert all("Wrong sign" not in t["message"] for t in failed), run.out


def test_a_wrong_grad_fn_of_an_engine_whose_backward_runs_it_costs_check_03_alone(checks, tmp_path):
    """The kit's + and * for 04 and 05 leave a _backward that is a method bound to the node (here one
    that runs the grad_fn the learner's operations store) as it is: replacing it with a leaf's no-op
    would stop every gradient of the learner's tanh, exp and **."""
    impl = copy_tree(ROOT / "tests" / "styles" / "gradfn", tmp_path / "gradfn")
    engine = impl / "micrograd" / "engine.py"
    right = "            self.grad += other.data * g\n            other.grad += self.data * g\n"
    own = "            self.grad += self.data * g\n            other.grad += other.data * g\n"
    assert right in engine.read_text(), "test setup"
    engine.write_text(engine.read_text().replace(right, own, 1))
    run = checks("all", impl)
    assert charged(run) == ["03"], run.out  # its own check, and no other


def test_a_network_that_imports_a_name_of_its_own_from_a_broken_engine_loses_no_point_of_06(checks, variant):
    """Check-06 runs on the kit's engine.py where 05 is broken; a name the learner's engine defines
    and the kit's does not (a type alias, a function) still imports, from the learner's own file."""
    impl = variant(
        [
            ("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad"),
            ("import math\n", "import math\n\nNumber = int | float\n"),
        ]
    )
    nn = impl / "micrograd" / "nn.py"
    nn.write_text(
        nn.read_text().replace("from micrograd.engine import Value\n", "from micrograd.engine import Number, Value\n")
    )
    run = checks("all", impl)
    assert "05" in run.report["checks"]["06"]["base"], run.out
    assert charged(run) == ["05"], run.out  # its own check, and no other


def test_a_train_that_calls_a_method_of_the_learners_own_value_loses_no_point_of_07_where_05_is_broken(checks, variant):
    """Check-07 runs on the kit's engine.py where 05 is broken: loss.item(), a method the learner's Value
    has and the kit's has not, still works, from the learner's own class."""
    impl = variant(
        [
            ("self.grad += out.data * out.grad", "self.grad += out.grad"),
            ("    def __repr__(self):", "    def item(self):\n        return self.data\n\n    def __repr__(self):"),
        ]
    )
    train = impl / "train.py"
    train.write_text(train.read_text().replace("losses.append(loss.data)", "losses.append(loss.item())"))
    run = checks("all", impl)
    assert "05" in run.report["checks"]["07"]["base"], run.out
    assert charged(run) == ["05"], run.out  # its own check, and no other


def test_a_wrong_add_class_of_an_engine_with_a_class_per_operation_costs_check_03_alone(checks, tmp_path):
    """Its - builds an Add node itself, not through +: where 03 is broken, the kit's step stands in for
    the _backward of every + and * node the learner's own code makes, so check-05 grades - alone."""
    impl = copy_tree(ROOT / "tests" / "styles" / "perop", tmp_path / "perop")
    engine = impl / "micrograd" / "engine.py"
    both = "        self.a.grad += self.grad\n        self.b.grad += self.grad\n"
    assert both in engine.read_text(), "test setup"
    engine.write_text(engine.read_text().replace(both, "        self.a.grad += self.grad\n", 1))
    run = checks("all", impl)
    assert charged(run) == ["03"], run.out  # its own check, and no other
