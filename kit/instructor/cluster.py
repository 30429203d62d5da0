"""Grade on a Dask cluster: one task per student, each graded in its sandbox on a worker's machine.

    python -m kit grade SUBMISSIONS OUT --cluster local:4          a LocalCluster of 4 worker processes
    python -m kit grade SUBMISSIONS OUT --cluster tcp://host:8786  a running scheduler (SSH, Slurm, Kubernetes)

The instructor's machine finds and stages every submission and derives each student's inputs seed
from the secret (kit/instructor/grade.py), as for local grading; a task carries only the staged
tree, its notes and that derived seed, never the secret. On the worker, one Grader per worker
process (its own sandbox choice, user ids, scratch and warm judge) grades the tree with the same
`Grader.grade_one` local grading uses, and the result streams back into the same gradebook.

At start every worker is asked what it can do: a worker whose kit differs from this one, or whose
sandbox cannot be built as asked (`--sandbox bwrap` where only unshare works, `auto` where neither
does), is retired and named in the log; grading stops if none is left. A task whose worker is lost
is run again elsewhere by the scheduler; a student whose task kills ALLOWED_FAILURES workers gets
a grader-error row naming the cause, which a re-run grades again.

Dask (`distributed`, the `cluster` extra) is imported only here, and only with --cluster.
"""

import re
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from kit.instructor import sandbox
from kit.version import code_hash

LOCAL = re.compile(r"local:(\d+)")
ALLOWED_FAILURES = 2  # workers a student's task may take down before it is a grader error
WORKER_SETTINGS = ("only", "sandbox", "memory", "probe_timeout", "check_timeout", "student_timeout")


def pack(tree):
    """A staged tree as {relative path: bytes}: what a task carries (collect capped it already)."""
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(Path(tree).rglob("*")) if p.is_file()}


def unpack(files, dest):
    dest.mkdir(parents=True)
    for rel, data in files.items():
        target = dest.joinpath(*rel.split("/"))
        if not target.resolve().is_relative_to(dest.resolve()):
            raise ValueError(f"a staged file outside the tree: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return dest


# --- on each worker ---------------------------------------------------------------------------------

_graders = {}  # one Grader per worker process and settings: its sandbox, user ids and warm judge


def _grader(settings):
    from kit.instructor import grade

    key = tuple(sorted((k, str(v)) for k, v in settings.items()))
    if key not in _graders:
        base = Path(tempfile.mkdtemp(prefix="kit-cluster-"))
        (base / "submissions").mkdir()
        args = grade.options(base / "submissions", base / "out", **settings, jobs=1, force=True)
        args.only = ",".join(settings["only"])
        _graders[key] = (grade.Grader(args), base)
    return _graders[key]


def ready(settings, version):
    """What this worker can do, checked once at start: {"host", "mode", "warning", "refused"}."""
    host = socket.gethostname()  # the log names each worker's machine, not the coordinator's
    if version != code_hash():  # every worker must grade with the same checks
        refused = "its kit differs from the grader's (copy the same kit)"
        return {"host": host, "mode": None, "warning": None, "refused": refused}
    try:
        grader, _ = _grader(settings)
    except SystemExit as e:  # sandbox.Unavailable among them: the reason, in words
        return {"host": host, "mode": None, "warning": None, "refused": str(e)}
    return {"host": host, "mode": grader.choice.mode, "warning": grader.choice.warning, "refused": None}


def grade_task(sid, files, notes, seed, settings):
    """Grade one student's staged tree on this worker; returns the result dict."""
    grader, base = _grader(settings)
    staged = base / "staged" / sid
    try:
        tree = unpack(files, staged / "tree")
        return grader.grade_one(sid, tree, seed, notes)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


# --- on the instructor's machine -------------------------------------------------------------------


class Cluster:
    """A connection to the scheduler (or a LocalCluster of our own) with its workers checked."""

    def __init__(self, address, args):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise SystemExit("--cluster needs Dask: pip install -e '.[cluster]'") from None
        self.settings = {k: getattr(args, k) for k in WORKER_SETTINGS}
        self.settings["only"] = None  # set by the Grader, once it has parsed --only
        dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES})
        self.local = None
        if m := LOCAL.fullmatch(address):
            self.local = LocalCluster(
                n_workers=int(m[1]),
                threads_per_worker=1,  # one student at a time per worker process
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
            self.client = Client(self.local)
        else:
            try:
                self.client = Client(address, timeout="30s")
            except (OSError, TimeoutError) as e:
                raise SystemExit(f"--cluster {address}: no scheduler answered ({e})") from None
        self.address = address

    def check_workers(self, only):
        """Ask every worker what it can do; retire those that cannot grade as asked. Returns the
        sandbox.Choice to report: the weakest mode among the workers kept."""
        self.settings["only"] = list(only)
        if self.local is None:
            self.client.wait_for_workers(1, timeout=120)
        said = self.client.run(ready, self.settings, code_hash())
        refused = [
            f"REFUSED: worker {w} on {r.get('host', '?')} will not grade: {r['refused']}"
            for w, r in sorted(said.items())
            if r["refused"]
        ]
        kept = {w: r for w, r in said.items() if not r["refused"]}
        if not kept:
            self.close()
            raise SystemExit(f"--cluster {self.address}: no worker can grade as asked:\n" + "\n".join(refused))
        if refused:
            self.client.retire_workers([w for w in said if w not in kept], close_workers=True)
        weakest = max(kept.values(), key=lambda r: sandbox.STRENGTH.index(r["mode"]))
        lines = [f"cluster {self.address}: {len(kept)} of {len(said)} workers grade", *refused]
        fence = {"none": "no sandbox (--sandbox none)"}
        lines += [
            f"worker {w} on {r.get('host', '?')}: {fence.get(r['mode'], r['mode'] + ' sandbox')}"
            for w, r in sorted(kept.items())
        ]
        lines += sorted({r["warning"] for r in kept.values() if r["warning"]})
        # Said loudly at start, on one line, with the grader's other warnings (grade.py logs choice.warning).
        return sandbox.Choice(weakest["mode"], sys.executable, " · ".join(lines))

    def dispatch(self, grader, todo, task=grade_task):
        """Yield (sid, fingerprint, result) as each student's task completes, in any order."""
        from distributed import as_completed

        from kit.instructor.secret import derive_seed

        futures = {}
        for sid, tree, notes, fp in todo:
            seed = derive_seed(grader.secret, sid, fp)  # the secret itself stays here
            future = self.client.submit(
                task, sid, pack(tree), list(notes), seed, self.settings, key=f"grade-{sid}-{fp[:16]}", pure=False
            )
            futures[future] = (sid, fp)
        for future in as_completed(futures):
            sid, fp = futures[future]
            try:
                r = future.result()
            except Exception as e:  # KilledWorker among them: a grader error, never a zero
                r = grader.empty(sid, "error", f"the grading task failed on the cluster ({type(e).__name__}: {e})")
            r.update(grader.settings)  # the instructor's settings, not the worker's
            yield sid, fp, r
            future.release()

    def close(self):
        self.client.close()
        if self.local is not None:
            self.local.close()
