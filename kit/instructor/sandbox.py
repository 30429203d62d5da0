"""How the grader isolates one submission's worker: the process in which learner code runs.

The judge (the checks, with the expected values and the scoring) always runs apart from the
worker and accepts only bounded JSON from it. This module decides how far the worker is fenced:

- "bwrap" (bubblewrap installed): no network, its own PID, IPC and mount namespaces and /proc,
  a read-only view of the system's programs and libraries only (/usr, the interpreter's prefix),
  the student's scratch folder, and nothing else of the host: no kit, no other copy of it, no
  submissions, no gradebook, no other student.
- "unshare" (root, no bubblewrap): the same view built with util-linux's unshare, mount, chroot
  and setpriv: a fresh read-only root holding the same few binds, its own /proc, no network, no
  host IPC, no new privileges.
- "none": resource limits and a scratch copy only; learner code can read what its user can read.
  Asked for by name only: `auto` never ends here.

As root, learner code always runs as an unprivileged user id of its own (in every mode), taken
from a block of ids no other grading on this host holds, and the student's scratch folder is a
tmpfs with a size and inode quota (both kit/instructor/host.py). Every mode applies resource limits
(address space, file size, open files, CPU time, processes) and kills whatever the worker left
running. The wrappers' command lines are kit/instructor/wrappers.py's; the memory limit over a
student's whole process tree, where the kernel allows one, kit/instructor/cgroups.py's.
"""

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks.process import Fence
from kit import ROOT
from kit.instructor.host import DISK, INODES, UID_BASE, Unavailable, is_root, pids, uid_of
from kit.instructor.wrappers import INSIDE, bwrap_args, system_dirs, tool, unshare_args

LIMITS = {"AS": 1 << 30, "FSIZE": 16 << 20, "NOFILE": 256, "CORE": 0, "CPU": 300}
NPROC = 64  # processes per worker, where it has a user id of its own
STRENGTH = ("bwrap", "unshare", "none")  # strongest first


def pythons(mode="bwrap"):
    """Interpreters (3.10+) the worker may run under: in a sandbox the system's first, whose prefix is
    already visible; unfenced the grader's own first (as root the worker still runs as another user,
    who may not be able to read it: a pyenv Python under /root, say)."""
    base = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    system = ["/usr/bin/python3", "/usr/local/bin/python3"]
    return tuple(dict.fromkeys([base, *system] if mode == "none" else [*system, base]))


