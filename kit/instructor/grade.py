"""Grade a class: every submission in a folder into a gradebook, each in isolation.

    python -m kit grade SUBMISSIONS OUT [--jobs N] [--secret FILE] [--only 03,04] [--force] ...

A pipeline of small steps per student: collect (kit/instructor/ids.py: find; collect.py: unpack, stage),
run (the checks in a judge process of their own, whose worker kit/instructor/sandbox.py fences in),
score (the judge's JSON report), report (kit/instructor/gradebook.py). Each student's inputs are
seeded by HMAC(secret, id and the staged tree's hash): the same bytes get the same grade on every
run and machine, a changed submission gets new inputs, and the secret itself never leaves this
process. Each result is kept in OUT/.results as soon as it is known, so an interrupted run resumes
where it stopped; a grader-side failure is retried once, then kept as status "error", which a
re-run grades again.
"""

import argparse
import contextlib
import functools
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from kit.escape import escape_line
from kit.exercises import EXERCISES, POINTS, parse_ids
from kit.instructor import adjust, cgroups, collect, gradebook, host, ids, pool, sandbox
from kit.instructor.secret import SECRET_BYTES, derive_seed, load_secret, secret_id

PROBE_TIMEOUT = 5.0  # seconds per test, as for a learner
CHECK_TIMEOUT = 60.0  # seconds per check
STUDENT_TIMEOUT = 300.0  # seconds of one student's whole grading
MEMORY_MB = 1024  # address space of a worker
INTERRUPT_GRACE = 15.0  # seconds a judge has to write its report once its student's time is up
JUDGE_EXITS = (0, 1)  # the judge's exit statuses when it graded: full marks, or not


