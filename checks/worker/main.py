"""The worker: the process in which learner code runs.

Started by checks/client.py as `python -I main.py IMPL REPLY_FD`. It reads one JSON request a
line from stdin, `{"probe": name, "args": {...}}`, runs that probe, and writes one JSON reply a
line to REPLY_FD: `{"ok": result, "printed": "..."}` or `{"error": {...}, "printed": "..."}`.
Whatever the learner's code prints goes into "printed", never into the replies' channel.
A crash (os._exit, a segfault) simply ends the process; the client notices and says so.
"""

import faulthandler
import gc
import importlib.util
import json
import os
import sys
import tempfile
import traceback

# Everything the worker relies on once learner code has run is bound here, before it runs, so that
# patching json, os, tempfile or gc from learner code can neither forge a reply nor break the worker.
_dumps, _loads, _dup, _dup2, _close = json.dumps, json.loads, os.dup, os.dup2, os.close
_realpath, _relpath, _extract_tb = os.path.realpath, os.path.relpath, traceback.extract_tb
_TemporaryFile, _gc_disable, _gc_enable = tempfile.TemporaryFile, gc.disable, gc.enable

HERE = os.path.dirname(os.path.abspath(__file__))
PRINTED_LIMIT = 2000


PACKAGE = "_kit_worker"  # a name no learner file can take: the package is loaded by path


def load_package():
    """This folder as a package, loaded by path where learner code cannot shadow it; returns its
    guard module (the registry of probes and the settings of the learner's imports)."""
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(HERE, "__init__.py"), submodule_search_locations=[HERE]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    try:
        spec.loader.exec_module(package)
        return sys.modules[f"{PACKAGE}.guard"]
    finally:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]  # out of the learner's easy reach in sys.modules


def where(tb, impl):
    """The innermost traceback frame in the learner's files, as plain data."""
    frames = [f for f in _extract_tb(tb) if _realpath(f.filename).startswith(impl + os.sep)]
    if not frames:
        return None
    f = frames[-1]
    return {
        "file": _relpath(_realpath(f.filename), impl),
        "line": f.lineno,
        "function": f.name,
        "code": (f.line or "").strip(),
    }


def frames(tb, impl, most=3):
    """The learner's own call chain: up to `most` innermost frames in their files, outermost first,
    a frame that repeats (recursion) shown once; and how often the innermost function repeats."""
    mine = [f for f in _extract_tb(tb) if _realpath(f.filename).startswith(impl + os.sep)]
    chain = []
    for f in mine:
        step = {"file": _relpath(_realpath(f.filename), impl), "line": f.lineno, "function": f.name}
        step["code"] = (f.line or "").strip()
        if not chain or chain[-1] != step:
            chain.append(step)
    repeats = sum(1 for f in mine if mine and f.name == mine[-1].name and f.filename == mine[-1].filename)
    return chain[-most:], repeats


def error(e, impl):
    info = {"type": type(e).__name__, "message": str(e)[:1000], "where": where(e.__traceback__, impl)}
    info["frames"], info["repeats"] = frames(e.__traceback__, impl)
    if isinstance(e, SyntaxError) and e.filename:
        path = _realpath(e.filename)
        if path.startswith(impl + os.sep):
            info["where"] = {
                "file": _relpath(path, impl),
                "line": e.lineno,
                "function": "",
                "code": (e.text or "").strip(),
            }
    if getattr(e, "module", None) and type(e).__name__ == "ImportTimeout":
        info["module"] = e.module
    if isinstance(e, SystemExit):
        info["message"] = f"sys.exit({e.code!r})"
    return info


def run(probes, request, impl):
    probes.HUNG = set(request.get("hung", ()))
    fn = probes.PROBES.get(request.get("probe"))
    if fn is None:
        return {"error": {"type": "UnknownProbe", "message": str(request.get("probe")), "where": None}}
    _gc_disable()  # graphs are full of reference cycles: collecting mid-probe triples the time
    try:
        return {"ok": fn(**request.get("args", {}))}
    except BaseException as e:  # noqa: BLE001 - learner code may raise anything, even SystemExit
        return {"error": error(e, impl)}
    finally:
        _gc_enable()


def captured(call):
    """Run call() with fds 1 and 2 sent to a scratch file; return its result and the text."""
    with _TemporaryFile() as scratch:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = _dup(1), _dup(2)
        _dup2(scratch.fileno(), 1)
        _dup2(scratch.fileno(), 2)
        try:
            result = call()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # noqa: BLE001 - learner code may have replaced or closed them
                pass
            _dup2(saved[0], 1)
            _dup2(saved[1], 2)
            _close(saved[0])
            _close(saved[1])
        scratch.seek(0)
        text = scratch.read(PRINTED_LIMIT + 1).decode("utf-8", "replace")
    return result, text


def main():
    impl, reply_fd = os.path.realpath(sys.argv[1]), int(sys.argv[2])
    import_timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    sys.path.insert(0, impl)
    sys.dont_write_bytecode = True
    faulthandler.enable(file=os.fdopen(os.dup(2), "w"), all_threads=False)
    probes = load_package()
    probes.IMPL = impl
    probes.IMPORT_TIMEOUT = import_timeout
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    # Learner code reading stdin gets end-of-file, not the requests.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for line in requests:
        reply, printed = captured(lambda: run(probes, _loads(line), impl))
        reply["printed"] = printed
        try:
            text = _dumps(reply)
        except (TypeError, ValueError) as e:
            text = _dumps(
                {
                    "error": {"type": "KitError", "message": f"unserialisable result: {e}", "where": None},
                    "printed": printed,
                }
            )
        replies.write(text + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
