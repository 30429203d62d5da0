"""One memory limit over a student's whole process tree (kit/instructor/cgroups.py), and what a killed
grading leaves for the next one to clean up.

The kernel's cgroups are used where this grader may write them; elsewhere these tests skip with the
reason, and the rlimits and tmpfs sizes of the sandbox are all there is (the log says so)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import hostile
import pytest

from checks import messages, process
from checks.base import plan
from checks.calls import Calls, todo_left
from checks.client import ProbeFailure, Worker
from checks.inputs import LECTURE_L
from checks.process import Fence
from kit import ROOT
from kit.instructor import cgroups, host, machine, sandbox, wrappers

ALL = {"01", "02", "03", "04", "05", "06", "07"}
GROUPS = cgroups.Cgroups.detect()
needs_cgroups = pytest.mark.skipif(GROUPS is None, reason="no cgroup memory controller this user may write here")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="quota mounts and grading uids need a grader running as root")


@pytest.fixture
def group():
    g = GROUPS.make(f"kit-test-{os.getpid()}-{time.monotonic_ns()}", 96 << 20, 64)
    yield g
    g.remove()
    assert not any(f.exists() for f in g.folders)


def run_in(group, code, timeout=60):
    return subprocess.run(  # entered by the grader's launcher, as a fenced worker is
        [*Fence(cgroups=tuple(map(str, group.folders))).launch(), sys.executable, "-c", textwrap.dedent(code)],
        input=b"\n",  # the judge's go, once the cgroups are entered (kit/instructor/harden.py)
        capture_output=True,
        timeout=timeout,
    )


TOUCH = "def touch(mb):\n    b = bytearray(mb << 20)\n    b[::4096] = b'x' * len(b[::4096])\n    return b\n"


@needs_cgroups
def test_a_worker_and_the_children_it_forks_share_one_memory_limit(group):
    """Four processes of 40 MB each stay under a 1 GB address-space rlimit apiece; together they are
    over the student's 96 MB, and the kernel ends one of them."""
    code = TOUCH + (
        "import os, time\n"
        "kids = []\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        held = touch(40); time.sleep(30); os._exit(0)\n"
        "    kids.append(pid)\n"
        "time.sleep(1)\n"
        "held = touch(40)\n"
        "for pid in kids:\n"
        "    os.kill(pid, 9)\n"
        "    os.waitpid(pid, 0)\n"
    )
    assert cgroups.oom_kills(tuple(map(str, group.folders))) == 0
    run_in(group, code)
    assert cgroups.oom_kills(tuple(map(str, group.folders))) >= 1


@needs_cgroups
@needs_root
def test_the_tmpfs_pages_a_student_writes_count_against_the_same_limit(group, tmp_path):
    """A tmpfs of 300 MB, written from inside the 96 MB group: the writer is ended near 96 MB."""
    mount = tmp_path / "t"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300m", "kit-test", str(mount)], check=True)
    try:
        code = f"f = open({str(mount / 'f')!r}, 'wb')\nfor _ in range(200):\n    f.write(b'x' * (1 << 20))\n"
        proc = run_in(group, code)
        assert proc.returncode == -signal.SIGKILL
        assert (mount / "f").stat().st_size < 96 << 20
        assert cgroups.oom_kills(tuple(map(str, group.folders))) >= 1
    finally:
        subprocess.run(["umount", "--lazy", str(mount)])


@needs_cgroups
def test_a_worker_ended_by_the_memory_limit_is_told_so_and_not_blamed_on_recursion(group, tmp_path):
    worker = tmp_path / "hungry.py"
    worker.write_text(TOUCH + "import sys\nsys.stdin.readline()\nheld = touch(200)\nsys.stdin.readline()\n")
    fence = Fence(worker=str(worker), cgroups=tuple(map(str, group.folders)))
    w = Worker(str(tmp_path), fence)
    with pytest.raises(ProbeFailure) as caught:
        w.call("derivative", {"f": "x", "x": 1.0, "h": 0.001}, timeout=30)
    kind, text = messages.probe_failure(caught.value)
    assert caught.value.kind == "memory"
    assert kind == "crash"
    assert "more memory than the sandbox's memory limit of 96 MB for all its processes" in text
    assert "recursion" not in text


