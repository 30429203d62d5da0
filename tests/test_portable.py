"""The learner's path (what `make check` runs: the judge and its worker) asks nothing of the system
that Windows and macOS do not offer. Run with the POSIX-only calls taken away, as on Windows, it
gives the same reports byte for byte; and a worker ends when its judge does, on its own."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import hostile
import pytest
from conftest import run_checks
from zoo import RECURSIVE_TOPO, ZOO

from kit import ROOT

# What Windows lacks, taken away before anything else runs (in the judge by sitecustomize, in the
# worker by a wrapper script that then runs it): fork, process groups and sessions, non-blocking
# pipes, SIGALRM and SIGKILL, select on a pipe, ctypes.CDLL(None), fcntl, resource, termios, and
# subprocess's preexec_fn, pass_fds and start_new_session (msvcrt's locking, made of fcntl's, in its
# place). Popen.kill stands for TerminateProcess.
WINDOWS_LIKE = r'''
import ctypes, os, select, signal, stat, subprocess, sys

for name in ("fork", "forkpty", "killpg", "getpgid", "setpgid", "setsid", "set_blocking", "get_blocking"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGALRM", "alarm", "setitimer", "getitimer", "SIGKILL", "pthread_kill"):
    if hasattr(signal, name):
        delattr(signal, name)


class NotOnWindows:
    def find_spec(self, name, path=None, target=None):
        if name in ("fcntl", "resource", "termios"):
            raise ModuleNotFoundError(f"No module named {name!r} (as on Windows)", name=name)


import fcntl, types  # noqa: E401, E402 - msvcrt's file locking, made of the real one before it goes

msvcrt = types.ModuleType("msvcrt")
msvcrt.LK_LOCK, msvcrt.LK_UNLCK = 1, 0
msvcrt.locking = lambda fd, mode, n: fcntl.lockf(fd, fcntl.LOCK_EX if mode else fcntl.LOCK_UN, n)
sys.modules["msvcrt"] = msvcrt
sys.meta_path.insert(0, NotOnWindows())
for name in ("fcntl", "resource", "termios"):
    sys.modules.pop(name, None)

_select = select.select


def select_sockets_only(*lists):
    for fd in (x for group in lists[:3] for x in group):
        if stat.S_ISFIFO(os.fstat(fd if isinstance(fd, int) else fd.fileno()).st_mode):
            raise OSError(10038, "select on a pipe (Windows selects sockets only)")
    return _select(*lists)


select.select = select_sockets_only
_CDLL = ctypes.CDLL


class CDLL(_CDLL):
    def __init__(self, name, *args, **kwargs):
        if name is None:
            raise TypeError("ctypes.CDLL(None): no such library on Windows")
        super().__init__(name, *args, **kwargs)


ctypes.CDLL = CDLL


class Popen(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        for name in ("preexec_fn", "pass_fds", "start_new_session", "process_group"):
            if kwargs.get(name):
                raise ValueError(f"{name} is not supported on Windows platforms")
        worker = os.path.join("checks", "worker", "main.py")
        if isinstance(args, list) and any(str(a).endswith(worker) for a in args):
            i = next(i for i, a in enumerate(args) if str(a).endswith(worker))
            args = [*args[:i], os.environ["KIT_TEST_SHIM"], *args[i:]]  # the worker, run by the wrapper
        super().__init__(args, *rest, **kwargs)

    def kill(self):  # TerminateProcess: no signal named
        if self.returncode is None:
            try:
                os.kill(self.pid, 9)
            except ProcessLookupError:
                pass


subprocess.Popen = Popen
'''

# The worker's wrapper: the same taken away (the worker's environment has no PYTHONPATH), then the worker.
SHIM = """
import os, runpy, sys
here = os.path.dirname(os.path.abspath(__file__))
exec(compile(open(os.path.join(here, "sitecustomize.py"), encoding="utf-8").read(), "windows-like", "exec"))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def windows_like(tmp_path_factory):
    """The environment of a judge (and so of its worker) with the POSIX-only calls taken away."""
    folder = tmp_path_factory.mktemp("windows-like")
    (folder / "sitecustomize.py").write_text(WINDOWS_LIKE)
    shim = folder / "shim.py"
    shim.write_text(SHIM)
    return {"PYTHONPATH": f"{folder}{os.pathsep}{ROOT}", "KIT_TEST_SHIM": str(shim)}, folder


