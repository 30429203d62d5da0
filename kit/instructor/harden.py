"""The grader's Linux hardening of one worker start, before the sandbox's wrappers run it.

A hardened fence (checks/client.py's Fence.launch) puts this command line first: util-linux's small
programs, each exec'ing the next in the same process, so that no interpreter starts before the
worker's own (a Python launcher here cost 20 ms of each start: one a student, and one more for each
base a student's unfinished tree needs):

    sh -c ENTER sh FOLDER... --       into each of the student's cgroups, so that one memory limit
                                      covers every worker start (a write that fails fails the start)
    prlimit --as=N --nproc=N ... --   the resource limits
    setarch ARCH -R                   address randomisation off (the same set orders every run), where
                                      the kernel allows it (a container's seccomp may not)
    setpriv --pdeathsig KILL --       a judge that dies takes its worker along

The session of its own, which the judge kills whole, comes from the judge's Popen
(start_new_session). Linux only, and none of it in a learner's path (whose worker starts plainly,
under `setarch -R` where it works).
"""

# "0" moves the writer; the folders come before "--", the command after it.
ENTER = 'for f do shift; [ "$f" = -- ] && break; echo 0 > "$f/cgroup.procs" || exit 1; done; exec "$@"'


def command(rlimits, cgroups, same_addresses):
    """The hardening before a worker's command: `rlimits` maps resource names ("AS", "NPROC") to
    limits, `cgroups` are the student's cgroup folders, `same_addresses` is `setarch ARCH -R` where
    that works here (checks/client.py), else []."""
    enter = ["/bin/sh", "-c", ENTER, "sh", *cgroups, "--"] if cgroups else []
    limits = ["prlimit", *(f"--{name.lower()}={int(value)}" for name, value in rlimits.items()), "--"]
    return [*enter, *(limits if rlimits else []), *same_addresses, "setpriv", "--pdeathsig", "KILL", "--"]
