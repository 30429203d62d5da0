"""The command lines of the sandbox's wrappers: bwrap's, unshare's (a shell that builds a read-only
root and enters it) and setpriv's, each around the worker's own command (kit/instructor/sandbox.py
says which a grading uses and why).
"""

import os
import shlex
import shutil
from pathlib import Path

from kit.instructor.harden import as_user
from kit.instructor.host import DISK

INSIDE = "/mnt/sandbox"  # where the student's scratch folder appears inside "bwrap" and "unshare"
SYSTEM = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/libx32", "/sbin")  # what the worker may read
WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")  # inside the sandbox, all on the student's quota


def tool(name):
    """The absolute path of a program (the sandbox's environment has a short PATH), or None."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def setpriv(uid):
    return [tool("setpriv") or "setpriv", *as_user(uid), "--"]


def system_dirs(python):
    """[(path, link target or None)] the worker sees read-only: the system and the interpreter's prefix."""
    dirs = [(d, os.readlink(d) if os.path.islink(d) else None) for d in SYSTEM if os.path.lexists(d)]
    prefix = Path(python).resolve().parent.parent
    if not any(prefix.is_relative_to(d) for d, link in dirs if link is None):
        dirs.append((str(prefix), None))
    return dirs


def bwrap_args(home, python, hide, quota):
    """bwrap, for a worker that may write only to its quota: as root (`quota`), the student's tmpfs, which
    holds `home` (bound at INSIDE) and its tmp/ (bound at each of WRITABLE); else one tmpfs of DISK bytes of
    bwrap's for all of WRITABLE, and `home` bound read-only. Everything else is read-only."""
    args = [tool("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    for path, link in system_dirs(python):
        args += ["--symlink", link, path] if link else ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for path in map(str, hide):  # a hiding tmpfs has no size: read-only
        args += ["--tmpfs", path, "--remount-ro", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    if quota:
        args += [a for path in WRITABLE for a in ("--bind", str(home / "tmp"), path)]
        args += ["--bind", str(home), INSIDE]
    else:
        # --dev makes /dev/shm a folder, so the one tmpfs goes there and the other places link to it.
        args += ["--size", str(DISK), "--tmpfs", "/dev/shm"]
        args += [a for path in WRITABLE if path != "/dev/shm" for a in ("--symlink", "/dev/shm", path)]
        args += ["--ro-bind", str(home), INSIDE]
    # /dev is a tmpfs of bwrap's without a size: read-only like the root (its devices stay writable).
    return args + ["--chdir", f"{INSIDE}/tree", "--remount-ro", "/dev", "--remount-ro", "/"]


def unshare_args(home, python, hide, uid):
    """unshare, then a shell that builds a read-only root of a few binds and enters it as `uid`."""
    q = shlex.quote
    root = "/mnt"  # a tmpfs over the host's /mnt, in the private mount namespace
    steps = [f"mount -t tmpfs -o mode=755,size=1m,nr_inodes=256 kit-root {root}"]
    for path, link in system_dirs(python):
        if link:
            steps.append(f"mkdir -p {q(str(Path(root + path).parent))} && ln -s {q(link)} {q(root + path)}")
        else:
            steps += [f"mkdir -p {q(root + path)}", f"mount --bind {q(path)} {q(root + path)}"]
            steps.append(f"mount -o remount,bind,ro {q(root + path)}")
    for path in hide:  # anything of the kit's under a bound folder (a kit installed in /usr)
        if path.is_dir():
            steps.append(f"mount -t tmpfs -o size=4k,mode=755 tmpfs {q(root + str(path))}")
        else:
            steps.append(f"mount --bind /dev/null {q(root + str(path))}")
    steps.append(f"mkdir -p {root}/proc {root}/dev/shm {root}/tmp {root}/var/tmp {root}{INSIDE}")
    for dev in ("null", "zero", "full", "random", "urandom"):
        steps.append(f"touch {root}/dev/{dev} && mount --bind /dev/{dev} {root}/dev/{dev}")
    steps.append(f"mount -t proc -o nosuid,nodev,noexec proc {root}/proc")  # this PID namespace's own
    steps.append(f"mount --bind {q(str(home))} {root}{INSIDE}")
    steps += [f"mount --bind {q(str(home / 'tmp'))} {root}{path}" for path in WRITABLE]
    steps.append(f"mount -o remount,ro {root}")
    enter = [tool("chroot") or "/usr/sbin/chroot", root, *setpriv(uid), "/bin/sh", "-c"]
    steps.append("exec " + " ".join(map(q, enter)) + f" 'cd {INSIDE}/tree && exec \"$@\"' sh \"$@\"")
    script = "set -e\numask 022\n" + "\n".join(steps)  # the judge runs with umask 077
    return [
        tool("unshare") or "unshare",
        "--mount",
        "--net",
        "--pid",
        "--ipc",
        "--uts",
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
