"""The grader's Linux hardening of one worker start, before the sandbox's wrappers run it.

A hardened fence (checks/process.py's Fence.launch) puts this command line first: util-linux's small
programs, each exec'ing the next in the same process, so that no interpreter starts before the
worker's own (a Python launcher here cost 20 ms of each start: one a student, and one more for each
base a student's unfinished tree needs):

    sh -c ENTER sh FOLDER... --       into each of the student's cgroups, so that one memory limit
                                      covers every worker start (a write that fails fails the start),
                                      then it waits for the judge's go, a line on its stdin
    prlimit --as=N --nproc=N ... --   the resource limits
    setarch ARCH -R                   address randomisation off (the same set orders every run), where
                                      the kernel allows it (a container's seccomp may not)
    setpriv --pdeathsig KILL [--reuid=U ...] --
                                      a judge that dies takes its worker along; with the student's
                                      user id, the switch to it in the same exec (a switch after the
                                      parent-death signal would clear it, Linux's prctl(2))

The session of its own, which the judge kills whole, comes from the judge's Popen
(start_new_session). Linux only, and none of it in a learner's path (whose worker starts plainly,
under `setarch -R` where it works).
"""

# "0" moves the writer; the folders come before "--", the command after it. Moving a process into a
# cgroup waits for the kernel (an RCU grace period: 10-15 ms, idle), so a judge may start this shell
# ahead (checks/calls.py) and send the go when the worker is wanted; `read` takes one line, byte by
# byte, and leaves the rest of stdin (the handshake) to the worker. No go (the judge gone): no worker.
ENTER = (
    'for f do shift; [ "$f" = -- ] && break; echo 0 > "$f/cgroup.procs" || exit 1; done; '
    'read -r go || exit 1; exec "$@"'
)
GO = b"\n"


def command(rlimits, cgroups, same_addresses, user=None):
    """The hardening before a worker's command: `rlimits` maps resource names ("AS", "NPROC") to
    limits, `cgroups` are the student's cgroup folders, `same_addresses` is `setarch ARCH -R` where
    that works here (checks/process.py), else []; `user` the user id the worker runs as, or None."""
    enter = ["/bin/sh", "-c", ENTER, "sh", *cgroups, "--"] if cgroups else []
    limits = ["prlimit", *(f"--{name.lower()}={int(value)}" for name, value in rlimits.items()), "--"]
    switch = as_user(user) if user is not None else []
    return [*enter, *(limits if rlimits else []), *same_addresses, "setpriv", "--pdeathsig", "KILL", *switch, "--"]


def as_user(uid):
    """setpriv's options that make the process `uid` (its own group, no other), with no capability
    to inherit and no way to gain privileges by exec."""
    return [f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--no-new-privs"]