# What a hardened worker finds itself in, written to stdout as JSON by the process its fence starts.
WHAT_IT_GOT = """\
import ctypes, json, os, resource, sys
libc = ctypes.CDLL(None, use_errno=True)
signal = ctypes.c_int(0)
libc.prctl(2, ctypes.byref(signal), 0, 0, 0)  # PR_GET_PDEATHSIG
print(json.dumps({
    "as": resource.getrlimit(resource.RLIMIT_AS), "nproc": resource.getrlimit(resource.RLIMIT_NPROC),
    "personality": libc.personality(0xFFFFFFFF), "pdeathsig": signal.value,
    "session": os.getsid(0) == os.getpid(), "cgroups": open("/proc/self/cgroup").read(),
    "uid": os.getuid(), "groups": os.getgroups(),
}))
"""


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin")  # one another user may run


@pytest.mark.parametrize(
    "user",
    [
        None,
        pytest.param(
            65534,
            marks=pytest.mark.skipif(
                os.geteuid() != 0 or SYSTEM_PYTHON is None, reason="needs root and a Python any user may run"
            ),
        ),
    ],
    ids=["as-is", "as-the-students-user"],
)
def test_a_hardened_worker_starts_in_the_students_cgroup_with_its_limits_its_own_session_and_no_interpreter_before_it(
    user,
):
    """The grader's hardening is util-linux's small programs exec'd one into the next (sh, prlimit,
    setarch, setpriv): the worker's process gets the rlimits, address randomisation off where the kernel
    allows it, its user, the parent-death signal (kept through the switch to that user, which would
    clear it were it set first), and a session of its own from the judge's Popen."""
    group = GROUPS.make(f"kit-test-{os.getpid()}-{time.monotonic_ns()}", 96 << 20, 64) if GROUPS else None
    try:
        folders = tuple(map(str, group.folders)) if group else ()
        fence = Fence(rlimits={"AS": 512 << 20, "NPROC": 4096}, cgroups=folders, user=user)
        command = fence.command("ignored")
        assert "python" not in " ".join(command[: command.index(fence.python)])  # no interpreter before the worker's
        done = subprocess.run(
            [*fence.launch(), SYSTEM_PYTHON if user else sys.executable, "-I", "-c", WHAT_IT_GOT],
            input="\n" if folders else "",  # the judge's go (kit/instructor/harden.py)
            capture_output=True,
            text=True,
            timeout=60,
            start_new_session=fence.hardened,
            cwd="/",
        )
        got = json.loads(done.stdout or done.stderr)
    finally:
        if group is not None:
            group.remove()
    assert got["as"] == [512 << 20, 512 << 20] and got["nproc"] == [4096, 4096]
    assert got["pdeathsig"] == signal.SIGKILL and got["session"]
    assert got["uid"] == (os.getuid() if user is None else user)
    if user is not None:
        assert got["groups"] == []
    if process.same_addresses():  # setarch -R works here (not in every container)
        assert got["personality"] & process.ADDR_NO_RANDOMIZE
    for folder in folders:  # the cgroup line of each of the group's controllers names the group
        assert f":{Path(folder).name}\n" in got["cgroups"] or f"/{Path(folder).name}\n" in got["cgroups"]


def waiting_in(group, proc, timeout=10.0):
    """Whether the process `proc` is in the group, once its shell has entered it (or `timeout` passed)."""
    deadline = time.monotonic() + timeout
    while proc.pid not in group.pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc.pid in group.pids() and proc.poll() is None


