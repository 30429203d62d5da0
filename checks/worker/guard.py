"""What every probe shares: the registry, and the guard around importing the learner's modules.

Standard library only: the worker loads this folder as a package of its own, by path, where the
learner's files cannot shadow it, on builtins of its own; what it calls of the standard library it
binds once, at import, before any learner code runs.
"""

import builtins
import importlib
import os
import sys
import time
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
        module = _load(name)
    else:
        # The worker's watchdog (main.py) reads this: past IMPORT_TIMEOUT it replies ImportTimeout
        # for this module, and the judge ends the process (no signal: Windows has no SIGALRM).
        IMPORTING[0] = (name, _monotonic())
        try:
            module = _load(name)
        finally:
            IMPORTING[0] = None
    apply_stops()
    return module


IMPORTING = [None]  # (module, when it started) while a learner module is imported
# Bound before learner code runs: rebinding os.sep or time.monotonic changes nothing here.
_realpath, _import_module, _modules, _sep = os.path.realpath, importlib.import_module, sys.modules, os.sep
_monotonic, _function_type, _type, _vars = time.monotonic, types.FunctionType, type, vars
_set_on_class = type.__setattr__

# Learner functions that hung earlier in the check (the judge's `stop`), replaced by one that raises
# at once. Compiled apart, on the learner's builtins: nothing of the worker's is reachable from it.
_STOPPER = compile(
    "class StoppedCall(Exception):\n    pass\n\n"
    "def make(name):\n    def stopped(*args, **kwargs):\n        raise StoppedCall(name)\n    return stopped\n",
    "<the kit's stop>",
    "exec",
)
STOPS = {}  # (module, function) -> (owner, attribute, original): those in place
WANTED = []  # [(module, function)] the judge named


def set_stops(wanted):
    """Put back what the judge no longer names; put in place what it names (once imported)."""
    wanted = [(m, f) for m, f in (tuple(w) for w in wanted if _type(w) is list and len(w) == 2)]
    for key in [k for k in STOPS if k not in wanted]:
        owner, attribute, original = STOPS.pop(key)
        _put(owner, attribute, original)
    WANTED[:] = wanted
    apply_stops()


def apply_stops():
    for module_name, function in WANTED:
        module = _modules.get(module_name)
        if (module_name, function) in STOPS or _type(module_name) is not str or module is None:
            continue
        path = _vars(module).get("__file__")
        if _type(path) is not str or not _realpath(path).startswith(_realpath(IMPL) + _sep):
            continue
        owner, parts = module, function.split(".") if _type(function) is str else [""]
        for part in parts[:-1]:
            owner = _vars(owner).get(part) if _type(owner) is types.ModuleType or isinstance(owner, type) else None
        if not isinstance(owner, type) and owner is not module:
            continue
        original = _vars(owner).get(parts[-1])
        if _type(original) is not _function_type:
            continue  # a property, a staticmethod: its later calls wait as before
        if not _stopper:
            made = {"__builtins__": _shared_builtins, "__name__": "kit_stop"}
            exec(_STOPPER, made)
            _stopper.append(made["make"])
        _put(owner, parts[-1], _stopper[0](f"{module_name}:{function}"))
        STOPS[(module_name, function)] = (owner, parts[-1], original)


def _put(owner, attribute, value):
    if _type(owner) is types.ModuleType:
        _vars(owner)[attribute] = value
    else:
        _set_on_class(owner, attribute, value)


_stopper = []


def set_base(base):
    """Take the handshake's known-good base, compiled before any learner code runs."""
    modules = {name: compile(text, f"<the kit's {name}>", "exec") for name, text in base.get("modules", {}).items()}
    BASE["modules"], BASE["patch"] = modules, list(base.get("patch", ()))
    BASE["line"] = [str(form) for form in base.get("line", ())]
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
            own = _join(IMPL, *base_name.split(".")) + ".py"
            if base_name not in HUNG and _isfile(own):
                vars(module)["__getattr__"], value_getattr = _fallback(own, base_name, vars(module))
                if isinstance(vars(module).get("Value"), type):
                    vars(module)["Value"].__getattr__ = value_getattr
    return _import_module(name)


# What the base's module lacks comes from the learner's own file, run once on first need, its names
# made the kit's where the kit has them (so that a function of theirs makes the kit's Values): a name
# their nn.py or train.py imports (a type alias, a function), and a public attribute of their Value that
# the kit's has not (loss.item()). Without it, a mistake of 05 would cost check-06 every point at
# `from micrograd.engine import Number, Value`, and check-07 its training at `loss.item()`. Compiled
# apart, on the learner's builtins: nothing of the worker's is reachable from it.
_FALLBACK = compile(
    """
def make(path, module, kit):
    loaded = []

    def learners():
        if not loaded:
            names = {"__name__": module, "__file__": path}
            try:
                with open(path, encoding="utf-8") as f:
                    exec(compile(f.read(), path, "exec"), names)
            except Exception:
                pass
            loaded.append(names.get("Value"))
            names.update({k: v for k, v in kit.items() if not k.startswith("__")})
            loaded.append(names)
        return loaded

    def __getattr__(attr):
        if not attr.startswith("__") and attr in learners()[1]:
            return learners()[1][attr]
        raise AttributeError(f"module {module!r} has no attribute {attr!r}")

    def value_getattr(self, attr):
        own = learners()[0] if not attr.startswith("_") else None
        for cls in getattr(own, "__mro__", ())[:-1]:
            if attr in vars(cls):
                found = vars(cls)[attr]
                return found.__get__(self, type(self)) if hasattr(found, "__get__") else found
        raise AttributeError(f"'Value' object has no attribute {attr!r}")

    return __getattr__, value_getattr
""",
    "<the kit's fallback to the learner's module>",
    "exec",
)
_join, _isfile = os.path.join, os.path.isfile


def _fallback(path, module, kit):
    made = {"__builtins__": _shared_builtins, "__name__": "kit_fallback"}
    exec(_FALLBACK, made)
    return made["make"](path, module, kit)


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
        ops["patch"](module.Value, list(BASE["patch"]), list(BASE["line"]))
    return module


_patched = []


def number(x):
    """A float for numbers; a short description for anything else."""
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return float(x)
    return f"<{type(x).__name__}>"


def _nothing(self):
    pass


def does_nothing(f):
    """Whether `f` is a function whose body does nothing (pass, a docstring, return None): a stub whose
    raise was only taken out. Its bytecode is `_nothing`'s (compiled by the same Python), but for where
    None is among its constants (a docstring comes first)."""
    if type(f) is not types.FunctionType:
        return False
    code, empty = f.__code__, _nothing.__code__
    if len(code.co_code) != len(empty.co_code):
        return False
    for i in range(0, len(empty.co_code), 2):
        op, arg, want = code.co_code[i], code.co_code[i + 1], empty.co_code[i + 1]
        if op != empty.co_code[i] or (
            arg != want
            and not (arg < len(code.co_consts) and code.co_consts[arg] is None and empty.co_consts[want] is None)
        ):
            return False
    return True
