"""Re-run the first unfinished check on every save: `python -m kit watch [--impl DIR] [--poll]`.

It watches the learner's tree (exercises/ unless --impl) with watchfiles. Whenever a Python file
there is saved, it runs the checks in order, quietly, and shows in full the first one not at full
marks, exactly as `make check-NN` shows it. Each run is a fresh process, started ahead of time
(pytest and the checks already imported) so that a save gets its answer at once. Some file
systems send no change events (network mounts, some container and VM shares); there it polls
instead. KIT_WATCH_POLL=1 or --poll asks for polling, and a self-test during the first run finds
out on its own: it writes a temporary file into the tree and waits briefly for the event.
Ctrl-C stops it.
"""

import argparse
import io
import json
import os
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
from kit.learner.term import is_terminal, paint, shown

POLL_SECONDS = 0.25
PROBE_SECONDS = 1.5  # how long the self-test waits for its event; events take milliseconds
# After the first change, wait until none came for STEP_MS (an editor's save is several writes
# within a few milliseconds), but never longer than DEBOUNCE_MS.
DEBOUNCE_MS, STEP_MS = 150, 30


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
    """A check's report held back until we know whether to show it; coloured as the real stream would be."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream

    def isatty(self):
        return is_terminal(self.stream)


def first_unfinished(impl):
    """Run the checks in order in this process until one is not at full marks, and show that one.

    One run of the checks (kit.runner), stopping after the first check not at full marks, its report
    held back; that check's part of it (from its header to its score line, as `make check-NN` prints
    it) is shown in full. Returns its id, or None when all seven pass (or the run wrote no report).
    """
    from kit import runner

    out, held = sys.stdout, Held(sys.stdout)
    with tempfile.TemporaryDirectory(prefix="kit-watch-") as tmp:
        path = Path(tmp) / "report.json"
        sys.stdout = held
        try:
            runner.run(list(EXERCISES), impl=str(impl), report=str(path), until_unfinished=True)
        finally:
            sys.stdout = out
        checks = json.loads(path.read_text())["checks"] if path.exists() else None
    if checks is None:  # the run wrote no report: what it printed says why
        out.write(held.getvalue())
        out.flush()
        return None
    unfinished = [ex for ex in EXERCISES if ex in checks and checks[ex]["earned"] < checks[ex]["max"]]
    if not unfinished:
        print(paint("All seven checks pass. See your micrograd learn: make demo", "green"), flush=True)
        return None
    ex = unfinished[0]
    out.write(block_of(held.getvalue(), ex))
    out.flush()
    return ex


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


def serve(impl):
    """The run started ahead of time: import what the checks need, then wait for the word to go."""
    import pytest  # noqa: F401

    from checks import plugin  # noqa: F401
    from kit import runner  # noqa: F401

    if not sys.stdin.readline():
        return 0  # the watcher stopped before any change
    if is_terminal():
        print("\033[2J\033[H", end="", flush=True)  # a clean screen: only the latest run matters
    first_unfinished(impl)
    return 0


class Runs:
    """The next run, always started ahead: `go()` lets it run and waits for it; then the next starts."""

    def __init__(self, impl):
        self.impl = str(Path(impl).resolve())
        self.next = self.start()

    def start(self):
        # A session of its own: the terminal's Ctrl-C goes to the watcher, which ends it (and its worker).
        return subprocess.Popen(
            [sys.executable, "-m", "kit", "watch", "--impl", self.impl, "--serve"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            start_new_session=True,
        )

    def go(self):
        run, self.next = self.next, None
        try:
            run.stdin.write(b"go\n")
            run.stdin.close()
        except BrokenPipeError:  # it died while waiting: start one now
            run = self.start()
            run.stdin.write(b"go\n")
            run.stdin.close()
        try:
            run.wait()
        finally:
            self.next = self.start()

    def stop(self):
        if self.next is not None:
            try:
                os.killpg(self.next.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.next.wait()


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
    args = parser.parse_args(argv)
    if not os.path.isdir(args.impl):
        parser.error(f"--impl {args.impl}: no such folder")
    if args.serve:
        return serve(args.impl)
    if args.once:
        first_unfinished(args.impl)
        return 0
    try:
        import watchfiles
    except ImportError:
        print("make watch needs watchfiles: .venv/bin/pip install -e '.[watch]'")
        return 2
    runs = Runs(args.impl)
    try:
        first = threading.Thread(target=runs.go)
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
