"""Grade on a Dask cluster: one task per student, each graded in its sandbox on a worker's machine.

    python -m kit grade SUBMISSIONS OUT --cluster local:4          a LocalCluster of 4 worker processes
    python -m kit grade SUBMISSIONS OUT --cluster tcp://host:8786  a running scheduler (SSH, Slurm, Kubernetes)

The instructor's machine finds and stages every submission and derives each student's inputs seed
from the secret (kit/instructor/pipeline.py), as for local grading; a task carries only the job
(kit/instructor/dispatch.py): the staged tree, its notes and that derived seed, never the secret.
`dispatch_dask` has the signature of dispatch.dispatch_local: on the worker, one Machine per worker
process and settings (kit/instructor/machine.py: its own sandbox choice, user ids, scratch and warm
judges) grades the tree with the same `Machine.grade_one` local grading uses, and the result
streams back into the same gradebook.

At start every worker is asked what it can do: a worker whose kit differs from this one, or whose
sandbox cannot be built as asked (`--sandbox bwrap` where only unshare works, `auto` where neither
does), is retired and named in the log; grading stops if none is left. A task whose worker is lost
is run again elsewhere by the scheduler; a student whose task kills ALLOWED_FAILURES workers gets
a grader-error row naming the cause, which a re-run grades again.

Dask (`distributed`, the `cluster` extra) is imported only here, and only with --cluster.
"""

import atexit
import dataclasses
import functools
import re
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from kit.errors import KitError
from kit.instructor import sandbox
from kit.instructor.machine import Machine
from kit.version import code_hash

LOCAL = re.compile(r"local:(\d+)")
ALLOWED_FAILURES = 2  # workers a student's task may take down before it is a grader error


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

_machines = {}  # one Machine per worker process and settings: its sandbox, user ids and warm judges


def _machine(settings):
    key = repr(sorted(settings.items()))
    if key not in _machines:
        _machines[key] = Machine(dict(settings, jobs=1))  # one student at a time per worker process
        atexit.register(_machines[key].close)  # its judges, scratch and uids, when the worker process ends
    return _machines[key]


def ready(settings, version):
    """What this worker can do, checked once at start: {"host", "mode", "warning", "refused"}."""
    host = socket.gethostname()  # the log names each worker's machine, not the coordinator's
    if version != code_hash():  # every worker must grade with the same checks
        refused = "its kit differs from the grader's (copy the same kit)"
        return {"host": host, "mode": None, "warning": None, "refused": refused}
    try:
        machine = _machine(settings)
    except KitError as e:  # sandbox.Unavailable among them: the reason, in words
        return {"host": host, "mode": None, "warning": None, "refused": str(e)}
    return {"host": host, "mode": machine.choice.mode, "warning": machine.choice.warning, "refused": None}


def grade_on_worker(settings, job):
    """Grade one job on this worker's Machine for `settings` (the grade_one a cluster is sent)."""
    return _machine(settings).grade_one(job)


def run_packed(grade_one, job):
    """On the worker: unpack the job's tree into a scratch folder, grade it, remove the folder."""
    scratch = Path(tempfile.mkdtemp(prefix="kit-cluster-"))
    try:
        return grade_one(dataclasses.replace(job, tree=unpack(job.tree, scratch / "tree")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --- on the instructor's machine -------------------------------------------------------------------


def dispatch_dask(jobs, grade_one, cluster):
    """Grade `jobs` on the cluster's workers (`grade_one` is sent to them); yields (job, result or
    exception) as each task completes, in any order: dispatch.dispatch_local's signature."""
    from distributed import as_completed

    futures = {}
    for job in jobs:
        packed = dataclasses.replace(job, tree=pack(job.tree))
        key = f"grade-{job.sid}-{job.fingerprint[:16]}"
        futures[cluster.client.submit(run_packed, grade_one, packed, key=key, pure=False)] = job
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as e:  # KilledWorker among them: a grader error, never a zero
                result = e
            yield futures[future], result
            future.release()
    finally:
        cluster.client.cancel([f for f in futures if not f.done()])


class Cluster:
    """A connection to the scheduler (or a LocalCluster of our own) with its workers checked."""

    def __init__(self, address, settings):
        """`settings`: what every worker's Machine is built with (machine.SETTINGS but `jobs`)."""
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise KitError("--cluster needs Dask: pip install -e '.[cluster]'") from None
        self.settings = {k: v for k, v in settings.items() if k != "jobs"}
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
                raise KitError(f"--cluster {address}: no scheduler answered ({e})") from None
        self.address = address

    def grade_one(self):
        """What each task runs on its worker: grade_on_worker with this cluster's settings."""
        return functools.partial(grade_on_worker, self.settings)

    def check_workers(self):
        """Ask every worker what it can do; retire those that cannot grade as asked. Returns the
        sandbox.Choice to report: the weakest mode among the workers kept."""
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
            raise KitError(f"--cluster {self.address}: no worker can grade as asked:\n" + "\n".join(refused))
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

    def close(self):
        self.client.close()
        if self.local is not None:
            self.local.close()
