"""kit explain: the first failing graph of a check, shown with the learner's own Value, the node that
goes wrong first, the operation at fault, the smallest failing expression, and backward step by step."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from test_report import CHROMIUM, chromium
from zoo import ZOO

from checks import numerics
from checks.shrink import operations, shrink
from kit import ROOT
from kit.learner import explain_html, explain_show
from kit.learner.explain import explain

DOT = shutil.which("dot")

# What `kit explain` must single out for each zoo member of 03-05: the operation whose _backward (or
# value) holds the mistake; "walk" where the fault is backward()'s walk and not an operation's (with the
# check's id); "start" and "leaf" for grads that start wrong and a leaf's _backward that is no function;
# "order" for nodes left out of the topological order; None where no graph of the check fails (the check
# catches it on a test without a graph). Every member's explanation names the mistake the check names.
EXPECTED = {
    "add backward assigns the grad": "add",
    "mul backward assigns the grad": "mul",
    "mul backward without * out.grad": "mul",
    "mul backward gives each input its own value": "mul",
    "add backward without * out.grad": "add",
    "mul backward that updates only self": "mul",
    "add backward with mul's rule": "add",
    "grad starting at 1": "start",
    "a leaf without a _backward to call": "leaf",
    "mul backward multiplying by the Value": "mul",
    "a _backward that reads out.grad when it is made": "add",
    "a * whose _backward is never attached": "mul",
    "a * whose local derivative divides out.data by an operand": "mul",  # its hand call, with an operand of 0
    "03 with both = for += and no out.grad in *": "mul",
    "pre-order recursion instead of a topological order": "walk",
    "a topological order without a visited set": "walk",
    "calling _backward leaves-first": "walk",
    "not seeding the root grad with 1": "walk",
    "a backward() that seeds the root with +=": "unseen",  # one backward() is right: caught on the second
    "a walk that marks what it visited by data": "walk",  # a node of equal data left out: its _backward never ran
    "a recursive topological sort": None,  # caught on the 100,000-deep chain, no graph
    "backward as a recursive walk from the root": "walk",
    "a topological order that leaves out the leaves": "order",  # grads right (leaves do nothing); the order not
    "a topological order returned root first": "walk",
    "04 with a root never seeded and a topological order without a visited set": "walk",
    "tanh backward 1 - t": "tanh",
    "tanh from the overflowing exp formula": "tanh",
    "pow backward n * x**n": "pow",
    "__rsub__ with the operands swapped": "sub",
    "__rtruediv__ with the operands swapped": "div",
    "a relu gradient of 1 everywhere": "relu",
    "no __radd__": "add",
    "exp backward with the input": "exp",
    "tanh backward assigns the grad": "tanh",
    "a Value exponent refused with ValueError": None,  # no graph
    "tanh cut off from its input": "tanh",  # grads right (its _backward still reaches the input); _prev not
    "__radd__ as other + self": "add",
    "tanh backward 1 + t**2": "tanh",
    "a hand-written - whose _backward gives b +out.grad": "sub",
    "Value(other) with no type test": "add",
    "05 with tanh 1 - t and exp using its input": "tanh",
}
# The members of one mistake (the others, "03 with ...", hold two): each shrinks to three operations at most.
SINGLE = {name for name in EXPECTED if not re.match(r"\d\d with ", name)}


def test_every_zoo_member_of_03_to_05_has_an_expectation():
    assert set(EXPECTED) == {name for name, (ex, *_) in ZOO.items() if ex in ("03", "04", "05")}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_explain_highlights_the_operation_holding_the_mistake_and_shrinks_to_three_operations(name, variant):
    """One worker per member: the check's own graphs, then the explained graph and its shrink."""
    ex, file, patch, _, ids = ZOO[name]
    result = explain(variant(patch, file), ex)
    expected = EXPECTED[name]
    check_ids = ids if isinstance(ids, tuple) else (ids,)
    if expected is None:  # no graph to draw: the check's own words and the mistake it names
        assert result["graph"] is None and result["mistake"] in check_ids, (name, result)
        return
    if expected == "unseen":  # the graph, right after one backward(): the check's own words say what failed
        assert result["graph"] and not result["blame"] and result["mistake"] in check_ids, (name, result)
        return
    blame = result["blame"]
    assert blame, name
    ops = {node: op for node, op, *_ in result["graph"]}
    assert result["mistake"] in check_ids, (name, result["mistake"])
    if expected == "walk":
        assert blame["by"] is None and blame["what"] == "grad", blame
    elif expected == "start":
        assert blame["what"] == "start" and result["mistake"] == "grad-not-zero", blame
    elif expected == "order":
        assert blame["what"] == "order" and result["mistake"] == "topo-incomplete", blame
    elif expected == "leaf":
        assert ops[blame["node"]] == "leaf" and result["mistake"] == "leaf-backward", blame
    else:
        assert ops.get(blame["by"]) == expected, (name, blame)
    small = result["smallest"]
    assert small is not None and operations(small) <= operations(result["graph"]), name
    if name in SINGLE:
        assert operations(small) <= 3, (name, numerics.expression(small))


