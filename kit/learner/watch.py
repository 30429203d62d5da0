"""Re-run the first unfinished check on every save: `python -m kit watch [--impl DIR] [--poll]`.

It watches the learner's tree (exercises/ unless --impl) with watchfiles. Whenever a Python file
there is saved, it runs the checks, quietly, and shows in full the first one not at full marks,
exactly as `make check-NN` shows it. The checks run on two cores at once: two fresh processes,
started ahead of time (pytest and the checks already imported), each take an ordered share of the
seven, balanced by how long each check took last time, and stop after their first check not at
full marks; the lowest of those is the answer. Some file systems send no change events (network
mounts, some container and VM shares); there it polls instead. KIT_WATCH_POLL=1 or --poll asks
for polling, and a self-test during the first run finds out on its own: it writes a temporary file
into the tree and waits briefly for the event. Ctrl-C stops it.
"""

import argparse
import importlib
import io
import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, HELP_IMPL, default_impl
from kit.term import is_terminal, paint, shown

POLL_SECONDS = 0.25
PROBE_SECONDS = 1.5  # how long the self-test waits for its event; events take milliseconds
# After the first change, wait until none came for STEP_MS (an editor's save is several writes
# within a few milliseconds), but never longer than DEBOUNCE_MS.
DEBOUNCE_MS, STEP_MS = 150, 30
# The checks' own work is what is left to wait for, so it is shared between two cores where there are two.
SERVERS = 2 if (os.cpu_count() or 1) > 1 else 1
# Seconds a check is expected to take before it has been timed, and at least afterwards: 04 walks a
# chain of 100,000 nodes, the others take some tens of milliseconds.
EXPECTED, EXPECTED_OTHERWISE = {"04": 0.4}, 0.05
END_SECONDS = 5  # how long a server has to end its session and its worker before it is killed
HEADER, SCORE = re.compile(r"check-(\d\d) · "), re.compile(r"check-(\d\d): \d+/\d+ points$")


def events_arrive(folder, wait=PROBE_SECONDS):
    """Whether the file system reports changes in folder: write a probe file and wait for its event."""
    import watchfiles

    probe = Path(folder) / f".kit-watch-probe-{os.getpid()}"

    def touch():
        time.sleep(0.2)  # let the watcher start first
        try:
            probe.write_text("probe\n")
        except OSError:
            pass  # a read-only tree sends no event either: polling is the safe answer

    writer = threading.Thread(target=touch, daemon=True)
    writer.start()
    try:
        for changes in watchfiles.watch(
            folder, watch_filter=None, rust_timeout=int(wait * 1000), yield_on_timeout=True, debounce=50, step=20
        ):
            return bool(changes)  # any event at all, the probe's or another's, proves they arrive
    finally:
        writer.join()
        probe.unlink(missing_ok=True)
    return False


class Held(io.StringIO):
    """A run's report held back until we know whether to show it, each check timed as it prints.

    `terminal`: whether the stream it will be shown on is one, so that it is coloured as that would be."""

    def __init__(self, terminal):
        super().__init__()
        self.terminal = terminal
        self.started, self.seconds = {}, {}

    def isatty(self):
        return self.terminal

    def write(self, text):
        line = paint_free(text)
        if m := HEADER.match(line):
            self.started[m[1]] = time.monotonic()
        elif (m := SCORE.match(line)) and m[1] in self.started:
            self.seconds[m[1]] = time.monotonic() - self.started[m[1]]
        return super().write(text)


def run_share(impl, exercises, terminal):
    """Run the checks of `exercises` in order in this process until one is not at full marks, quietly.

    Returns {"checks": the report's {NN: {earned, max}}, or None when it wrote none; "text": what the
    run printed; "seconds": how long each check took}."""
    from kit import runner

    out, held = sys.stdout, Held(terminal)
    with tempfile.TemporaryDirectory(prefix="kit-watch-") as tmp:
        path = Path(tmp) / "report.json"
        sys.stdout = held
        try:
            runner.run(list(exercises), impl=str(impl), report=str(path), until_unfinished=True)
        finally:
            sys.stdout = out
        checks = json.loads(path.read_text())["checks"] if path.exists() else None
    return {"checks": checks, "text": held.getvalue(), "seconds": held.seconds}


def split(seconds, n=SERVERS):
    """The checks in n ordered shares, balanced for whichever check turns out to be the answer: of all
    ways to share them, the first with the least sum over k of the time the slower share needs to
    reach check k, by the seconds expected of each."""
    order = list(EXERCISES)

    def wait(owners):
        loads, total = [0.0] * n, 0.0
        for ex, share in zip(order, owners):
            loads[share] += seconds[ex]
            total += max(loads)
        return total

    best = min(itertools.product(range(n), repeat=len(order)), key=wait)
    return [[ex for ex, share in zip(order, best) if share == i] for i in range(n)]


