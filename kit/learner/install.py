"""How to set the kit up, said where a command finds the kit's dependencies missing.

`python -m kit check 01` with a Python that lacks them (the system's python3 outside .venv, a fresh
notebook kernel) would end in a traceback about pytest_timeout; it says this instead, and exits 2.
"""

import importlib.util
import os
import shlex
import subprocess
import sys

from kit import ROOT
from kit.term import shown

# The import names of pyproject.toml's `dependencies` (tests/test_install.py keeps them in step).
REQUIRED = ("pytest", "pytest_timeout")
OLDEST = (3, 10)  # pyproject.toml's requires-python
WINDOWS = os.name == "nt"


class MissingDependency(ModuleNotFoundError):
    """A dependency the command needs is not installed in this Python."""


def require():
    """Raise MissingDependency where a dependency of the checks is not installed (before a grading starts)."""
    for name in REQUIRED:
        if importlib.util.find_spec(name) is None:
            raise MissingDependency(f"No module named {name!r}", name=name)


def lacking(module, extra, name=None):
    """The error to print where an optional dependency (of pyproject.toml's `extra`) is not installed,
    or None."""
    if importlib.util.find_spec(module) is None:
        return f"error: {name or module} is not installed: pip install -e '.[{extra}]'"
    return None


def too_old():
    """What to do, where this Python is older than the kit supports (macOS's own python3 is 3.9), or
    None: said first, since a Python that old lacks the dependencies too (pip would not install them)."""
    if tuple(sys.version_info[:2]) >= OLDEST:
        return None
    oldest, this = (".".join(map(str, v[:2])) for v in (OLDEST, sys.version_info))
    lines = [f"python -m kit needs Python {oldest} or later, and this is Python {this} ({sys.executable})."]
    own = ROOT / ".venv"
    if sys.prefix != sys.base_prefix and own.exists() and os.path.samefile(sys.prefix, own):
        lines.append(f"The kit's .venv was made with it: remove it ({'rmdir /s .venv' if WINDOWS else 'rm -rf .venv'})")
        lines.append("and set it up again with a newer Python:")
    else:
        lines.append("Install a newer one (python.org, brew install python@3.12, apt install python3.12), then set up:")
    if WINDOWS:
        lines += ["  py -3.12 -m venv .venv", f"  {venv_python()} -m pip install -e ."]
    else:
        lines += [
            "  make setup PYTHON=python3.12",
            f"or without make: python3.12 -m venv .venv && {venv_python()} -m pip install -e .",
        ]
    return "\n".join(lines)


def venv_python():
    """The kit's .venv's interpreter, as a path from the kit's folder."""
    return ".venv\\Scripts\\python" if WINDOWS else ".venv/bin/python"


def advice(missing, argv):
    """What to do, for `python -m kit ARGV` that found the module `missing` absent from this Python."""
    # The arguments quoted for the learner's shell (kit/commands.py), so that the commands can be pasted.
    venv, args = venv_python(), subprocess.list2cmdline(argv) if WINDOWS else shlex.join(argv)
    where = "" if shown(ROOT) == "." else f" (in {ROOT})"
    lines = [f"python -m kit {args} needs {missing}, which this Python ({sys.executable}) does not have."]
    own = ROOT / ".venv"
    if sys.prefix != sys.base_prefix and own.exists() and os.path.samefile(sys.prefix, own):
        # The kit's own environment, without a module that one of the optional extras brings.
        lines.append(f"Install the extra of pyproject.toml that brings it: {venv} -m pip install -e '.[EXTRA]'")
        lines.append("(the command's make target installs it for you).")
    elif (ROOT / venv).exists() or (ROOT / f"{venv}.exe").exists():
        lines.append(f"The kit's environment is set up: run the command with its Python{where}:")
        lines.append(f"  {venv} -m kit {args}")
    else:
        lines.append(f"Set up the kit's environment once{where}:")
        if WINDOWS:
            lines += ["  py -m venv .venv", f"  {venv} -m pip install -e ."]
        else:
            lines += ["  make setup", f"or without make: python3 -m venv .venv && {venv} -m pip install -e ."]
        lines.append(f"then: {venv} -m kit {args}")
        lines.append(f"In a notebook: %pip install -e . in a cell, then !python -m kit {args} in another.")
    return "\n".join(lines)