def test_the_reference_has_nothing_to_explain_in_any_check():
    for ex in ("03", "04", "05", "06"):
        assert explain(ROOT / "solutions", ex) is None, ex


def test_check_06_sends_an_engine_mistake_to_its_exercise_and_a_network_mistake_to_nn_py(variant):
    """check-06 runs on the kit's engine.py where 05 does not work, and passes there, as explain says."""
    tanh = explain(variant([("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t) * out.grad")]), "06")
    assert tanh["passes"] and tanh["broken"] == "05" and tanh["on"] == "the kit's engine.py", tanh
    no_bias = explain(variant([("zip(self.w, x)), self.b)", "zip(self.w, x)), 0.0)")], "micrograd/nn.py", "nn"), "06")
    assert no_bias["blame"] is None and "Parameter gradients" in no_bias["test"]


def test_the_shrink_is_deterministic_and_stops_at_the_smallest_graph_that_still_fails():
    graph = [
        ["x0", "leaf", 0.5],
        ["x1", "leaf", -1.5],
        ["a", "add", "x0", "x1"],
        ["m", "mul", "x1", "x1"],
        ["t", "tanh", "m"],
        ["r", "mul", "a", "t"],
    ]
    asked = []

    def fails(graphs):  # "the learner's code" fails on every graph that still holds a tanh of a product
        asked.append(len(graphs))
        return [any(op == "tanh" for _, op, *_ in g) and any(op == "mul" for _, op, *_ in g) for g in graphs]

    small = shrink(graph, fails)
    assert numerics.expression(small) == "(x1 * x1).tanh()"
    assert shrink(graph, fails) == small and asked


