"""This tree against another commit on the benchmark's grading mix, in paired rounds.

    python -m kit bench --compare REV [--pairs 30] [--size 40] [--jobs 2]

Two `make bench` runs compare badly: this kind of machine's speed drifts by a fifth between runs
minutes apart (the speed probe in every report shows it), more than the few percent a change may
cost. So one class is graded by each tree in turn, the order swapped every round, and each round
gives one ratio, this tree's seconds over the other's: drift slower than a round cancels out. The
report is the median ratio with a 95% interval (bootstrap over the rounds): only an interval
that lies wholly above or below 1 says that one tree is slower. Wall seconds, and the CPU seconds
the whole machine spent meanwhile: run it where nothing else runs.

Both trees come out of `git archive` into one temporary folder: the other commit, and this tree's
tracked files as they are now (`git stash create`: uncommitted changes included, untracked files not).
Graded from the working folder itself, the same commit read 5-7% slower than its archive (1.069, interval
1.018-1.077, in 8 rounds on this machine), where two archives of it tie: what else lies in a working
folder (virtualenvs, caches, a learner's state) is no part of the code compared. Each runs with this
interpreter and its packages, its own `kit` and `checks` imported, as `python -m` puts the folder it
starts in first.
"""

import csv
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from kit import ROOT
from kit.dev.bench.grading import make_class

RESAMPLES = 4000


def extract(rev, dest, root=ROOT):
    """The files of commit `rev` of the repository at `root` (this one), in `dest`."""
    try:
        made = subprocess.run(["git", "archive", "--format=tar", rev], cwd=root, capture_output=True)
    except OSError as e:  # no git here
        raise SystemExit(f"kit bench --compare: git cannot archive {rev!r}: {e}") from None
    if made.returncode:
        said = made.stderr.decode("utf-8", "replace").strip()
        raise SystemExit(f"kit bench --compare: git cannot archive {rev!r}: {said}")
    with tarfile.open(fileobj=io.BytesIO(made.stdout)) as tar:
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return Path(dest)


def snapshot(root=ROOT):
    """A commit of the tree at `root` (this one) as it is: its tracked files with their uncommitted
    changes (HEAD if none); nothing is stashed."""
    try:
        made = subprocess.run(["git", "stash", "create"], cwd=root, capture_output=True, text=True)
    except OSError as e:  # no git here
        raise SystemExit(f"kit bench --compare: git cannot take this tree: {e}") from None
    return made.stdout.strip() or "HEAD"


def compiled(tree):
    """`tree` with a bytecode file beside each module of its kit and checks, written by this interpreter:
    the grader runs its judges with PYTHONDONTWRITEBYTECODE, so a tree fresh from git would compile
    its modules again in every run, where a tree run before loads them (which a comparison would
    count as the two trees' difference)."""
    folders = [str(tree / part) for part in ("kit", "checks")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, stdout=subprocess.DEVNULL)
    return tree


def busy():
    """CPU seconds this machine has spent so far, every process's (Linux's /proc/stat: a worker killed
    with its sandbox is reaped by no process of the grading, so the grading's own rusage misses it);
    elsewhere the waited-for children's of this process."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _, _, irq, softirq = (int(v) for v in f.readline().split()[1:8])
        return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        import resource  # POSIX's alone: `kit bench` imports this module on every platform

        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime


def grade_once(tree, subs, out, jobs):
    """(wall seconds, CPU seconds of the machine meanwhile, totals by student) of one run of `tree`'s
    grader on `subs`, into `out` afresh (a folder graded before would only be resumed)."""
    shutil.rmtree(out, ignore_errors=True)
    before, start = busy(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(subs), str(out), "--jobs", str(jobs)],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    took, cpu = time.perf_counter() - start, busy() - before
    if proc.returncode:
        raise RuntimeError(f"{tree}: kit grade exited {proc.returncode}:\n{proc.stderr.decode()[-2000:]}")
    with open(Path(out) / "grades.csv", newline="") as f:
        totals = {row["student"]: row["total"] for row in csv.DictReader(f)}
    return took, cpu, totals


def paired(rounds, this, other):
    """[(this tree's measure, the other's)] of `rounds` rounds; `this()` and `other()` each run once a
    round, this tree first in even rounds and second in odd ones."""
    pairs = []
    for i in range(rounds):
        if i % 2 == 0:
            a = this()
            b = other()
        else:
            b = other()
            a = this()
        pairs.append((a, b))
    return pairs


def interval(ratios, resamples=RESAMPLES):
    """(median, low, high): the median of `ratios` and its 95% interval, by a bootstrap with a fixed
    seed (the same ratios give the same interval)."""
    rng, n = random.Random(0), len(ratios)
    medians = sorted(statistics.median(rng.choices(ratios, k=n)) for _ in range(resamples))
    return statistics.median(ratios), medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def verdict(what, median, low, high):
    """One sentence on a median ratio (this tree / the other) and its interval."""
    figure = f"{median:.3f} (95% interval {low:.3f}-{high:.3f})"
    if low > 1:
        return f"{what}: this tree is slower, ratio {figure}."
    if high < 1:
        return f"{what}: this tree is faster, ratio {figure}."
    return f"{what}: no difference this run resolves, ratio {figure}."


def compare(rev, rounds, size, jobs):
    """The report's lines: each round's seconds, the ratios, and a verdict each for wall and CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        other = compiled(extract(rev, tmp / "other"))
        this = compiled(extract(snapshot(), tmp / "this"))
        make_class(tmp / "subs", size)
        graded = {}

        def run(name, tree):
            def once():
                took, cpu, totals = grade_once(tree, tmp / "subs", tmp / f"out-{name}", jobs)
                graded[name] = totals
                print(f"  {name}: {took:.2f} s wall, {cpu:.2f} s CPU", flush=True)
                return took, cpu

            return once

        pairs = paired(rounds, run("this", this), run("other", other))
    lines = [
        f"`python -m kit bench --compare {rev} --pairs {rounds} --size {size} --jobs {jobs}`: "
        f"`kit grade --jobs {jobs}` on the benchmark's mix of {size}, this tree ({ROOT}) and {rev} in turns, "
        f"{rounds} rounds; ratios are this tree's seconds over {rev}'s.",
        "",
        "| round | this tree, wall | other, wall | wall ratio | this tree, CPU | other, CPU | CPU ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, ((wa, ca), (wb, cb)) in enumerate(pairs, 1):
        lines.append(f"| {i} | {wa:.2f} | {wb:.2f} | {wa / wb:.3f} | {ca:.2f} | {cb:.2f} | {ca / cb:.3f} |")
    lines.append("")
    for what, k in (("Wall seconds", 0), ("CPU seconds", 1)):
        lines.append(verdict(what, *interval([a[k] / b[k] for a, b in pairs])))
    changed = differences(graded.get("this", {}), graded.get("other", {}), rev)
    if changed:  # a change of verdicts between the commits, which the figures above include
        lines.append(f"The two trees grade this class differently (points): {changed}.")
    return lines


def differences(this, theirs, rev):
    """Each student whose total differs between the two trees' gradebooks, with both totals ("" if none)."""
    return "; ".join(
        f"{s}: {this.get(s, '-')} here, {theirs.get(s, '-')} at {rev}"
        for s in sorted({*this, *theirs})
        if this.get(s) != theirs.get(s)
    )
