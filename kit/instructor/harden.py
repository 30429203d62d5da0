"""The grader's Linux hardening of one worker start, before the sandbox's wrappers run it.

`python -I -s harden.py SPEC -- COMMAND...`, put first by a hardened fence (checks/client.py's
Fence.launch), where SPEC is JSON `{"rlimits": {"AS": bytes, ...}, "cgroups": [folder, ...],
"judge": pid}`: into the student's cgroups (so that one memory limit covers all the worker starts),
a session of its own (the judge kills it whole), the parent-death signal (a judge that dies takes its
worker along), address-space randomisation off (the same set orders every run), then the resource
limits, then exec. Linux only, and none of it in a learner's path (whose worker starts plainly, under
`setarch -R` where it works). Standard library only.
"""

import ctypes
import json
import os
import resource
import signal
import sys

ADDR_NO_RANDOMIZE = 0x0040000  # personality(2)
PR_SET_PDEATHSIG = 1  # prctl(2)


def enter(cgroups):
    """Move this process into each cgroup: "0" moves the writer; a failure fails the start, never the fence."""
    for folder in cgroups:
        fd = os.open(os.path.join(folder, "cgroup.procs"), os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)


def harden(spec):
    enter(spec.get("cgroups", ()))
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        personality, prctl = libc.personality, libc.prctl
        personality.argtypes, personality.restype = [ctypes.c_ulong], ctypes.c_int
        prctl.argtypes, prctl.restype = [ctypes.c_int, ctypes.c_ulong], ctypes.c_int
    except (OSError, AttributeError):
        personality = prctl = None
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if spec.get("judge") and os.getppid() != spec["judge"]:
            os._exit(1)  # the judge died before the signal was set
    if personality is not None:
        current = personality(0xFFFFFFFF)
        if current != -1:
            personality(current | ADDR_NO_RANDOMIZE)
    for name, value in spec.get("rlimits", {}).items():
        kind = getattr(resource, f"RLIMIT_{name}")
        resource.setrlimit(kind, (int(value), int(value)))


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: harden.py SPEC -- COMMAND...")
    harden(json.loads(argv[1]))
    os.execvp(argv[3], argv[3:])


if __name__ == "__main__":
    main(sys.argv)
