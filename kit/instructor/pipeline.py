"""The class pipeline of `python -m kit grade`: every submission of a folder into a gradebook, in steps.

    refuse   every problem of the class and the instructor's files, before anything is touched
    stage    collect each submission into a staged tree (kit/instructor/ids.py, collect.py)
    seed     HMAC(secret, id and the staged tree's hash) (kit/instructor/secret.py)
    judge    each job on a Machine: here (dispatch.dispatch_local) or on a cluster (dispatch.dispatch_dask)
    score    the judge's report into a result (kit/instructor/score.py), on the machine that judged it
    record   keep each result as it comes, then write the gradebook (kit/instructor/gradebook.py)

The same bytes get the same grade on every run and machine, a changed submission gets new inputs,
and the secret itself never leaves this process. Each result is kept in OUT/.results as soon as it
is known, so an interrupted run resumes where it stopped; a grader-side failure is retried once,
then kept as status "error", which a re-run grades again.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from kit.errors import KitError
from kit.escape import escape_line
from kit.exercises import EXERCISES, parse_ids
from kit.instructor import adjust, cluster, collect, gradebook, ids, score
from kit.instructor.dispatch import Job, NoWorker, dispatch_dask, dispatch_local
from kit.instructor.earlier import settled as earlier_settings
from kit.instructor.earlier import undone
from kit.instructor.interrupts import Interrupts
from kit.instructor.machine import Machine
from kit.instructor.scanner import Scanner
from kit.instructor.secret import derive_seed, load_secret, secret_id
from kit.version import code_hash

MACHINE = ("sandbox", "memory", "probe_timeout", "check_timeout", "student_timeout", "jobs")  # args a Machine takes
INCOMPLETE = 75  # exit status of a run that left students ungraded for want of workers (sysexits' EX_TEMPFAIL)


class Grader:
    def __init__(self, args):
        self.args, self.plan, self.staged_at = args, None, None
        self.out = Path(args.out).resolve()
        self.submissions = Path(args.submissions).resolve()
        try:
            self.only = parse_ids(args.only) if args.only else list(EXERCISES)
        except ValueError as e:
            raise KitError(f"--only {args.only}: {e}") from None
        if self.out == self.submissions or self.submissions in self.out.parents:
            raise KitError(f"{args.out}: OUT is inside SUBMISSIONS, whose every entry is a student: give another")
        if self.out.exists() and not self.out.is_dir():
            raise KitError(f"{args.out}: OUT is a file, not a folder")
        # OUT exists before any sandbox is built, so that it is hidden even on a first run.
        (self.out / ".results").mkdir(parents=True, exist_ok=True)
        self.made = not args.secret and args.seed is None and not os.path.lexists(self.out / ".secret")
        self.secret, self.secret_warning = load_secret(args, self.out)
        self.settings = {"secret": secret_id(self.secret), "only": self.only}  # every result is stamped with them
        self.kit = code_hash()  # and with the kit that graded it: a result another kit gave is graded again
        self.lock = threading.Lock()
        self.scanner = Scanner()  # compiles and scans each staged tree, under limits
        self.scanner.start()  # its start (100 ms) while the sandbox is tried, not before the first tree
        machine = {k: getattr(args, k) for k in MACHINE} | {"only": self.only, "record": self.settings}
        self.cluster = self.machine = None
        try:
            if getattr(args, "cluster", None):  # the workers build the sandboxes; this machine stages and records
                wait = getattr(args, "cluster_wait", cluster.NO_WORKER_WAIT)
                self.cluster = cluster.Cluster(args.cluster, machine, wait, self.log, self.kit)
                self.choice = self.cluster.check_workers()
                self.staging = Path(tempfile.mkdtemp(prefix="kit-staged-"))
            else:
                self.machine = Machine(machine, hide=(self.out, self.submissions))
                self.choice, self.staging = self.machine.choice, self.machine.staged
        except BaseException:
            self.scanner.close()
            raise

    # --- the steps --------------------------------------------------------------------------------

    def refuse(self):
        """(students [(id, path)], {graded name: id as submitted}); raises KitError listing every problem
        of the instructor's own files at once, before the gradebook is touched: it is never rewritten emptied."""
        hidden = getattr(self.args, "hidden_student", None) or ()
        found = ids.find(self.submissions, hidden)
        self.not_graded = [(p.name, why) for p, why in ids.entries(self.submissions, hidden)[1] if why != "hidden"]
        self.twice = {sid: why for sid, _, _, why in found if why}  # more than one upload: a row that says so
        self.older = []  # --student: the others' grades kept, which a run of the class would grade again
        students = [(sid, path) for sid, path, _, _ in found]
        names = {sid: name for sid, _, name, _ in found if not ids.is_valid(sid)}  # graded under a safe name
        if self.args.student:  # an id, or the name it grades under, in any case (as adjustments name one)
            asked, self.args.student = self.args.student, ids.on_roster(ids.roster(dict(students)), self.args.student)
            if self.args.student is None:
                raise KitError(f"--student {escape_line(asked)}: no submission of that id in {self.submissions}")
        try:  # every bad line of the instructor's files is said before anyone is graded
            self.plan = adjust.plan(self.args, {sid for sid, _ in students}, self.only)
        except adjust.Invalid as e:
            raise KitError(f"error: {e}") from None
        earlier = earlier_settings(self.out / "grades.json")
        said = undone(earlier, self.settings, self.plan.settings(), self.made, self.args.student)
        if said and not self.args.force:
            if self.made:
                (self.out / ".secret").unlink(missing_ok=True)  # not left to be taken for the term's next time
            listed = "".join(f"\n- {p}" for p in said)
            raise KitError(
                f"{self.out} was graded before, and this run would undo what it settled:{listed}\n"
                "(--force: the change is meant)"
            )
        return students, names

    def stage(self, sid, path):
        """(staged tree, notes, fingerprint), or (None, a finished result, fingerprint): nothing to grade."""
        scratch = self.staging / sid
        scratch.mkdir()
        try:
            if sid in self.twice:  # not the student's grade to zero: which upload counts is the instructor's call
                return None, score.empty(sid, "held", self.twice[sid], self.settings), "held:" + self.twice[sid]
            notes = collect.collect(path, scratch, self.scanner)
            return scratch / "tree", notes, collect.fingerprint(scratch / "tree")
        except collect.Ungradable as e:
            ungradable = score.empty(sid, "ungradable", str(e), self.settings)
            return None, ungradable, "ungradable:" + hashlib.sha256(str(e).encode()).hexdigest()
        except (OSError, MemoryError) as e:  # the grader's disk or memory, not the student's doing
            why = escape_line(getattr(e, "strerror", None) or type(e).__name__)
            return (
                None,
                score.empty(sid, "error", f"the grader could not stage this submission ({why})", self.settings),
                None,
            )

    def jobs(self, students, results, todo):
        """Stage each student and yield the Job of each one to judge, with its seed; a kept result of
        the same bytes, or a submission with nothing to grade, goes to `results` at once."""
        for sid, path in students:
            tree, staged, fp = self.stage(sid, path)
            if (r := self.cached(sid, fp)) is not None:
                results[sid] = r
            elif self.args.student and sid != self.args.student:
                if (r := self.kept(sid)) is not None:  # the others keep their grades; one not graded yet is not
                    results[sid] = r
                    self.older.append(sid)
                continue
            elif tree is None:
                results[sid] = self.keep(dict(staged, fingerprint=fp))
            else:
                todo.append(sid)
                yield Job(sid, tree, tuple(staged), derive_seed(self.secret, sid, fp), fp)
        self.staged_at = time.monotonic()
        self.announce(len(todo), len(students))

    def judged(self, jobs):
        """(job, result or exception) of each job as it finishes, where this grading judges."""
        if self.cluster:
            return dispatch_dask(jobs, self.cluster.grade_one(), self.cluster)
        return dispatch_local(jobs, self.machine.grade_one, self.args.jobs)

    def cached(self, sid, fp):
        """The kept result of this student, when this kit graded it from the same bytes with the same
        settings; one that is missing, damaged or not of the shape the grader keeps is graded again."""
        force = sid == self.args.student if self.args.student else self.args.force  # --student: that id only
        r = None if force or fp is None else self.kept(sid)
        same = r is not None and r.get("fingerprint") == fp and r.get("kit_version") == self.kit  # a kit since: anew
        return r if same and r["status"] != "error" else None  # a grader error is graded again

    def kept(self, sid):
        """The kept result of `sid` where it is of this run's secret and checks, whatever bytes and kit
        it was graded from; None where there is none, or it is damaged or not of the grader's shape."""
        try:
            r = gradebook.read_kept(self.out / ".results" / f"{sid}.json")
        except (OSError, ValueError):
            return None
        same = all(r.get(k) == v for k, v in self.settings.items())
        return r if same and r["id"] == sid and set(r["checks"]) == set(self.only) else None

    def keep(self, r):
        """Keep a student's result at once, stamped with when it was graded, so a re-run resumes."""
        r = dict(r, graded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), kit_version=self.kit)
        path = self.out / ".results" / f"{r['id']}.json"
        if path.is_dir() and not path.is_symlink():  # no kept result, whatever it holds: replaced
            shutil.rmtree(path)
        gradebook.write_atomic(path, json.dumps(r))
        return r

    def record(self, judged, todo, results, began):
        """Keep and log each result as it is judged; an exception of the judging is that student's grader error."""
        done = 0
        failed = "the grading task failed on the cluster" if self.cluster else "the grader failed on this submission"
        for job, r in judged:
            self.no_worker += isinstance(r, NoWorker)
            if isinstance(r, BaseException):
                r = score.empty(job.sid, "error", f"{failed} ({type(r).__name__}: {r})", self.settings)
            r = {**r, **self.settings}  # the instructor's settings, not a worker's
            results[job.sid] = self.keep(dict(r, fingerprint=job.fingerprint))
            done += 1
            started = self.staged_at if self.cluster else began  # a cluster is sent the class once staged
            rate = done / max(time.monotonic() - started, 1e-9) * 60
            left = (len(todo) - done) / rate if rate else 0
            most = sum(c["max"] for c in r["checks"].values())
            self.log(
                f"[{done}/{len(todo)}] {job.sid}: {gradebook.total(r)}/{most} {r['status']}"
                f"{' (' + r['reason'] + ')' if r['reason'] else ''}"
                f"{' leftovers killed: ' + str(r['leftovers']) if r.get('leftovers') else ''}"
                f"{' REVIEW: ' + '; '.join(str(x.get('reason')) for x in r['review']) if r.get('review') else ''}"
                f" · {rate:.1f}/min · ~{left:.1f} min left"
            )

    # --- the run ------------------------------------------------------------------------------------

    def run(self):
        """Grade the class; 0, INCOMPLETE when students were left for want of a worker, or 130 after
        Ctrl-C, with what finished kept and written."""
        results, todo, self.no_worker = {}, [], 0
        try:
            students, names = self.refuse()
        except BaseException:
            self.close()
            raise
        interrupted, interrupts = False, Interrupts()
        try:
            if self.machine is not None:
                self.machine.warm(len(students))
            began = time.monotonic()
            with contextlib.closing(self.judged(self.jobs(students, results, todo))) as judged:
                self.record(judged, todo, results, began)
        except KeyboardInterrupt:  # Ctrl-C: the rest is graded on a re-run
            interrupted = True
        finally:
            interrupts.armed = False  # from here on, the gradebook and the clean-up are done whole
            # The id as it was submitted, beside the safe name it was graded under.
            named = [dict(r, **({"name": names[s]} if s in names else {})) for s, r in results.items()]
            try:
                gradebook.write(self.out, named, self.settings, self.kit, self.plan)
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
        if self.no_worker:  # a gradebook for everyone, and a status that says it is not finished
            self.log(
                f"incomplete: {self.no_worker} of {len(students)} students not graded, the cluster having no worker "
                "that could grade; their rows are grader errors, graded by running the same command again"
            )
            return INCOMPLETE
        return 0

    def close(self):
        """Give back what the grading holds: the scanner, the machine (judges, scratch, uids), or the
        cluster and staging."""
        self.scanner.close()
        if self.machine is not None:
            self.machine.close()
        else:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.cluster.close()

    def announce(self, todo, students):
        """The log's head: what is graded, how, and what was cleaned up first."""
        self.log(
            f"grading {todo} of {students} submissions ({students - todo} already graded or ungradable) with "
            f"{self.args.jobs} jobs, sandbox {self.choice.mode}, checks {','.join(self.only)}"
        )
        if self.not_graded:  # said, never dropped without a word; hidden files (.DS_Store, .git) are not
            shown = ", ".join(f"{ids.shown(name)} ({why})" for name, why in self.not_graded[:20])
            more = f" and {len(self.not_graded) - 20} more" if len(self.not_graded) > 20 else ""
            self.log(f"not graded: {shown}{more}")
        for sid, why in sorted(self.twice.items()):  # the row says so too; the log's head, lest it go unseen
            self.log(f"not graded: {sid}: {why}")
        if self.older:  # --student: grades this run keeps though a run of the class would grade them again
            self.log(f"kept as graded before, which a run of the class would grade again: {', '.join(self.older)}")
        for warning in (self.choice.warning, self.secret_warning):
            if warning:
                self.log(warning)
        if self.machine is not None:
            self.log(self.machine.limits_line())
            if self.machine.swept:
                self.log(
                    f"cleaned up {self.machine.swept} scratch folders and cgroups a killed grading of these uids left"
                )

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