def kit_explain(*args, path=None, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})} | ({"PATH": path} if path is not None else {})
    return subprocess.run(
        [sys.executable, "-m", "kit", "explain", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


MUL_ASSIGNS = ZOO["mul backward assigns the grad"][2]


@pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_kit_explain_draws_svg_and_png_with_graphviz_and_a_text_tree_without_it(variant, tmp_path):
    impl = variant(MUL_ASSIGNS)
    done = kit_explain("03", "--impl", impl, "--out", tmp_path / "with")
    assert done.returncode == 1, done.stderr
    assert "smallest failing: x * x" in done.stdout and explain_show.MARK in done.stdout, done.stdout
    assert "Mistake: assigns-grad" in done.stdout
    svg = (tmp_path / "with" / "explain-03.svg").read_text()
    assert "true" in svg and 'stroke="red"' in svg
    assert (tmp_path / "with" / "explain-03.png").read_bytes().startswith(b"\x89PNG")
    bare = tmp_path / "bin"
    bare.mkdir()
    done = kit_explain("03", "--impl", impl, "--out", tmp_path / "without", path=str(bare))
    assert "dot program is not installed" in done.stdout and explain_show.MARK in done.stdout, done.stdout
    assert not (tmp_path / "without").exists()


def test_steps_list_each_backward_call_with_the_grads_it_changed(variant, tmp_path):
    result = explain(variant(MUL_ASSIGNS), "03")
    text = explain_show.steps_text(result)
    calls = [name for name, *_ in result["got"]["steps"]]
    assert calls[0] == numerics.root(result["graph"]) and len(calls) == len(result["graph"])
    assert all(f"{k}. {name}._backward" in text for k, name in enumerate(calls, 1))
    inner = [n for n, op, *_ in result["graph"] if op != "leaf" and n != calls[0]]  # each node below the root
    assert inner and all(re.search(rf"\b{n}\.grad \S+ -> \S+", text) for n in inner), text


def test_the_steps_page_holds_everything_and_escapes_what_it_shows(variant):
    result = explain(variant(MUL_ASSIGNS), "03")
    result["test"] = "<script>alert(1)</script>"
    result["got"]["grad"]["x0"] = "</script><b>"
    page = explain_html.page(result)
    assert "<script>alert" not in page and "</script><b>" not in page
    assert "default-src 'none'" in page
    assert not re.search(r"(?i)\b(src|href)\s*=|url\(|@import|https?:", page)


class AtStep:
    """The page opened at step k (`?step=k`), where a path would be."""

    def __init__(self, page, k):
        self.page, self.k = page, k

    def as_uri(self):
        return f"{self.page.as_uri()}?step={self.k}"


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_the_steps_page_steps_in_headless_chromium_and_loads_nothing(variant, tmp_path):
    result = explain(variant(MUL_ASSIGNS), "03")
    page = tmp_path / "steps.html"
    page.write_text(explain_html.page(result), encoding="utf-8")
    steps = result["got"]["steps"]
    for k in (5, len(steps)):
        # test_report's Chromium, which fails on any console line (a load the page's policy blocked).
        dom = chromium(AtStep(page, k), tmp_path, "--dump-dom")
        at = re.search(r'id="at">([^<]*)<', dom)[1]
        assert at.startswith(f"step {k} of {len(steps)}"), at
        name, before, after = steps[k - 1]
        assert f"{name}._backward" in at
        changed = re.findall(r'<tr class="[^"]*changed[^"]*"><td>([^<]+)</td>', dom)
        want = [n for (n, *_), b, a in zip(result["graph"], before, after) if a != b]
        assert changed == want, (k, changed, want)


def test_a_backward_that_raises_is_named_and_ends_the_steps_there(variant):
    impl = variant([("            self.grad += other.data * out.grad\n", "            raise RuntimeError('boom')\n")])
    result = explain(impl, "03")
    raised = result["blame"]["node"]
    assert result["blame"]["by"] == raised and dict((n, op) for n, op, *_ in result["graph"])[raised] == "mul"
    assert "RuntimeError: boom" in result["blame"]["why"]
    assert explain_show.steps_text(result).splitlines()[-1].endswith(f"({raised} = d * f)  raised RuntimeError")


def test_a_backward_that_writes_into_the_kits_log_of_steps_loses_the_steps_not_the_explanation(variant):
    """The log is the one record learner code can reach (through the wrapped _backward's closure)."""
    tamper = (
        "        for v in reversed(topological_order(self)):\n"
        "            for cell in getattr(v._backward, '__closure__', None) or ():\n"
        "                if type(cell.cell_contents) is list and all(type(e) is list for e in cell.cell_contents):\n"
        "                    cell.cell_contents.append(['<b>', 1, 2])\n"
        "            v._backward()\n"
    )
    unseeded = ("        self.grad = 1.0\n", "")  # and a mistake, for a graph to fail
    walk = "        for v in reversed(topological_order(self)):\n            v._backward()\n"
    impl = variant([unseeded, (walk, tamper)])
    result = explain(impl, "04")
    assert result["got"]["steps"] is None and result["blame"]["mistake"] == "root-grad-not-one"
    assert "could not follow" in explain_show.steps_text(result)
    assert "<b>" not in explain_html.page(result)


@pytest.mark.parametrize(
    "lesson, member, args",
    [
        ("docs/03_chain_rule.md", "mul backward without * out.grad", ["03"]),
        ("docs/04_backward.md", "calling _backward leaves-first", ["04", "--steps"]),
    ],
)
def test_the_lessons_show_the_real_output_of_kit_explain(lesson, member, args, variant, tmp_path):
    """Where the files went (and whether Graphviz drew them) is the machine's, and so is the order of the
    steps among a node's children (the learner's walk iterates the set `_prev`); every other line is the kit's."""
    _, file, patch, *_ = ZOO[member]
    done = kit_explain(*args, "--impl", variant(patch, file), "--out", tmp_path, env={"NO_COLOR": "1"})

    def kept(text):
        lines = [line for line in text.splitlines() if not line.startswith(("picture:", "page:", "(Graphviz"))]
        steps = sorted(re.sub(r"^ *\d+\. ", "", line) for line in lines if re.match(r"^ *\d+\. ", line))
        return [line for line in lines if not re.match(r"^ *\d+\. ", line)], steps

    text = (ROOT / lesson).read_text()
    shown = text[text.index("```\n", text.index("kit explain")) + 4 :]
    assert kept(shown[: shown.index("\n```\n")]) == kept(done.stdout)


# --- explain agrees with the check: the base it runs on, and where it passes ------------------------

LEAVES_FIRST = ZOO["calling _backward leaves-first"][2]


def shown_text(result, tmp_path, capsys, steps=False):
    """What `kit explain` prints for `result` (the pictures go to tmp_path), and its exit status."""
    status = explain_show.show(result, tmp_path / "pictures", steps)
    return capsys.readouterr().out, status


@pytest.mark.parametrize(
    "ex, member, broken, then",
    [
        ("04", "mul backward assigns the grad", "03", "explain 03"),
        ("05", "mul backward assigns the grad", "03", "explain 03"),
        ("06", "mul backward assigns the grad", "03", "explain 03"),
        ("03", "+ that mutates its operand", "02", "check 02"),  # on the learner's own + and *: 03 has no base
    ],
)
def test_where_the_check_passes_and_a_gate_found_an_exercise_it_builds_on_broken_explain_names_that_exercise(
    ex, member, broken, then, variant, tmp_path, capsys
):
    """check-04, 05 and 06 run on the kit's + and * (or engine.py) where 03 is broken, and give full
    marks: explain quotes no failure of its own making, and names 03 and its explain (02, which has
    no graph to explain, by its check)."""
    _, file, patch, *_ = ZOO[member]
    result = explain(variant(patch, file), ex)
    assert result is not None and result["passes"] and result["broken"] == broken, result
    text, status = shown_text(result, tmp_path, capsys)
    assert status == 0 and "The check says" not in text and "Mistake:" not in text, text
    assert f"check-{ex} passes" in text and f"exercise {broken}" in text and then in text.replace("-", " "), text
    assert f"builds on {broken}" in text, "the check's own banner, which says what it ran on"
    assert "None" not in text, text


def test_where_the_check_fails_on_the_kits_base_explain_shows_the_test_and_graph_the_check_saw_there(
    variant, checks, tmp_path, capsys
):
    """03's * assigns and 04's backward walks leaves first: check-04 runs on the kit's + and *, where
    only the walk is wrong; explain shows that failure, not one of 03's."""
    impl = variant([*MUL_ASSIGNS, *LEAVES_FIRST])
    check = checks("04", impl)
    failed = [t for t in check.tests("04") if t["status"] != "pass"]
    result = explain(impl, "04")
    assert not result.get("passes") and result["graph"], result
    assert result["test"] == failed[0]["test"] and result["message"] == failed[0]["message"]
    assert result["mistake"] == failed[0]["mistake"] == "not-reversed"
    assert result["blame"]["by"] is None, "the kit's * is right: the walk is at fault"
    assert all(t["mistake"] != "assigns-grad" for t in check.tests("04"))
    text, _ = shown_text(result, tmp_path, capsys)
    assert "the kit's + and *" in text and "assigns-grad" not in text, text


def test_a_stub_of_the_walk_is_said_to_be_a_todo_not_written_yet_and_no_python_none_reaches_the_text(
    tree, tmp_path, capsys
):
    result = explain(tree(3), "04")
    text, _ = shown_text(result, tmp_path, capsys)
    assert "None" not in text, text
    (line,) = [line for line in text.splitlines() if "not written yet" in line]
    assert "TODO(ex04)" in line and "micrograd/engine.py, line" in line and "Value.backward" in line, line
    assert "smallest failing" not in text, "every graph fails the same way while the walk is a stub"


def test_a_read_only_kit_folder_gets_explains_pictures_and_page_in_the_users_cache_folder(
    monkeypatch, variant, tmp_path, capsys
):
    """The kit's folder unwritable by os.access (kit/state.py's seam, as the demo's test does)."""
    from kit import state
    from kit.learner import explain as command

    impl = variant(MUL_ASSIGNS)
    real = os.access
    monkeypatch.setattr(state.os, "access", lambda p, mode: not str(p).startswith(str(ROOT)) and real(p, mode))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(state.sys, "platform", "linux")
    assert command.main(["03", "--impl", str(impl), "--steps"]) == 1
    out, err = capsys.readouterr()
    cache = tmp_path / "cache" / "micrograd-kit"
    page = cache / "kit" / "explain" / "steps-03.html"
    assert page.is_file() and f"page: {page}" in out, out
    assert {p.name for p in page.parent.iterdir()} <= {"steps-03.html", "explain-03.svg", "explain-03.png"}
    assert f"goes to {cache}" in err


def test_a_network_whose_nn_py_is_a_stub_is_not_drawn_or_blamed_on_how_nn_py_builds_it(tree, tmp_path, capsys):
    """The kit builds check-06's network from Values, which work: the TODO of nn.py is what failed."""
    result = explain(tree(5), "06")
    assert result["graph"] is None and result["todo"], result
    text, _ = shown_text(result, tmp_path, capsys)
    assert "stops at a TODO" in text and "TODO(ex06)" in text and "how your nn.py builds it" not in text, text
