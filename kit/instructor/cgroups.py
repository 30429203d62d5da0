"""One memory and process limit over a student's whole process tree, where the kernel's cgroups allow it.

Resource limits (rlimits) bound each process alone: a worker that forks 64 children, or writes its
tmpfs full, holds far more than `--memory`. A cgroup counts every process the worker starts and every
tmpfs page they write, and the kernel ends the tree when it is over. The grader makes one cgroup per
student, named after its block of user ids (so a grading that was killed is cleaned up by the next one
that takes the block), the grader's launcher moves the worker into it before exec
(kit/instructor/harden.py), and the
grader kills what is left in it and removes it once the student is graded.

Where: cgroup v2 when the grader's own cgroup can have children with the memory controller (a host's
root cgroup, or a subtree delegated to the grader); else cgroup v1's memory (and pids) hierarchies,
where the grader may write them (root, as on many VMs and CI machines); else none, and memory is bounded
by rlimits and tmpfs sizes alone. kit/instructor/sandbox.py's limits_line says which in the log.

What the kernel says of a student's memory (how many processes it ended for want of it, and the
limit) is read here too, for the judge (checks/client.py) to tell a worker that the memory limit
ended from one that crashed.
"""

import os
import signal
import time
from pathlib import Path

V1 = ("memory", "pids")  # the v1 hierarchies used; memory is required, pids only where mounted


def _mounts():
    """{filesystem type or v1 controller: (mount point, its root in the hierarchy)} of this process."""
    found = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3:
            continue
        if extra[0] == "cgroup2":
            found.setdefault("cgroup2", (fields[4], fields[3]))
        elif extra[0] == "cgroup":
            for option in extra[2].split(","):
                if option in V1:
                    found.setdefault(option, (fields[4], fields[3]))
    return found


def _own(controller):
    """This process's cgroup path in a hierarchy ("" for cgroup v2's line, else the controller's)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if names.split(",") == [controller] or (controller == "" and names == ""):
            return path
    return None


def _place(mount, controller):
    """The folder of this process's own cgroup in a mounted hierarchy, or None."""
    point, root = mount
    path = _own(controller)
    if path is None:
        return None
    relative = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    folder = Path(point) / ("" if relative == "." else relative)
    return folder if folder.is_dir() else None


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


class Group:
    """The cgroup(s) of one student: one folder in v2, one per hierarchy in v1."""

    def __init__(self, folders, version):
        self.folders, self.version = folders, version

    def kill(self, wait=5.0):
        """End every process in the group (they are the student's alone) and wait until none is left."""
        deadline = time.monotonic() + wait
        while True:
            pids = self.pids()
            if not pids or time.monotonic() > deadline:
                return
            if self.version == 2 and (self.folders[0] / "cgroup.kill").exists():
                try:
                    _write(self.folders[0] / "cgroup.kill", "1")
                except OSError:
                    pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def pids(self):
        found = set()
        for folder in self.folders:
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return found

    def remove(self):
        self.kill()
        for folder in self.folders:
            for _ in range(50):  # a cgroup whose last process is still exiting refuses rmdir for a moment
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


class Cgroups:
    """Where one grading makes its students' cgroups; `detect()` gives None where it cannot."""

    def __init__(self, parents, version):
        self.parents, self.version = parents, version  # v2: [folder]; v1: [memory folder, pids folder?]
        self.kind = f"cgroup v{version}"

    @classmethod
    def detect(cls):
        mounts = _mounts()
        if "cgroup2" in mounts:
            parent = _place(mounts["cgroup2"], "")
            if parent is not None and _enable_v2(parent):
                return cls([parent], 2)
        if "memory" in mounts:
            parents = [_place(mounts[c], c) for c in V1 if c in mounts]
            if parents[0] is not None and os.access(parents[0], os.W_OK):
                return cls([p for p in parents if p is not None and os.access(p, os.W_OK)], 1)
        return None

    def make(self, name, memory, pids):
        """A new cgroup `name` holding at most `memory` bytes (no swap) and `pids` processes."""
        folders = []
        try:
            for parent in self.parents:
                folder = parent / name
                folder.mkdir()
                folders.append(folder)
                if self.version == 2:
                    _write(folder / "memory.max", str(memory))
                    _try(folder / "memory.swap.max", "0")
                    _try(folder / "pids.max", str(pids))
                elif (folder / "memory.limit_in_bytes").exists():
                    _write(folder / "memory.limit_in_bytes", str(memory))
                    _try(folder / "memory.memsw.limit_in_bytes", str(memory))  # only with swap accounting
                else:
                    _write(folder / "pids.max", str(pids))
        except OSError:
            Group(folders, self.version).remove()
            raise
        return Group(folders, self.version)

    def sweep(self, prefix):
        """Remove the cgroups named prefix* that a killed grading left (their processes killed first)."""
        removed = 0
        for parent in self.parents:
            for folder in parent.glob(prefix + "*"):
                if folder.is_dir():
                    Group([folder], self.version).remove()
                    removed += 1
        return removed


def _try(path, text):
    try:
        _write(path, text)
    except OSError:
        pass  # a limit this kernel does not offer (no swap accounting, no pids controller)


def _enable_v2(parent):
    """Whether children of `parent` get the memory controller (enabling it there if we may)."""
    if "memory" in _words(parent / "cgroup.subtree_control"):
        return True
    if "memory" not in _words(parent / "cgroup.controllers"):
        return False
    try:  # refused when processes live in `parent` itself (cgroup v2's rule), or without the right
        _write(
            parent / "cgroup.subtree_control",
            "+memory" + (" +pids" if "pids" in _words(parent / "cgroup.controllers") else ""),
        )
    except OSError:
        return False
    return True


def _words(path):
    try:
        return path.read_text().split()
    except OSError:
        return []


# What the kernel says of a student's memory, read by the judge (checks/client.py) when a worker dies.


def oom_kills(folders):
    """How many processes the kernel ended in these cgroups for want of memory so far."""
    total = 0
    for folder in folders:
        for name in ("memory.events", "memory.oom_control"):  # cgroup v2, v1
            try:
                with open(os.path.join(folder, name)) as f:
                    fields = dict(line.split() for line in f if len(line.split()) == 2)
            except (OSError, ValueError):
                continue
            total += int(fields.get("oom_kill", 0))
    return total


def memory_limit(folders):
    """The cgroups' memory limit, in words."""
    for folder in folders:
        for name in ("memory.max", "memory.limit_in_bytes"):  # cgroup v2, v1
            try:
                with open(os.path.join(folder, name)) as f:
                    return f"the sandbox's memory limit of {int(f.read()) >> 20} MB for all its processes"
            except (OSError, ValueError):
                continue
    return "the sandbox's memory limit"
