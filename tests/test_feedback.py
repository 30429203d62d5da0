"""Mistakes of 04-07 where the feedback once named a cause the evidence did not show: each is now told
what the check saw, in its own check alone."""

from kit import ROOT
from kit.regions import build_tree


def mistaken(tmp_path, file, old, new):
    """The reference with `old` replaced by `new` in `file`."""
    impl = build_tree(ROOT / "solutions", tmp_path / "impl", 7)
    path = impl / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return impl


def failed(run, check):
    return [t for t in run.tests(check) if t["status"] != "pass"]


def test_a_bias_kept_in_a_list_is_told_so_not_as_copied_parameters_or_an_error_of_the_learners_code(checks, tmp_path):
    impl = mistaken(
        tmp_path,
        "micrograd/nn.py",
        "        self.b = Value(random.uniform(-1, 1))\n",
        "        self.b = [Value(random.uniform(-1, 1))]\n",
    )
    nn = impl / "micrograd" / "nn.py"
    text = nn.read_text().replace("zip(self.w, x)), self.b)", "zip(self.w, x)), self.b[0])")
    nn.write_text(text.replace("return self.w + [self.b]", "return self.w + self.b"))
    run = checks("all", impl)
    tests = failed(run, "06")
    assert tests and not [t for t in run.tests() if t["status"] != "pass" and t["check"] != "06"], run.out
    assert "parameters-copies" not in [t["mistake"] for t in tests], run.out
    assert any("A Neuron's b is a list, not one Value" in t["message"] for t in tests), run.out
    assert "your code raised AttributeError" not in run.out
    assert "it found a list where a Value is due ('list' object has no attribute 'data')" in run.out


def test_an_sgd_step_that_moves_only_its_last_parameter_is_told_so_not_as_one_that_rebinds_p(checks, tmp_path):
    loop = "    for p in parameters:\n        p.data -= lr * p.grad\n"
    impl = mistaken(tmp_path, "train.py", loop, "    for p in parameters:\n        pass\n    p.data -= lr * p.grad\n")
    step = [t for t in failed(checks("07", impl), "07") if t["test"].startswith("sgd_step moves each parameter")]
    assert step and step[0]["mistake"] is None, step
    assert "left parameters 0, 1, 2, 3 (counting from 0) unchanged and moved the others" in step[0]["message"]
    assert "assigning to p" not in step[0]["message"]


def test_a_neg_and_an_rsub_that_call_each_other_are_named_together(checks, tmp_path):
    impl = mistaken(tmp_path, "micrograd/engine.py", "        return self * -1\n", "        return 0 - self\n")
    tests = failed(checks("05", impl), "05")
    assert tests and all(t["mistake"] == "operator-recursion" for t in tests), tests
    assert all("__rsub__ and __neg__ call each other without end" in t["message"] for t in tests), tests
    assert not any("__rsub__ calls itself" in t["message"] for t in tests)


def test_a_loss_of_another_formula_is_not_told_that_train_returned_losses_not_its_models(checks, tmp_path):
    impl = mistaken(
        tmp_path,
        "train.py",
        "    return sum((yout - ygt) ** 2 for yout, ygt in zip(ypred, ys))\n",
        "    return sum(yout - ygt for yout, ygt in zip(ypred, ys)) ** 2\n",
    )
    run = checks("07", impl)
    assert "loss-formula" in [t["mistake"] for t in failed(run, "07")], run.out
    assert "must be the model's own" not in run.out


def test_a_value_without_an_attribute_the_contract_names_is_not_said_to_be_found_where_a_value_is_due(checks, tmp_path):
    impl = mistaken(tmp_path, "micrograd/engine.py", "self._prev = set(_children)", "self._kids = set(_children)")
    engine = impl / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("._prev", "._kids"))
    out = checks("02", impl).out
    assert "your code raised AttributeError: 'Value' object has no attribute '_prev'" in out, out
    assert "where a Value is due" not in out
