"""Reading a traceback's frames the same way on every Python.

The qualified name of a learner function (`Value.__add__.<locals>._backward`): 3.11+ keeps it on
the code object (`co_qualname`); 3.10 does not, so it is read from the learner's source by the
function's first line and name. Comprehensions other than generator expressions are frames of their
own before 3.12 and inlined from 3.12 (PEP 709): `INLINED` names them, and the worker leaves such
frames out everywhere. A RecursionError is raised at the call that goes one too deep, which 3.10
counts among C calls too (`topo.append(v)`) and 3.11+ does not: `recursion` cuts the frames after
the last of the call that repeats, and the message is one sentence on every version.
"""

import _ast  # not ast: its imports (enum, contextlib) are a quarter of each worker's start

INLINED = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>"})
_SCOPES = {
    _ast.Lambda: "<lambda>",
    _ast.GeneratorExp: "<genexpr>",
    _ast.ListComp: "<listcomp>",
    _ast.DictComp: "<dictcomp>",
    _ast.SetComp: "<setcomp>",
}
RECURSION = "maximum recursion depth exceeded"  # 3.10 adds "while calling a Python object", and so on
# What later Pythons add to a message that earlier ones give alone, cut so that every version says the same.
ADDED = (" and no __dict__ for setting new attributes",)  # 3.13, AttributeError
# Bound before learner code runs.
_compile, _type, _min, _is_a, _fields_of = compile, type, min, isinstance, getattr
_node, _list, _only_ast = _ast.AST, list, 0x400  # ast.PyCF_ONLY_AST: compile gives the tree, as ast.parse
_defs, _class = (_ast.FunctionDef, _ast.AsyncFunctionDef), _ast.ClassDef


def _children(node):
    """ast.iter_child_nodes."""
    for field in node._fields:
        value = _fields_of(node, field, None)
        if _is_a(value, _node):
            yield value
        elif _is_a(value, _list):
            yield from (item for item in value if _is_a(item, _node))


def qualnames(source):
    """{(first line, name): qualified name} of every function, lambda and comprehension in `source`
    (bytes); {} when it does not parse."""
    try:
        tree = _compile(source, "<unknown>", "exec", _only_ast)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found = {}
    stack = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in _children(node):
            kind = _type(child)
            if kind in _defs or kind is _class:
                name = child.name
                first = _min([child.lineno] + [d.lineno for d in child.decorator_list])
            elif kind in _SCOPES:
                name, first = _SCOPES[kind], child.lineno
            else:
                stack.append((child, prefix))
                continue
            qualname = prefix + name
            found.setdefault((first, name), qualname)
            stack.append((child, qualname + ("." if kind is _class else ".<locals>.")))
    return found


def tracer():
    """walk(tb): [(filename, line, qualified name or None, name, first line)] of a traceback,
    outermost first (Python 3.10 has no co_qualname). The one function the audit hook lets read
    `tb_frame` (it knows it by its code object)."""
    str_type, qualified = str, hasattr(tracer.__code__, "co_qualname")

    def walk(tb):
        found, n = [], 0
        while tb is not None and n < 10000:
            code = tb.tb_frame.f_code
            name = code.co_filename
            qualname = code.co_qualname if qualified else None
            found.append(
                (name if type(name) is str_type else "", tb.tb_lineno, qualname, code.co_name, code.co_firstlineno)
            )
            tb, n = tb.tb_next, n + 1
        return found

    return walk


def message(text):
    """An exception's message as every supported Python gives it."""
    for added in ADDED:
        text = text.replace(added, "")
    return text


def recursion(frames):
    """`frames` cut after the last of the one that repeats most (the recursive call)."""
    if not frames:
        return frames
    counts = {}
    for f in frames:
        counts[f] = counts.get(f, 0) + 1
    most = max(counts.values())
    last = max(i for i, f in enumerate(frames) if counts[f] == most)
    return frames[: last + 1]
