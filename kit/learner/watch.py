"""Re-run the first unfinished check on every save: `python -m kit watch [--impl DIR] [--poll]`.

It watches the learner's tree (exercises/ unless --impl) with watchfiles. Whenever a Python file
there is saved, it runs the checks, quietly, and shows in full the first one not at full marks,
exactly as `make check-NN` shows it. The checks run on two cores at once: two processes started
ahead of time (kit/learner/watch_server.py: pytest and the checks already imported) each take an
ordered share of the seven, balanced by how long each check took last time, stop after their first
check not at full marks and write the JSON report, which keeps each check's lines as printed. The
lowest unfinished check of the reports is the answer, shown as those lines. A save while a run is
still going ends that run (its answer would be stale) and starts the next. Some file systems send
no change events (network mounts, some container and VM shares); there it polls instead.
KIT_WATCH_POLL=1 or --poll asks for polling, and a self-test during the first run finds out on its
own: it writes a temporary file into the tree and waits briefly for the event. Ctrl-C stops it.
"""

import argparse
import itertools
import os
import queue
import sys
import threading
import time
from pathlib import Path

from kit.commands import impl_refusal
from kit.exercises import EXERCISES, HELP_IMPL, default_impl
from kit.learner.watch_server import Server, end_all
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
ALL_PASS = "All seven checks pass. See your micrograd learn: make demo"
STALE = "stale"  # what go() returns for a run that a newer save ended: it showed nothing


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


def answer(reports, pending=0):
    """(the first check not at full marks, its block as `make check-NN` prints it) from the JSON
    reports of the shares so far; (None, the line saying so) when all seven are at full marks;
    (None, None) when the reports cannot tell (a run wrote none, or left a check out because it
    could not be collected: what the runs printed says why); None while the `pending` shares still
    running could change it.

    Each share runs in order and stops after its first check not at full marks, so the lowest such
    check among the reports is the one a single run of all seven in order stops at, once every check
    below it is reported: a lower check that no share reported would sit behind an unfinished check
    of its share lower still.
    """
    if None in reports:
        return None, None
    reported = {ex: report for report in reports for ex in report["checks"]}
    for ex in EXERCISES:
        if ex not in reported:
            return None if pending else (None, None)
        check = reported[ex]["checks"][ex]
        if check["earned"] < check["max"]:
            return ex, reported[ex]["printed"][ex]
    return None, paint(ALL_PASS, "green") + "\n"


class Runs:
    """The next run, always started ahead: SERVERS processes that `go()` shares the checks between."""

    def __init__(self, impl):
        self.impl = str(Path(impl).resolve())
        self.seconds = {ex: EXPECTED.get(ex, EXPECTED_OTHERWISE) for ex in EXERCISES}
        self.lock = threading.Lock()  # go() may run in a thread while Ctrl-C calls stop()
        self.stopped = False
        self.current = 0  # the run whose answer may be shown: a newer save moves it on (cancel)
        self.running, self.next = [], self.start()

    def start(self):
        return [Server(self.impl) for _ in range(SERVERS)]

    def go(self, again=True):
        """Run the checks, shared between the servers started ahead; show the answer; with again,
        start the next servers. Returns the id of the check shown, None when all pass, STALE when a
        newer save ended the run first."""
        with self.lock:
            if self.stopped:
                return None
            self.current += 1
            mine = self.current
            servers, self.running, self.next = self.next, self.next, []
        try:
            ended, busy = queue.Queue(), []
            for server, share in zip(servers, split(self.seconds, len(servers))):
                if share:  # one left without a share is ended below, unused
                    server.run(share, ended)
                    busy.append(server)
            reports, decided = [], None
            while decided is None:  # the answer may be known before every share is done
                report, seconds = ended.get()
                if self.stopped:
                    return None
                if self.current != mine:
                    return STALE
                reports.append(report)
                decided = answer(reports, pending=len(busy) - len(reports))
                for ex, took in (seconds or {}).items():
                    self.seconds[ex] = max(EXPECTED.get(ex, EXPECTED_OTHERWISE), took)
            ex, text = decided
            if text is None:
                text = "".join(s.printed() for s in busy) or "the checks stopped without a report\n"
            with self.lock:  # a save that came meanwhile has its own run: this answer is stale
                if self.current != mine:
                    return STALE
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
                if self.running is servers:
                    self.running = []
                if again and not self.stopped and not self.next:
                    self.next = self.start()
            end_all(servers)

    def cancel(self):
        """A newer save makes the run in flight stale: end its servers now (a check may be waiting out
        its time on an endless loop the save just fixed), so that its go() returns showing nothing."""
        with self.lock:
            self.current += 1
            servers, self.running = self.running, []
        end_all(servers)

    def stop(self):
        """End every server, running or waiting, and start no more."""
        with self.lock:
            self.stopped = True
            servers, self.running, self.next = self.running + self.next, [], []
        end_all(servers)


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
    args = parser.parse_args(argv)
    if why := impl_refusal(args.impl):
        parser.error(why)
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
        from kit.learner.install import venv_python

        print(f"watch mode needs watchfiles: {venv_python()} -m pip install -e '.[watch]' (make watch installs it)")
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

        def run():
            if runs.go() is not STALE:
                print(paint(f"\n{waiting} in {shown(args.impl)}/ (Ctrl-C to stop)", "dim"), flush=True)

        current = None
        for _ in watchfiles.watch(
            args.impl,
            watch_filter=watchfiles.PythonFilter(),
            force_polling=poll,
            poll_delay_ms=int(POLL_SECONDS * 1000),
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
        ):
            if current is not None:  # a save while a run is in flight: its answer would be stale
                runs.cancel()
                current.join()
            current = threading.Thread(target=run, daemon=True)
            current.start()
    except KeyboardInterrupt:
        print("\nstopped watching", flush=True)
    finally:
        runs.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
