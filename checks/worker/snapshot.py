"""What the worker relies on outside its own closures: builtins and the standard-library modules its
code calls into, copied before any learner code runs.

Learner code can reach every module it can import, and a module's attributes are not audited
(PEP 578 has no event for `math.isfinite = ...`), so the worker compares them instead: `take`
copies the attributes of each module, and the `audit()` it returns compares them by identity,
puts back whatever was rebound, deleted or added, and names it ("math.isfinite was rebound").
Nothing here is a module global `audit` relies on: its state lives in the closure.
"""

import itertools
import operator
import sys

# Attributes that honest code and the interpreter itself set, and that the worker never reads.
STATE = {"sys": frozenset("stdin stdout stderr path last_type last_value last_traceback last_exc ps1 ps2".split())}
EVERY = frozenset({"__warningregistry__"})  # what warnings.warn(..., stacklevel=2) adds to its caller's module
# What the worker calls into beyond the modules its code names: what os.path.realpath calls.
ALSO = ("os.path", "genericpath", "stat")


def relied_on(worker_modules):
    """[(name, module)]: builtins, every module that the worker's modules hold as a global (but
    their own package), and ALSO."""
    module_type, own = type(sys), worker_modules[0].__name__.partition(".")[0]
    found = {"builtins": sys.modules["builtins"]}
    for mod in worker_modules:
        for value in list(vars(mod).values()):
            if type(value) is module_type and value.__name__.partition(".")[0] != own:
                found.setdefault(value.__name__, value)
    for name in ALSO:
        found[name] = sys.modules[name] if name != "os.path" else sys.modules["os"].path  # posixpath or ntpath
    found.pop(sys.modules["os"].path.__name__, None)
    return sorted(found.items())


def take(modules):
    """Copy the attributes of `modules` ([(name, module)]); returns audit(), which puts back what
    changed since and hands it over as sentences ([] when nothing did)."""
    is_, all_, map_, compress, len_of = operator.is_, all, map, itertools.compress, len
    list_of, tuple_of, dict_of, str_type, module_type, loaded = list, tuple, dict, str, type(sys), sys.modules
    held = []

    def hold(entry, live):
        """Remember `live` as it is now: its items, and which positions are compared (None: all)."""
        skip = entry[1]
        mask = [k not in skip for k in live] if not skip.isdisjoint(live) else None
        entry[3:] = [dict_of(live), tuple_of(live), tuple_of(live.values()), mask]

    for name, module in modules:
        entry = [name, STATE.get(name, frozenset()) | EVERY, vars(module)]
        hold(entry, entry[2])
        held.append(entry)

    def changes(name, skip, saved, kept):
        """Sentences for what differs between `kept` (the module's items now) and `saved`, and the
        items to put back; a submodule imported since (json.tool) stays, as honest imports add it."""
        found, now = [], {}
        for key, value in kept:
            if type(key) is str_type:
                now[key] = value
            else:
                found.append(f"{name} was given an attribute whose name is not a string")
        back = {}
        for key, value in saved.items():
            if key in skip:
                if key in now:
                    back[key] = now[key]
            elif key not in now:
                found.append(f"{name}.{key} was deleted")
                back[key] = value
            else:
                if now[key] is not value:
                    found.append(f"{name}.{key} was rebound")
                back[key] = value
        for key, value in now.items():
            if key in saved:
                continue
            if key in skip or (type(value) is module_type and loaded.get(f"{name}.{key}") is value):
                back[key] = value
            else:
                found.append(f"{name}.{key} was added")
        return found, back

    def audit(dropped=None):
        """What changed, as sentences; what was taken out of a module is appended to `dropped` (kept
        alive for the caller to let go) where it is given, else let go here."""
        found = []
        for entry in held:
            name, skip, live, saved, keys, values, mask = entry
            if len_of(live) == len_of(keys) and all_(map_(is_, live, keys)):
                now = live.values() if mask is None else compress(live.values(), mask)
                if all_(map_(is_, now, values if mask is None else compress(values, mask))):
                    continue
            kept = list_of(live.items())  # holds every value: nothing is freed (no __del__ runs) mid-repair
            what, back = changes(name, skip, saved, kept)
            live.clear()
            live.update(back)
            hold(entry, live)
            found.extend(what)
            if dropped is not None:
                dropped.append(kept)
            del kept
        return found

    return audit
