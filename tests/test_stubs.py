"""The stub generator turns solution regions into TODOs, and exercises/ mirrors solutions/."""

import ast
import re

import pytest

from kit import ROOT
from kit.dev.stubs import main as stubs_main
from kit.dev.stubs import out_of_date
from kit.exercises import EXERCISES, TREE, doc_path
from kit.regions import RegionError, build_tree, regions, render

SOURCE = '''\
def f(x):
    """Doc."""
    ### BEGIN ex02 (no-op): Wrap x.
    x = [x]
    ### END ex02
    ### BEGIN ex01: Return x.
    y = x

    def inner():
        ### BEGIN ex03: Do the inner thing.
        return 1
        ### END ex03
    return y
    ### END ex01
'''


def test_a_region_after_upto_becomes_a_todo_and_a_not_implemented_error_naming_the_lesson():
    out = render(SOURCE, 0)
    assert "    # TODO(ex01): Return x.\n" in out
    assert f'raise NotImplementedError("ex01: f - see {doc_path("01")}")' in out
    assert "y = x" not in out and "return 1" not in out and "TODO(ex03)" not in out


def test_a_no_op_region_becomes_the_todo_line_alone():
    out = render(SOURCE, 1)
    assert "# TODO(ex02): Wrap x.\n    y = x" in out
    assert "ex02:" not in out


def test_an_inner_region_shows_once_its_outer_region_is_solved():
    out = render(SOURCE, 1)
    assert "# TODO(ex03): Do the inner thing." in out
    assert 'raise NotImplementedError("ex03: f.inner - see docs/03_chain_rule.md")' in out


def test_a_fully_solved_render_is_the_solution_without_markers():
    out = render(SOURCE, 7)
    assert "###" not in out
    assert "x = [x]" in out and "return 1" in out
    ast.parse(out)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("### BEGIN ex09: Nope.\nx = 1\n### END ex09\n", "unknown exercise"),
        ("### BEGIN ex01: Open.\nx = 1\n", "never closed"),
        ("### BEGIN ex01: A.\nx = 1\n### END ex02\n", "does not close"),
        ("### BEGIN ex01 Missing colon\nx = 1\n### END ex01\n", "malformed"),
        ("def f():\n    ### BEGIN ex01 (no-op): Nothing left.\n    return 1\n    ### END ex01\n", "not valid Python"),
    ],
)
def test_malformed_regions_are_refused_with_the_file_and_line(bad, message):
    with pytest.raises(RegionError, match=message):
        render(bad, 0, "x.py")


def test_every_exercise_has_a_todo_in_the_stubs(tree):
    found = set()
    for rel in TREE:
        found |= set(re.findall(r"# TODO\(ex(\d\d)\): \S", (tree(0) / rel).read_text()))
    assert found == set(EXERCISES)


# The verbs the TODOs open with. A TODO that opens with another word fails: a description ("Returns
# ...", "This ...", "The ...") is no task; a new imperative verb is added here.
IMPERATIVE = {"Add", "Feed", "Let", "Make", "Nudge", "Raise", "Repeat", "Return", "Seed", "Set", "Show"}


@pytest.mark.parametrize(
    "todo, ok",
    [
        ("Return the slope of f at x.", True),
        ("Returns the slope of f at x.", False),
        ("This returns the slope.", False),
        ("Return the slope. Then print it.", False),
        ("Return the slope", False),
        ("Return the slope!", False),
        ("Show the Value as Value(data=...).", True),
    ],
)
def test_an_imperative_sentence_is_told_from_a_description_two_sentences_or_none(todo, ok):
    assert is_one_imperative_sentence(todo) == ok


def is_one_imperative_sentence(todo):
    """Opens with a verb of IMPERATIVE, ends with its only full stop that a space follows or ends."""
    return todo.split()[0] in IMPERATIVE and todo.endswith(".") and not re.search(r"[.!?](\s|$)", todo[:-1])


def test_every_region_todo_is_one_imperative_sentence_and_the_stub_says_it_word_for_word():
    for rel in TREE:
        stub = (ROOT / "exercises" / rel).read_text()
        for ex, todo in regions((ROOT / "solutions" / rel).read_text()):
            assert is_one_imperative_sentence(todo), (rel, ex, todo)
            assert f"# TODO(ex{ex}): {todo}\n" in stub, (rel, ex, todo)


def signatures(path):
    """Every function and class with its arguments and docstring, in order."""
    tree = ast.parse(path.read_text())
    return [
        (type(n).__name__, n.name, ast.dump(n.args) if hasattr(n, "args") else None, ast.get_docstring(n))
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    ]


def test_stubs_and_solutions_have_the_same_files_functions_signatures_and_docstrings(tree):
    for rel in TREE:
        solved, stub = signatures(ROOT / "solutions" / rel), signatures(tree(0) / rel)
        outer = [s for s in solved if s[1] != "_backward"]
        assert [s for s in stub if s[1] != "_backward"] == outer, rel
    assert sorted(p.relative_to(tree(0)).as_posix() for p in tree(0).rglob("*.py")) == sorted(TREE)


def test_the_solutions_tree_is_exactly_the_contract_tree():
    files = sorted(p.relative_to(ROOT / "solutions").as_posix() for p in (ROOT / "solutions").rglob("*.py"))
    assert files == sorted(TREE)


def test_stubs_check_reports_an_out_of_date_tree_and_passes_a_fresh_one(tmp_path, capsys):
    build_tree(ROOT / "solutions", tmp_path / "ex", 0)
    assert out_of_date(ROOT / "solutions", tmp_path / "ex") == []
    assert stubs_main(["--check", "--out", str(tmp_path / "ex")]) == 0
    engine = tmp_path / "ex" / "micrograd" / "engine.py"
    engine.write_text(engine.read_text() + "# edited\n")
    assert stubs_main(["--check", "--out", str(tmp_path / "ex")]) == 1
    assert "out of date: " in capsys.readouterr().out


def test_the_stub_generator_writes_a_tree_solved_through_k(tmp_path):
    assert stubs_main(["--upto", "3", "--out", str(tmp_path / "t")]) == 0
    engine = (tmp_path / "t" / "micrograd" / "engine.py").read_text()
    assert "TODO(ex03)" not in engine and "TODO(ex04)" in engine


def test_every_todo_line_a_lesson_quotes_stands_word_for_word_in_the_stubs():
    """A learner searches the stubs for the line the lesson quotes, and may type it as it is."""
    import re

    stubs = "\n".join(p.read_text() for p in (ROOT / "exercises").rglob("*.py"))
    for lesson in sorted((ROOT / "docs").glob("0*_*.md")):
        quoted = re.findall(r"`(# TODO\(ex\d\d\): [^`]+)`", lesson.read_text())
        missing = [q for q in quoted if q not in stubs]
        assert not missing, f"{lesson.name} quotes TODO lines the stubs do not hold: {missing}"
