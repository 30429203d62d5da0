"""Grade a class: every submission in a folder into a gradebook, each in isolation.

    python -m kit grade SUBMISSIONS OUT [--jobs N] [--seed S] [--only 03,04] [--force] ...

A pipeline of small steps per student: collect (kit/instructor/collect.py: find, unpack, stage the tree),
run (the checks in a judge process of their own, whose worker kit/instructor/sandbox.py fences in),
score (the judge's JSON report), report (kit/instructor/gradebook.py). Each student's result is kept in
OUT/.results as soon as it is known, so an interrupted run resumes where it stopped and a re-run
skips students already graded with the same seed and checks, unless --force.
"""

import argparse
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from kit import ROOT
from kit.exercises import EXERCISES, POINTS, parse_ids
from kit.instructor import collect, gradebook, sandbox

PROBE_TIMEOUT = 5.0  # seconds per test, as for a learner
CHECK_TIMEOUT = 60.0  # seconds per check
MEMORY_MB = 1024  # address space of a worker


def fingerprint(path):
    """A hash of a submission's bytes, to tell a changed submission from one already graded."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    for p in files:
        h.update(str(p.relative_to(path.parent)).encode() + b"\0")
        with open(p, "rb") as f:
            while chunk := f.read(1 << 16):
                h.update(chunk)
    return h.hexdigest()


class Grader:
    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.submissions = Path(args.submissions).resolve()
        try:
            self.only = parse_ids(args.only) if args.only else list(EXERCISES)
        except ValueError as e:
            raise SystemExit(f"--only {args.only}: {e}") from None
        self.maxima = POINTS
        self.mode, self.python = sandbox.detect(args.sandbox)
        self.scratch_root = Path(tempfile.mkdtemp(prefix="kit-grade-"))
        os.chmod(self.scratch_root, 0o711)
        self.hide = sandbox.hidden(self.python, self.out, self.submissions, self.scratch_root)
        self.slots = queue.Queue()
        for slot in range(args.jobs):
            self.slots.put(slot)
        self.lock = threading.Lock()
        self.settings = {"seed": args.seed, "only": self.only}

    # --- steps --------------------------------------------------------------------------------

    def empty(self, sid, status, reason, notes=()):
        return {
            "id": sid,
            "status": status,
            "reason": reason,
            "notes": list(notes),
            **self.settings,
            "checks": {ex: {"earned": 0, "max": self.maxima[ex]} for ex in self.only},
            "tests": [],
        }

    def grade_one(self, sid, path):
        started = time.monotonic()
        slot = self.slots.get()
        home = self.scratch_root / sid
        home.mkdir()
        try:
            try:
                notes = collect.collect(path, home)
            except collect.Ungradable as e:
                return self.empty(sid, "ungradable", str(e))
            box = sandbox.Sandbox(self.mode, self.python, slot, self.hide, limits={"AS": self.args.memory << 20})
            box.prepare(home)
            result = self.run_checks(sid, home, box, notes)
            result["leftovers"] = box.cleanup()
            return result
        finally:
            shutil.rmtree(home, ignore_errors=True)
            self.slots.put(slot)
            self.elapsed = time.monotonic() - started

    def run_checks(self, sid, home, box, notes):
        report = self.scratch_root / f".{sid}.report.json"  # beside home, where the worker cannot write
        fence = self.scratch_root / f".{sid}.fence.json"
        box.fence(home).save(fence)
        cmd = [
            sys.executable,
            "-m",
            "kit",
            "check",
            ",".join(self.only),
            "--impl",
            str(home / "tree"),
            "--seed",
            str(self.args.seed),
            "--timeout",
            str(self.args.probe_timeout),
            "--check-timeout",
            str(self.args.check_timeout),
            "--report",
            str(report),
            "--fence",
            str(fence),
        ]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("IMPL", None)
        wall = (self.args.check_timeout + 2 * self.args.probe_timeout) * len(self.only) + 30
        try:
            subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=wall)
            data = json.loads(report.read_text())
        except (subprocess.TimeoutExpired, OSError, ValueError) as e:
            return self.empty(sid, "error", f"grading did not finish ({type(e).__name__}); it scores 0", notes)
        finally:
            report.unlink(missing_ok=True)
            fence.unlink(missing_ok=True)
        result = self.empty(sid, "graded", "", notes)
        for ex, c in data["checks"].items():
            result["checks"][ex] = {"earned": int(c["earned"]), "max": int(c["max"])}
        result["tests"] = data["tests"]
        return result

    # --- the run ------------------------------------------------------------------------------

    def cached(self, sid, path):
        f = self.out / ".results" / f"{sid}.json"
        if self.args.force or not f.exists():
            return None
        try:
            r = json.loads(f.read_text())
        except ValueError:
            return None
        same = (
            r.get("seed") == self.args.seed and r.get("only") == self.only and r.get("fingerprint") == fingerprint(path)
        )
        return r if same else None

    def run(self):
        (self.out / ".results").mkdir(parents=True, exist_ok=True)
        students = collect.find(self.submissions)
        results, todo = {}, []
        for sid, path in students:
            r = self.cached(sid, path)
            if r is not None:
                results[sid] = r
            else:
                todo.append((sid, path))
        self.log(
            f"grading {len(todo)} of {len(students)} submissions ({len(results)} already graded) "
            f"with {self.args.jobs} jobs, sandbox {self.mode}, checks {','.join(self.only)}"
        )
        started, done = time.monotonic(), 0
        try:
            with ThreadPoolExecutor(self.args.jobs) as pool:
                futures = {pool.submit(self.grade_one, sid, path): (sid, path) for sid, path in todo}
                for future in as_completed(futures):
                    sid, path = futures[future]
                    try:
                        r = future.result()
                    except Exception as e:  # a bug of the kit's must not lose the other students
                        r = self.empty(sid, "error", f"the grader failed on this submission ({e})")
                    r["fingerprint"] = fingerprint(path)
                    gradebook.write_atomic(self.out / ".results" / f"{sid}.json", json.dumps(r))
                    results[sid] = r
                    done += 1
                    rate = done / max(time.monotonic() - started, 1e-9) * 60
                    left = (len(todo) - done) / rate if rate else 0
                    self.log(
                        f"[{done}/{len(todo)}] {sid}: {gradebook.total(r)}/"
                        f"{sum(c['max'] for c in r['checks'].values())} {r['status']}"
                        f"{' (' + r['reason'] + ')' if r['reason'] else ''}"
                        f"{' leftovers killed: ' + str(r['leftovers']) if r.get('leftovers') else ''}"
                        f" · {rate:.1f}/min · ~{left:.1f} min left"
                    )
        finally:
            gradebook.write(self.out, list(results.values()), self.settings)
            shutil.rmtree(self.scratch_root, ignore_errors=True)
        self.log(f"wrote {self.out / 'grades.csv'}, grades.json and feedback/ for {len(results)} students")
        return 0

    def log(self, line):
        with self.lock:
            try:
                print(line, flush=True)
            except BrokenPipeError:  # the reader of our output left; the log file still gets it
                sys.stdout = open(os.devnull, "w")
            with open(self.out / "grade.log", "a", encoding="utf-8") as f:
                f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kit grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", help="folder with one folder or .zip per student, named by id")
    parser.add_argument("out", help="folder for grades.csv, grades.json, feedback/ and grade.log")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="students graded at once (default: cores)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the checks' random inputs (keep it secret)")
    parser.add_argument("--only", default=None, help="grade these checks only, e.g. 03,04")
    parser.add_argument("--force", action="store_true", help="regrade students already graded")
    parser.add_argument("--probe-timeout", type=float, default=PROBE_TIMEOUT, help="seconds per test (default 5)")
    parser.add_argument("--check-timeout", type=float, default=CHECK_TIMEOUT, help="seconds per check (default 60)")
    parser.add_argument("--memory", type=int, default=MEMORY_MB, help="megabytes of memory per worker (default 1024)")
    parser.add_argument(
        "--sandbox",
        default="auto",
        choices=["auto", "bwrap", "unshare", "none"],
        help="how to isolate learner code (default: the strongest this machine allows)",
    )
    args = parser.parse_args(argv)
    if not Path(args.submissions).is_dir():
        parser.error(f"{args.submissions}: no such folder")
    return Grader(args).run()


if __name__ == "__main__":
    sys.exit(main())
