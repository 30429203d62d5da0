"""The scan's process (kit/instructor/scan.py): compiling hostile code can exhaust memory or
recursion (or crash an older Python), so the compile check and the scan run in a process of their
own, with limits: one for a whole grading, asked for one staged tree after another (Scanner), and
started again after a tree that ended it or left it large.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from checks.pipes import ENDED, TOO_LARGE, read_replies
from kit import ROOT
from kit.escape import escape_line
from kit.instructor.scan import notes, problem

MEMORY = 768 << 20  # bytes of address space
SECONDS = 60  # of CPU, and of the clock, per tree
LARGE = 256 << 20  # bytes of memory at its peak past which the next tree gets a fresh process


class Unreadable(Exception):
    """A file of the tree that the grader could not even compile within its limits."""


class Scanner:
    """`python -m kit.instructor.scanner --serve` under limits, asked for one staged tree after another
    (its start and imports were most of each tree's scan). A tree whose compile ends it, runs past
    SECONDS or leaves it large costs that tree alone: the next one gets a fresh process."""

    def __init__(self):
        self.proc = self.lines = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit.instructor.scanner", "--serve", str(MEMORY), str(LARGE), str(SECONDS)],
            cwd=ROOT,  # the kit of this process, whichever is installed
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"},
        )
        self.lines = queue.Queue()
        threading.Thread(target=read_replies, args=(self.proc.stdout, self.lines), daemon=True).start()

    def inspect(self, tree):
        """Notes on a staged tree: each file that will not import, then the reasons for review.
        Raises Unreadable when its process dies or hangs on this tree, naming the file it was compiling
        (a process that had ended before the tree's first file is started again instead)."""
        for again in (False, True):
            if again or self.proc is None or self.proc.poll() is not None:
                self.close()
                self.start()
            try:
                self.proc.stdin.write((json.dumps(str(tree)) + "\n").encode())
                self.proc.stdin.flush()
            except OSError:
                pass  # it is gone: reading says so
            seen, line = self.read(time.monotonic() + SECONDS)
            if line is not None:
                break
            code = self.ended()
            if seen or again or code is None:
                unreadable(seen, code)
        try:
            reply = json.loads(line)
            notes = [str(note) for note in reply["notes"]]
        except (ValueError, KeyError, TypeError):
            self.close()
            unreadable(seen, 1)
        if reply.get("large"):
            self.close()
        return notes

    def read(self, deadline):
        """(the "compiling" lines, the JSON line or None when the process ended or the deadline passed)."""
        seen = []
        while True:
            try:
                raw = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return seen, None
            if raw is ENDED or raw is TOO_LARGE:
                return seen, None
            line = raw.decode("utf-8", "replace")
            if line.startswith("{"):
                return seen, line
            seen.append(line)

    def ended(self):
        """The exit status of a process that stopped answering (None: it is still at work), once killed."""
        try:
            code = self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            code = None
        self.close()
        return code

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdin.close()
            self.proc = None


def inspect(tree):
    """Notes on one staged tree, in a process of its own (Scanner, for one tree)."""
    with Scanner() as scanner:
        return scanner.inspect(tree)


def unreadable(lines, code):
    started = [line[len("compiling ") :] for line in lines if line.startswith("compiling ")]
    what = started[-1] if started else "a file of the tree"
    why = "it took too long" if code is None else f"it ended with exit status {code}"
    raise Unreadable(f"{what} could not be compiled within the grader's limits ({why}); simplify it")


def serve(memory, large, seconds):
    """The Scanner's process: its memory limit first, then for each tree (a JSON string a line on stdin)
    a limit of `seconds` more CPU, each file compiled and scanned ("compiling FILE" before each), and one
    JSON line: the notes, and whether it grew past `large` bytes."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    for line in sys.stdin:
        tree = Path(json.loads(line))
        used = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(used.ru_utime + used.ru_stime) + seconds  # this tree's share of CPU
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
        found = []
        for path in sorted(tree.rglob("*.py")):
            rel = escape_line(path.relative_to(tree).as_posix())
            print("compiling", rel, flush=True)
            if (why := problem(rel, path.read_bytes())) is not None:
                found.append(why)
        grown = peak(resource) > large
        print(json.dumps({"notes": found + notes(tree), "large": grown}), flush=True)
    return 0


def peak(resource):
    """This process's peak resident memory in bytes: VmHWM, since its start (ru_maxrss, the fallback,
    also holds its parent's before the exec)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes, on Linux


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["--serve"] or len(argv) != 4:
        print("usage: python -m kit.instructor.scanner --serve MEMORY LARGE SECONDS (see Scanner)", file=sys.stderr)
        return 2
    return serve(*map(int, argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
