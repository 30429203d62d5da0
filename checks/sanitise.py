"""The judge boundary: everything that crosses from the worker is made plain, bounded and safe here.

A reply's data keeps only JSON's types, at most DEPTH_LIMIT deep, every string cut and escaped; an
error record keeps only the fields the messages read, each of its own type and size, whatever
learner code put in the exception.
"""

from kit.escape import clipped

DEPTH_LIMIT = 32  # nesting of a reply's data (the probes' results are 5 deep at most)
TEXT_LIMITS = {"type": 100, "message": 1000, "file": 200, "function": 100, "code": 200, "module": 200}
DATA_TEXT_LIMIT = 10_000  # characters of one string in a probe's result


def clean_text(text, limit):
    """`text` cut to `limit` characters and escaped (kit/escape.py); "?" for what is not a string."""
    return clipped(text, limit) if isinstance(text, str) else "?"


class Garbled(Exception):
    """A reply that is not the plain data the judge expects."""


def clean_data(x, depth=0):
    """A probe's result, as JSON parsed it, with every string made safe; Garbled when too deep."""
    if depth > DEPTH_LIMIT:
        raise Garbled("the reply is nested too deeply")
    if isinstance(x, str):
        return clean_text(x, DATA_TEXT_LIMIT)
    if isinstance(x, list):
        return [clean_data(v, depth + 1) for v in x]
    if isinstance(x, dict):
        return {clean_text(k, DATA_TEXT_LIMIT): clean_data(v, depth + 1) for k, v in x.items()}
    return x  # int, float, bool, None: all JSON gives


def clean_where(where):
    if not isinstance(where, dict):
        return None
    line = where.get("line")
    return {
        "file": clean_text(where.get("file", ""), TEXT_LIMITS["file"]),
        "line": line if type(line) is int and 0 <= line < 10**9 else 0,
        "function": clean_text(where.get("function", ""), TEXT_LIMITS["function"]),
        "code": clean_text(where.get("code", ""), TEXT_LIMITS["code"]),
    }


def clean_error(err):
    """A learner error's record with the shape messages.py reads, whatever the worker sent."""
    err = err if isinstance(err, dict) else {}
    frames = err.get("frames") if isinstance(err.get("frames"), list) else []
    repeats = err.get("repeats")
    info = {
        "type": clean_text(err.get("type", "?"), TEXT_LIMITS["type"]) or "?",
        "message": clean_text(err.get("message", ""), TEXT_LIMITS["message"]),
        "where": clean_where(err.get("where")),
        "frames": [w for w in (clean_where(f) for f in frames[-3:]) if w],
        "repeats": repeats if type(repeats) is int and 0 <= repeats < 10**9 else 0,
    }
    if "module" in err:
        info["module"] = clean_text(err["module"], TEXT_LIMITS["module"])
    return info
