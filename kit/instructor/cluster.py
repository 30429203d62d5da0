"""Grade on a Dask cluster: one task per student, each graded in its sandbox on a worker's machine.

    python -m kit grade SUBMISSIONS OUT --cluster local:4          a LocalCluster of 4 worker processes
    python -m kit grade SUBMISSIONS OUT --cluster tcp://host:8786  a running scheduler (SSH, Slurm, Kubernetes)

The instructor's machine finds and stages every submission and derives each student's inputs seed
from the secret (kit/instructor/pipeline.py), as for local grading; a task carries only the job
(kit/instructor/dispatch.py): the staged tree, its notes and that derived seed, never the secret.
dispatch.dispatch_dask sends each task through `Cluster.submit`: on the worker, one Machine per worker
process and settings (kit/instructor/machine.py: its own sandbox choice, user ids, scratch and warm
judges) grades the tree with the same `Machine.grade_one` local grading uses, and the result
streams back into the same gradebook.

Every worker is asked what it can do when first seen, at start or when it joins (a worker its nanny
restarted comes back as a new one): one whose kit differs from this one, or whose sandbox cannot be
built as asked (`--sandbox bwrap` where only unshare works, `auto` where neither does), is named in
the log and left running, never sent a student (on a shared scheduler it may be someone else's);
grading stops at start if none can grade. The others get this run's Dask resource, which every task
asks for. A task whose worker is lost runs again elsewhere; a student whose task kills
ALLOWED_FAILURES workers gets a grader-error row naming the cause, which a re-run grades again. While
students wait and none is being graded (every worker lost, or only refused ones left) the log says
so and how long grading waits; after `wait` seconds (NO_WORKER_WAIT, --cluster-wait) each student
not graded comes back as dispatch.NoWorker, a grader-error row too, and the run ends incomplete.

Dask (`distributed`, the `cluster` extra) is imported only here and in dispatch.dispatch_dask, and only
with --cluster.
"""

import atexit
import dataclasses
import functools
import hashlib
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from kit.errors import KitError
from kit.instructor import sandbox
from kit.instructor.machine import Machine
from kit.version import code_hash

LOCAL = re.compile(r"local:(\d+)")
ALLOWED_FAILURES = 2  # workers a student's task may take down before it is a grader error
NO_WORKER_WAIT = 120.0  # seconds grading waits while students wait and no worker grades (--cluster-wait)
POLL = 1.0  # seconds between looks at the cluster's workers while students are graded


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
    """What this worker can do, asked once, when first seen: {"host", "mode", "warning", "refused"}."""
    host = socket.gethostname()  # the log names each worker's machine, not the coordinator's
    if version != code_hash():  # every worker must grade with the same checks
        refused = "its kit differs from the grader's (copy the same kit)"
        return {"host": host, "mode": None, "warning": None, "refused": refused}
    try:
        machine = _machine(settings)
    except KitError as e:  # sandbox.Unavailable among them: the reason, in words
        return {"host": host, "mode": None, "warning": None, "refused": str(e)}
    return {"host": host, "mode": machine.choice.mode, "warning": machine.choice.warning, "refused": None}


async def admit(resource, dask_worker=None):
    """On a worker that can grade: the resource this run's tasks ask for, one student at a time."""
    from distributed.core import Status

    await dask_worker.set_resources(**{resource: 1})
    # The scheduler looks for a worker for the tasks it holds when a worker joins or resumes, not when
    # one gains a resource: resuming this one lets students that waited for a worker run on it.
    if dask_worker.status == Status.running:
        dask_worker.status = Status.paused
        dask_worker.status = Status.running


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


