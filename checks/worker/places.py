"""Where in the learner's files a traceback or a stack is: each learner frame's file, line, qualified
name (checks/worker/frames.py names it the same on every Python) and source line, as plain data.

Used on an exception's traceback (main.py's error) and on the main thread's stack read by the
watchdog (watch.py). Bound at import, before learner code runs; `ROOT` is set by the worker.
"""

import os

from .frames import INLINED, qualnames, recursion

CODE_LIMIT = 200  # characters of a source line shown
SOURCE_LIMIT = 4 << 20  # bytes read of a learner file to find one line
ROOT = None  # the tree graded, with a trailing separator
_realpath = os.path.realpath


def line_of(path, number, cache):
    if path not in cache:
        try:
            with open(path, "rb") as f:
                cache[path] = f.read(SOURCE_LIMIT).split(b"\n")
        except OSError:
            cache[path] = []
    lines = cache[path]
    if type(number) is not int or not 0 < number <= len(lines):
        return ""
    text = lines[number - 1].decode("utf-8", "replace").strip()
    return text if len(text) <= CODE_LIMIT else text[:CODE_LIMIT] + " ..."


def learner_calls(walked, cache=None, names=None):
    """[(path, line, qualified name, first line, index in walked)] of the learner's frames among
    `walked`, [(filename, line, qualified name or None (3.10), name, first line)]."""
    cache, names, mine = {} if cache is None else cache, {} if names is None else names, []
    for i, (filename, line, function, name, first) in enumerate(walked):
        path = _realpath(filename) if type(filename) is str and filename[:1] != "<" else ""  # not <frozen ...>
        if path.startswith(ROOT) and name not in INLINED:
            if function is None:  # Python 3.10: from the source
                if path not in names:
                    line_of(path, 0, cache)
                    names[path] = qualnames(b"\n".join(cache[path]))
                function = names[path].get((first, name), name)
            mine.append((path, line, function, first, i))
    return mine


def learner_frames(walked, recursed=False):
    """([{"file", "line", "function", "code"}], how often the innermost function repeats)."""
    cache, names = {}, {}
    mine = [(path, line, function) for path, line, function, _, _ in learner_calls(walked, cache, names)]
    if recursed:
        mine = recursion(mine)
    steps = []
    for path, line, function in mine:
        step = {"file": path[len(ROOT) :], "line": line, "function": function, "code": line_of(path, line, cache)}
        if not steps or steps[-1] != step:
            steps.append(step)
    repeats = sum(1 for f in mine if (f[0], f[2]) == (mine[-1][0], mine[-1][2])) if mine else 0
    return steps, repeats