def answer(results, pending=0):
    """(the first check not at full marks, what to show for it) from the reports of the shares so far;
    None while the `pending` shares still running could change it.

    Each share runs in order and stops after its first check not at full marks, so the lowest such
    check among the reports is the one a single run of all seven in order stops at, once every check
    below it is reported: a lower check that no share reported would sit behind an unfinished check
    of its share lower still. What is shown is that check's block, as `make check-NN` prints it;
    with all seven at full marks, the id is None and the line says so; when a run wrote no report,
    or left a check out (it could not be collected), what the runs printed says why.
    """
    if any(r is None or r["checks"] is None for r in results):
        printed = "".join(r["text"] for r in results if r is not None)
        return None, printed or "the checks stopped without a report\n"
    reports = {ex: r for r in results for ex in r["checks"]}
    for ex in EXERCISES:
        if ex not in reports:
            return None if pending else (None, "".join(r["text"] for r in results))
        checks = reports[ex]["checks"][ex]
        if checks["earned"] < checks["max"]:
            return ex, block_of(reports[ex]["text"], ex)
    return None, paint("All seven checks pass. See your micrograd learn: make demo", "green") + "\n"


def block_of(text, ex):
    """Check ex's part of a run's printed report: from its header line to its score line."""
    lines = text.splitlines(keepends=True)
    plain = [paint_free(line) for line in lines]
    start = next(i for i, line in enumerate(plain) if line.startswith(f"check-{ex} · "))
    end = next(i for i in range(start, len(plain)) if plain[i].startswith(f"check-{ex}: "))
    return "".join(lines[start : end + 1])


def paint_free(line):
    """A line without its colour codes, to find the report's own lines in it."""
    return re.sub(r"\x1b\[[0-9;]*m", "", line)


def serve(impl, terminal):
    """A run started ahead of time: import what the checks need, then wait for its share of them.

    Prints the result of run_share as one line of JSON. SIGTERM ends it as Ctrl-C would, so that
    pytest finishes the session and ends the worker (which runs in a session of its own)."""
    import pytest_timeout  # noqa: F401
    from _pytest.config import default_plugins

    from checks import plugin  # noqa: F401
    from kit import runner  # noqa: F401

    for name in default_plugins:  # what pytest.main would import first
        importlib.import_module(f"_pytest.{name}")
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        share = sys.stdin.readline().split()
        if not share:
            return 0  # the watcher stopped before any change
        result = run_share(impl, share, terminal)
        if not stopping:
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        pass  # ended by the watcher: nobody waits for the result
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the session is over: a SIGTERM now just ends it
    return 0


