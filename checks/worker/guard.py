"""What every probe shares: the registry, and the guard around importing the learner's modules.

Standard library only: the worker loads this folder as a package of its own, by path, where the
learner's files cannot shadow it, on builtins of its own; what it calls of the standard library it
binds once, at import, before any learner code runs.
"""

import importlib
import os
import signal
import sys

PROBES = {}
IMPL = None  # the implementation's folder, set by the worker
IMPORT_TIMEOUT = 0  # seconds an import of learner code may take (0: no limit), set by the worker
HUNG = set()  # modules whose import timed out before, as the judge tells: not waited for again


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
    if name in HUNG:
        raise import_timeout(name)
    if not IMPORT_TIMEOUT or name in _modules:
        return _import_module(name)
    # The alarm raises KeyboardInterrupt through Python's own handler (C): no function of the
    # worker's is left where signal.getsignal() could hand it to code under test.
    previous = _signal(_SIGALRM, _default_int_handler)
    _alarm(IMPORT_TIMEOUT)
    try:
        return _import_module(name)
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


def learner(name):
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
    return learner("micrograd.engine")


def number(x):
    """A float for numbers; a short description for anything else."""
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    return f"<{type(x).__name__}>"
