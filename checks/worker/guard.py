"""What every probe shares: the registry, and the guard around importing the learner's modules.

Standard library only: the worker loads this folder as a package of its own, by path, where the
learner's files cannot shadow it, on builtins of its own; what it calls of the standard library it
binds once, at import, before any learner code runs.
"""

import builtins
import importlib
import os
import signal
import sys
import types

PROBES = {}
IMPL = None  # the implementation's folder, set by the worker
IMPORT_TIMEOUT = 0  # seconds an import of learner code may take (0: no limit), set by the worker
HUNG = set()  # modules whose import timed out before, as the judge tells: not waited for again
# A base worker's known-good base (checks/base/__init__.py), set by the worker from its handshake:
# {"modules": {name: code}} stand in for the learner's modules of those names, and "patch" (exercise
# ids) with "ops" (code) puts the kit's + and * onto the learner's own Value.
BASE = {}


class WrongImport(Exception):
    """A learner module came from somewhere other than the implementation being graded."""


def probe(fn):
    PROBES[fn.__name__] = fn
    return fn


class ImportTimeout(Exception):
    """Importing a learner module did not finish in time; `module` names it.

    No method of its own: a class of the worker with Python methods would hand code under test
    (through `Exception.__subclasses__()`) the worker's globals."""


def import_timeout(module):
    e = ImportTimeout(
        f"importing {module} took longer than {IMPORT_TIMEOUT} s: "
        "is there an endless loop at the top level of the file?"
    )
    e.module = module
    return e


def import_learner(name):
    if name in HUNG and name not in BASE.get("modules", ()):  # the base's own never hang
        raise import_timeout(name)
    if not IMPORT_TIMEOUT or name in _modules:
        return _load(name)
    # The alarm raises KeyboardInterrupt through Python's own handler (C): no function of the
    # worker's is left where signal.getsignal() could hand it to code under test.
    previous = _signal(_SIGALRM, _default_int_handler)
    _alarm(IMPORT_TIMEOUT)
    try:
        return _load(name)
    except KeyboardInterrupt:
        raise import_timeout(name) from None
    finally:
        _alarm(0)
        _signal(_SIGALRM, previous)


# Bound before learner code runs: rebinding signal.alarm or os.sep changes nothing here.
_realpath, _import_module, _modules, _sep = os.path.realpath, importlib.import_module, sys.modules, os.sep
_signal, _alarm, _SIGALRM, _default_int_handler = (
    signal.signal,
    signal.alarm,
    signal.SIGALRM,
    signal.default_int_handler,
)


def set_base(base):
    """Take the handshake's known-good base, compiled before any learner code runs."""
    modules = {name: compile(text, f"<the kit's {name}>", "exec") for name, text in base.get("modules", {}).items()}
    BASE["modules"], BASE["patch"] = modules, list(base.get("patch", ()))
    BASE["ops"] = compile(base["ops"], "<the kit's + and *>", "exec") if BASE["patch"] else None


def _load(name):
    """Import a learner module, once the base's modules (if any) stand where theirs would be: the
    kit's network over the learner's engine imports that engine first."""
    for base_name, code in BASE.get("modules", {}).items():
        if base_name not in _based:
            _based[base_name] = module = _module_type(base_name)
            vars(module)["__builtins__"] = _shared_builtins  # what learner code gets: nothing of the worker's
            _modules[base_name] = module
            try:
                exec(code, vars(module))
            except BaseException:
                del _based[base_name]
                _modules.pop(base_name, None)
                raise
    return _import_module(name)


_based = {}  # name -> the base's module, once made
_shared_builtins, _module_type = builtins, types.ModuleType


def learner(name):
    if name in _based or name in BASE.get("modules", {}):
        import_learner(name)
        return _based[name]
    module = import_learner(name)
    path = _realpath(getattr(module, "__file__", None) or "")
    if not path.startswith(_realpath(IMPL) + _sep):
        where = path or "a namespace package"
        raise WrongImport(
            f"`import {name}` found {where}, not the file in {IMPL}: "
            f"is {name.replace('.', '/')}.py (with micrograd/__init__.py) there?"
        )
    return module


def engine():
    module = learner("micrograd.engine")
    if BASE.get("patch") and not _patched:
        _patched.append(module)
        ops = {"__builtins__": _shared_builtins, "__name__": "kit_base_ops"}
        exec(BASE["ops"], ops)
        ops["patch"](module.Value, list(BASE["patch"]))
    return module


_patched = []


def number(x):
    """A float for numbers; a short description for anything else."""
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    return f"<{type(x).__name__}>"