class Cluster:
    """A connection to the scheduler (or a LocalCluster of our own) with its workers checked."""

    def __init__(self, address, settings, wait=NO_WORKER_WAIT, log=print, version=None):
        """`settings`: what every worker's Machine is built with (machine.SETTINGS but `jobs`); `wait`:
        seconds grading waits while no worker grades; `log`: where that is said; `version`: the hash of
        the grader's kit, which each worker's must equal (read here where the grader gives none)."""
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
        self.address, self.wait, self.log = address, wait, log
        self.version = code_hash() if version is None else version
        # This run's resource: a worker holds it once checked for this kit and these settings.
        said = f"{self.version} {sorted(self.settings.items())!r}".encode()
        self.resource = "kit-grade-" + hashlib.sha256(said).hexdigest()[:16]
        self.seen, self.kept, self.slots = set(), set(), 0  # workers asked, those that can grade, those now
        self.looked = self.sent_at = 0.0
        self.present = 0  # workers the scheduler has, whatever they can do
        self.stalled = None  # since when students wait and none is being graded

    def submit(self, grade_one, job, packed):
        """Send one student's task, which only a worker holding this run's resource takes."""
        self.sent_at = time.monotonic()
        key = f"grade-{job.sid}-{job.fingerprint[:16]}"
        return self.client.submit(run_packed, grade_one, packed, key=key, pure=False, resources={self.resource: 1})

    def grade_one(self):
        """What each task runs on its worker: grade_on_worker with this cluster's settings."""
        return functools.partial(grade_on_worker, self.settings)

    def check_workers(self):
        """Ask every worker what it can do; give those that can grade as asked this run's resource.
        Returns the sandbox.Choice to report: the weakest mode among the workers kept."""
        if self.local is None:
            self.client.wait_for_workers(1, timeout=120)
        said = self.ask(self.client.nthreads())
        kept = {w: r for w, r in said.items() if not r["refused"]}
        if not kept:
            self.close()
            raise KitError(f"--cluster {self.address}: no worker can grade as asked:\n" + "\n".join(self.lines(said)))
        self.slots, self.present, self.looked = len(kept), len(said), time.monotonic()
        weakest = max(kept.values(), key=lambda r: sandbox.STRENGTH.index(r["mode"]))
        lines = [f"cluster {self.address}: {len(kept)} of {len(said)} workers grade", *self.lines(said)]
        # Said loudly at start, on one line, with the grader's other warnings (grade.py logs choice.warning).
        return sandbox.Choice(weakest["mode"], sys.executable, " · ".join(lines))

    def ask(self, workers):
        """Ask `workers` what they can do and give those that can grade the resource: {worker: said}."""
        said = self.client.run(ready, self.settings, self.version, workers=sorted(workers), on_error="return")
        for w, r in said.items():
            if isinstance(r, BaseException):  # lost since it was listed, or not a kit that answers
                r = said[w] = {"mode": None, "warning": None, "refused": f"no answer ({type(r).__name__})"}
            r.setdefault("host", "?")
        kept = [w for w, r in said.items() if not r["refused"]]
        admitted = self.client.run(admit, self.resource, workers=kept, on_error="return") if kept else {}
        self.seen.update(workers)
        self.kept.update(w for w, r in admitted.items() if not isinstance(r, BaseException))  # lost if not
        return said

    @staticmethod
    def lines(said):
        """What workers said, for the log: each refused one and why, each kept one's sandbox, the warnings."""
        kept = {w: r for w, r in sorted(said.items()) if not r["refused"]}
        fence = {"none": "no sandbox (--sandbox none)"}
        return [
            *(
                f"REFUSED: worker {w} on {r['host']} will not grade: {r['refused']}"
                for w, r in sorted(said.items())
                if r["refused"]
            ),
            *(f"worker {w} on {r['host']}: {fence.get(r['mode'], r['mode'] + ' sandbox')}" for w, r in kept.items()),
            *sorted({r["warning"] for r in kept.values() if r["warning"]}),
        ]

    def watch(self, keys, waiting):
        """Look at the cluster (at most every POLL seconds): ask the workers that joined what they can do,
        count those that can grade, and say when students wait (`keys` sent, or `waiting` to be) and none
        is being graded, and when grading goes on. False once none was for `wait` seconds."""
        now = time.monotonic()
        if now - self.looked >= POLL:
            self.looked = now
            workers = set(self.client.nthreads())
            if joined := workers - self.seen:
                self.log(f"cluster {self.address}: joined: " + " · ".join(self.lines(self.ask(joined))))
            mine = sorted(self.kept & workers)  # the only workers that take this run's tasks
            self.slots, self.present = len(mine), len(workers)
            graded = {k for ks in (self.client.processing(mine) if mine else {}).values() for k in ks} & set(keys)
            # A student just sent may not be given to a worker yet: not a stall until a look later.
            if graded or not (keys or waiting) or now - self.sent_at < POLL:
                self.going()
            elif self.stalled is None:
                self.stalled = now
                why = f"{len(workers)} refused" if workers else "all lost"
                why = f"the {self.slots} that can were given none" if self.slots else why
                self.log(
                    f"cluster {self.address}: no worker can grade ({why}): waiting {self.wait:g} s for one to join; "
                    "then the students not graded yet are grader errors, graded again by the next run"
                )
        return self.stalled is None or now - self.stalled < self.wait

    def going(self):
        """Grading goes on (a result came, or a worker has a student): said if it had stopped."""
        if self.stalled is not None:
            self.log(f"cluster {self.address}: {self.slots} of {self.present} workers grade; grading goes on")
        self.stalled = None

    def close(self):
        self.client.close()
        if self.local is not None:
            self.local.close()
