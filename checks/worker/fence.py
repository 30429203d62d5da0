"""The worker's audit hook (PEP 578): what code under test may not do, from inside the worker.

`install` adds a hook that stays for the life of the process (hooks cannot be removed) before any
learner code runs, and it applies to every line run afterwards, the worker's included. Refused,
and recorded as tampering: walking the call stack (`sys._getframe`, a traceback's `tb_frame`, a
generator's `gi_frame`), the garbage collector's object lists, tracing and profiling, ctypes,
opening files for writing (or for reading outside the tree, the worker and the standard library),
starting or signalling processes, sockets, changing files, and changing the code or defaults of a
function of the kit or the standard library (`os.path.realpath.__code__ = ...`). Refused without
blame: importing a module micrograd does not need (the learner gets the ModuleNotFoundError a
Python without it would give, at a laptop exactly as in a grader's sandbox). Nothing here is a
module global the hook relies on: its state lives in the closure. The modules its path checks call
into (os.path, os, stat, builtins) are compared with a copy before every check that reads a path,
so rebinding `os.lstat` for a moment cannot make a file outside the tree look inside it; what
that puts back is let go only once the hook has ended its own calls (which it lets through), so a
learner's `__del__` never runs where the hook is blind.
"""

import _thread
import builtins
import genericpath
import os
import stat
import sys
import sysconfig

from .snapshot import take as copy_of
from .staged import outside_staging

# What code under test may import by name: the standard library's pure computation, and what a
# learner's script reaches for around it (argparse, logging, pathlib, csv); what does harm is refused
# by its audit events, whoever imports it. The standard library imports what it needs itself.
ALLOWED = frozenset(
    """__future__ abc argparse array base64 bisect calendar cmath collections contextlib copy copyreg csv
    dataclasses datetime decimal enum fnmatch fractions functools glob graphlib hashlib heapq io itertools
    json logging math numbers operator os pathlib pickle pprint random re reprlib statistics string struct
    sys textwrap time timeit traceback types typing unicodedata warnings weakref""".split()
)
TAMPERING_IMPORTS = frozenset({"ctypes", "_ctypes"})  # a module whose only use here is reaching into memory
# Start processes or make files without an audit event (fork_exec, under subprocess and multiprocessing;
# shm_open, named semaphores, readline's history, dbm): refused whoever imports them, since the standard
# library imports any module by name for its caller (warnings' filter options, pickle).
FILES = ("_posixshmem", "_multiprocessing", "readline", "_dbm", "_gdbm", "_sqlite3")
SPAWNING_IMPORTS = {
    "_posixsubprocess": "start a process (_posixsubprocess)",
    **{m: f"change files ({m})" for m in FILES},
}
# CPython's own test modules and interpreters (_testcapi, _xxsubinterpreters, ...): refused whoever imports them.
INTERNAL_IMPORTS = ("_test", "_xx", "_interp")
# Standard-library functions that read their caller's frame for its module name, and nothing more, by
# name and file (co_name: Python 3.10 has no co_qualname, and enum's class was EnumMeta there). 3.10's
# typing reads it inline, in TypeVar's and ParamSpec's __init__ (run as typing is imported) and more.
FRAME_READERS = frozenset(
    {("namedtuple", "__init__.py"), ("_create_", "enum.py"), ("_caller", "typing.py")}
    | {(name, "typing.py") for name in ("__init__", "_allow_reckless_class_checks", "NamedTuple", "TypedDict")}
)
# Standard-library code that asks for a frame only to name a caller, and does without where there is
# none (ValueError): logging's currentframe, for a record's file and function. It is told there is
# none, so a learner's logging.warning() logs, and hands no frame to code that could pass it on.
FRAME_OPTIONAL = frozenset({("<lambda>", os.path.join("logging", "__init__.py"))})
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "f_globals", "f_locals"})
REFUSED = {
    "sys._getframe": "walk the call stack (sys._getframe)",
    "sys._current_frames": "walk the call stack (sys._current_frames)",
    "sys._current_exceptions": "walk the call stack (sys._current_exceptions)",
    "sys.settrace": "trace the worker (sys.settrace)",
    "sys.setprofile": "profile the worker (sys.setprofile)",
    "sys.monitoring.register_callback": "watch the worker run (sys.monitoring)",  # Python 3.12+
    "sys.addaudithook": "add an audit hook",
    "gc.get_objects": "list the worker's objects (gc.get_objects)",
    "gc.get_referrers": "list the worker's objects (gc.get_referrers)",
    "gc.get_referents": "list the worker's objects (gc.get_referents)",
    "subprocess.Popen": "start a process",
    "os.system": "start a process (os.system)",
    "os.posix_spawn": "start a process",
    "os.spawn": "start a process",
    "os.exec": "replace the worker (os.exec*)",
    "os.fork": "fork the worker",
    "os.forkpty": "fork the worker",
    "os.kill": "signal a process (os.kill)",
    "os.killpg": "signal a process group (os.killpg)",
    "pty.spawn": "start a process",
    "mmap.__new__": "map memory (mmap)",
    "os.mkdir": "change files",
    "os.remove": "change files",
    "os.rename": "change files",
    "os.rmdir": "change files",
    "os.symlink": "change files",
    "os.link": "change files",
    "os.truncate": "change files",
    "os.chmod": "change files",
    "os.chown": "change files",
    "os.utime": "change files",
    "os.setxattr": "change files",
    "os.removexattr": "change files",
    "resource.prlimit": "change another process's limits",
    "cpython.PyInterpreterState_New": "start an interpreter of its own (which has no audit hook)",
    # Raised by the kit's own replacements of levers that hand out frames unaudited (checks/worker/levers.py).
    "kit.signal.signal": "install a signal handler (signal.signal)",
    "kit.gc.set_debug": "keep what the collector frees (gc.set_debug)",
    "kit.gc.enable": "turn the collector on (gc.enable)",
    "kit.create_builtin": "make a fresh copy of a built-in module (_imp.create_builtin)",
    "kit.os.mknod": "change files (os.mkfifo, os.mknod)",
}
REFUSED_PREFIXES = (("ctypes.", "use ctypes"), ("socket.", "use the network"), ("shutil.", "change files"))
# A function's parts whose change PEP 578 reports (object.__setattr__ / __delattr__).
FUNCTION_PARTS = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
HARMLESS_READS = frozenset({os.devnull, "/dev/urandom"})


