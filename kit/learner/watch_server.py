"""A run of the checks started ahead of time, for watch mode (kit/learner/watch.py): the process,
`python -m kit.learner.watch_server`, and the watcher's handle on it, `Server`.

The process imports what the checks need (pytest, its plugins, the kit's plugin), then waits for
one request, a JSON line {"impl": DIR, "checks": [ids], "report": FILE, "seconds": FILE, "terminal":
bool}. It runs those checks in order until one is not at full marks (`--kit-until-unfinished`),
writes the JSON report (which keeps each check's lines as printed) and how long each check took, and
ends: the watcher reads nothing else. It runs in a session of its own, so that the terminal's Ctrl-C
goes to the watcher alone, which ends it with SIGTERM: that ends its pytest session as Ctrl-C would,
and so its worker.
"""

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from kit import ROOT
from kit.term import is_terminal

END_SECONDS = 5  # how long a server has to end its session and its worker before it is killed


class Clock:
    """How long each check took (pytest's durations of its tests' setup, call and teardown), which the
    watcher shares the checks by: kept apart from the report, which is the same on every run."""

    def __init__(self):
        from checks.options import exercise_of_nodeid  # here: the watcher, importing this module, needs no pytest

        self.exercise_of, self.seconds = exercise_of_nodeid, {}

    def pytest_runtest_logreport(self, report):
        ex = self.exercise_of(report.nodeid)
        if ex is not None:
            self.seconds[ex] = self.seconds.get(ex, 0.0) + report.duration


class Coloured:
    """The server's output, saying it is a terminal when the watcher's output is one, so that the
    report is coloured as `make check-NN` would colour it there."""

    def __init__(self, stream, terminal):
        self.stream, self.terminal = stream, terminal

    def isatty(self):
        return self.terminal

    def __getattr__(self, name):
        return getattr(self.stream, name)


def serve():
    """Import what the checks need, then run the one request read from stdin, if any."""
    import pytest_timeout  # noqa: F401
    from _pytest.config import default_plugins

    from checks import plugin  # noqa: F401
    from kit import runner

    for name in default_plugins:  # what pytest.main would import first
        importlib.import_module(f"_pytest.{name}")

    def stop(signum, frame):
        # The watcher is done with this run: what pytest says of the interrupt (which it may say with an
        # internal error of its own, a traceback in the learner's terminal) is for no one.
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    request = None
    try:
        line = sys.stdin.readline()
        if not line:
            return 0  # the watcher stopped before any change
        request = json.loads(line)
        sys.stdout = Coloured(sys.stdout, request["terminal"])
        clock = Clock()
        runner.run(request["checks"], [clock], impl=request["impl"], report=request["report"], until_unfinished=True)
        Path(request["seconds"]).write_text(json.dumps(clock.seconds))
        # The run is over, its report written and its worker ended: the watcher waits for this
        # process to end, and the interpreter's teardown of pytest would make it wait longer.
        sys.stdout.flush()
        os._exit(0)
    except KeyboardInterrupt:
        pass  # ended by the watcher: nobody waits for the report
    except OSError:
        if request is None or Path(request["report"]).parent.exists():
            raise
        # The watcher has stopped and removed this run's folder: nobody reads the report.
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the session is over: a SIGTERM now just ends it
    return 0


class Server:
    """One server process, with a folder for its report, its checks' seconds and what it printed
    (read only where it wrote no report, to say why)."""

    def __init__(self, impl):
        self.impl = impl
        self.folder = tempfile.TemporaryDirectory(prefix="kit-watch-")
        folder = Path(self.folder.name)
        self.report, self.seconds, self.out = folder / "report.json", folder / "seconds.json", folder / "out.txt"
        self.spawn()

    def spawn(self):
        with open(self.out, "wb") as printed:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kit.learner.watch_server"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=printed,
                start_new_session=True,
            )
        self.asked = False  # whether it was sent SIGTERM

    def run(self, share, ended):
        """Let it run the checks of share (started afresh if it died while waiting); `ended` is given
        (its report or None, each check's seconds) once it is over."""
        request = {"impl": self.impl, "checks": share, "terminal": is_terminal()}
        request.update(report=str(self.report), seconds=str(self.seconds))
        for _ in range(2):
            try:
                self.proc.stdin.write(json.dumps(request).encode() + b"\n")
                self.proc.stdin.close()
                break
            except OSError:
                self.end()
                self.spawn()
        threading.Thread(target=lambda: ended.put(self.outcome()), daemon=True).start()

    def outcome(self):
        self.proc.wait()
        return tuple(read(path) for path in (self.report, self.seconds))

    def printed(self):
        return self.out.read_text(errors="replace")

    def ask_to_end(self):
        """SIGTERM, once (a second would interrupt its ending)."""
        if not self.asked:
            self.asked = True
            self.proc.terminate()

    def end(self):
        self.ask_to_end()
        try:
            self.proc.wait(timeout=END_SECONDS)
        except subprocess.TimeoutExpired:  # deaf to SIGTERM: its worker goes with its pipes
            self.proc.kill()
            self.proc.wait()
        try:
            self.proc.stdin.close()
        except OSError:
            pass  # what it was sent, it can no longer read


def read(path):
    """The JSON in path, or None where the server wrote none (it was ended, or failed)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def end_all(servers):
    """End servers all at once (one server's time, not the sum) and remove their folders."""
    for server in servers:
        server.ask_to_end()
    for server in servers:
        server.end()
        server.folder.cleanup()


if __name__ == "__main__":
    sys.exit(serve())
