"""The worker: the process in which learner code runs.

Started by checks/process.py (launch, for checks/client.py) as `python -S main.py IMPL IMPORT_TIMEOUT` (no site:
the standard library only).
The first line on stdin is the handshake, `{"key": hex, "mark": text, "base": {...}}`: a key for this process
alone, the mark that ends each probe's printed output, and the known-good base it runs on, if any
(checks/base/__init__.py). Then it reads one JSON request a line, `{"probe": name, "args": {...}, "time":
seconds, "hung": [module], "stop": [[module, function]]}`, runs that probe, and writes one reply a line to its
own stdout, which it keeps on a private descriptor before any learner code runs: `MAC BODY`, where BODY is
`{"ok": result}`, `{"error": {...}}`, `{"tampered": [what]}` or `{"hung": {...}}` and MAC is a keyed BLAKE2b
of the reply's number and BODY. Whatever the learner's code prints goes to fds 1 and 2, both the stderr pipe,
which the judge drains itself. A crash (os._exit, a segfault) simply ends the process; the client notices and
says so.

Two threads of its own (watch.py) read the requests (stdin's end ends the process: the judge is gone) and, for
a probe past its time, reply with the learner function still running.

Learner code can reach this module (sys.modules["__main__"]) but nothing it relies on: the key, the reply
pipe, the encoder (wire.py) and the probes live in the closures of `serve`, bound before the audit hook
(checks/worker/fence.py) goes in and before any learner code runs. The worker's package runs on a copy of
builtins of its own, and after every probe the builtins and standard-library modules it relies on are compared
with a copy taken before any learner code ran (checks/worker/snapshot.py): whatever was rebound is put back
and the reply says what, as it says what the audit hook refused.
"""

import _queue
import _thread
import builtins
import faulthandler
import gc
import os
import random
import signal  # noqa: F401 - loaded before learner code, as it always was: importing it is not refused
import sys
import time
from _blake2 import blake2b  # hashlib.blake2b itself, without the OpenSSL hashlib loads (3 ms a start)
from importlib._bootstrap import module_from_spec  # importlib.util's, without its imports (3 ms a start)
from importlib._bootstrap_external import spec_from_file_location

HERE = os.path.dirname(os.path.realpath(__file__))
PACKAGE = "_kit_worker"  # a name no learner file can take: the package is loaded by path
TEXT_LIMIT = 1000  # characters of an error message
# A probe that made this many objects (the 100,000-node chain makes 700,000, all in reference cycles)
# leaves them to the end of the worker rather than to the collector, up to FREEZE_BUDGET in all.
FREEZE_AFTER, FREEZE_BUDGET = 300_000, 1_000_000


# The package's modules in the order they load; then every probes_NN.py, in turn (a probe module
# builds only on earlier ones).
ORDER = ("guard", "functions", "graphs", "snapshot", "staged", "fence", "frames", "places", "watch", "wire", "levers")
SHARED_BUILTINS = ("functions",)  # its functions are handed to learner code, so its builtins are the learner's


def load_package():
    """This folder as a package, loaded by path where learner code cannot shadow it, and on a copy
    of builtins that learner code cannot reach (rebinding `builtins.isinstance` changes no name the
    worker looks up); returns its modules by short name."""
    private = dict(vars(builtins))
    probes = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("probes_") and f.endswith(".py"))

    def module(name, filename, search=None):
        spec = spec_from_file_location(name, os.path.join(HERE, filename), submodule_search_locations=search)
        mod = module_from_spec(spec)
        if name.rpartition(".")[2] not in SHARED_BUILTINS:
            mod.__builtins__ = private  # exec keeps it: every function defined in the module looks names up here
        sys.modules[name] = mod
        return spec, mod

    package_spec, package = module(PACKAGE, "__init__.py", [HERE])
    # Compiled once into __pycache__ where it may be (15 ms of every start); learner code never is
    # (the finally below, before any learner code runs).
    sys.dont_write_bytecode = False
    try:
        loaded = {}
        for name in [*ORDER, *probes]:
            spec, loaded[name] = module(f"{PACKAGE}.{name}", f"{name}.py")
            setattr(package, name, loaded[name])
            spec.loader.exec_module(loaded[name])
        package_spec.loader.exec_module(package)
        shared = [
            name
            for name, mod in sys.modules.items()
            if name.startswith(PACKAGE + ".")
            and vars(mod).get("__builtins__") is not private
            and name.rpartition(".")[2] not in SHARED_BUILTINS
        ]
        if shared:
            raise ImportError(f"{', '.join(shared)} loaded on the shared builtins: add it to ORDER in main.py")
        return loaded
    finally:
        sys.dont_write_bytecode = True
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]  # out of the learner's reach in sys.modules


