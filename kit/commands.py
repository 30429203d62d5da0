"""The commands the kit names to the learner, written the way the learner runs the kit.

Started by make (the Makefile's learner targets set KIT_VIA_MAKE=1) a command reads `make check-03`;
otherwise `python -m kit check 03`, with the interpreter that runs the kit now, as the learner
would type it: `python` where that name on PATH is this interpreter, else its path
(`.venv/bin/python`, `.venv\\Scripts\\python.exe`). Every message that names a command asks here.
A command is quoted for the learner's shell, so that it can be pasted as it is: a POSIX shell's
quoting (make's recipes run in sh too), or on Windows, where the kit names `python -m kit`
commands, double quotes as `subprocess.list2cmdline` writes them.
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from kit import ROOT
from kit.exercises import TREE, holds_tree
from kit.term import shown

VIA_MAKE = "KIT_VIA_MAKE"
WINDOWS = os.name == "nt"
# The make targets are the names (check-03, hint-03, progress, ...); the kit's own command differs here.
PLAIN = {"hint": "hints"}
# option: (make variable, command-line flag); None where make has no way to say it
OPTIONS = {"force": ("FORCE=1", "--force"), "reset": ("RESET=1", "--reset"), "again": (None, "--again")}


def via_make():
    return os.environ.get(VIA_MAKE) == "1"


def _same(a, b):
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def shell_line(words):
    """`words` as one line of the learner's shell, each quoted where it must be."""
    words = [str(w) for w in words]
    return subprocess.list2cmdline(words) if WINDOWS else shlex.join(words)


def make_variable(name, value):
    """NAME=VALUE on make's command line, as sh passes it to make, which reads `$` as its own."""
    return f"{name}={shlex.quote(str(value).replace('$', '$$'))}"


def interpreter_path():
    """This interpreter as the learner would type it, unquoted: a name on PATH, a path below here, or its full path."""
    exe = sys.executable
    for name in ("python", "python3"):
        found = shutil.which(name)
        if found and _same(found, exe):
            return name
    here = os.path.abspath(os.getcwd())
    path = os.path.abspath(exe)  # never resolved: a venv's python is a link that must stay the venv's
    if os.path.commonpath([here, path]) == here:
        path = os.path.relpath(path, here)
    return path


def interpreter():
    """This interpreter as the learner would type it in a command, quoted for the shell where it must be."""
    return shell_line([interpreter_path()])


def command(name, ex=None, impl=None, *options):
    """The command that runs `name` ("check", "hint", "solution", "progress", "demo", "watch").

    `command("check", "03")` is `make check-03` under make, else `python -m kit check 03`; `ex="all"`
    checks every exercise (`make check`); a tree other than exercises/ is named (IMPL=DIR, --impl DIR).
    """
    default = impl is None or Path(impl).resolve() == (ROOT / "exercises").resolve()
    tree = None if default or name == "hint" else shown(impl)
    if via_make() and all(OPTIONS[o][0] for o in options):
        words = ["make", name if ex in (None, "all") else f"{name}-{ex}", *(OPTIONS[o][0] for o in options)]
        return " ".join(words + ([make_variable("IMPL", tree)] if tree else []))
    words = [interpreter_path(), "-m", "kit", PLAIN.get(name, name), *([ex] if ex else [])]
    words += [OPTIONS[o][1] for o in options]
    return shell_line(words + (["--impl", tree] if tree else []))


def impl_option(tree):
    """The folder `tree` (a path as the learner would type it) as the learner's command takes it:
    IMPL=DIR under make, else --impl DIR."""
    return make_variable("IMPL", tree) if via_make() else shell_line(["--impl", tree])


def impl_refusal(impl):
    """Why a learner's command cannot take `impl` for the learner's tree, in one line, or None where it
    can: no such folder, or a folder that holds none of the tree's files; then the folder above it
    that holds some is named, as the learner would give it (`--impl TREE/micrograd`: TREE)."""
    if not os.path.isdir(impl):
        return f"--impl {impl}: no such folder"
    if holds_tree(impl):
        return None
    files = ", ".join(dict.fromkeys(rel.split("/")[0] + ("/" if "/" in rel else "") for rel in TREE))
    said = f"--impl {impl}: this folder holds none of the learner's tree ({files})"
    above = next((folder for folder in Path(impl).resolve().parents if holds_tree(folder)), None)
    if above is None:
        return said
    tree = str(above)
    if not os.path.isabs(impl):  # named from here, as the learner named impl
        try:
            tree = os.path.relpath(above)
        except ValueError:  # another drive (Windows)
            pass
    return f"{said}; did you mean {impl_option(tree)}?"
