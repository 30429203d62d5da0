"""The sandbox beneath the audit hook: IPC, privileges, the read-only system, /proc, and the disk quota.

A worker past its hook (the kit's main.py replaced by one that runs first, as in tests/test_grading.py)
acts on the host with everything the sandbox leaves it, then serves as the kit's worker; what it saw
reaches the test as the message of the exception the learner's `derivative` raises, since no folder
of the host is writable from inside bwrap or unshare.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import hostile
import pytest
from test_grading import GRADING_UIDS, ROOT_MODES, available, kit_files, private_kit, students

from kit.instructor import host, sandbox, wrappers

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]  # a user with no rights of its own
ROLES = ("fence_first", "fence_second")  # the file in a tree that makes its worker act, graded in this order
BASE_KEY = 0x4B460000 | (os.getpid() & 0xFFFF) << 2  # System V keys of this test run alone

# Runs before the kit's worker, with no audit hook: what a worker could do if learner code got past it.
PAST_THE_HOOK = """\
import ctypes, errno, json, os, runpy, subprocess, sys
KEYS, SETUID, TOKEN = {keys!r}, {setuid!r}, {token!r}
role = next((r for r in KEYS if os.path.exists(os.path.join(sys.argv[1], r + ".py"))), None)


def why(n):
    return errno.errorcode.get(n, str(n))


