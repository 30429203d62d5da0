"""The judge's ends of a worker's two pipes: signed reply lines, and what the learner's code printed,
capped, with the worker's end-of-probe marks picked out of it, and where a crash's faulthandler dump
says the learner's code was.

Two ways to wait on them, which read the same bytes into the same state (Lines, Output): the judge's
own thread selecting on both where select takes pipes (POSIX), and else a thread reading each pipe
(Windows selects sockets only and has no non-blocking pipes), as Python's subprocess.communicate
does. Select spares each probe two threads' hand-overs: with a stand-in worker that only answers,
the judge's CPU per probe was about 65 us with the threads and 27 us with select.
"""

import os
import queue
import re
import select
import threading
import time

from checks.sanitise import clean_where

REPLY_LIMIT = 4_000_000  # bytes in one reply
CRASH_LOG_LIMIT = 20_000  # bytes of the worker's last output kept, for a crash's faulthandler dump
PRINTED_LIMIT = 2000  # bytes of what one probe printed that reach the judge; the rest is drained
ENDED, TOO_LARGE = object(), object()  # what comes after the last reply line
CHUNK = 65536


class Lines:
    """Reply lines out of the chunks of a pipe; TOO_LARGE once a line runs past REPLY_LIMIT."""

    def __init__(self):
        self.buffer, self.start = bytearray(), 0

    def feed(self, chunk):
        buffer, lines = self.buffer, []
        buffer += chunk
        while (i := buffer.find(b"\n", self.start)) >= 0:
            lines.append(bytes(buffer[:i]))
            del buffer[: i + 1]
            self.start = 0
        self.start = len(buffer)
        return [*lines, TOO_LARGE] if len(buffer) > REPLY_LIMIT else lines


class Output:
    """What the worker prints: the current probe's first bytes (`head`), the last bytes of all (`tail`,
    for a crash), and the number of the last probe whose end mark came by."""

    def __init__(self, mark):
        self.mark, self.carry = mark, b""
        self.head, self.tail, self.marked, self.ended = bytearray(), bytearray(), 0, False

    def _text(self, data):
        if len(self.head) <= PRINTED_LIMIT:
            self.head += data[: PRINTED_LIMIT + 1 - len(self.head)]
        self.tail = (self.tail + data)[-CRASH_LOG_LIMIT:]

    def feed(self, chunk):
        """One chunk of the pipe; b"" at its end."""
        if not chunk:
            self._text(self.carry)
            self.ended = True
            return
        data, self.carry, mark = self.carry + chunk, b"", self.mark
        while (i := data.find(mark)) >= 0 and (j := data.find(b"\0", i + len(mark))) >= 0:
            self._text(data[:i])
            number = data[i + len(mark) : j]
            self.marked = int(number) if number.isdigit() and len(number) < 12 else self.marked
            data = data[j + 1 :]
        k = data.rfind(b"\0")  # a mark cut in two by the pipe: its start waits for the next chunk
        rest = data[k:] if k >= 0 else b""
        if mark.startswith(rest) or (rest.startswith(mark) and len(rest) < len(mark) + 12):
            data, self.carry = data[: len(data) - len(rest)], rest
        self._text(data)


def read(stream):
    """A chunk of `stream` (b"" at its end, or once it is closed)."""
    try:
        return stream.read1(CHUNK)
    except (OSError, ValueError):
        return b""


def open_pipes(replies, output, mark):
    """The judge's ends of a worker's reply and output streams, waited on by select where it takes them."""
    kind = Selected if selects(replies, output) else Threaded
    return kind(replies, output, Output(mark))


def selects(*streams):
    """Whether select waits on these pipes (POSIX), rather than refusing them (Windows; or a descriptor
    past select's limit)."""
    try:
        select.select(streams, [], [], 0)
        return True
    except (OSError, ValueError, TypeError):
        return False


class Selected:
    """Both pipes read by the judge's own thread, as select finds them ready."""

    def __init__(self, replies, output, printed):
        self.output, self.lines, self.ready, self.replies = printed, Lines(), [], replies
        self.streams = [replies, output]  # those still open

    def _pump(self, deadline):
        """Read what one select finds ready before `deadline` (monotonic, or None); False once there is
        nothing left to wait for: the deadline passed (however much the pipes still bring), or no pipe
        is open (closed by close(), whose output would otherwise be waited on for nothing)."""
        if not self.streams:
            return False
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select(self.streams, [], [], wait)
        for stream in ready:
            try:
                chunk = os.read(stream.fileno(), CHUNK)
            except OSError:
                chunk = b""
            if stream is self.replies:
                taken = self.lines.feed(chunk) if chunk else [ENDED]
                self.ready += taken
            else:
                self.output.feed(chunk)
                taken = []
            if not chunk or (taken and taken[-1] is TOO_LARGE):
                self.streams.remove(stream)
                stream.close()
        return bool(self.streams) and (deadline is None or time.monotonic() < deadline)

    def reply(self, timeout):
        """The next reply line, ENDED, TOO_LARGE, or None when `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready:
            if self.replies not in self.streams:
                return ENDED
            if not self._pump(deadline) and not self.ready:
                return None
        return self.ready.pop(0)

    def settle(self, number, timeout):
        """Until probe `number`'s end mark came by (all it printed is in), or the output ended."""
        deadline = time.monotonic() + min(timeout, 1e6)
        while self.output.marked < number and not self.output.ended and self._pump(deadline):
            pass

    def clear(self):
        """Forget what was printed so far, and what is in the output pipe already (printed between two
        probes: the threads' way reads it as it comes, and forgets it here too)."""
        self._pump(time.monotonic())
        self.output.head = bytearray()

    def printed(self):
        return bytes(self.output.head)

    def last(self):
        return bytes(self.output.tail)

    def close(self):
        for stream in self.streams:
            stream.close()
        self.streams = []


class Threaded:
    """Each pipe read by a thread of its own: reply lines into a queue, printed text into Output."""

    def __init__(self, replies, output, printed):
        self.output, self.changed = printed, threading.Condition()
        # SimpleQueue: C locks, where queue.Queue's are Python's (35 instead of 50 us of the judge's time a reply).
        self.inbox = queue.SimpleQueue()
        threading.Thread(target=read_replies, args=(replies, self.inbox), daemon=True).start()
        threading.Thread(target=self._read_output, args=(output,), daemon=True).start()

    def _read_output(self, stream):
        while True:
            chunk = read(stream)
            with self.changed:
                self.output.feed(chunk)
                self.changed.notify_all()
            if not chunk:
                stream.close()
                return

    def reply(self, timeout):
        try:
            return self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def settle(self, number, timeout):
        with self.changed:
            self.changed.wait_for(lambda: self.output.marked >= number or self.output.ended, timeout)

    def clear(self):
        with self.changed:
            self.output.head = bytearray()

    def printed(self):
        with self.changed:
            return bytes(self.output.head)

    def last(self):
        with self.changed:
            return bytes(self.output.tail)

    def close(self):
        pass  # the threads close their pipes once the worker's ends are closed


def read_replies(stream, inbox):
    """Each line the worker writes on its reply pipe, into `inbox`; then ENDED (or TOO_LARGE)."""
    lines = Lines()
    while True:
        chunk = read(stream)
        taken = lines.feed(chunk) if chunk else [ENDED]
        for line in taken:
            inbox.put(line)
        if not chunk or (taken and taken[-1] is TOO_LARGE):
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
