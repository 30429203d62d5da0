"""The judge's ends of a worker's two pipes, each read by a thread of its own (no select, no
non-blocking descriptors: Windows offers neither on pipes): signed reply lines into a queue, and what
the learner's code printed, capped, with the worker's end-of-probe marks picked out of it, and where
a crash's faulthandler dump says the learner's code was.
"""

import os
import re
import threading

from checks.sanitise import clean_where

REPLY_LIMIT = 4_000_000  # bytes in one reply
CRASH_LOG_LIMIT = 20_000  # bytes of the worker's last output kept, for a crash's faulthandler dump
PRINTED_LIMIT = 2000  # bytes of what one probe printed that reach the judge; the rest is drained
ENDED, TOO_LARGE = object(), object()  # what the reply thread puts after the last line


class Output:
    """What the worker prints, read by a thread: the current probe's first bytes (`head`), the last
    bytes of all (`tail`, for a crash), and the number of the last probe whose end mark came by."""

    def __init__(self, mark):
        self.mark, self.changed = mark, threading.Condition()
        self.head, self.tail, self.marked, self.ended = bytearray(), bytearray(), 0, False

    def _text(self, data):
        if len(self.head) <= PRINTED_LIMIT:
            self.head += data[: PRINTED_LIMIT + 1 - len(self.head)]
        self.tail = (self.tail + data)[-CRASH_LOG_LIMIT:]

    def read(self, stream):
        carry, mark = b"", self.mark
        while True:
            try:
                chunk = stream.read1(65536)
            except (OSError, ValueError):
                chunk = b""
            with self.changed:
                if not chunk:
                    self._text(carry)
                    self.ended = True
                    self.changed.notify_all()
                    stream.close()
                    return
                data, carry = carry + chunk, b""
                while (i := data.find(mark)) >= 0 and (j := data.find(b"\0", i + len(mark))) >= 0:
                    self._text(data[:i])
                    number = data[i + len(mark) : j]
                    self.marked = int(number) if number.isdigit() and len(number) < 12 else self.marked
                    data = data[j + 1 :]
                    self.changed.notify_all()
                k = data.rfind(b"\0")  # a mark cut in two by the pipe: its start waits for the next chunk
                rest = data[k:] if k >= 0 else b""
                if mark.startswith(rest) or (rest.startswith(mark) and len(rest) < len(mark) + 12):
                    data, carry = data[: len(data) - len(rest)], rest
                self._text(data)

    def wait(self, number, timeout):
        """Until probe `number`'s end mark came by (all it printed is in), or the worker ended."""
        with self.changed:
            self.changed.wait_for(lambda: self.marked >= number or self.ended, timeout)


def read_replies(stream, inbox):
    """Each line the worker writes on its reply pipe, into `inbox`; then ENDED (or TOO_LARGE)."""
    buffer = bytearray()
    while True:
        try:
            chunk = stream.read1(65536)
        except (OSError, ValueError):
            chunk = b""
        if not chunk:
            inbox.put(ENDED)
            stream.close()
            return
        start = len(buffer)
        buffer += chunk
        while (i := buffer.find(b"\n", start)) >= 0:
            inbox.put(bytes(buffer[:i]))
            del buffer[: i + 1]
            start = 0
        if len(buffer) > REPLY_LIMIT:
            inbox.put(TOO_LARGE)
            stream.close()  # the worker, blocked on a full pipe, is killed by the judge
            return


FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<function>\S+)')


def learner_frame(log, impl):
    """The first frame in the learner's files of a faulthandler dump (innermost first)."""
    for m in FRAME.finditer(log):
        path = os.path.realpath(m["file"])
        if path.startswith(impl + os.sep):
            return clean_where(
                {"file": os.path.relpath(path, impl), "line": int(m["line"][:9]), "function": m["function"], "code": ""}
            )
    return None