def look():
    saw = {{}}
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget.argtypes, libc.shmget.restype = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    libc.shmat.argtypes, libc.shmat.restype = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int], ctypes.c_void_p
    bad = (None, ctypes.c_void_p(-1).value)
    other = next(r for r in KEYS if r != role)
    shmid = libc.shmget(KEYS[other], 0, 0)  # the other student's segment, if it is still there
    addr = libc.shmat(shmid, None, 0o10000) if shmid >= 0 else None  # SHM_RDONLY
    saw["other"] = why(ctypes.get_errno()) if addr in bad else ctypes.string_at(addr, 32).split(b"\\0")[0].decode()
    saw["other_posix"] = os.path.exists(f"/dev/shm/kit-fence-{{KEYS[other]}}")
    shmid = libc.shmget(KEYS[role], 4096, 0o1000 | 0o666)  # IPC_CREAT, readable by every user
    addr = libc.shmat(shmid, None, 0) if shmid >= 0 else None
    if addr in bad:
        saw["made"] = why(ctypes.get_errno())
    else:
        ctypes.memmove(addr, ("kit-fence-" + role).encode(), len(role) + 10)
        saw["made"] = "sysv"  # and never removed: IPC_RMID is not called
    try:
        with open(f"/dev/shm/kit-fence-{{KEYS[role]}}", "w") as f:
            f.write(role)
        saw["posix"] = "made"
    except OSError as e:
        saw["posix"] = why(e.errno)
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    saw["nnp"] = status["NoNewPrivs"].strip()
    try:
        saw["euid"] = subprocess.run([SETUID, "-u"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError as e:
        saw["euid"] = why(e.errno)
    saw["writes"] = {{}}
    for folder in ("/", "/usr", "/etc"):
        try:
            with open(os.path.join(folder, TOKEN), "w"):
                saw["writes"][folder] = "written"
        except OSError as e:
            saw["writes"][folder] = why(e.errno)
    saw["init"] = open("/proc/1/cmdline", "rb").read()[:60].replace(b"\\0", b" ").decode("latin-1")
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    host = 0
    for p in pids:
        try:
            host += TOKEN.encode() in open(f"/proc/{{p}}/cmdline", "rb").read()
        except OSError:
            pass
    saw["host"], saw["pids"] = host, len(pids)
    return saw


if role:
    try:
        os.environ["KIT_FENCE_SAW"] = json.dumps(look(), separators=(",", ":"))
    except Exception as e:  # what failed is the finding then
        os.environ["KIT_FENCE_SAW"] = json.dumps({{"failed": repr(e)[:300]}})
runpy.run_path(os.path.join(os.path.dirname(os.path.realpath(__file__)), "real_main.py"), run_name="__main__")
"""

# Grades SUBMISSIONS into OUT in the private kit it runs from, every worker replaced by the one above.
DRIVER = """\
import sys
from pathlib import Path

import kit
from kit.instructor import grade as grading, sandbox

assert Path(kit.ROOT).resolve() == Path.cwd().resolve(), kit.ROOT
worker, subs, out, mode = Path(sys.argv[1]).read_text(), *sys.argv[2:5]
real = sandbox.Sandbox.prepare


def past_the_hook(self, home):
    real(self, home)
    folder = home / "kit" / "worker"
    (folder / "main.py").rename(folder / "real_main.py")
    (folder / "main.py").write_text(worker)
    (folder / "main.py").chmod(0o644)


sandbox.Sandbox.prepare = past_the_hook
args = grading.options(
    subs, out, jobs=1, only="01", probe_timeout=10.0, check_timeout=30.0, student_timeout=120.0, sandbox=mode
)
sys.exit(grading.Grader(args).run())
"""

REPORTS = (
    "    return (f(x + h) - f(x)) / h\n",
    "    raise RuntimeError('FENCE' + os.environ.get('KIT_FENCE_SAW', '{}') + 'FENCE')\n",
)


def shm_keys():
    """The keys of the host's System V shared-memory segments."""
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(line.split()[0]) for line in lines}


def remove_segments(keys):
    for key in keys:
        if key in shm_keys():
            subprocess.run(["ipcrm", "-M", str(key)], capture_output=True)
        Path(f"/dev/shm/kit-fence-{key}").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def setuid_id():
    """A setuid-root copy of `id` where every sandbox sees it (/usr/local/bin), proven to give root outside."""
    if not ROOT_MODES:
        pytest.skip("a setuid-root binary is made, and the worker dropped to a uid, by a grader running as root")
    path = Path("/usr/local/bin") / f"kit-fence-id-{os.getpid()}"
    shutil.copy("/usr/bin/id", path)
    try:
        os.chown(path, 0, 0)
        path.chmod(0o4755)
        outside = subprocess.run([*NOBODY, str(path), "-u"], capture_output=True, text=True).stdout.strip()
        if outside != "0":
            pytest.skip(f"the host ignores setuid in /usr/local/bin (euid {outside!r}): nothing to refuse")
        yield str(path)
    finally:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module", params=["bwrap", "unshare", "none"])
def fenced(request, tmp_path_factory, setuid_id):
    """A class of three graded in `mode` from a private kit: two workers past the hook, graded one after
    the other with the same slot, and an honest neighbour; with what the workers saw and the host after."""
    mode = available(request.param)
    if mode != request.param:
        pytest.skip(f"sandbox {request.param} is not built here")
    base = tmp_path_factory.mktemp(f"fences-{mode}")
    keys = {role: BASE_KEY + 2 * ("bwrap", "unshare", "none").index(mode) + i for i, role in enumerate(ROLES)}
    token = f"kit-fence-host-{os.getpid()}-{mode}"
    kit = private_kit(base / "kit")
    subs = base / "subs"
    for sid, role in zip(("a-first", "b-second"), ROLES):
        patches = [hostile.top("derivatives.py", "import os"), ("derivatives.py", *REPORTS)]
        hostile.tree(subs / sid, patches=patches, extra={f"{role}.py": "x = 1\n"})
    hostile.tree(subs / "honest")
    (base / "worker.py").write_text(PAST_THE_HOOK.format(keys=keys, setuid=setuid_id, token=token))
    (base / "driver.py").write_text(DRIVER)
    before = kit_files(kit)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                str(base / "driver.py"),
                str(base / "worker.py"),
                str(subs),
                str(base / "out"),
                mode,
                token,
            ],
            cwd=kit,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(kit), "PYTHONDONTWRITEBYTECODE": "1"},
        )
        host = {
            "keys": shm_keys() & set(keys.values()),
            "posix": sorted(f"kit-fence-{k}" for k in keys.values() if Path(f"/dev/shm/kit-fence-{k}").exists()),
            "written": [d for d in ("/", "/usr", "/etc") if os.path.lexists(os.path.join(d, token))],
        }
    finally:
        remove_segments(keys.values())  # what `none` leaves on the host
        for d in ("/", "/usr", "/etc"):
            Path(d, token).unlink(missing_ok=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    graded = students(base / "out")
    return {
        "mode": mode,
        "keys": keys,
        "host": host,
        "students": graded,
        "saw": {role: saw_of(graded[sid]) for sid, role in zip(("a-first", "b-second"), ROLES)},
        "kit_unchanged": kit_files(kit) == before,
    }


def saw_of(student):
    """What a worker past the hook saw, from the message of the learner's `derivative`."""
    for t in student["tests"]:
        m = re.search(r"FENCE(\{.*?\})FENCE", t["message"])
        if m:
            return json.loads(m[1])
    raise AssertionError(f"no findings in {student['id']}'s results: {student['tests']}")


EVERY_MODE = pytest.mark.parametrize("fenced", ["bwrap", "unshare", "none"], indirect=True)


def namespaces_of_its_own(fenced):
    if fenced["mode"] == "none":
        pytest.skip("none shares the host's IPC namespace and /proc (asked for by name only): see the test below")


@EVERY_MODE
def test_a_segment_a_worker_leaves_is_gone_after_grading_and_the_next_student_never_sees_it(fenced):
    namespaces_of_its_own(fenced)
    first, second = (fenced["saw"][role] for role in ROLES)
    assert first["made"] == "sysv" and first["posix"] == "made", first  # inside, both kinds can be made
    assert second["made"] == "sysv" and second["posix"] == "made", second
    assert second["other"] == "ENOENT" and second["other_posix"] is False, second  # graded after first, same uid
    assert first["other"] == "ENOENT" and first["other_posix"] is False, first
    assert fenced["host"]["keys"] == set() and fenced["host"]["posix"] == [], fenced["host"]


@EVERY_MODE
def test_no_new_privileges_hold_so_a_setuid_root_binary_gives_no_root(fenced):
    for role in ROLES:
        saw = fenced["saw"][role]
        assert saw["nnp"] == "1", saw
        assert saw["euid"].isdigit() and int(saw["euid"]) in GRADING_UIDS, saw  # not 0: the setuid bit is ignored


@EVERY_MODE
def test_writes_to_the_root_usr_and_etc_are_refused_and_reach_nothing_of_the_hosts(fenced):
    # bwrap and unshare: a read-only root of a few read-only binds (no /etc there at all); none: the
    # host's own permissions, the worker being an unprivileged user.
    refused = {"/": {"EROFS"}, "/usr": {"EROFS"}, "/etc": {"ENOENT", "EROFS"}}
    if fenced["mode"] == "none":
        refused = dict.fromkeys(refused, {"EACCES"})
    for role in ROLES:
        writes = fenced["saw"][role]["writes"]
        assert all(writes[d] in refused[d] for d in refused), writes
    assert fenced["host"]["written"] == []


@EVERY_MODE
def test_proc_is_the_workers_own_with_neither_the_hosts_init_nor_the_grader_in_it(fenced):
    namespaces_of_its_own(fenced)
    init = Path("/proc/1/cmdline").read_bytes()[:60].replace(b"\0", b" ").decode("latin-1")
    for role in ROLES:
        saw = fenced["saw"][role]
        assert saw["init"] != init and saw["host"] == 0, saw
        assert saw["pids"] < 10, saw  # the worker, its wrappers and the `id` it ran


@pytest.mark.parametrize("fenced", ["none"], indirect=True)
def test_in_none_mode_the_same_worker_sees_the_hosts_ipc_and_processes_so_the_fences_tests_can_fail(fenced):
    """The IPC and /proc tests above skip `none`; this one shows their probes do see a host that is not
    fenced, so they can fail."""
    first, second = (fenced["saw"][role] for role in ROLES)
    assert second["other"] == "kit-fence-fence_first" and second["other_posix"] is True, second
    assert fenced["host"]["keys"] == set(fenced["keys"].values()), fenced["host"]  # both outlived grading
    assert len(fenced["host"]["posix"]) == 2, fenced["host"]
    init = Path("/proc/1/cmdline").read_bytes()[:60].replace(b"\0", b" ").decode("latin-1")
    assert first["init"] == init and first["host"] >= 1, first


@EVERY_MODE
def test_the_honest_neighbour_keeps_full_marks_and_the_kit_is_byte_identical(fenced):
    graded = fenced["students"]
    assert graded["honest"]["checks"]["01"]["earned"] == hostile.FULL["01"], graded["honest"]
    assert graded["honest"]["review"] == [] and graded["honest"]["status"] == "graded"
    for sid in ("a-first", "b-second"):
        assert graded[sid]["status"] == "graded" and graded[sid]["checks"]["01"]["earned"] < hostile.FULL["01"]
    assert fenced["kit_unchanged"]


# --- the disk of a non-root grader with bwrap -------------------------------------------------------

FILLS = """\
import errno, json, os
INSIDE, DISK = {inside!r}, {disk!r}
said = {{}}


def attempt(name, path, size, mode="wb"):
    done = 0
    try:
        with open(path, mode, buffering=0) as f:
            while done < size:
                done += f.write(b"x" * min(1 << 20, size - done))
        said[name] = done
    except OSError as e:
        said[name] = errno.errorcode[e.errno]
        said[name + "_bytes"] = done


attempt("tmp", "/tmp/fill", 100 << 20)  # 100 MB: more than the quota
attempt("dev_shm", "/dev/shm/more", 1 << 20)
attempt("var_tmp", "/var/tmp/more", 1 << 20)
os.unlink("/tmp/fill")
attempt("dev_shm_after", "/dev/shm/after", 1 << 20)
said["one_device"] = len({{os.stat(p).st_dev for p in ("/tmp", "/var/tmp", "/dev/shm")}}) == 1
said["size"] = os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize
for name, path, mode in [
    ("tree_new", INSIDE + "/tree/new.py", "wb"),
    ("tree_file", INSIDE + "/tree/derivatives.py", "ab"),
    ("home", INSIDE + "/new", "wb"),
    ("worker", INSIDE + "/kit/worker/main.py", "ab"),
    ("root", "/new", "wb"),
    ("dev", "/dev/new", "wb"),
    ("usr", "/usr/new", "wb"),
]:
    attempt(name, path, 1, mode)
print(json.dumps(said))
"""


def bwrap_python():
    """The interpreter a bwrap worker runs under here, or a skip where bwrap cannot be built."""
    available("bwrap")
    return sandbox.detect("bwrap")[1]


def as_a_user_without_rights(cmd):
    """`cmd` run as an unprivileged user: nobody, from a grader running as root; else this user."""
    return [*NOBODY, *cmd] if ROOT_MODES else cmd


@pytest.fixture
def open_home():
    """A student's home the way a non-root grader lays it out, owned by the user that runs the sandbox (so
    its own permissions would let it write: only the read-only binds refuse)."""
    home = Path(tempfile.mkdtemp(prefix="kit-fences-home-"))
    try:
        hostile.tree(home / "tree", upto=1)
        sandbox.Sandbox("none", sys.executable, uid=None, hide=[]).prepare(home)
        for path in [home, *home.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
            if ROOT_MODES:
                os.chown(path, 65534, 65534)
        yield home
    finally:
        shutil.rmtree(home)


def test_as_a_non_root_grader_bwrap_gives_the_worker_one_tmpfs_of_disk_bytes_and_the_home_read_only(open_home):
    python = bwrap_python()
    before = kit_files(open_home)
    fence = sandbox.Sandbox("bwrap", python, uid=None, hide=[], quota=False).fence(open_home)
    code = FILLS.format(inside=wrappers.INSIDE, disk=host.DISK)
    proc = subprocess.run(
        as_a_user_without_rights([*fence.prefix, python, "-I", "-c", code]), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    said = json.loads(proc.stdout)
    assert said["tmp"] == "ENOSPC" and host.DISK - (1 << 20) <= said["tmp_bytes"] <= host.DISK, said
    assert said["dev_shm"] == said["var_tmp"] == "ENOSPC", said  # the same quota, already used up by /tmp
    assert said["dev_shm_after"] == 1 << 20 and said["one_device"] and said["size"] == host.DISK, said
    for name in ("tree_new", "tree_file", "home", "worker", "root", "dev", "usr"):
        assert said[name] == "EROFS", (name, said)
    assert kit_files(open_home) == before  # nothing of the home changed


def test_as_root_bwrap_keeps_tmp_on_the_students_quota_and_dev_read_only(open_home):
    """The root layout (the home on its quota tmpfs, mounted by the grader) binds the home writable; /dev
    itself, a tmpfs of bwrap's without a size, is read-only there too."""
    python = bwrap_python()
    (open_home / "tmp").chmod(0o1777)
    fence = sandbox.Sandbox("bwrap", python, uid=None, hide=[], quota=True).fence(open_home)
    code = (
        "import errno\n"
        "for path in ('/dev/new', '/tmp/new', '/var/tmp/new2', '/dev/shm/new3'):\n"
        "    try:\n"
        "        open(path, 'w').close()\n"
        "        print(path, 'written')\n"
        "    except OSError as e:\n"
        "        print(path, errno.errorcode[e.errno])\n"
    )
    proc = subprocess.run(
        as_a_user_without_rights([*fence.prefix, python, "-I", "-c", code]), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    said = dict(line.split() for line in proc.stdout.splitlines())
    assert said == {"/dev/new": "EROFS", "/tmp/new": "written", "/var/tmp/new2": "written", "/dev/shm/new3": "written"}
    assert sorted(p.name for p in (open_home / "tmp").iterdir()) == ["new", "new2", "new3"]  # all on the home's tmp/


def runs_the_kit(python):
    """Whether `python` runs for an unprivileged user, with pytest, and can start itself again (the judges)."""
    again = "import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', 'import pytest']).returncode)"
    cmd = as_a_user_without_rights([python, "-c", again])
    return subprocess.run(cmd, capture_output=True, cwd="/").returncode == 0


def grader_python(place):
    """An interpreter with this one's packages that an unprivileged user can run: this one, or (where it
    lies in a folder only root can enter, e.g. under /root) a venv of the system's Python of the same
    version that reads this one's site-packages."""
    if runs_the_kit(sys.executable):
        return sys.executable
    system = "/usr/bin/python3"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    said = subprocess.run([system, "-c", "import sys; print(*sys.version_info[:2], sep='.')"], capture_output=True)
    if said.stdout.decode().strip() != version:
        pytest.skip(f"no Python {version} an unprivileged user can run here")
    subprocess.run([system, "-m", "venv", "--without-pip", str(place / "venv")], check=True)
    site = place / "venv" / "lib" / f"python{version}" / "site-packages"
    (site / "kit-grader.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = str(place / "venv" / "bin" / "python")
    if not runs_the_kit(python):
        pytest.skip("no interpreter with pytest an unprivileged user can run here")
    return python


@pytest.mark.skipif(not ROOT_MODES or not wrappers.tool("bwrap"), reason="bwrap, for a grader running as root")
def test_the_sandbox_trial_starts_its_worker_as_a_worker_starts_so_it_fails_where_a_worker_would(monkeypatch):
    """A temporary folder only root may enter: the student's user cannot reach a home in it, so bwrap
    cannot bind it, and the trial, run as that user too, says so (the grading then tries the next mode)
    instead of choosing a sandbox whose every worker would fail."""
    place = Path(tempfile.mkdtemp(prefix="kit-trial-"))  # /tmp's own, which any user may enter
    try:
        os.chmod(place, 0o755)
        (place / "closed").mkdir(mode=0o700)
        monkeypatch.setattr(tempfile, "tempdir", str(place / "closed"))
        python, why = sandbox.trial("bwrap")
        assert python is None and "Permission denied" in why, why
        monkeypatch.setattr(tempfile, "tempdir", str(place))
        assert sandbox.trial("bwrap")[0] is not None
    finally:
        shutil.rmtree(place, ignore_errors=True)


@pytest.mark.slow
def test_a_non_root_grading_with_bwrap_gives_the_verdicts_make_check_gives(checks, variant):
    """The worker writes nothing to the home it sees read-only: honest code and a mistake get from a
    grader running as an unprivileged user exactly what the learner's own checks give them."""
    bwrap_python()
    place = Path(tempfile.mkdtemp(prefix="kit-fences-nonroot-"))
    try:
        place.chmod(0o755)
        kit = private_kit(place / "kit")
        trees = {"honest": variant([], name="honest"), "central-over-h": variant(CENTRAL_OVER_H, "derivatives.py")}
        for sid, tree in trees.items():
            shutil.copytree(tree, place / "subs" / sid)
        mine = place / "mine"  # the grader's own: OUT, its home and its scratch folders
        mine.mkdir()
        if ROOT_MODES:
            os.chown(mine, 65534, 65534)
        cmd = [grader_python(place), "-m", "kit", "grade", str(place / "subs"), str(mine / "out"), "--jobs", "2"]
        proc = subprocess.run(
            as_a_user_without_rights(cmd),
            cwd=kit,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "HOME": str(mine), "TMPDIR": str(mine), "PYTHONDONTWRITEBYTECODE": "1"},
        )
        assert proc.returncode == 0 and "sandbox bwrap" in proc.stdout, proc.stdout + proc.stderr
        graded = students(mine / "out")
        for sid, tree in trees.items():
            at_laptop = checks("all", tree).tests()
            verdicts = [(t["test"], t["status"], t["points"], t["mistake"]) for t in graded[sid]["tests"]]
            assert verdicts == [(t["test"], t["status"], t["points"], t["mistake"]) for t in at_laptop], sid
            assert graded[sid]["review"] == [], graded[sid]["review"]
        assert graded["honest"]["checks"] == {ex: {"earned": n, "max": n, "base": []} for ex, n in hostile.FULL.items()}
        assert graded["central-over-h"]["checks"]["01"]["earned"] < hostile.FULL["01"]  # the mistake costs points
    finally:
        shutil.rmtree(place)


CENTRAL_OVER_H = [("    return (f(x + h) - f(x - h)) / (2 * h)\n", "    return (f(x + h) - f(x - h)) / h\n")]
