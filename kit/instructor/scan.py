"""A static look at a staged tree for code that reaches into the grader: reasons for review only.

The checks never score from this: a flagged line costs nothing by itself (the worker's audit hook
decides what is refused). It tells the instructor where to read. Honest micrograd code, the
lecture's `import sys; sys.setrecursionlimit(...)` included, is not flagged. The same look notes
each file that will not compile, as `make check` would stumble on it (problem); as compiling hostile
code can exhaust memory or recursion, all of it runs in a process of its own, with limits
(kit/instructor/scanner.py).
The staging order reads each module's import lines (imports), never parsing them.
"""

import ast
import difflib
import functools
import json
import re
from pathlib import Path

from kit import ROOT, regions
from kit.escape import escape_line

MODULES = {
    "ctypes": "imports ctypes (raw memory access)",
    "gc": "imports gc (can list the grader's objects)",
    "inspect": "imports inspect (frames and source of the grader)",
    "traceback": "imports traceback (walks frames)",
    "importlib": "imports importlib (loads modules by name)",
    "subprocess": "imports subprocess (starts processes)",
    "socket": "imports socket (network)",
    "__main__": "imports __main__ (the worker's own module)",
    "builtins": "imports builtins (can rebind what every module uses)",
}
ATTRIBUTES = {
    "_getframe": "reads the call stack (sys._getframe)",
    "_current_frames": "reads the call stack (sys._current_frames)",
    "settrace": "installs a trace function",
    "setprofile": "installs a profile function",
    "addaudithook": "adds an audit hook",
    "modules": "reaches sys.modules",
    "f_back": "walks frames (f_back)",
    "f_globals": "reads a frame's globals",
    "f_locals": "reads a frame's locals",
    "tb_frame": "reads a traceback's frames",
    "gi_frame": "reads a generator's frame",
    "cr_frame": "reads a coroutine's frame",
    "__globals__": "reads a function's globals",
    "__closure__": "reads a function's closure",
    "__code__": "reads or replaces a function's code",
    "__subclasses__": "lists every subclass (reaches the grader's classes)",
    "__builtins__": "reaches the builtins",
    "get_objects": "lists every object",
    "get_referrers": "lists an object's referrers",
    "get_referents": "lists an object's referents",
}
CALLS = {
    "eval": "calls eval",
    "exec": "calls exec",
    "compile": "calls compile",
    "__import__": "calls __import__",
    "getattr": None,  # only with a dunder or frame name as a constant (below)
}


