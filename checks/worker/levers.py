"""The interpreter's levers that hand code under test a frame, or run it where the audit hook is
blind, without any audit event of their own (Python 3.10-3.13): each is replaced, before any learner
code runs, by a function that raises an audit event of the kit's, which the hook refuses.

- `signal.signal` (and `_signal.signal`, which signal's `__wrapped__` also names): a Python signal
  handler is called with the frame it interrupts, and `f_back` is never audited; a handler that
  fires while the hook runs reaches the hook's own closures.
- `gc.set_debug`: with DEBUG_SAVEALL the collector keeps what it frees in `gc.garbage`, a finished
  frame (and its `f_back`) among it.
- `gc.enable`: the worker runs each probe with the collector off; on, it may run a learner's
  `__del__` in the middle of the hook, whose own calls it lets through.
- `os.mkfifo` and `os.mknod` (and posix's): they make files, with no audit event.
- `_imp.create_builtin` for these modules: a fresh copy of `_signal`, `gc` or `posix` would hold the
  functions above unreplaced (and one of `_imp`, this one).

Honest micrograd code uses none of them. The originals live only in the closures made here.
"""

import _imp
import _signal
import gc
import os
import signal
import sys

# The kit's audit events, refused by checks/worker/fence.py.
SIGNAL, SAVE, COLLECT, FRESH = "kit.signal.signal", "kit.gc.set_debug", "kit.gc.enable", "kit.create_builtin"
NODE = "kit.os.mknod"
SHUT = frozenset({"_signal", "gc", "_imp", "posix"})  # no fresh copy of these


def _maker(create, shut_names, spec_type):
    """A generator that makes a fresh built-in module by name (None for the names in shut_names):
    the original create_builtin lives in its frame, which no learner code can read (gi_frame is
    refused), where a closure's cell would hand it out."""
    str_type, type_of, base_exception, made = str, type, BaseException, None
    while True:
        name = yield made
        if type_of(name) is not str_type or name in shut_names:
            made = None
            continue
        spec = spec_type()
        spec.name = name
        try:
            made = (True, create(spec))
        except base_exception as e:  # noqa: BLE001 - the import machinery's own error, raised in its place
            made = (False, e)
            del e


class _Spec:
    """What create_builtin reads of a spec: its name, read once (a learner's spec could change it)."""

    __slots__ = ("name",)


def shut(audit):
    """Replace each lever by a refusal; `audit` is sys.audit, bound before any learner code runs."""
    str_type, type_of, shut_names = str, type, SHUT
    maker = _maker(_imp.create_builtin, SHUT, _Spec)
    make = maker.send
    make(None)

    def refuse(event, *args):
        audit(event, *args)  # the hook refuses it and records what was tried
        raise PermissionError(f"refused by the kit: code under test may not use {event[4:]}")

    def refused_signal(signalnum, handler):
        refuse(SIGNAL, signalnum)

    def refused_debug(flags):
        refuse(SAVE, flags)

    def refused_enable():
        refuse(COLLECT)

    def refused_node(path, *args, **kwargs):
        refuse(NODE)

    def create_builtin(spec):
        name = spec.name
        if type_of(name) is not str_type or name in shut_names:
            refuse(FRESH, name if type_of(name) is str_type else "?")
        made = make(name)
        if made is None:
            refuse(FRESH, name)
        if not made[0]:
            raise made[1]
        return made[1]

    for module in (signal, _signal):
        module.signal = refused_signal
    gc.set_debug, gc.enable = refused_debug, refused_enable
    for module in (os, sys.modules.get("posix")):  # no posix on Windows, nor these functions
        for name in ("mkfifo", "mknod"):
            if hasattr(module, name):
                setattr(module, name, refused_node)
    _imp.create_builtin = create_builtin