def without_timings(report):
    if isinstance(report, dict):
        return {k: without_timings(v) for k, v in report.items() if k != "seconds"}
    if isinstance(report, list):
        return [without_timings(v) for v in report]
    return report


ENDLESS_ADD = (
    "micrograd/engine.py",
    "    def __add__(self, other):\n",
    "    def __add__(self, other):\n        while True:\n            pass\n",
)


def zoo(name):
    _, file, patches, *_ = ZOO[name]
    return [(file, old, new) for old, new in patches]


def trees(tmp_path):
    """(name, tree, checks, options): the reference and the stubs; zoo members of 01, 03 and 04 with a
    crash and a print in 02; an endless loop in + and one at the top of derivatives.py."""
    crash = (
        "micrograd/engine.py",
        "        out = Value(self.data * other.data",
        "        if self.data == 2.0 and other.data == -3.0:\n            import os; os._exit(3)\n"
        "        out = Value(self.data * other.data",
    )
    prints = (
        "micrograd/engine.py",
        '        return f"Value(data={self.data})"\n',
        "        print('check-02: 10/10 points')\n        return 'nope'\n",
    )
    topo = ("micrograd/engine.py", "def topological_order(root):", RECURSIVE_TOPO)
    mixed = [*zoo("forward difference without /h"), *zoo("add backward assigns the grad"), topo, crash, prints]
    endless = [ENDLESS_ADD, hostile.top("derivatives.py", "while True:\n    pass\n")]
    return [
        ("reference", ROOT / "solutions", "all", ()),
        ("stubs", ROOT / "exercises", "all", ()),
        ("zoo, a crash and a print", hostile.tree(tmp_path / "mixed", patches=mixed), "all", ()),
        ("endless loops", hostile.tree(tmp_path / "endless", patches=endless), "01,02,03", ("--timeout", "2")),
    ]


def check(which, impl, options, report, env):
    """(exit status, printed report, JSON report) of `python -m kit check` in a fresh process."""
    cmd = [sys.executable, "-m", "kit", "check", which, "--impl", str(impl), "--report", str(report), *options]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, proc.stdout, without_timings(json.loads(report.read_text()))


def test_the_checks_give_the_same_reports_with_the_posix_only_calls_taken_away(tmp_path, windows_like):
    env, _ = windows_like
    with ThreadPoolExecutor(2) as pool:
        runs = [
            (
                name,
                *(
                    pool.submit(check, which, impl, options, tmp_path / f"{i}-{kind}.json", e)
                    for kind, e in (("native", {}), ("windows", env))
                ),
            )
            for i, (name, impl, which, options) in enumerate(trees(tmp_path))
        ]
        results = {name: (native.result(), windows.result()) for name, native, windows in runs}
    for name, (native, windows) in results.items():
        assert windows == native, name
    statuses = {name: [t["status"] for t in native[2]["tests"]] for name, (native, _) in results.items()}
    assert set(statuses["reference"]) == {"pass"} and set(statuses["stubs"]) == {"todo"}
    assert {"fail", "error", "crash", "pass"} <= set(statuses["zoo, a crash and a print"])
    assert "Your code printed:" in results["zoo, a crash and a print"][0][1]
    assert {"timeout", "pass"} <= set(statuses["endless loops"])
    assert "importing derivatives took longer than 1 s" in results["endless loops"][0][1]


