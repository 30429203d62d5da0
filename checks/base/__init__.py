"""The known-good base: what a check runs on where an exercise it builds on does not work yet.

Each check grades its own exercise (error carried forward, docs/checks.md). Where a gate
(checks/gates.py) finds an earlier exercise broken, the check's probes go to a worker of their own
that runs on the kit's code for that exercise instead of the learner's:

- 04 and 05 live in engine.py beside + and *: where 02 or 03 is broken, the kit's + and * (ops.py)
  are put onto the learner's own Value, so that the learner's backward() and operations are judged
  on sums and products that are right.
- 06 and 07 live in files of their own: where any of 02-05 is broken, the kit's engine.py stands
  in for the learner's; for 07, where 06 is broken, the kit's nn.py too. A name that the kit's module
  lacks, and a public attribute that the kit's Value lacks (`loss.item()`), come from the learner's
  own file (checks/worker/guard.py, `_FALLBACK`), so code of 06 and 07 that uses them still runs.
- The kit's + and * keep what the learner's Value does per node where they can: a `_backward` that
  is a method of the class stays (a class per operation, a grad_fn run by a bound method), and where
  `__slots__` leave no room to set `out._backward`, their nodes are of a same-named subclass with one.
- 03 needs no base: its tests judge the learner's _backward against the data the learner's own
  + and * gave (checks/numerics.py, `backprop` with `values`).
- 05's line that wraps plain numbers (`other = other if isinstance(other, Value) else Value(other)`)
  sits inside 02's + and *: where it wraps a Value too (`wraps-value`), checks 02-04 run with the
  kit's (ops.py, `unwrap`), and check-05, on the learner's own, charges it. Where check-05 runs on
  the kit's + and *, they wrap operands as the learner's own do (LINE), so the line is still graded.

engine.py and nn.py here are the reference, written by `python -m kit stubs` from solutions/ (do
not edit them by hand). The judge sends their text to a base worker in its handshake, so no
learner code graded on its own engine ever runs where it could read them. A submission whose
engine.py is this one line for line (comments and spacing aside) is marked for review by the grader
(kit/instructor/scan.py); a copy with names changed, or a copied nn.py (a network written from the
lecture is the reference's by nature), is not told apart from the learner's own.
"""

import dataclasses
from pathlib import Path

from kit.exercises import EXERCISES

HERE = Path(__file__).resolve().parent
ENGINE = ("02", "03", "04", "05")  # the exercises of micrograd/engine.py
MODULES = {"micrograd.engine": "engine.py", "micrograd.nn": "nn.py"}


@dataclasses.dataclass(frozen=True)
class Base:
    """The kit's code a check runs on: `kit` the exercises it stands in for (as the report says),
    `modules` the learner modules replaced whole, `patch` the exercises whose + and * go onto the
    learner's own Value ("05": only the line that wraps plain numbers), `line` how the kit's + and *
    then wrap operands as the learner's own do (LINE)."""

    kit: tuple = ()
    modules: tuple = ()
    patch: tuple = ()
    line: tuple = ()  # for check-05 on the kit's + and *: 05's line as the learner's own has it (LINE)

    def __bool__(self):
        return bool(self.modules or self.patch)

    def handshake(self):
        """What the worker is told (checks/worker/guard.py, set_base)."""
        return {
            "modules": {name: (HERE / MODULES[name]).read_text(encoding="utf-8") for name in self.modules},
            "patch": list(self.patch),
            "line": list(self.line),
            "ops": (HERE / "ops.py").read_text(encoding="utf-8") if self.patch else "",
        }


OWN = Base()


UNWRAPPED = ("02", "03", "04")  # the checks that run with the kit's wrapping line where the learner's wraps Values
# 05's line as the learner's own + and * have it, as a first look finds it (checks/gates.py): "add value",
# + wraps an operand that is already a Value in another Value; "add int", "mul float" and so on, + or *
# refuses a plain number of that type while it takes a Value. Where check-05 runs on the kit's + and *,
# they do the same, so that the line is still graded, in its own check.
LINE = ("add value", "mul value", "add int", "add float", "mul int", "mul float")


def base_for(ex, closed, line=()):
    """The base check `ex` runs on, given the exercises whose gates are `closed`, and 05's line as
    the learner's + and * have it (LINE)."""
    broken = tuple(d for d in EXERCISES[ex].builds_on if d in closed)
    unwrap = ("05",) if {"add value", "mul value"} & set(line) and ex in UNWRAPPED else ()
    if ex in ENGINE:
        patch = tuple(d for d in broken if d in ("02", "03")) if ex != "03" else ()
        own = tuple(sorted(line)) if ex == "05" and patch else ()
        return Base(kit=patch + unwrap, patch=patch + unwrap, line=own) if patch or unwrap else OWN
    if not broken:
        return OWN
    modules = ("micrograd.engine",) if any(d in ENGINE for d in broken) else ()
    modules += ("micrograd.nn",) if "06" in broken else ()
    return Base(kit=broken, modules=modules)


def plan(checks, closed, line=(), looked=()):
    """The bases a run of `checks` calls on, in order, should the gates `closed` close: before each
    check, the gates of what it builds on that were not `looked` at yet (each on the base of its own
    exercise's check), then the check itself."""
    bases, looked = [], set(looked)
    for ex in checks:
        gates = sorted(set(EXERCISES[ex].builds_on) - looked)
        looked.update(gates)
        bases += [base_for(dep, closed, line) for dep in [*gates, ex]]
    return bases


def describe(base):
    """'the kit's engine.py', 'the kit's + and *', for the report and the banners."""
    parts = [f"the kit's {MODULES[name]}" for name in base.modules]
    if set(base.patch) & {"02", "03"}:
        parts.append("the kit's + and *")
    if "05" in base.patch:
        parts.append("the kit's line that wraps plain numbers in a Value")
    return " and ".join(parts)
