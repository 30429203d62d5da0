"""The grading host's housekeeping, as root: a block of user ids per grading, a quota tmpfs per
student, and the scratch mounts a killed grading left behind.

Learner code runs as a user id of its own, taken from a block of ids no other grading on this host
holds (a lock file per block, and no process already running under them), so that two gradings on
one machine never share a user. The student's scratch folder is a tmpfs with a size and inode
quota; a grading that was killed leaves those mounts, and the next holder of its block removes them.
"""

import ctypes
import fcntl
import functools
import os
import shutil
import tempfile
from pathlib import Path

from kit.errors import KitError

UID_BASE, UID_BLOCK, UID_BLOCKS = 61000, 256, 64  # grading k takes uids UID_BASE + k * UID_BLOCK + slot
LOCKS = Path("/run/kit-grade") if os.path.isdir("/run") else Path(tempfile.gettempdir()) / "kit-grade"
DISK = 64 << 20  # bytes of a student's scratch tmpfs (as root: the tree, the worker's files, /tmp; else /tmp)
INODES = 4096  # files and folders in it


class Unavailable(KitError):
    """A sandbox (or the user ids it needs) that cannot be had here, in words for the instructor."""


def is_root():
    return os.geteuid() == 0


class Uids:
    """A block of user ids held by this grading alone, for as long as the object lives: a lock file
    per block under LOCKS, and a block is taken only when no process runs under its ids."""

    def __init__(self, jobs):
        if jobs > UID_BLOCK:
            raise Unavailable(f"--jobs {jobs}: at most {UID_BLOCK} students at once")
        LOCKS.mkdir(mode=0o700, parents=True, exist_ok=True)
        for k in range(UID_BLOCKS):
            base = UID_BASE + k * UID_BLOCK
            fd = os.open(LOCKS / f"uids-{base}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if not any(base <= (uid_of(pid) or -1) < base + UID_BLOCK for pid in pids()):
                self.fd, self.base = fd, base
                return
            os.close(fd)
        raise Unavailable(f"every block of grading user ids ({UID_BLOCKS} under {LOCKS}) is in use")

    def __getitem__(self, slot):
        return self.base + slot

    def close(self):
        os.close(self.fd)


MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2  # <sys/mount.h>


@functools.cache
def libc():
    """The C library, for mount(2) and umount2(2): two calls a student, where the programs mount and
    umount cost a process each (4 ms)."""
    return ctypes.CDLL(None, use_errno=True)


def mount_quota(home):
    """Make the folder `home` a tmpfs of DISK bytes and INODES files (as root); raises OSError where
    the kernel refuses."""
    opts = f"size={DISK},nr_inodes={INODES},mode=0755".encode()
    if libc().mount(b"kit-student", os.fsencode(home), b"tmpfs", MS_NOSUID | MS_NODEV, opts) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount of a tmpfs on {home}: {os.strerror(errno)}")


def quota_refused(scratch):
    """Why this grader cannot give a student a quota tmpfs (not root; the kernel refused a trial mount in
    `scratch`, as in a container without CAP_SYS_ADMIN), or None where it can."""
    if not is_root():
        return "not root"
    trial = Path(scratch) / ".quota-trial"
    trial.mkdir()
    try:
        mount_quota(trial)
    except OSError as e:
        return os.strerror(e.errno) if e.errno else str(e)
    else:
        unmount(trial)
    finally:
        trial.rmdir()
    return None


def unmount(home):
    """Detach the mount on `home` (lazily, as `umount --lazy`: it goes once nothing uses it)."""
    libc().umount2(os.fsencode(home), MNT_DETACH)


def scratch_prefix(base):
    """The name of a grading's scratch folders (in the temporary folder) for its block of user ids."""
    return f"kit-grade-{base}-"


def sweep(base):
    """Unmount and remove the scratch folders a killed grading of the same block of user ids left
    (its students' quota tmpfs mounts would hold memory until reboot); returns how many there were.
    Only the holder of the block calls it, so no live grading owns them."""
    top = Path(tempfile.gettempdir()).resolve()
    stale = sorted(top.glob(scratch_prefix(base) + "*"))
    if not stale:
        return 0
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        mounts = []
    points = [line.split()[4].replace("\\040", " ") for line in mounts]
    for folder in stale:
        for point in sorted((p for p in points if Path(p).is_relative_to(folder)), reverse=True):
            unmount(Path(point))
        shutil.rmtree(folder, ignore_errors=True)
    return len(stale)


def pids():
    """Every live process id on the host."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def uid_of(pid):
    """The real user id of a live process (None for one that is gone or a zombie awaiting its parent)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    if fields.get("State", "").strip().startswith("Z"):
        return None
    return int(fields["Uid"].split()[0])
