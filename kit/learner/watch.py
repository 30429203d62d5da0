"""Re-run the first unfinished check on every save: `python -m kit watch [--impl DIR] [--poll]`.

It watches the learner's tree (exercises/ unless --impl) with watchfiles. Whenever a Python file
there is saved, it grades the tree quietly, in a fresh process, and then runs the first check not
at full marks in full. Some file systems send no change events (network mounts, some container
and VM shares); there it polls instead. KIT_WATCH_POLL=1 or --poll asks for polling, and a
self-test at the start finds out on its own: it writes a temporary file into the tree and waits
briefly for the event. Ctrl-C stops it.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from kit import ROOT
from kit.exercises import HELP_IMPL, default_impl
from kit.learner.progress import next_exercise
from kit.learner.term import is_terminal, paint, shown
from kit.runner import GradingError, grade

POLL_SECONDS = 0.5
PROBE_SECONDS = 1.5  # how long the self-test waits for its event; events take milliseconds


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


def run_once(impl):
    """Grade the tree quietly, then show the first unfinished check in full."""
    if is_terminal():
        print("\033[2J\033[H", end="", flush=True)  # a clean screen: only the latest run matters
    try:
        ex = next_exercise(grade(impl))
    except GradingError as e:
        print(f"the checks did not finish:\n{e}", flush=True)
        return
    if ex is None:
        print(paint("All seven checks pass. See your micrograd learn: make demo", "green"), flush=True)
        return
    subprocess.run([sys.executable, "-m", "kit", "check", ex, "--impl", str(Path(impl).resolve())], cwd=ROOT)


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
    args = parser.parse_args(argv)
    if not os.path.isdir(args.impl):
        parser.error(f"--impl {args.impl}: no such folder")
    try:
        import watchfiles
    except ImportError:
        print("make watch needs watchfiles: .venv/bin/pip install -e '.[watch]'")
        return 2
    try:
        poll = args.poll or not events_arrive(args.impl)
        if poll:
            why = "as asked" if args.poll else "this file system sends no change events"
            waiting = f"polling for changes every {POLL_SECONDS:g} s ({why})"
        else:
            waiting = "watching for changes"
        run_once(args.impl)
        print(
            paint(f"\n{waiting} in {shown(args.impl)}/: save a file to re-run the check (Ctrl-C to stop)", "dim"),
            flush=True,
        )
        for _ in watchfiles.watch(
            args.impl,
            watch_filter=watchfiles.PythonFilter(),
            force_polling=poll,
            poll_delay_ms=int(POLL_SECONDS * 1000),
            debounce=400,
        ):
            run_once(args.impl)
            print(paint(f"\n{waiting} in {shown(args.impl)}/ (Ctrl-C to stop)", "dim"), flush=True)
    except KeyboardInterrupt:
        print("\nstopped watching", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
