"""Where students are graded: the jobs of a class and the two ways of running them, with one signature.

    for job, result in dispatch_local(jobs, grade_one, width):      threads of this process
    for job, result in dispatch_dask(jobs, grade_one, cluster):     a Dask cluster (kit/instructor/cluster.py)

Each yields (job, result) as each student's grading finishes, in any order; `result` is what
`grade_one(job)` returned, or the exception it raised (a bug of the kit's, a lost worker), which
the pipeline turns into that student's grader-error row: one student never costs the others. Jobs
are taken from `jobs` as they come, so grading starts while the rest of the class is staged.
Closing the generator (Ctrl-C) drops the jobs not started yet.
"""

import dataclasses
from concurrent.futures import ThreadPoolExecutor, as_completed


@dataclasses.dataclass(frozen=True)
class Job:
    """One student to grade: the id, the staged tree (a folder here; its files, packed, on the way to
    a cluster's worker), the notes of staging, the seed of the inputs and the tree's fingerprint."""

    sid: str
    tree: object
    notes: tuple
    seed: int
    fingerprint: str


def dispatch_local(jobs, grade_one, width):
    """Grade `jobs` on `width` threads here; yields (job, result or exception) as each finishes."""
    threads = ThreadPoolExecutor(width)
    running = {}
    try:
        for job in jobs:
            running[threads.submit(grade_one, job)] = job
        for future in as_completed(running):
            try:
                result = future.result()
            except Exception as e:  # a bug of the kit's must not lose the other students
                result = e
            yield running[future], result
    finally:
        # Those started end as their judges are closed (the machine's close); the rest are dropped.
        threads.shutdown(wait=False, cancel_futures=True)
