"""The qualified name of a learner function in a traceback (`Value.__add__.<locals>._backward`), the
same on every Python: 3.11+ keeps it on the code object (`co_qualname`); 3.10 does not, so it is
read from the learner's source by the function's first line and name.

Comprehensions other than generator expressions are frames of their own before 3.12 and inlined
from 3.12 (PEP 709): `INLINED` names them, and the worker leaves such frames out everywhere.
"""

import ast

INLINED = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>"})
_SCOPES = {
    ast.Lambda: "<lambda>",
    ast.GeneratorExp: "<genexpr>",
    ast.ListComp: "<listcomp>",
    ast.DictComp: "<dictcomp>",
    ast.SetComp: "<setcomp>",
}
# Bound before learner code runs.
_parse, _children, _type, _min = ast.parse, ast.iter_child_nodes, type, min
_defs, _class = (ast.FunctionDef, ast.AsyncFunctionDef), ast.ClassDef


def qualnames(source):
    """{(first line, name): qualified name} of every function, lambda and comprehension in `source`
    (bytes); {} when it does not parse."""
    try:
        tree = _parse(source)
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