def _runs(cmd):
    """(worked, what it said) of a trial command."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return p.returncode == 0, p.stdout.decode("utf-8", "replace").strip()[-300:]


@dataclasses.dataclass(frozen=True)
class Choice:
    """The sandbox a grading uses: its mode, the worker's interpreter, and a warning when `auto` had
    to settle for less than the strongest mode (to be shown loudly: log, stdout, Gradescope)."""

    mode: str
    python: str
    warning: str | None = None


def trial(mode):
    """(python, None) when `mode` can fence a worker here, else (None, the reason)."""
    if mode == "none" and not is_root():
        return sys.executable, None  # the worker runs as the grading user, who runs this Python
    if mode == "bwrap" and not tool("bwrap"):
        return None, "bubblewrap (bwrap) is not installed"
    if mode == "unshare":
        missing = [t for t in ("unshare", "setpriv", "chroot", "mount") if not tool(t)]
        if not is_root() or missing:
            return None, "it needs a grader running as root" if not is_root() else f"{', '.join(missing)} missing"
    check = "import sys; sys.exit(sys.version_info < (3, 10))"
    said = ""
    with tempfile.TemporaryDirectory(prefix="kit-sandbox-probe-") as tmp:
        home = Path(tmp)
        (home / "tree").mkdir()
        (home / "tmp").mkdir()
        os.chmod(home, 0o755)
        os.chmod(home / "tmp", 0o1777)
        for python in pythons(mode):
            if not Path(python).exists():
                continue
            box = Sandbox(mode, python, uid=UID_BASE if is_root() else None, hide=(), quota=True)
            fence = box.fence(home)  # as a worker starts: hardened (as the student's user), then wrapped
            worked, said = _runs([*fence.launch(), *fence.prefix, python, "-I", "-c", check])
            if worked:
                return python, None
    return None, f"a trial worker did not start ({said or 'no Python 3.10+ it could run'})"


def choose(requested="auto"):
    """The Choice for `--sandbox requested`; raises Unavailable, with the reason, when it cannot be built.

    `auto` takes the strongest of bwrap and unshare that works, with a warning when that is not
    bwrap; it never settles for `none`, which must be asked for by name."""
    if requested not in ("auto", *STRENGTH):
        raise Unavailable(f"--sandbox {requested}: the modes are auto, {', '.join(STRENGTH)}")
    reasons = {}
    for mode in ("bwrap", "unshare") if requested == "auto" else (requested,):
        python, reasons[mode] = trial(mode)
        if python:
            why = "; ".join(f"{m}: {r}" for m, r in reasons.items() if r)
            weaker = STRENGTH.index(mode) > 0 and requested in ("auto", "none")
            if mode == "none":
                warning = "WARNING: sandbox none: learner code is not isolated, only limited" + (
                    " and run as an unprivileged user" if is_root() else ", and runs as the grading user"
                )
            else:
                warning = f"WARNING: sandbox {mode} is weaker than bwrap ({why})" if weaker else None
            return Choice(mode, python, warning)
    why = "; ".join(f"{m}: {r}" for m, r in reasons.items())
    if requested == "auto":
        raise Unavailable(
            f"no sandbox can be built on this machine ({why}). Install bubblewrap, or grade as root; "
            "to grade without isolation anyway, ask for it by name: --sandbox none"
        )
    raise Unavailable(f"sandbox mode {requested!r} cannot be built on this machine ({why})")


def detect(requested="auto"):
    """(mode, python) of choose(requested)."""
    c = choose(requested)
    return c.mode, c.python


def hidden(python, *places):
    """What must stay hidden although it lies under a folder the worker sees (a kit installed in /usr)."""
    seen = [Path(d) for d, link in system_dirs(python) if link is None]
    paths = [ROOT, *(Path(p).resolve() for p in places)]
    return [p for p in dict.fromkeys(paths) if p.exists() and any(p.is_relative_to(d) for d in seen)]


class Sandbox:
    """The fences of one student; `fence(home)` is the typed settings the judge starts the worker with."""

    def __init__(self, mode, python, uid, hide, limits=None, quota=False, cgroup=None, worker=None):
        self.mode, self.python, self.uid, self.hide, self.quota = mode, python, uid, [Path(p) for p in hide], quota
        self.worker = worker  # a compiled copy of checks/worker/ (compiled_worker), else the source alone
        self.cgroup = cgroup  # the student's kit.instructor.cgroups.Group, where the kernel offers one
        self.limits = dict(LIMITS, **(limits or {}))

    def prepare(self, home):
        """Lay out `home` (holding tree/): the worker's files and /tmp beside it, owned and moded for the worker."""
        kit = home / "kit"
        kit.mkdir(exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        source = self.worker or ROOT / "checks" / "worker"
        ignore = None if self.worker else shutil.ignore_patterns("__pycache__")
        shutil.copytree(source, kit / "worker", dirs_exist_ok=True, ignore=ignore)
        for path in [home, kit, kit / "worker", *(kit / "worker").rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(home / "tmp", 0o1777)
        if self.uid is not None:
            for path in [home / "tree", *(home / "tree").rglob("*")]:
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def fence(self, home):
        home = Path(home)
        inside = Path(INSIDE) if self.mode in ("bwrap", "unshare") else home
        rlimits = dict(self.limits, **({"NPROC": NPROC} if self.uid is not None else {}))
        # The hardening's setpriv switches to the student's uid (never root, even unfenced); unshare's
        # root is built as root, and switches inside it.
        user = self.uid if self.mode != "unshare" else None
        if self.mode == "bwrap":
            prefix = bwrap_args(home, self.python, self.hide, self.quota)
        elif self.mode == "unshare":
            prefix = unshare_args(home, self.python, self.hide, self.uid)
        else:
            prefix = []
        return Fence(
            mode=self.mode,
            prefix=tuple(prefix),
            user=user,
            python=self.python,
            rlimits=rlimits,
            worker=str(inside / "kit" / "worker" / "main.py"),
            impl=str(inside / "tree"),
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(inside), "TMPDIR": "/tmp"},
            cgroups=tuple(str(f) for f in self.cgroup.folders) if self.cgroup else (),
        )

    def cleanup(self, grace=1.0):
        """Kill every process still running under this student's user id (or in its cgroup, which
        holds all of them: the worker entered it before exec, and no student may leave it) once the
        sandbox had `grace` seconds to wind down; returns how many there were."""
        if self.cgroup is not None:
            alive = lambda: sorted(self.cgroup.pids())  # one small file instead of every process's status
        elif self.uid is not None:
            alive = lambda: [pid for pid in pids() if uid_of(pid) == self.uid]
        else:
            return 0
        deadline = time.monotonic() + grace
        while (left := alive()) and time.monotonic() < deadline:
            time.sleep(0.005)  # a sandbox winding down takes a few milliseconds
        if not left:
            return 0
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while alive() and time.monotonic() < deadline + 5:
            time.sleep(0.02)  # results are written only once every student process is gone
        return len(left)


# Run by the workers' interpreter: checks/worker/ compiled, then its version on the last line.
COMPILE = (
    "import compileall, platform, sys; ok = compileall.compile_dir(sys.argv[1], quiet=1); "
    "print(platform.python_version()); sys.exit(not ok)"
)


def compiled_worker(python, folder):
    """(a copy of checks/worker/ in `folder`, compiled by the worker's own interpreter, or None when
    that interpreter cannot compile it; the interpreter's version, "3.11.2", or "unknown"). Each worker
    then starts without compiling it (10 ms), since it may write no bytecode of its own; where it cannot
    be compiled, each worker compiles it, as before."""
    shutil.copytree(ROOT / "checks" / "worker", folder, ignore=shutil.ignore_patterns("__pycache__"))
    worked, said = _runs([python, "-I", "-c", COMPILE, str(folder)])
    last = said.splitlines()[-1] if said else ""
    version = last if re.fullmatch(r"\d+\.\d+\.\d+\w*", last) else "unknown"
    return (folder if worked else None), version


def limits_line(mode, memory, quota, cgroups=None):
    """What bounds one student's memory and disk here, for the log (`cgroups`: the kind in use, or None)."""
    fsize = LIMITS["FSIZE"] >> 20
    if cgroups:
        line = f"memory: {cgroups}, {memory >> 20} MB for a student's processes and the files they write in tmpfs"
    else:
        line = (
            f"memory: rlimits, {memory >> 20} MB address space per process and at most {NPROC} processes "
            "(no cgroup memory controller this grader may use)"
        )
    if quota:
        return line + f"; disk: a {DISK >> 20} MB, {INODES}-file tmpfs per student for the tree and /tmp"
    if mode == "bwrap":
        return line + (
            f"; disk: one {DISK >> 20} MB tmpfs for /tmp, /var/tmp and /dev/shm (no file-count limit), "
            f"the home and tree read-only (files of {fsize} MB)"
        )
    return line + f"; disk: no quota (files of {fsize} MB at most)"