def findings(path, rel):
    """[(line, reason)] for one Python file; nothing for a file that does not parse."""
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=rel)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops = [a.name.split(".")[0] for a in node.names]
            found += [(node.lineno, MODULES[top]) for top in tops if top in MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in MODULES:
                found.append((node.lineno, MODULES[top]))
            found += [(node.lineno, ATTRIBUTES[a.name]) for a in node.names if a.name in ATTRIBUTES]
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            found.append((node.lineno, ATTRIBUTES[node.attr]))
        elif isinstance(node, ast.Name) and node.id in ("__builtins__",):
            found.append((node.lineno, ATTRIBUTES[node.id]))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLS:
            name = node.func.id
            if name != "getattr":
                found.append((node.lineno, CALLS[name]))
            elif len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                attr = node.args[1].value
                if attr in ATTRIBUTES or attr.startswith("__"):
                    found.append((node.lineno, f"reads {attr!r} through getattr"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/proc/"):
            found.append((node.lineno, "names a /proc file"))
    return sorted(set(found))


# A learner file that holds, line for line, what the reference writes inside its regions (the parts
# learners write) is a copy of the reference: of solutions/, or of checks/base/, which the checks run
# on where a learner's own code does not work yet. A reason for review, never a score.
COPY_SHARE, COPY_LINES = 0.95, 25
# engine.py only: its iterative topological order is the kit's own; a network written from the lecture
# is the reference's line for line by nature.
COPIED = ("micrograd/engine.py",)
# Those lines, for a copy of the kit that ships without solutions/ (a Gradescope zip: kit/platforms/gradescope.py).
REFERENCE = ROOT / "kit" / "instructor" / "reference.json"


def normal(line):
    """A line of code as the copy check compares it: no comment, no white space."""
    return "".join(line.split("#", 1)[0].split())


@functools.cache  # the same for every student of a class: read and parsed once
def written(rel):
    """The normalised lines the reference writes inside its regions of the tree's file `rel`."""
    path = ROOT / "solutions" / rel
    if not path.is_file():
        return tuple(json.loads(REFERENCE.read_text()).get(rel, ())) if REFERENCE.is_file() else ()
    lines = regions.scan(path.read_text(encoding="utf-8"), rel)
    return tuple(n for line in lines if line.kind == "code" and line.open and (n := normal(line.text)))


def reference():
    """REFERENCE's text: the lines written() reads from solutions/, for a copy of the kit without it."""
    return json.dumps({rel: written(rel) for rel in COPIED})


def copies(tree):
    """[(file, reason)] for each file of the base that holds the reference's own lines, in order."""
    found = []
    for rel in COPIED:
        ref, path = written(rel), Path(tree) / rel
        if len(ref) < COPY_LINES or not path.is_file() or path.is_symlink():
            continue
        theirs = [n for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if (n := normal(line))]
        same = sum(b.size for b in difflib.SequenceMatcher(None, ref, theirs, autojunk=False).get_matching_blocks())
        if same >= COPY_SHARE * len(ref):
            found.append((rel, f"holds the kit's reference code line for line ({same} of its {len(ref)} lines)"))
    return found


def scan(tree):
    """[{"file", "line", "reason"}] for every Python file of a staged tree, in order."""
    tree = Path(tree)
    out = []
    for path in sorted(tree.rglob("*.py")):
        rel = path.relative_to(tree).as_posix()
        out += [{"file": rel, "line": line, "reason": reason} for line, reason in findings(path, rel)]
    return out


def notes(tree, most=20):
    """The scan's findings as notes for the feedback, each marked as a reason for review."""
    found = scan(tree)
    lines = [f"for review: {rel}: {reason}" for rel, reason in copies(tree)]
    lines += [f"for review: {f['file']}, line {f['line']}: {f['reason']}" for f in found[:most]]
    if len(found) > most:
        lines.append(f"for review: {len(found) - most} more lines of the same kind")
    return lines


IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.MULTILINE)
FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)(\w[\w.]*)?[ \t]+import[ \t]+\(?([\w \t,]+)", re.MULTILINE)


def imports(rel, text):
    """The files of a tree that the module `rel` may import, read from its import lines (never parsed)."""
    names = [m.strip().split(" ")[0] for found in IMPORT.findall(text) for m in found.split(",")]
    for dots, module, what in FROM.findall(text):
        base = rel.split("/")[:-1]
        if dots:  # relative: . is the module's own package, each further dot one folder up
            base = base[: len(base) - len(dots) + 1] if len(dots) <= len(base) + 1 else []
            prefix = ".".join([*base, module]) if module else ".".join(base)
        else:
            prefix = module
        names.append(prefix)
        names += [f"{prefix}.{w.strip().split(' ')[0]}" for w in what.split(",") if w.strip()]
    files = []
    for name in names:
        parts = [p for p in name.split(".") if p]
        for i in range(1, len(parts) + 1):
            files += ["/".join(parts[:i]) + ".py", "/".join(parts[:i]) + "/__init__.py"]
    return files


def problem(rel, data):
    """What `make check` would stumble on when importing this file, or None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return f"{rel} is not UTF-8 text (line {line}); save it as UTF-8"
    try:
        compile(text, rel, "exec", dont_inherit=True)
    except SyntaxError as e:
        if e.lineno is None:
            return f"{rel} cannot be read as Python ({escape_line(e.msg)})"
        return f"{rel} has a syntax error on line {e.lineno}: {escape_line(e.msg)}"
    except ValueError as e:  # a null byte, in the Pythons that call it a ValueError
        return f"{rel} cannot be read as Python ({escape_line(e)})"
    except RecursionError:
        return f"{rel} is nested too deeply for Python to compile"
    except MemoryError:
        return f"{rel} needs more memory to compile than the grader's check of it may use"
    return None