def test_the_windows_like_environment_refuses_what_windows_lacks(windows_like):
    """Not a vacuous copy of the normal run: the calls the learner's path used to make fail there."""
    env, _ = windows_like
    code = textwrap.dedent("""
        import os, select, signal, subprocess, sys
        refused = []
        r, w = os.pipe()
        for attempt in (
            lambda: select.select([r], [], [], 0),
            lambda: os.set_blocking(r, False),
            lambda: os.killpg(os.getpid(), 0),
            lambda: signal.alarm(1),
            lambda: __import__("ctypes").CDLL(None),
            lambda: __import__("resource"),
            lambda: subprocess.Popen([sys.executable, "-c", ""], pass_fds=(w,)),
            lambda: subprocess.Popen([sys.executable, "-c", ""], preexec_fn=lambda: None),
        ):
            try:
                attempt()
            except (OSError, AttributeError, TypeError, ValueError, ImportError):
                refused.append(True)
        print(len(refused))
        """)
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)
    assert out.stdout.strip() == "8", out.stderr


def test_the_judge_waits_on_its_workers_pipes_with_threads_where_select_refuses_pipes(windows_like):
    """Select where it takes pipes; elsewhere (as on Windows) a thread per pipe (checks/pipes.py)."""
    env, _ = windows_like
    code = textwrap.dedent("""
        import subprocess, sys
        from checks.pipes import open_pipes
        proc = subprocess.Popen([sys.executable, "-c", ""], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        print(type(open_pipes(proc.stdout, proc.stderr, b"mark")).__name__)
        proc.wait()
        """)
    kinds = {}
    for name, extra in (("native", {"PYTHONPATH": str(ROOT)}), ("windows-like", env)):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **extra}, capture_output=True, text=True)
        kinds[name] = out.stdout.strip() or out.stderr
    assert kinds == {"native": "Selected", "windows-like": "Threaded"}


def children(pid):
    """The process ids whose parent is `pid` (Linux's /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def cmdline(pid):
    """The command line of `pid`, b"" once it has ended (a child may end between listing and reading)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # ended; only its parent's reaping is left
    except OSError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the worker through /proc (Linux)")
@pytest.mark.parametrize("environment", ["native", "windows-like"])
def test_a_worker_in_an_endless_loop_ends_when_its_judge_is_killed(tmp_path, windows_like, environment):
    """No parent-death signal: the worker's watchdog sees its stdin (the judge's pipe) close."""
    impl = hostile.tree(tmp_path / "endless", patches=[ENDLESS_ADD])
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(windows_like[0] if environment == "windows-like" else {})}
    judge = subprocess.Popen(
        [sys.executable, "-m", "kit", "check", "02", "--impl", str(impl), "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        workers = []
        while not workers and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = [p for p in children(judge.pid) if b"main.py" in cmdline(p)]
        assert workers, "the judge started no worker"
        if environment == "windows-like":  # the worker too runs without what Windows lacks
            assert b"shim.py" in cmdline(workers[0])
        time.sleep(1)  # well inside the endless loop
        assert not gone(workers[0])
        os.kill(judge.pid, signal.SIGKILL)
        judge.wait()
        deadline = time.monotonic() + 5
        while not gone(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(workers[0]), "the worker outlived its judge"
    finally:
        judge.kill()
        judge.wait()


def test_an_endless_loop_costs_one_tests_time_and_later_calls_of_it_fail_at_once(tmp_path):
    """The watchdog names the function still running; later calls of it are not waited for again."""
    impl = hostile.tree(tmp_path / "endless", patches=[ENDLESS_ADD])
    started = time.monotonic()
    run = run_checks("02,03", impl, "--timeout", "2")
    took = time.monotonic() - started
    tests = run.tests()
    first = next(t for t in tests if t["status"] == "timeout")
    assert (
        first["message"].startswith("Took longer than 2 s")
        and "Value.__add__ (micrograd/engine.py)" in first["message"]
    )
    later = [t for t in tests if t["status"] == "timeout"]
    assert len(later) >= 8 and all("Value.__add__" in t["message"] for t in later)
    assert any(t["status"] == "pass" and t["check"] == "03" for t in tests)  # * alone still works
    assert took < 15, took  # one wait in the first look, none after: not one per test
    again = run_checks("02,03", impl, "--timeout", "2")
    assert json.dumps(without_timings(again.report)) == json.dumps(without_timings(run.report))
