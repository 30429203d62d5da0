"""The judge's two ways of waiting on a worker's pipes (checks/pipes.py) read the same bytes into the
same lines and text: select where it takes pipes, a thread per pipe where it does not (Windows)."""

import contextlib
import subprocess
import sys
import time

import pytest

from checks.pipes import ENDED, PRINTED_LIMIT, TOO_LARGE, Output, Selected, Threaded, open_pipes

MARK = b"\0m1:"


def worker(script):
    """A stand-in worker: `script` (Python) writes to OUT (its replies) and ERR (what it prints), and
    waits for the judge's next request with sys.stdin.readline()."""
    prelude = "import os, sys, time\nclass OUT: write = staticmethod(lambda b: os.write(1, b))\n"
    prelude += "class ERR: write = staticmethod(lambda b: os.write(2, b))\n"
    command = [sys.executable, "-c", prelude + script]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@contextlib.contextmanager
def opened(kind, script):
    """The judge's ends (`kind`) of a stand-in worker running `script`; the worker is ended after."""
    proc = worker(script)
    ends = kind(proc.stdout, proc.stderr, Output(MARK))
    try:
        yield proc, ends
    finally:
        proc.kill()
        proc.wait()
        ends.close()


KINDS = [Selected, Threaded]


def answered(ends, number, line):
    """The judge's side of probe `number`: its reply, then all it printed."""
    assert ends.reply(5) == line
    ends.settle(number, 5)


def request(proc):
    proc.stdin.write(b"next\n")
    proc.stdin.flush()


def test_select_is_what_a_posix_judge_waits_with():
    proc = worker("pass")
    try:
        assert isinstance(open_pipes(proc.stdout, proc.stderr, MARK), Selected)
    finally:
        proc.wait()


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_comes_after_all_its_probe_printed_and_what_comes_between_two_probes_is_neithers(kind):
    script = (
        "ERR.write(b'hello'); ERR.write(b'\\0m'); time.sleep(0.05); ERR.write(b'1:1\\0'); OUT.write(b'first\\n')\n"
        "time.sleep(0.3); ERR.write(b'between'); sys.stdin.readline()\n"
        "ERR.write(b'after'); ERR.write(b'\\0m1:2\\0'); OUT.write(b'second\\nthird\\n')\n"
    )
    with opened(kind, script) as (proc, ends):
        answered(ends, 1, b"first")  # the mark came cut in two
        assert ends.printed() == b"hello"
        time.sleep(0.8)  # "between" is in the pipe, or read by the threads' way
        ends.clear()
        request(proc)
        answered(ends, 2, b"second")
        assert ends.printed() == b"after"
        assert ends.reply(5) == b"third"  # two lines in one write
        assert ends.reply(5) is ENDED
        ends.settle(float("inf"), 5)
        assert ends.output.ended and ends.last() == b"hellobetweenafter"


@pytest.mark.parametrize("kind", KINDS)
def test_a_flood_of_printing_is_drained_while_the_judge_waits_and_kept_only_in_part(kind):
    script = "for _ in range(160): ERR.write(b'x' * 65536)\nERR.write(b'\\0m1:1\\0'); OUT.write(b'ok\\n')\n"
    with opened(kind, script) as (_, ends):
        assert ends.reply(20) == b"ok"  # a worker blocked on its full output pipe would never write it
        ends.settle(1, 5)
        assert ends.printed() == b"x" * (PRINTED_LIMIT + 1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_past_the_limit_is_too_large(kind):
    with opened(kind, "OUT.write(b'y' * 5_000_000)\ntime.sleep(30)\n") as (_, ends):
        assert ends.reply(20) is TOO_LARGE


@pytest.mark.parametrize("kind", KINDS)
def test_a_silent_worker_gives_no_reply_once_the_time_is_up(kind):
    with opened(kind, "time.sleep(30)\n") as (_, ends):
        started = time.monotonic()
        assert ends.reply(0.3) is None
        assert 0.3 <= time.monotonic() - started < 5


@pytest.mark.parametrize("kind", KINDS)
def test_a_worker_that_never_stops_printing_gets_no_reply_once_the_time_is_up(kind):
    """The judge's own clock, where the worker's watchdog cannot answer: the pipes are never quiet."""
    with opened(kind, "while True: ERR.write(b'z' * 4096)\n") as (_, ends):
        started = time.monotonic()
        assert ends.reply(0.5) is None
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("kind", KINDS)
def test_a_closed_worker_leaves_nothing_to_wait_for(kind):
    with opened(kind, "ERR.write(b'partly'); time.sleep(30)\n") as (proc, ends):
        proc.kill()
        proc.wait()
        ends.close()
        started = time.monotonic()
        ends.settle(1, 5)
        assert time.monotonic() - started < 2
