"""One machine's grading: its sandboxes, user ids, cgroups, scratch and warm judges, and `grade_one`,
which grades one student's staged tree there (kit/instructor/dispatch.py's Job).

The class pipeline (kit/instructor/pipeline.py) holds one Machine for local grading; with --cluster
each Dask worker process holds its own (kit/instructor/cluster.py). A Machine knows no secret, no
gradebook and no submissions folder: a job carries the staged tree, its notes and its seed, and the
result comes back as kit/instructor/score.py makes it.

    machine = Machine(settings, hide=(out, submissions))   settings: Machine.SETTINGS, e.g. from options
    machine.warm(students)                                  its judges started while the class is staged
    result = machine.grade_one(job)                         from any thread, at most `jobs` at once
    machine.close()
"""

import os
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path

from kit.instructor import cgroups, host, pool, sandbox, score

INTERRUPT_GRACE = 15.0  # seconds a judge has to write its report once its student's time is up
SETTINGS = ("only", "sandbox", "memory", "probe_timeout", "check_timeout", "student_timeout", "jobs", "record")


class Machine:
    def __init__(self, settings, hide=(), choice=None):
        """`settings`: a dict of SETTINGS ("record": what every result is stamped with, "only" among
        them); `hide`: folders the workers must not see; `choice`: the sandbox.Choice, else chosen
        here (sandbox.Unavailable, a KitError, when it cannot be built)."""
        self.settings = settings
        self.choice = choice or sandbox.choose(settings["sandbox"])
        jobs = settings["jobs"]
        self.uids = host.Uids(jobs) if host.is_root() else None
        self.scratch = None
        try:
            self.setup(jobs, hide)
        except BaseException:  # Ctrl-C while the worker compiles: neither scratch nor the uid block is kept
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
            if self.uids is not None:
                self.uids.close()
            raise

    def setup(self, jobs, hide):
        """Scratch, the compiled worker, the slots and the judges' pool, once the uids are held."""
        # Named after the block of uids, so that the next holder of the block cleans up after a killed run.
        block = self.uids.base if self.uids else f"pid{os.getpid()}"
        self.swept = host.sweep(block) if self.uids else 0
        self.cgroups = cgroups.Cgroups.detect()
        self.cgroup_prefix = f"kit-{block}-"
        if self.cgroups and self.uids:
            self.swept += self.cgroups.sweep(self.cgroup_prefix)
        self.made = 0  # cgroups made, for unique names
        self.scratch = Path(tempfile.mkdtemp(prefix=host.scratch_prefix(block)))
        os.chmod(self.scratch, 0o711)
        self.staged = self.scratch / ".staged"  # the grader's own copy of each tree, unreachable
        self.staged.mkdir(mode=0o700)
        self.no_quota = host.quota_refused(self.scratch)  # None: each student's home is a quota tmpfs
        # The workers' interpreter compiles their files once, and says its version (grades.json records it).
        self.worker_files, self.worker_python = sandbox.compiled_worker(self.choice.python, self.scratch / ".worker")
        self.hide = sandbox.hidden(self.choice.python, *hide, self.scratch)
        self.slots = queue.Queue()
        for slot in range(jobs):
            self.slots.put(slot)
        self.lock = threading.Lock()
        judge_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        judge_env.pop("IMPL", None)
        self.judges = pool.Pool(judge_env)  # warm judges, one per slot at most (kit/instructor/pool.py)

    def warm(self, students):
        """Start the judges a class of `students` will use (one a slot) now, while its trees are staged."""
        self.judges.warm(min(students, self.settings["jobs"]))

    def empty(self, sid, status, reason, notes=()):
        return score.empty(sid, status, reason, self.settings["record"], notes)

    def grade_one(self, job):
        """Grade one student: copy the job's staged tree into a fresh home, fence it, judge it with
        inputs seeded by the job's seed; returns the result dict."""
        slot = self.slots.get()
        home = self.scratch / job.sid
        quota, group, notes = False, None, list(job.notes)
        try:
            try:
                group = self.cgroup(slot)
                home.mkdir()
                if self.no_quota is None:
                    host.mount_quota(home)
                    quota = True
                shutil.copytree(job.tree, home / "tree", symlinks=True)
            except OSError as e:
                return self.empty(job.sid, "error", f"the grader could not prepare this submission ({e})", notes)
            uid = self.uids[slot] if self.uids else None
            limits = {"AS": self.settings["memory"] << 20}
            box = sandbox.Sandbox(
                self.choice.mode, self.choice.python, uid, self.hide, limits, quota, group, self.worker_files
            )
            box.prepare(home)
            leftovers = 0
            for _ in range(2):  # a grader-side failure is retried once
                result = self.judge(job.sid, home, box, notes, job.seed)
                leftovers += box.cleanup()  # every student process (all of its cgroup) is gone before a result is kept
                if result["status"] != "error":
                    break
            result["leftovers"] = leftovers
            result["seed"] = job.seed
            result["python"] = self.worker_python  # where the learner's code ran: grades.json records it
            return result
        finally:
            if quota:
                host.unmount(home)
            shutil.rmtree(home, ignore_errors=True)
            if group is not None:  # after the tmpfs is gone: its pages are charged to the group
                group.remove()
            self.slots.put(slot)

    def request(self, home, report, fence, seed):
        """What the judge of the student in `home` is asked (kit/instructor/pool.py's Request)."""
        s = self.settings
        return pool.Request(
            tuple(s["only"]), str(home / "tree"), seed, str(report), str(fence), s["probe_timeout"], s["check_timeout"]
        )

    def judge(self, sid, home, box, notes, seed):
        """The judge step: the checks on the tree in `home`, fenced by `box`, scored from the judge's report."""
        report = self.scratch / f".{sid}.report.json"  # beside home, where the worker cannot write
        fence = self.scratch / f".{sid}.fence.json"
        box.fence(home).save(fence)
        # The seed travels in the request, on the judge's own pipe; once the student's time is out,
        # the judge is interrupted and writes the tests it finished.
        budget = self.settings["student_timeout"]
        try:
            out_of_time = self.judges.run(self.request(home, report, fence, seed), budget, INTERRUPT_GRACE)
            data = score.read_report(report)
        except (OSError, ValueError) as e:
            return self.empty(sid, "error", f"the grader failed on this submission ({type(e).__name__})", notes)
        finally:
            report.unlink(missing_ok=True)
            fence.unlink(missing_ok=True)
        return score.score(sid, data, self.settings["record"], notes, out_of_time, budget)

    def cgroup(self, slot):
        """A fresh cgroup for the student in `slot` (None where the kernel offers none to this grader)."""
        if self.cgroups is None:
            return None
        with self.lock:
            self.made += 1
            name = f"{self.cgroup_prefix}{slot}-{self.made}"
        return self.cgroups.make(name, self.settings["memory"] << 20, sandbox.NPROC)

    def limits_line(self):
        """What bounds one student here, for the log."""
        uids = f"; uids {self.uids.base}-{self.uids.base + host.UID_BLOCK - 1}" if self.uids else ""
        kind = self.cgroups.kind if self.cgroups else None
        memory = self.settings["memory"] << 20
        line = sandbox.limits_line(self.choice.mode, memory, self.no_quota is None, kind)
        refused = (
            f"; the kernel refused a student's quota tmpfs ({self.no_quota})" if self.uids and self.no_quota else ""
        )
        return line + refused + uids

    def close(self, wait=30.0):
        """Give back what the machine holds: its judges first (a busy one ends, so that the student it
        grades is soon given up), then, once every slot is free (or `wait` seconds passed), scratch and uids."""
        self.judges.close()
        deadline = time.monotonic() + wait
        while self.slots.qsize() < self.settings["jobs"] and time.monotonic() < deadline:
            time.sleep(0.02)
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.uids is not None:
            self.uids.close()
