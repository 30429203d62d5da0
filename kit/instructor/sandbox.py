"""How the grader isolates one submission's worker: the process in which learner code runs.

The judge (the checks, with the expected values and the scoring) always runs apart from the
worker and accepts only bounded JSON from it. This module decides how far the worker is fenced:

- "bwrap" (bubblewrap installed): no network, a read-only view of the system, fresh /tmp, the
  kit, the submissions, the gradebook and the other students hidden, only the student's scratch
  folder writable, its own PID namespace. Run as root, the worker also drops to an unprivileged
  user id of its own.
- "unshare" (root, no bubblewrap): the same fences built with util-linux's unshare, mount and
  setpriv: private mounts hiding the same folders, no network, a PID namespace, an unprivileged
  user id.
- "none" (neither root nor bubblewrap: a laptop): resource limits, a scratch copy, a clean
  environment. Learner code runs as the grading user and can read what that user can read.

Every mode applies resource limits (memory, file size, open files, CPU time, and processes where
the worker has a user id of its own) and kills whatever the worker left running.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks.client import Fence
from kit import ROOT

INSIDE = "/mnt/sandbox"  # where the student's scratch folder appears inside "bwrap" and "unshare"
FIRST_UID = 61000  # job slot k runs as uid FIRST_UID + k when the grader is root
LIMITS = {"AS": 1 << 30, "FSIZE": 16 << 20, "NOFILE": 256, "CORE": 0, "CPU": 300}
NPROC = 64  # processes per worker, where it has a user id of its own
SCRATCH_TMPFS = tuple(p for p in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock") if os.path.isdir(p))


def is_root():
    return os.geteuid() == 0


PYTHONS = (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3")


def setpriv(uid):
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]


def _runs(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def bwrap_args(home, hide):
    args = [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var/tmp",
    ]
    for path in hide:
        args += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    return args + ["--tmpfs", "/mnt", "--bind", str(home), INSIDE, "--chdir", f"{INSIDE}/tree"]


def unshare_args(home, hide, uid):
    mounts = [
        "mount -t tmpfs -o mode=755,size=1m tmpfs /mnt",
        f"mkdir {INSIDE}",
        f"mount --bind {shlex.quote(str(home))} {INSIDE}",
    ]
    # Deepest first: a folder hidden under another hidden one must be covered while it still shows.
    for path in sorted({*map(Path, hide), *map(Path, SCRATCH_TMPFS)}, key=lambda p: (-len(p.parts), str(p))):
        if str(path) in SCRATCH_TMPFS:
            mounts.append(f"mount -t tmpfs -o mode=1777,size=64m tmpfs {path}")
        elif path.is_dir():
            mounts.append(f"mount -t tmpfs -o mode=755,size=1m tmpfs {shlex.quote(str(path))}")
        else:
            mounts.append(f"mount --bind /dev/null {shlex.quote(str(path))}")
    script = " && ".join(mounts + [f"cd {INSIDE}/tree", "exec " + " ".join(setpriv(uid)) + ' "$@"'])
    return [
        "unshare",
        "--mount",
        "--net",
        "--pid",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        script,
        "sh",
    ]


def detect(requested="auto"):
    """(mode, python): the strongest mode this machine allows, or `requested` if it works here,
    with an interpreter (3.10+) the worker can run in it; the worker needs the standard library only."""
    candidates = ["bwrap", "unshare", "none"] if requested == "auto" else [requested]
    check = "import sys; sys.exit(sys.version_info < (3, 10))"
    with tempfile.TemporaryDirectory(prefix="kit-sandbox-probe-") as tmp:
        home = Path(tmp)
        (home / "tree").mkdir()
        os.chmod(home, 0o755)
        for mode in candidates:
            if mode == "none":
                return mode, sys.executable
            if mode == "bwrap" and not shutil.which("bwrap"):
                continue
            if mode == "unshare" and not (is_root() and shutil.which("unshare") and shutil.which("setpriv")):
                continue
            prefix = Sandbox(mode, None, slot=0, hide=()).fence(home).prefix
            for python in PYTHONS:
                if Path(python).exists() and _runs([*prefix, python, "-I", "-c", check]):
                    return mode, python
    raise SystemExit(f"sandbox mode {requested!r} does not work on this machine")


def hidden(python, *places):
    """What the worker must not see: the kit (but the interpreter it runs) and the given places."""
    inside_kit = Path(python).absolute().is_relative_to(ROOT)
    kit = [p for p in ROOT.iterdir() if p.name != ".venv"] if inside_kit else [ROOT]
    paths = [*kit, *(Path(p).resolve() for p in places)]
    return [p for p in dict.fromkeys(paths) if p.exists() and str(p) not in SCRATCH_TMPFS]


class Sandbox:
    """The fences of one job slot; `fence(home)` is the typed settings the judge starts the worker with."""

    def __init__(self, mode, python, slot, hide, limits=None):
        self.mode, self.python, self.hide = mode, python, [Path(p) for p in hide]
        self.uid = FIRST_UID + slot if is_root() and mode != "none" else None
        self.limits = dict(LIMITS, **(limits or {}))

    def prepare(self, home):
        """Lay out `home` (holding tree/): the worker's files beside it, owned and moded for the worker."""
        kit = home / "kit"
        kit.mkdir(exist_ok=True)
        shutil.copytree(
            ROOT / "checks" / "worker", kit / "worker", dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        for path in [home, kit, kit / "worker", *(kit / "worker").iterdir()]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if self.uid is not None:
            for path in [home / "tree", *(home / "tree").rglob("*")]:
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def fence(self, home):
        home = Path(home)
        inside = Path(INSIDE) if self.mode in ("bwrap", "unshare") else home
        rlimits = dict(self.limits, **({"NPROC": NPROC} if self.uid is not None else {}))
        if self.mode == "bwrap":
            prefix = (setpriv(self.uid) if self.uid is not None else []) + bwrap_args(home, self.hide)
        elif self.mode == "unshare":
            prefix = unshare_args(home, self.hide, self.uid)
        else:
            prefix = []
        return Fence(
            mode=self.mode,
            prefix=tuple(prefix),
            python=self.python,
            rlimits=rlimits,
            worker=str(inside / "kit" / "worker" / "main.py"),
            impl=str(inside / "tree"),
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(inside)},
        )

    def cleanup(self, grace=1.0):
        """Kill every process still running under this slot's user id once the sandbox had `grace`
        seconds to wind down; returns how many there were."""
        if self.uid is None:
            return 0
        deadline = time.monotonic() + grace
        while (left := [pid for pid in _pids() if _uid_of(pid) == self.uid]) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(left)


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _uid_of(pid):
    """The real user id of a live process (None for one that is gone or a zombie awaiting its parent)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    if fields.get("State", "").strip().startswith("Z"):
        return None
    return int(fields["Uid"].split()[0])
