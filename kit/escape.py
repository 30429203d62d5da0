"""Text from learner code, made safe for a terminal, a log, a CSV cell, HTML and a UTF-8 file.

One policy everywhere: C0 and C1 control characters and the bidirectional overrides (which could
make one student id read as another) are shown as Python escapes (`\\x1b`, `\\u202e`), lone
surrogates become U+FFFD. Tab and newline pass unless the text must stay on one line.
"""

import re

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
UNSAFE_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _shown(m):
    c = m[0]
    return "\ufffd" if "\ud800" <= c <= "\udfff" else repr(c)[1:-1]


def escape(text, one_line=False):
    """`text` (anything: it is made a string) with every unsafe character shown escaped."""
    return (UNSAFE_IN_A_LINE if one_line else UNSAFE).sub(_shown, str(text))


def clipped(text, limit, one_line=False):
    """`text` cut to `limit` characters (marked with ' ...') and escaped."""
    text = str(text)
    return escape(text if len(text) <= limit else text[:limit] + " ...", one_line)


def escape_line(text):
    """`text` escaped to stay on one line: for ids, file names and log lines."""
    return escape(text, one_line=True)


# What a spreadsheet reads as the start of a formula (OWASP, CSV injection): such a cell gets a
# leading ' so that it shows as the text it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A CSV cell: a number as it is; text on one line, escaped, and never run as a formula."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = escape_line(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
