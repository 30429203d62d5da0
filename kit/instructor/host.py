"""The grading host's housekeeping, as root: a block of user ids per grading, a quota tmpfs per
student, and the scratch mounts a killed grading left behind.

Learner code runs as a user id of its own, taken from a block of ids no other grading on this host
holds (a lock file per block, and no process already running under them), so that two gradings on
one machine never share a user. The student's scratch folder is a tmpfs with a size and inode
quota; a grading that was killed leaves those mounts, and the next holder of its block removes them.
"""

import fcntl
import os
import shutil
import subprocess
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


def mount_quota(home):
    """Make `home` a tmpfs of DISK bytes and INODES files (root only); returns whether it did."""
    home.mkdir()
    if not is_root():
        return False
    opts = f"size={DISK},nr_inodes={INODES},mode=0755,nosuid,nodev"
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "kit-student", str(home)], check=True, capture_output=True)
    return True


def unmount(home):
    subprocess.run(["umount", "--lazy", str(home)], capture_output=True)


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
