"""The worker's end of the pipes: each request read and each reply written with json's own C scanner
and encoder, bound here before any learner code runs, on exact built-in types only.

Not json itself: its imports (re and more) were a quarter of each worker's start, and json is then the
learner's own to import and change.
"""

from _json import encode_basestring_ascii, make_encoder, make_scanner


class _Strict:
    """What json.JSONDecoder() tells the scanner: plain dicts, floats and ints; NaN and Infinity as json reads them."""

    strict, object_hook, object_pairs_hook, parse_float, parse_int = True, None, None, float, int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__


_scan, _join = make_scanner(_Strict), "".join
_str, _int, _float, _bool, _none, _list, _tuple, _dict = str, int, float, bool, type(None), list, tuple, dict
_type, _is_a, _name_of = type, isinstance, type.__dict__["__name__"].__get__


def read(line):
    """A request line (bytes) as data."""
    return _scan(line.decode("utf-8"), 0)[0]


def _unserialisable(o):
    raise TypeError(f"{_name_of(_type(o))} is not plain data")


_encode = make_encoder(None, _unserialisable, encode_basestring_ascii, None, ":", ",", False, False, True)


def write(data):
    """Plain data (see `plain`) as one line of JSON, ASCII only; TypeError or ValueError where it is not."""
    return _join(_encode(data, 0))


def plain(x, depth=0):
    """x as exact built-in types only (a str subclass becomes a str): what the encoder reads can run no
    learner code."""
    t = _type(x)
    if t is _str or t is _float or t is _int or t is _bool or t is _none:
        return x
    if depth > 40:
        raise ValueError("nested too deeply")
    if t is _list or t is _tuple:
        return [plain(v, depth + 1) for v in x]
    if t is _dict:
        return {plain(k, depth + 1): plain(v, depth + 1) for k, v in _list(_dict.items(x))}
    if _is_a(x, _str):
        return _join([x])
    raise TypeError(f"{_name_of(t)} is not plain data")
