"""Terminal output for the learner's tools and the check report: colour and bars on a terminal, plain text elsewhere.

Colour follows https://no-color.org: ANSI codes only when the stream is a terminal and NO_COLOR
is unset or empty. Piped output (a file, `less`, a test) is plain text.
"""

import functools
import os
import sys
from pathlib import Path

CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def is_terminal(stream=None):
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty()


def use_color(stream=None):
    return is_terminal(stream) and not os.environ.get("NO_COLOR")


def paint(text, style, stream=None):
    """text in the style ("green", "bold", ...), or unchanged when colour is off."""
    if not use_color(stream):
        return text
    return f"\033[{CODES[style]}m{text}\033[0m"


def bar(fraction, width=24, stream=None):
    """A bar `width` characters wide, filled to `fraction` (0..1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    full, empty = ("█", "░") if can_encode("█░", stream) else ("#", ".")
    filled = round(fraction * width)
    return paint(full * filled, "green", stream) + empty * (width - filled)


def shown(path):
    """path relative to the current folder when it lies below it: what a learner would type."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def can_encode(chars, stream=None):
    try:
        chars.encode((stream or sys.stdout).encoding or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def tolerant_output():
    """Standard output and error print in any encoding: a character the stream's encoding lacks
    (`PYTHONIOENCODING=ascii`, a cp437 console) is replaced, where it would end the command."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def pipe_safe(main):
    """main(argv), ending quietly when the reader of its output leaves early (`| head`)."""

    @functools.wraps(main)
    def run(argv=None):
        try:
            return main(argv)
        except BrokenPipeError:
            # Nothing more can be shown, and Python's own flush at exit must not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return run