class Grader:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.submissions = Path(args.submissions).resolve()
        try:
            self.only = parse_ids(args.only) if args.only else list(EXERCISES)
        except ValueError as e:
            raise SystemExit(f"--only {args.only}: {e}") from None
        # OUT exists before any sandbox is built, so that it is hidden even on a first run.
        (self.out / ".results").mkdir(parents=True, exist_ok=True)
        self.secret, self.secret_warning = load_secret(args, self.out)
        # With --cluster the workers build the sandboxes (and Dask is imported); this machine stages and records.
        self.cluster = connect(args) if getattr(args, "cluster", None) else None
        self.choice = self.cluster.check_workers(self.only) if self.cluster else sandbox.choose(args.sandbox)
        self.uids = host.Uids(args.jobs) if host.is_root() else None
        # Named after the block of uids, so that the next holder of the block cleans up after a killed run.
        block = self.uids.base if self.uids else f"pid{os.getpid()}"
        self.swept = host.sweep(block) if self.uids else 0
        self.cgroups = cgroups.Cgroups.detect()
        self.cgroup_prefix = f"kit-{block}-"
        if self.cgroups and self.uids:
            self.swept += self.cgroups.sweep(self.cgroup_prefix)
        self.made = 0  # cgroups made, for unique names
        self.scratch_root = Path(tempfile.mkdtemp(prefix=host.scratch_prefix(block)))
        os.chmod(self.scratch_root, 0o711)
        self.staged = self.scratch_root / ".staged"  # the grader's own copy of each tree, unreachable
        self.worker_files = sandbox.compiled_worker(self.choice.python, self.scratch_root / ".worker")
        self.staged.mkdir(mode=0o700)
        self.hide = sandbox.hidden(self.choice.python, self.out, self.submissions, self.scratch_root)
        self.slots = queue.Queue()
        for slot in range(args.jobs):
            self.slots.put(slot)
        self.lock = threading.Lock()
        judge_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        judge_env.pop("IMPL", None)
        self.judges = pool.Pool(judge_env)  # warm judges, one per slot at most (kit/instructor/pool.py)
        self.settings = {"secret": secret_id(self.secret), "only": self.only}

    # --- steps --------------------------------------------------------------------------------

    def empty(self, sid, status, reason, notes=()):
        """A result without tests: every check at its full maximum, nothing earned."""
        return {
            "id": sid,
            "status": status,
            "reason": reason,
            "notes": list(notes),
            **self.settings,
            "checks": {ex: {"earned": 0, "max": POINTS[ex]} for ex in self.only},
            "tests": [],
            "review": [],
        }

    def stage(self, sid, path):
        """(staged tree, notes, fingerprint), or a finished result when there is nothing to grade."""
        scratch = self.staged / sid
        scratch.mkdir()
        try:
            notes = collect.collect(path, scratch)
            return scratch / "tree", notes, collect.fingerprint(scratch / "tree")
        except collect.Ungradable as e:
            return (
                None,
                self.empty(sid, "ungradable", str(e)),
                "ungradable:" + hashlib.sha256(str(e).encode()).hexdigest(),
            )
        except (OSError, MemoryError) as e:  # the grader's disk or memory, not the student's doing
            why = escape_line(getattr(e, "strerror", None) or type(e).__name__)
            return None, self.empty(sid, "error", f"the grader could not stage this submission ({why})"), None

    def grade_one(self, sid, tree, seed, notes):
        """Grade one student: copy `tree`, which a grader staged (and checked) already, with its `notes`,
        into a fresh home, fence it, run the judge with inputs seeded by `seed`; returns the result dict."""
        slot = self.slots.get()
        home = self.scratch_root / sid
        quota, group, notes = False, None, list(notes)
        try:
            try:
                group = self.cgroup(slot)
                quota = host.mount_quota(home)
                shutil.copytree(tree, home / "tree", symlinks=True)
            except (OSError, subprocess.CalledProcessError) as e:
                return self.empty(sid, "error", f"the grader could not prepare this submission ({e})", notes)
            uid = self.uids[slot] if self.uids else None
            limits = {"AS": self.args.memory << 20}
            box = sandbox.Sandbox(
                self.choice.mode, self.choice.python, uid, self.hide, limits, quota, group, self.worker_files
            )
            box.prepare(home)
            leftovers = 0
            for _ in range(2):  # a grader-side failure is retried once
                result = self.run_checks(sid, home, box, notes, seed)
                leftovers += box.cleanup()  # every student process (all of its cgroup) is gone before a result is kept
                if result["status"] != "error":
                    break
            result["leftovers"] = leftovers
            result["seed"] = seed
            result["python"] = self.worker_python  # where the learner's code ran: grades.json records it
            return result
        finally:
            if quota:
                host.unmount(home)
            shutil.rmtree(home, ignore_errors=True)
            if group is not None:  # after the tmpfs is gone: its pages are charged to the group
                group.remove()
            self.slots.put(slot)

    @functools.cached_property
    def worker_python(self):
        """The version of the Python the workers run under here ("3.11.7"), or "unknown"."""
        try:
            p = subprocess.run(
                [self.choice.python, "-I", "-c", "import platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "unknown"

    def cgroup(self, slot):
        """A fresh cgroup for the student in `slot` (None where the kernel offers none to this grader)."""
        if self.cgroups is None:
            return None
        with self.lock:
            self.made += 1
            name = f"{self.cgroup_prefix}{slot}-{self.made}"
        return self.cgroups.make(name, self.args.memory << 20, sandbox.NPROC)

    def judge_command(self, home, report, fence):
        return [
            sys.executable,
            "-m",
            "kit",
            "check",
            ",".join(self.only),
            "--impl",
            str(home / "tree"),
            "--timeout",
            str(self.args.probe_timeout),
            "--check-timeout",
            str(self.args.check_timeout),
            "--report",
            str(report),
            "--fence",
            str(fence),
        ]

    def run_checks(self, sid, home, box, notes, seed):
        report = self.scratch_root / f".{sid}.report.json"  # beside home, where the worker cannot write
        fence = self.scratch_root / f".{sid}.fence.json"
        box.fence(home).save(fence)
        # The seed travels in the judge's environment, which only the judge's own user can read; once
        # the student's time is out, the judge is interrupted and writes the tests it finished.
        try:
            code, out_of_time = self.judges.run(
                self.judge_command(home, report, fence)[4:],  # python -m kit check ARGV, in a warm judge
                {"KIT_SEED": str(seed)},
                self.args.student_timeout,
                INTERRUPT_GRACE,
            )
            data = json.loads(report.read_text()) if report.exists() else None
        except (OSError, ValueError) as e:
            return self.empty(sid, "error", f"the grader failed on this submission ({type(e).__name__})", notes)
        finally:
            report.unlink(missing_ok=True)
            fence.unlink(missing_ok=True)
        if data is None or not (code in JUDGE_EXITS or out_of_time):
            return self.empty(sid, "error", f"the judge ended with exit status {code} and no complete report", notes)
        return self.score(sid, data, notes, out_of_time)

    def score(self, sid, data, notes, out_of_time):
        """The result of a judge's report, every check at its full maximum; a report that lost tests
        is a grader error, unless the student's time ran out (then the rest scores 0)."""
        result = self.empty(sid, "graded", "", notes)
        try:
            tests = [t for t in data["tests"] if t["check"] in result["checks"]]
            for t in tests:
                result["checks"][t["check"]]["earned"] += int(t["points"])
            for ex, c in data.get("checks", {}).items():  # what each check ran on (checks/base/)
                if ex in result["checks"]:
                    result["checks"][ex]["base"] = sorted({b for b in c.get("base", ()) if b in EXERCISES})
            missing = {ex: POINTS[ex] - sum(int(t["max"]) for t in tests if t["check"] == ex) for ex in self.only}
            review = [r for r in data.get("review", []) if isinstance(r, dict)]
        except (KeyError, TypeError, ValueError):
            return self.empty(sid, "error", "the judge's report had an unexpected shape", notes)
        if any(n < 0 for n in missing.values()) or (any(missing.values()) and not out_of_time):
            return self.empty(sid, "error", "the judge's report lost some tests", notes)
        if out_of_time:
            budget = f"{self.args.student_timeout:g} s"
            result["reason"] = f"the grading time of {budget} per student ran out; the remaining tests score 0"
            for ex, rest in missing.items():
                if rest:
                    tests.append(
                        {
                            "check": ex,
                            "test": f"the remaining tests of check-{ex}",
                            "status": "timeout",
                            "points": 0,
                            "max": rest,
                            "message": f"Not run: this submission used up its {budget} of grading time.",
                            "mistake": None,
                        }
                    )
        result["tests"], result["review"] = tests, review
        return result

    # --- the run ------------------------------------------------------------------------------

    def cached(self, sid, fp):
        """The kept result of this student, when it was graded from the same bytes with the same settings;
        one that is missing, damaged or not of the shape the grader keeps is graded again, never trusted."""
        force = sid == self.args.student if self.args.student else self.args.force  # --student: that id only
        if force or fp is None:
            return None
        try:
            r = gradebook.read_kept(self.out / ".results" / f"{sid}.json")
        except (OSError, ValueError):
            return None
        same = all(r.get(k) == v for k, v in self.settings.items()) and r.get("fingerprint") == fp
        whole = r["id"] == sid and set(r["checks"]) == set(self.only)
        return r if same and whole and r["status"] != "error" else None  # a grader error is graded again

    def run(self):
        results, todo = {}, []
        try:
            # Refusals come first, before the gradebook is touched: it is never rewritten emptied.
            found = ids.find(self.submissions)
            students = [(sid, path) for sid, path, _ in found]
            names = {sid: name for sid, _, name in found if not ids.is_valid(sid)}  # graded under a safe name
            if self.args.student and self.args.student not in dict(students):  # an id, or the name it grades under
                asked, self.args.student = self.args.student, ids.graded_name(self.args.student)
                if self.args.student not in dict(students):
                    raise SystemExit(f"--student {escape_line(asked)}: no submission of that id in {self.submissions}")
            try:  # every bad line of the instructor's files is said before anyone is graded
                self.plan = adjust.plan(self.args, {sid for sid, _ in students}, self.only)
            except adjust.Invalid as e:
                raise SystemExit(f"error: {e}") from None
        except BaseException:
            self.close()
            raise
        interrupted, interrupts = False, Interrupts()
        try:
            with contextlib.ExitStack() as stack:
                # Here each student is graded as soon as it is staged: the slots start while the rest
                # is staged. (A cluster is sent the class once it is all staged.)
                threads = None if self.cluster else ThreadPoolExecutor(self.args.jobs)
                if threads is not None:  # on Ctrl-C, the students not started yet are dropped, not graded unseen
                    stack.callback(threads.shutdown, wait=True, cancel_futures=True)
                    stack.callback(self.judges.close)  # first: a judge still busy ends, so that wait is short
                running, began = {}, time.monotonic()
                for sid, path in students:
                    tree, staged, fp = self.stage(sid, path)
                    if (r := self.cached(sid, fp)) is not None:
                        results[sid] = r
                    elif self.args.student and sid != self.args.student:
                        continue  # not graded yet, and not asked for now
                    elif tree is None:
                        results[sid] = self.keep(dict(staged, fingerprint=fp))
                    else:
                        todo.append((sid, tree, staged, fp))
                        if threads is not None:
                            seed = derive_seed(self.secret, sid, fp)
                            running[threads.submit(self.grade_one, sid, tree, seed, staged)] = (sid, fp)
                self.announce(len(todo), len(students))
                self.grade_all(todo, results, running, began)
        except KeyboardInterrupt:  # Ctrl-C: what finished is kept and written; the rest is graded on a re-run
            interrupted = True
        finally:
            interrupts.armed = False  # from here on, the gradebook and the clean-up are done whole
            # The id as it was submitted, beside the safe name it was graded under.
            named = [dict(r, **({"name": names[s]} if s in names else {})) for s, r in results.items()]
            try:
                gradebook.write(self.out, named, self.settings, self.plan)
            finally:
                self.close()
                interrupts.restore()
        if interrupted:
            self.log(
                f"interrupted: {len(results)} of {len(students)} students graded; "
                f"results kept in {self.out / '.results'}, run again to resume"
            )
            return 130
        self.log(f"wrote {self.out / 'grades.csv'}, grades.json and feedback/ for {len(results)} students")
        return 0

    def close(self):
        """Give back what the grading holds: scratch folders, uids, judges, the cluster."""
        shutil.rmtree(self.scratch_root, ignore_errors=True)
        if self.uids is not None:
            self.uids.close()
        self.judges.close()
        if self.cluster:
            self.cluster.close()

    def announce(self, todo, students):
        """The log's head: what is graded, how, and what was cleaned up first."""
        self.log(
            f"grading {todo} of {students} submissions ({students - todo} already graded or ungradable) with "
            f"{self.args.jobs} jobs, sandbox {self.choice.mode}, checks {','.join(self.only)}"
        )
        for warning in (self.choice.warning, self.secret_warning):
            if warning:
                self.log(warning)
        uids = f"; uids {self.uids.base}-{self.uids.base + host.UID_BLOCK - 1}" if self.uids else ""
        kind = self.cgroups.kind if self.cgroups else None
        self.log(sandbox.limits_line(self.choice.mode, self.args.memory << 20, self.uids is not None, kind) + uids)
        if self.swept:
            self.log(f"cleaned up {self.swept} scratch folders and cgroups a killed grading of these uids left")

    def keep(self, r):
        """Keep a student's result at once, stamped with when it was graded, so a re-run resumes."""
        r = dict(r, graded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        gradebook.write_atomic(self.out / ".results" / f"{r['id']}.json", json.dumps(r))
        return r

    def grade_all(self, todo, results, running, began):
        """Keep and log each result as it comes: from the cluster, or from the students `running` here
        (since `began`)."""
        started, done = (time.monotonic() if self.cluster else began), 0
        for sid, fp, r in self.cluster.dispatch(self, todo) if self.cluster else self.finished(running):
            results[sid] = self.keep(dict(r, fingerprint=fp))
            done += 1
            rate = done / max(time.monotonic() - started, 1e-9) * 60
            left = (len(todo) - done) / rate if rate else 0
            most = sum(c["max"] for c in r["checks"].values())
            self.log(
                f"[{done}/{len(todo)}] {sid}: {gradebook.total(r)}/{most} {r['status']}"
                f"{' (' + r['reason'] + ')' if r['reason'] else ''}"
                f"{' leftovers killed: ' + str(r['leftovers']) if r.get('leftovers') else ''}"
                f"{' REVIEW: ' + '; '.join(str(x.get('reason')) for x in r['review']) if r.get('review') else ''}"
                f" · {rate:.1f}/min · ~{left:.1f} min left"
            )

    def finished(self, running):
        """Yield (sid, fingerprint, result) as each student `running` here is graded."""
        for future in as_completed(running):
            sid, fp = running[future]
            try:
                r = future.result()
            except Exception as e:  # a bug of the kit's must not lose the other students
                r = self.empty(sid, "error", f"the grader failed on this submission ({type(e).__name__}: {e})")
            yield sid, fp, r

    def log(self, line):
        line = escape_line(line)  # learner text never reaches a terminal or the log raw
        with self.lock:
            try:
                print(line, flush=True)
            except BrokenPipeError:  # the reader of our output left; the log file still gets it
                sys.stdout = open(os.devnull, "w")
            try:  # never through a link: the log stays in the output folder
                fd = os.open(self.out / "grade.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError:
                return  # the terminal has it; the log's place is taken by something that is not a file
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")


def connect(args):
    from kit.instructor.cluster import Cluster

    return Cluster(args.cluster, args)


def options(submissions, out, **settings):
    """The settings of a grading as `python -m kit grade SUBMISSIONS OUT` parses them, with `settings`
    (e.g. jobs=1, sandbox="none") in place of the defaults: for code that grades without the command."""
    args = parser().parse_args([str(submissions), str(out)])
    unknown = set(settings) - set(vars(args))
    if unknown:
        raise TypeError(f"kit grade has no option {', '.join(sorted(unknown))}")
    vars(args).update(settings)
    return args


def parser():
    parser = argparse.ArgumentParser(prog="python -m kit grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", help="folder with one folder or .zip per student, named by id")
    parser.add_argument("out", help="folder for grades.csv, grades.json, feedback/ and grade.log")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="students graded at once (default: cores)"
    )
    parser.add_argument(
        "--secret",
        default=None,
        help=f"file holding the secret (at least {SECRET_BYTES} bytes) that seeds every student's inputs "
        "(default: OUT/.secret, made on the first run)",
    )
    parser.add_argument("--seed", type=int, default=None, help="a number as the secret (short: prefer --secret)")
    parser.add_argument("--only", default=None, help="grade these checks only, e.g. 03,04")
    parser.add_argument("--force", action="store_true", help="regrade students already graded")
    parser.add_argument("--student", default=None, help="grade (again) this student only; the others keep their grades")
    parser.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="grade on a Dask cluster: a scheduler address, or local:N for N worker processes here "
        "(docs/instructor/scaling.md)",
    )
    parser.add_argument("--probe-timeout", type=float, default=PROBE_TIMEOUT, help="seconds per test (default 5)")
    parser.add_argument("--check-timeout", type=float, default=CHECK_TIMEOUT, help="seconds per check (default 60)")
    parser.add_argument(
        "--student-timeout",
        type=float,
        default=STUDENT_TIMEOUT,
        help=f"seconds of one student's whole grading; the remaining tests then score 0 (default {STUDENT_TIMEOUT:g})",
    )
    parser.add_argument("--memory", type=int, default=MEMORY_MB, help="megabytes of memory per worker (default 1024)")
    adjust.options(parser)
    parser.add_argument(
        "--sandbox",
        default="auto",
        choices=["auto", *sandbox.STRENGTH],
        help="how to isolate learner code (default auto: bwrap, else unshare, loudly; none only when named)",
    )
    return parser


class Interrupts:
    """Ctrl-C during a grading, from now until restore(): the first raises KeyboardInterrupt while
    `armed`; any other is ignored, so that the gradebook and the clean-up after it are done whole.
    Only the main thread receives signals; a SIGINT ignored by whoever started the grading stays so."""

    def __init__(self):
        self.armed, self.previous = True, None
        current = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread() and current not in (signal.SIG_IGN, None):
            self.previous = signal.signal(signal.SIGINT, self.interrupt)

    def interrupt(self, signum, frame):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    def restore(self):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def main(argv=None):
    parser_ = parser()
    args = parser_.parse_args(argv)
    if not Path(args.submissions).is_dir():
        parser_.error(f"{args.submissions}: no such folder")
    if args.jobs < 1:
        parser_.error("--jobs must be at least 1")
    try:
        return Grader(args).run()
    except KeyboardInterrupt:  # before the students were graded: run() ends a grading interrupted later itself
        print("interrupted: nothing was graded", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