@needs_cgroups
def test_a_graders_calls_launch_the_next_starts_process_ahead_in_the_cgroups_only_while_one_is_to_come(group, tree):
    """Moving a process into a cgroup waits for the kernel (10-15 ms, idle), so a grader's run launches
    the process of its next worker start ahead: a shell that enters the student's cgroups and waits
    for the go. The start takes it; the last planned start leaves none behind, and closing ends it."""
    fence = Fence(cgroups=tuple(map(str, group.folders)))
    calls = Calls(tree(3), fence, 5.0, ahead=False)
    try:
        bases = plan(sorted(ALL), todo_left(tree(3)))
        calls.prepare(bases)
        first = calls.launched
        assert first is not None and waiting_in(group, first)
        calls.call("forward", {"graph": LECTURE_L})  # 02 is solved: the learner's own worker answers
        assert calls.worker.proc is first and calls.launched not in (None, first)  # three more bases to come
        second = calls.launched
        assert waiting_in(group, second)
        os.killpg(second.pid, signal.SIGKILL)  # one that ended while waiting: the start is made afresh
        second.wait()
        calls.base = bases[-1]  # 07's, on the kit's engine and network
        got = calls.call("forward", {"graph": LECTURE_L})
        assert got["data"]["L"] == -8.0 and calls.worker.proc is not second
        calls.prepare([bases[-1]])  # nothing more to come: nothing more launched
        left = calls.launched
    finally:
        calls.close()
    assert left is None or left.poll() is not None
    assert calls.launched is None and not calls.worker
    deadline = time.monotonic() + 10
    while group.pids() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not group.pids()


@needs_cgroups
def test_a_solved_tree_launches_one_process_ahead_for_its_one_worker_and_nothing_after(group, tree):
    calls = Calls(tree(7), Fence(cgroups=tuple(map(str, group.folders))), 5.0, ahead=False)
    try:
        calls.prepare(plan(sorted(ALL), todo_left(tree(7))))
        first = calls.launched
        assert calls.call("forward", {"graph": LECTURE_L})["data"]["L"] == -8.0
        assert calls.worker.proc is first and calls.launched is None
    finally:
        calls.close()


@needs_cgroups
@pytest.mark.parametrize("upto", [0, 3, 5], ids=["stubs", "through 03", "through 05"])
def test_a_run_in_the_students_cgroups_gives_the_verdicts_of_a_run_whose_workers_start_on_demand(
    checks, tree, tmp_path, upto
):
    """Its starts launched ahead (a grader's fence with cgroups) or each made on demand (a grader's
    fence without): the same report."""
    group = GROUPS.make(f"kit-test-{os.getpid()}-{time.monotonic_ns()}", 512 << 20, 64)
    try:
        runs = []
        for cgroup in ((), tuple(map(str, group.folders))):
            fence = tmp_path / f"fence-{len(runs)}.json"
            Fence(cgroups=cgroup, rlimits={"AS": 1 << 30}).save(fence)
            runs.append(checks("all", tree(upto), "--fence", str(fence)))
    finally:
        group.remove()
    on_demand, ahead = runs
    assert on_demand.report and ahead.report, (on_demand.out, ahead.out)

    def verdicts(run):
        return [(t["nodeid"], t["status"], t["points"], t["message"], t["mistake"]) for t in run.tests()]

    assert verdicts(ahead) == verdicts(on_demand)
    assert ahead.report["checks"] == on_demand.report["checks"]


def test_without_a_delegated_cgroup_v2_or_v1_hierarchy_there_is_none_and_the_log_says_rlimits(monkeypatch):
    monkeypatch.setattr(cgroups, "_mounts", lambda: {})
    assert cgroups.Cgroups.detect() is None
    line = sandbox.limits_line("bwrap", 1024 << 20, True, None)
    assert line.startswith("memory: rlimits, 1024 MB address space per process and at most 64 processes")
    assert sandbox.limits_line("bwrap", 512 << 20, True, "cgroup v1").startswith("memory: cgroup v1, 512 MB for")


def test_a_cgroup_v2_group_gets_its_limits_in_v2_s_files(tmp_path):
    """The v2 protocol on a folder standing in for the cgroup file system (no v2 memory controller is
    delegated on the machines the kit is tested on): the files and values a v2 kernel reads."""
    g = cgroups.Cgroups([tmp_path], 2).make("kit-x-0-1", 512 << 20, 64)
    folder = tmp_path / "kit-x-0-1"
    assert g.folders == [folder]
    assert (folder / "memory.max").read_text() == str(512 << 20)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "pids.max").read_text() == "64"
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    assert cgroups.oom_kills((str(folder),)) == 2
    assert cgroups.memory_limit((str(folder),)) == "the sandbox's memory limit of 512 MB for all its processes"