def serve(impl, import_timeout, requests, handshake, reply_fd, out_fd):
    """Bind everything, install the audit hook, then answer requests until stdin ends."""
    worker = load_package()
    read, encode, plain = worker["wire"].read, worker["wire"].write, worker["wire"].plain
    handshake = read(handshake)
    guard, fence, snapshot, frames = worker["guard"], worker["fence"], worker["snapshot"], worker["frames"]
    walk, places, watch = frames.tracer(), worker["places"], worker["watch"]
    places.ROOT = root = impl + os.sep
    learner_frames = places.learner_frames
    sample = watch.sampler(_thread.get_ident())
    sys.path.insert(0, impl)  # nothing imports until the hook is in, which judges every import after it
    gc_disable, gc_enable, gc_count, gc_freeze = gc.disable, gc.enable, gc.get_count, gc.freeze
    seed_random = random.seed  # random's own generator, seeded before every probe (run, below)
    # Before the hook and the snapshot copy the modules: what it replaces is then what they put back.
    worker["levers"].shut(sys.audit)
    take = fence.install(impl, HERE, [walk.__code__, sample.__code__])
    guard.IMPL, guard.IMPORT_TIMEOUT = impl, import_timeout
    guard.set_base(handshake.get("base") or {})
    probes, timeout_type, hung, set_stops = dict(guard.PROBES), guard.ImportTimeout, guard.HUNG, guard.set_stops
    # What the worker's code calls at probe time (the audit hook and the snapshot bind theirs).
    relied = snapshot.relied_on(
        [m for n, m in worker.items() if n not in ("fence", "snapshot")] + [sys.modules[__name__]]
    )
    audit = snapshot.take([*relied, *((f"checks.worker.{name}", mod) for name, mod in worker.items())])
    key, mark = bytes.fromhex(handshake["key"]), b"\0" + str(handshake["mark"]).encode("ascii") + b":"

    # Everything below is bound now: learner code may rebind json, os, gc, hashlib or builtins,
    # and none of it changes what these names mean.
    mac = blake2b
    write, realpath, sep, monotonic = os.write, os.path.realpath, os.sep, time.monotonic
    get = (inbox := _queue.SimpleQueue()).get
    str_type, int_type, float_type, type_type, dict_type = str, int, float, type, dict
    base_exception, type_error, value_error = BaseException, TypeError, ValueError
    syntax_error, system_exit, recursion_error = SyntaxError, SystemExit, RecursionError
    name_of = type.__dict__["__name__"].__get__
    traceback_of = BaseException.__dict__["__traceback__"].__get__
    syntax = {k: SyntaxError.__dict__[k].__get__ for k in ("filename", "lineno", "text")}
    exit_code = SystemExit.__dict__["code"].__get__
    join, text_of, repr_of, len_of, is_a = "".join, str, repr, len, isinstance
    flushes = (sys.stdout.flush, sys.stderr.flush)

    def flush():
        """What was printed goes down the pipe before the reply is written (the judge relies on it)."""
        for f in flushes:
            try:
                f()
            except base_exception:  # noqa: BLE001, S110 - a closed or broken stream loses only the learner's text
                pass

    def safe_text(get, limit=TEXT_LIMIT):
        try:
            text = get()
            return join([text])[:limit] if is_a(text, str_type) else "?"
        except base_exception:  # noqa: BLE001 - a learner's __str__ may raise anything
            return "<the message could not be read>"

    def error(e):
        kind = name_of(type_type(e))
        info = {"type": kind, "message": frames.message(safe_text(lambda: text_of(e)))}
        recursed = type_type(e) is recursion_error
        if recursed:
            info["message"] = frames.RECURSION
        steps, repeats = learner_frames(walk(traceback_of(e)), recursed)
        info["where"], info["frames"], info["repeats"] = (steps[-1] if steps else None), steps[-3:], repeats
        if is_a(e, syntax_error):
            filename, line, text = (syntax[k](e) for k in ("filename", "lineno", "text"))
            path = realpath(filename) if type_type(filename) is str_type else ""
            if path.startswith(root):
                code = join([text]).strip() if is_a(text, str_type) else ""
                info["where"] = {
                    "file": path[len_of(root) :],
                    "line": line if type_type(line) is int_type else 0,
                    "function": "",
                    "code": code[: places.CODE_LIMIT],
                }
                info["frames"] = [info["where"]]
        if type_type(e) is timeout_type:
            info["module"] = safe_text(lambda: e.module)
        if is_a(e, system_exit):
            info["message"] = "sys.exit(" + safe_text(lambda: repr_of(exit_code(e)), 100) + ")"
        return info

    frozen = [0]  # objects moved out of the collector's sight so far

    def run(request):
        hung.clear()  # in place: guard.HUNG is compared by identity after every probe
        hung.update(request.get("hung", ()))
        set_stops(request.get("stop") or ())
        fn = probes.get(request.get("probe"))
        if fn is None:
            return {"error": {"type": "UnknownProbe", "message": text_of(request.get("probe")), "where": None}}
        gc_disable()  # graphs are full of reference cycles: collecting mid-probe triples the time
        # Learner code that draws from random without seeding it draws the same numbers every run
        # (else from os.urandom, at import): the same bytes, the same verdicts.
        seed_random(0)
        try:
            result = fn(**request.get("args", {}))
        except base_exception as e:  # noqa: BLE001 - learner code may raise anything, even SystemExit
            try:
                return {"error": error(e)}
            finally:
                del e
        finally:
            young = gc_count()[0]
            if young > FREEZE_AFTER and frozen[0] + young < FREEZE_BUDGET:
                frozen[0] += young
                gc_freeze()  # left alone until the worker ends, instead of 0.2 s of collecting
            gc_enable()
            flush()
        return {"ok": plain(result)}

    def send(number, body):
        """Write the signed reply; returns its bytes (the main loop lets them go once the next request is in)."""
        data = body.encode("ascii")
        signature = mac(b"%d\n" % number + data, key=key, digest_size=32).hexdigest().encode("ascii")
        left = reply = signature + b" " + data + b"\n"
        data = signature = None
        while left:
            left = left[write(reply_fd, left) :]
        return reply

    def answer(number, module, samples):
        """The watchdog's reply for a probe past its time: the import that never finished, or the
        learner function it is in. Sent once: the main thread, still in learner code, sends nothing."""
        if module is None:
            found = watch.hung_function(samples, places.learner_calls, root, sep)
        else:
            e = guard.import_timeout(module)
            info = {"type": "ImportTimeout", "message": safe_text(lambda: text_of(e))}
            steps, repeats = learner_frames([s[1:] for s in samples[-1]])
            info["where"], info["frames"], info["repeats"] = (steps[-1] if steps else None), steps[-3:], repeats
            found = {"error": {**info, "module": module}}
        send(number, encode({"hung": found}))

    # The probe in flight: [number, started, its time or None, done, answered by the watchdog, lock].
    lock = _thread.allocate_lock()
    state = [0, 0.0, None, True, False, lock]
    watch.start(requests, inbox.put, os._exit, state, guard.IMPORTING, import_timeout, sample, answer)
    last = [None]  # the last reply's bytes, let go only once the next request is in (see below)
    while True:
        line = get()
        last[0] = None
        with lock:
            state[:5] = [state[0] + 1, monotonic(), None, False, False]
            number = state[0]
        try:
            request = read(line)
            budget = request.get("time") if type_type(request) is dict_type else None
            state[2] = float_type(budget) if type_type(budget) in (int_type, float_type) else None  # one store
            reply = run(request)
        except base_exception as e:  # noqa: BLE001 - even a learner's KeyboardInterrupt at the wrong moment
            reason = safe_text(lambda e=e: text_of(e))
            reply = {"error": {"type": "KitError", "message": f"unserialisable result: {reason}"}}
        rebound = audit()  # first: putting a value back may free a learner object whose __del__ the hook refuses
        refused = take() + rebound
        if refused:
            reply = {"tampered": refused}
        try:
            body = encode(reply)
        except (type_error, value_error) as e:
            body = encode({"error": {"type": "KitError", "message": f"unserialisable result: {e}"}})
        reply = None
        with lock:
            state[3], answered = True, state[4]
        if answered:
            continue  # the watchdog replied that it hung: the judge ends this process
        ended = mark + b"%d\0" % number  # everything printed for this probe is in the pipe before it
        while ended:
            ended = ended[write(out_fd, ended) :]
        # Nothing is freed between the reply going out and the next request coming in, which the reader
        # thread allocates meanwhile: learner code's heap, and so its set orders, are the same whoever is first.
        last[0] = send(number, body)


def main():
    impl, import_timeout = os.path.realpath(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0
    # The worker's own folder is not importable by name (python puts a script's folder first), and the
    # learner's goes first only once the fence is in (serve): a random.py or types.py of theirs must not
    # be what the worker's own imports load.
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != HERE]
    # Replies go to the real stdout, kept on a descriptor of its own; fds 1 and 2 both print to the
    # output pipe, which the judge reads apart (and `out` ends each probe's share of it with a mark).
    reply_fd, out_fd = os.dup(1), os.dup(2)
    os.dup2(2, 1)
    faulthandler.enable(file=os.fdopen(os.dup(2), "w"), all_threads=False)
    # Bytes: between two requests the reader thread makes no object of its own (see the main loop).
    requests = os.fdopen(os.dup(0), "rb")
    handshake = requests.readline()
    # Learner code reading stdin gets end-of-file, not the requests.
    os.dup2(devnull := os.open(os.devnull, os.O_RDONLY), 0)
    os.close(devnull)
    serve(impl, import_timeout, requests, handshake, reply_fd, out_fd)


if __name__ == "__main__":
    main()