def standard_library():
    """The standard library's folders (site-packages excluded, by the caller)."""
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")} | {os.path.dirname(os.__file__)}
    return tuple(sorted({os.path.realpath(p) + os.sep for p in paths if p}))


def install(impl, here, trusted):
    """Add the hook; returns take(), which hands over (and forgets) what was refused as tampering.

    `impl` and `here` are real paths (the tree graded, the worker's folder); `trusted` holds the
    code objects of the worker's own functions that may read a traceback's frames."""
    getframe, ident, realpath, fsdecode = sys._getframe, _thread.get_ident, os.path.realpath, os.fsdecode
    basename, abspath = os.path.basename, os.path.abspath  # "/" is not the only separator (Windows)
    str_type, int_type, bytes_type, frozen, function_type = str, int, bytes, "<frozen ", type(install)
    type_of, len_of, any_of = type, len, any
    optional, sep = FRAME_OPTIONAL, os.sep
    frame_readers, frame_attributes = FRAME_READERS, FRAME_ATTRIBUTES
    write_flags, harmless_reads = WRITE_FLAGS, HARMLESS_READS
    function_parts, kit_or_stdlib = FUNCTION_PARTS, ("worker", "stdlib", "machinery")
    path_modules = [
        ("builtins", builtins),
        ("os", os),
        ("os.path", os.path),
        ("genericpath", genericpath),
        ("stat", stat),
    ]
    paths_changed = copy_of(path_modules)
    stdlib = standard_library()
    packages = tuple(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    packages = tuple(realpath(p) + os.sep for p in packages)
    machinery = os.path.dirname(os.path.realpath(sys.modules["importlib"].__file__)) + os.sep
    learner_root, worker_root, staged_out = impl + os.sep, here + os.sep, outside_staging(impl + os.sep)
    local = frozenset(
        name[:-3] if name.endswith(".py") else name
        for name in os.listdir(impl)
        if name.endswith(".py") or os.path.isdir(os.path.join(impl, name))
    )
    refused_events, prefixes, allowed, trusted = dict(REFUSED), REFUSED_PREFIXES, ALLOWED, frozenset(trusted)
    tampering, spawning, internal = TAMPERING_IMPORTS, SPAWNING_IMPORTS, INTERNAL_IMPORTS
    refusals, busy = [], set()
    # What trust_paths took out of a module (a learner's object), let go only once the hook is no
    # longer blind: a __del__ it runs is then judged like any other code.
    dropped = []

    def note(what):
        if len_of(refusals) < 20 and what not in refusals:
            refusals.append(what)

    def trust_paths():
        """Put back (and record) whatever realpath relies on that was rebound since the start."""
        for what in paths_changed(dropped):
            note(what)

    def place(filename):
        if type_of(filename) is not str_type:
            return "other"
        if filename.startswith(frozen):
            return "machinery" if filename.startswith("<frozen importlib") else "stdlib"
        path = realpath(filename)
        if path.startswith(learner_root):
            return "learner"
        if path.startswith(worker_root):
            return "worker"
        if path.startswith(machinery):
            return "machinery"
        if path.startswith(stdlib) and not path.startswith(packages):
            return "stdlib"
        return "other"

    def compiled_as(path):
        """The module a compiled module's file initialises, whatever name it is imported under."""
        trust_paths()
        return basename(path).partition(".")[0] if type_of(path) is str_type else None

    def importer(frame):
        """Where an import comes from: the first frame outside the import machinery."""
        trust_paths()
        while frame is not None:
            where = place(frame.f_code.co_filename)
            if where != "machinery":
                return where
            frame = frame.f_back
        return "other"

    def refuse(what):
        note(what)
        raise PermissionError(f"refused by the kit: code under test may not {what}")

    def reads_frames(frame):
        """Whether this caller may read frames: the worker's own traceback reader, or a standard
        library function that only looks up its caller's module name."""
        code = frame.f_code
        if code in trusted:
            return True
        trust_paths()
        name = basename(code.co_filename) if type_of(code.co_filename) is str_type else ""
        return (code.co_name, name) in frame_readers and place(code.co_filename) == "stdlib"

    def frame_optional(frame):
        code = frame.f_code
        trust_paths()
        name = code.co_filename if type_of(code.co_filename) is str_type else ""
        return any_of(code.co_name == n and name.endswith(sep + tail) for n, tail in optional) and (
            place(name) == "stdlib"
        )

    def opened(args):
        path, mode, flags = args[0], args[1], args[2]
        writes = (type_of(mode) is str_type and any_of(c in mode for c in "wax+")) or (
            mode is None and type_of(flags) is int_type and flags & write_flags
        )
        if type_of(path) is int_type:
            refuse(f"open file descriptor {path}")
        trust_paths()
        name = fsdecode(path) if type_of(path) in (str_type, bytes_type) else None
        if name is None:
            refuse("open a file given as an object")
        if writes:
            refuse(f"open a file for writing ({name[:200]})")
        if why := staged_out(abspath(name)):  # a file of the tree that a grader leaves out: no tampering
            raise FileNotFoundError(why)
        full = realpath(name)
        if full in harmless_reads or full.startswith((learner_root, worker_root, *stdlib)):
            return
        refuse(f"read a file outside the tree graded ({name[:200]})")

    def check(event, args, caller):
        if event in refused_events:
            if event.startswith("sys._") and reads_frames(caller):
                return
            if event == "sys._getframe" and frame_optional(caller):
                raise ValueError("call stack is not deep enough")  # logging then names no caller
            refuse(refused_events[event])
        for prefix, what in prefixes:
            if event.startswith(prefix):
                refuse(what)
        if event == "object.__getattr__":
            if args[1] in frame_attributes and not reads_frames(caller):
                refuse(f"read a frame ({args[1]})")
        elif event == "object.__setattr__" or event == "object.__delattr__":
            target, part = args[0], args[1]
            if type_of(target) is function_type and part in function_parts:
                code = target.__code__
                trust_paths()
                if place(code.co_filename) in kit_or_stdlib:
                    name = code.co_name if type_of(code.co_name) is str_type else "?"
                    refuse(f"change a function of the kit or the standard library ({name}.{part})")
        elif event == "open":
            opened(args)
        elif event == "import":
            name = args[0]
            top = name.partition(".")[0] if type_of(name) is str_type else ""
            if args[1] is not None and not (type_of(name) is str_type and compiled_as(args[1]) == name):
                refuse("load a compiled module under another name")  # its init function is named by its file
            if top in spawning:
                refuse(spawning[top])
            if top.startswith(internal):
                refuse(f"load one of CPython's own test modules or interpreters ({top})")
            if top in tampering and importer(caller) not in ("worker", "stdlib"):
                refuse("use ctypes")
            if top in allowed or top in local or importer(caller) in ("worker", "stdlib"):
                return
            raise ModuleNotFoundError(
                f"No module named {name!r} here: the checks run your code with part of Python's standard library "
                "(math, random, logging, argparse and the like: ALLOWED in checks/worker/fence.py), and nothing else",
                name=name,
            )

    def hook(event, args):
        if event == "builtins.id" or event == "exec" or event == "compile":
            return  # the frequent ones first: id() runs in every probe
        me = ident()
        if me in busy:
            return  # the hook's own calls (sys._getframe)
        busy.add(me)
        try:
            check(event, args, getframe(1))
        finally:
            busy.discard(me)
            if dropped:
                dropped.clear()

    def take():
        found = list(refusals)
        refusals.clear()
        return found

    sys.addaudithook(hook)
    return take