PATIENT = hostile.top("derivatives.py", "import time\nwhile True:\n    time.sleep(0.05)\n")


def block_of(log):
    m = re.search(r"; uids (\d+)-", log)
    assert m, log
    return int(m[1])


def kit_mounts(base):
    """Mount points of quota tmpfs mounts under the scratch folders of the grading uids from `base`."""
    prefix = str(Path(tempfile.gettempdir()).resolve() / host.scratch_prefix(base))
    return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines() if prefix in line]


def hold_block(base, timeout=10.0):
    """The lock of the block of grading uids from `base`, taken as soon as it is free (as a grading takes it)."""
    import fcntl

    fd = os.open(host.LOCKS / f"uids-{base}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise
            time.sleep(0.01)


def hold_blocks_below(base):
    """The lock of each free block of grading uids below `base`, held (as a grading holds its own)."""
    held = []
    for block in range(host.UID_BASE, base, host.UID_BLOCK):
        try:
            held.append(hold_block(block, timeout=0))
        except OSError:
            pass  # another grading holds it: it is not free either
    return held


@pytest.mark.slow
@needs_root
def test_a_killed_grading_leaves_no_process_and_the_next_grading_of_its_uids_removes_its_mounts_and_cgroups(
    tmp_path,
):
    mode = "bwrap" if wrappers.tool("bwrap") else "unshare"
    hostile.tree(tmp_path / "subs" / "patient", patches=[PATIENT])
    log = tmp_path / "out" / "grade.log"
    grader = subprocess.Popen(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "subs"), str(tmp_path / "out"), "--sandbox", mode]
        + ["--only", "01", "--probe-timeout", "60", "--check-timeout", "120", "--jobs", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and "; uids " in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        base = block_of(log.read_text())
        uids = range(base, base + host.UID_BLOCK)
        while not ([p for p in host.pids() if host.uid_of(p) in uids] and kit_mounts(base)):
            assert time.monotonic() < deadline, "the patient student's worker never started"
            time.sleep(0.1)
        stale_groups = [f for p in (GROUPS.parents if GROUPS else []) for f in p.glob(f"kit-{base}-*")]
        assert GROUPS is None or stale_groups
    finally:
        grader.kill()  # SIGKILL: no cleanup of its own
        grader.wait()
    # Another grading beside this test would take the freed block (the first free one) and clean it
    # up itself: the block is held here from the moment the killed grading lets it go.
    held = [hold_block(base)]
    try:
        deadline = time.monotonic() + 20
        while [p for p in host.pids() if host.uid_of(p) in uids]:
            assert time.monotonic() < deadline, "the killed grading's judge or worker lives on"
            time.sleep(0.1)
        assert kit_mounts(base), "the killed grading's quota mount should still be there for the next run to find"
        assert all(f.exists() for f in stale_groups)

        # The next grading takes the first free block, the killed grading's: the blocks below it are
        # held, and its own lock is handed over within the one process, so that no grading beside
        # this test can take it in between.
        settings = {"only": ["01"], "sandbox": mode, "memory": 512, "probe_timeout": 5.0, "check_timeout": None}
        settings |= {"student_timeout": 60.0, "jobs": 1, "record": {}}
        choice = sandbox.choose(mode)  # the sandbox's trial run, before the hand-over: the block is taken next
        held += hold_blocks_below(base)
        os.close(held.pop(0))
        nxt = machine.Machine(settings, choice=choice)
    finally:
        for fd in held:
            os.close(fd)
    try:
        assert nxt.uids.base == base  # the first free block: the killed grading's
        assert nxt.swept >= 1 + len(stale_groups)  # its scratch folder and cgroups: what the log reports as cleaned up
        assert kit_mounts(base) == []
        assert not any(f.exists() for f in stale_groups)
    finally:
        nxt.close()
    assert not list(Path(tempfile.gettempdir()).resolve().glob(host.scratch_prefix(base) + "*"))
