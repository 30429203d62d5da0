"""The shape of the kit's own code: imports that run one way, and modules a person can read whole."""

import ast
import functools

from kit import ROOT

TOPS = ("checks", "kit")
LIMIT = 300  # lines of a module, but for data tables

# Modules over LIMIT lines, each with the reason it may be; a new one fails until it is split or named here.
LONG = {
    "checks/mistakes.py": "a data table: the catalogue of mistakes and their advice",
}

# Import circles not broken yet, each with the reason; a new one fails.
CIRCLES = set()


def modules():
    """{dotted name: path} of every module under checks/ and kit/."""
    found = {}
    for top in TOPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported(name, path, known):
    """The kit's own modules that `name` imports anywhere in it (a deferred import inside a function
    too): `from a import b` counts as importing a.b where that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    found = set()
    for target in targets:
        while target and target not in known:  # a name inside a module: the module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


@functools.cache
def graph():
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def circles(edges):
    """The strongly connected groups of more than one module (Tarjan's algorithm, without recursion)."""
    index, low, on, stack, groups, counter = {}, {}, set(), [], [], 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                group = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    group.add(w)
                    if w == v:
                        break
                if len(group) > 1:
                    groups.append(frozenset(group))
    return groups


def test_the_circle_finder_finds_a_circle_of_three_and_no_circle_in_a_chain():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_of_the_kit_imports_one_that_imports_it_back():
    found = set(circles(graph()))
    assert found <= CIRCLES, f"import circles: {sorted(map(sorted, found - CIRCLES))}"
    assert not CIRCLES - found, f"broken since, so leave CIRCLES: {sorted(map(sorted, CIRCLES - found))}"


def test_the_checks_import_nothing_of_the_learner_s_tools():
    edges = graph()
    upward = {name: sorted(t for t in targets if t.startswith("kit.learner")) for name, targets in edges.items()}
    assert not {name: t for name, t in upward.items() if name.startswith("checks") and t}


def test_the_worker_imports_nothing_of_the_kit_but_itself():
    """checks/worker/ is copied alone into a sandbox: anything else of the kit is not there."""
    edges = graph()
    outside = {
        name: sorted(t for t in targets if not t.startswith("checks.worker"))
        for name, targets in edges.items()
        if name.startswith("checks.worker")
    }
    assert not {name: t for name, t in outside.items() if t}


def test_no_module_is_over_300_lines_but_the_ones_named_with_their_reason():
    long = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    over = {rel for rel, lines in long.items() if lines > LIMIT}
    assert over <= set(LONG), f"over {LIMIT} lines: {sorted((rel, long[rel]) for rel in over - set(LONG))}"
    assert not set(LONG) - over, f"no longer over {LIMIT} lines, so leave LONG: {sorted(set(LONG) - over)}"


def test_no_check_judges_with_a_bare_assert_which_pytest_would_not_explain():
    """The checks run with --assert=plain (checks/pytest.ini): a bare assert in a check would fail
    with no word of what was expected."""
    bare = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "checks").glob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert not bare, bare
    assert "--assert=plain" in (ROOT / "checks" / "pytest.ini").read_text()