class Server:
    """One run started ahead of time (`--serve`), in a session of its own: the terminal's Ctrl-C goes to
    the watcher, which ends it (and so its worker)."""

    def __init__(self, impl):
        cmd = [sys.executable, "-m", "kit", "watch", "--impl", impl, "--serve"]
        self.proc = subprocess.Popen(
            cmd + (["--terminal"] if is_terminal() else []),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self.reading = False
        self.asked = False  # whether it was sent SIGTERM

    def send(self, share):
        """Let it run the checks of share; False when it died while waiting."""
        try:
            self.proc.stdin.write((" ".join(share) + "\n").encode())
            self.proc.stdin.close()
            return True
        except (BrokenPipeError, OSError):
            return False

    def result(self):
        """What run_share returned in it, or None when it ended without saying (read at once: its
        interpreter may take its time to exit)."""
        self.reading = True
        try:
            for line in self.proc.stdout:
                try:
                    result = json.loads(line)
                except ValueError:
                    continue
                if isinstance(result, dict) and "checks" in result:
                    return result
        except (OSError, ValueError):
            pass
        finally:
            self.proc.stdout.close()
        return None

    def ask_to_end(self):
        """SIGTERM, once: it ends its session (and its worker) as Ctrl-C would."""
        if self.proc.poll() is None and not self.asked:
            self.asked = True
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def end(self):
        self.ask_to_end()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=END_SECONDS)
            except subprocess.TimeoutExpired:  # deaf to SIGTERM: its worker goes with its pipes
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.wait()
        # Its output pipe is the reader's to close, if result() was asked for.
        for pipe in (self.proc.stdin,) if self.reading else (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class Runs:
    """The next run, always started ahead: SERVERS processes that `go()` shares the checks between."""

    def __init__(self, impl):
        self.impl = str(Path(impl).resolve())
        self.seconds = {ex: EXPECTED.get(ex, EXPECTED_OTHERWISE) for ex in EXERCISES}
        self.lock = threading.Lock()  # go() may run in a thread while Ctrl-C calls stop()
        self.stopped = False
        self.running, self.next = [], self.start()

    def start(self):
        return [Server(self.impl) for _ in range(SERVERS)]

    def go(self, again=True):
        """Run the checks, shared between the servers started ahead; show the answer; with again,
        start the next servers. Returns the id of the check shown, None when all pass."""
        with self.lock:
            if self.stopped:
                return None
            servers, self.next = self.next, []
            self.running = list(servers)
        try:
            busy = []
            for server, share in zip(servers, split(self.seconds, len(servers))):
                if not share:
                    continue  # ended with the others below, unused
                if not server.send(share):  # it died while waiting: start one now
                    server.end()
                    with self.lock:
                        if self.stopped:
                            return None
                        server = Server(self.impl)
                        self.running.append(server)
                    server.send(share)
                busy.append(server)
            arrived = queue.Queue()
            for server in busy:
                threading.Thread(target=lambda s=server: arrived.put(s.result()), daemon=True).start()
            results, decided = [], None
            while decided is None:  # the answer may be known before every share is done
                results.append(arrived.get())
                if self.stopped:
                    return None
                decided = answer(results, pending=len(busy) - len(results))
            for result in results:
                for ex, seconds in ((result or {}).get("seconds") or {}).items():
                    self.seconds[ex] = max(EXPECTED.get(ex, EXPECTED_OTHERWISE), seconds)
            ex, text = decided
            if is_terminal():
                print("\033[2J\033[H", end="")  # a clean screen: only the latest run matters
            sys.stdout.write(text)
            sys.stdout.flush()
            return ex
        except KeyboardInterrupt:
            again = False  # Ctrl-C: stop() follows, and ends what runs
            raise
        finally:
            with self.lock:
                done, self.running = self.running, []
                if again and not self.stopped:
                    self.next = self.start()
            for server in done:
                server.end()

    def stop(self):
        """End every server, running or waiting, and start no more."""
        with self.lock:
            self.stopped = True
            servers, self.running, self.next = self.running + self.next, [], []
        for server in servers:  # all at once: ending them takes one server's time, not the sum
            server.ask_to_end()
        for server in servers:
            server.end()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit watch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default=str(default_impl()), help=HELP_IMPL)
    parser.add_argument(
        "--poll",
        action="store_true",
        default=os.environ.get("KIT_WATCH_POLL") == "1",
        help="poll for changes instead of waiting for events (default: $KIT_WATCH_POLL=1, "
        "or when a self-test sees no events)",
    )
    parser.add_argument("--once", action="store_true", help="show the first unfinished check once, and stop")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--terminal", action="store_true", help=argparse.SUPPRESS)  # the watcher's output is one
    args = parser.parse_args(argv)
    if not os.path.isdir(args.impl):
        parser.error(f"--impl {args.impl}: no such folder")
    if args.serve:
        return serve(args.impl, args.terminal)
    if args.once:
        runs = Runs(args.impl)
        try:
            runs.go(again=False)
        finally:
            runs.stop()
        return 0
    try:
        import watchfiles
    except ImportError:
        print("make watch needs watchfiles: .venv/bin/pip install -e '.[watch]'")
        return 2
    runs = Runs(args.impl)
    try:
        first = threading.Thread(target=runs.go, daemon=True)
        first.start()
        # The self-test runs beside the first run, so it costs no time of its own.
        poll = args.poll or not events_arrive(args.impl)
        first.join()
        if poll:
            why = "as asked" if args.poll else "this file system sends no change events"
            waiting = f"polling for changes every {POLL_SECONDS:g} s ({why})"
        else:
            waiting = "watching for changes"
        print(
            paint(f"\n{waiting} in {shown(args.impl)}/: save a file to re-run the check (Ctrl-C to stop)", "dim"),
            flush=True,
        )
        for _ in watchfiles.watch(
            args.impl,
            watch_filter=watchfiles.PythonFilter(),
            force_polling=poll,
            poll_delay_ms=int(POLL_SECONDS * 1000),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
        ):
            runs.go()
            print(paint(f"\n{waiting} in {shown(args.impl)}/ (Ctrl-C to stop)", "dim"), flush=True)
    except KeyboardInterrupt:
        print("\nstopped watching", flush=True)
    finally:
        runs.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
