"""A worker's process: how it is fenced (Fence), started (launch) and ended (end, discard).

A learner's worker starts plainly, under `setarch -R` where that works (the same addresses, so the
same set orders, every run); a grader's is fenced by its sandbox (kit/instructor/sandbox.py makes a
Fence per student) and hardened on Linux (kit/instructor/harden.py's command line, and a session of
its own that the judge kills whole). checks/client.py speaks to it.
"""

import dataclasses
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker", "main.py")
ADDR_NO_RANDOMIZE = 0x0040000  # personality(2), by `setarch -R` on Linux; 0 leaves addresses random (tests/orders.py)


@dataclasses.dataclass(frozen=True)
class Fence:
    """How the worker process is started and fenced in (kit/instructor/sandbox.py makes one per
    student); the default, for a learner at a laptop, runs it plainly.

    `prefix` wraps the command (bwrap, unshare); `python` and `worker` are the paths as the fenced
    process sees them, and so is `impl`; `rlimits` maps resource names ("AS", "NPROC") to limits;
    `cgroups` are the folders of the student's cgroup(s) (kit/instructor/cgroups.py); `user` is the
    student's user id. A fence with any of them is hardened: kit/instructor/harden.py's command line
    (Linux) enters the cgroups, sets the limits, switches to the user and execs the rest, in a
    session of its own that the judge kills whole."""

    mode: str = "none"
    prefix: tuple = ()
    python: str = sys.executable
    worker: str = WORKER
    impl: str | None = None
    env: dict | None = None
    rlimits: dict = dataclasses.field(default_factory=dict)
    cgroups: tuple = ()
    user: int | None = None

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dataclasses.asdict(self), f)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return cls(**{**data, "prefix": tuple(data.get("prefix", ())), "cgroups": tuple(data.get("cgroups", ()))})

    @property
    def hardened(self):
        return bool(self.rlimits or self.cgroups or self.user is not None)

    def go(self):
        """What the judge sends its worker's process first: the go of a hardened start that waits in
        the student's cgroups (kit/instructor/harden.py), else nothing."""
        if not self.cgroups:
            return b""
        from kit.instructor import harden

        return harden.GO

    def launch(self):
        """The command that hardens what follows it (empty for a learner's plain fence)."""
        if not self.hardened:
            return []
        from kit.instructor import harden  # a grader's alone: Linux, util-linux's programs

        return harden.command(self.rlimits, self.cgroups, same_addresses(), self.user)

    def command(self, *args):
        plain = [] if self.hardened or self.prefix else same_addresses()
        # -S: no site, so no site-packages (learner code runs on the standard library alone) and no
        # .pth files to run (20 ms of each start in a virtual environment).
        return [*self.launch(), *plain, *self.prefix, self.python, "-S", self.worker, *args]


@functools.cache
def _setarch():
    """`setarch ARCH -R` where it works (Linux's util-linux), else []."""
    command = [shutil.which("setarch") or "setarch", platform.machine(), "-R"]
    try:
        worked = sys.platform.startswith("linux") and subprocess.run([*command, "true"], timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        worked = False
    return command if worked else []


def same_addresses():
    """What a learner's worker starts under on Linux: address randomisation off, so that the same bytes
    give the same addresses and a set of Values the same order every run (a mistake that hangs on
    that order scores the same each time). Elsewhere nothing: a program, never a call of the kit's."""
    return _setarch() if ADDR_NO_RANDOMIZE else []


def launch(fence, impl, import_timeout):
    """A worker's process, fenced: its pipes, and a session of its own where hardened (a grader's, on
    Linux). One that enters the student's cgroups waits for the judge's go (Fence.go) before the
    worker runs, so that a judge may launch it ahead (checks/calls.py)."""
    impl = os.path.realpath(impl)
    return subprocess.Popen(
        fence.command(fence.impl or impl, str(import_timeout)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,  # the worker's replies: it moves its prints to the other pipe
        stderr=subprocess.PIPE,  # whatever it prints
        cwd=impl,
        env=worker_env(fence.env),
        start_new_session=fence.hardened,  # a grader's (Linux): killed whole, with what it started
    )


def end(proc, hardened):
    """Kill a worker's process: a hardened fence's whole session (Linux), else the process."""
    if hardened:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    if proc.poll() is None:
        proc.kill()


def discard(proc, hardened):
    """End a process launched ahead and never used, and close its pipes."""
    end(proc, hardened)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        try:
            pipe.close()
        except OSError:
            pass


def worker_env(env):
    """The worker's environment: the fence's (or this one), without the PYTHON* variables that
    would change how it starts, with string hashing fixed so set orders repeat, and what it prints in
    UTF-8, as the judge reads it (a Windows pipe would get the ANSI code page)."""
    base = os.environ if env is None else env
    clean = {k: v for k, v in base.items() if not k.startswith("PYTHON")}
    return {**clean, "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"}
