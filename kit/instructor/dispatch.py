"""Where students are graded: the jobs of a class and the two ways of running them, with one signature.

    for job, result in dispatch_local(jobs, grade_one, width):      threads of this process
    for job, result in dispatch_dask(jobs, grade_one, cluster):     a Dask cluster (kit/instructor/cluster.py)

Each yields (job, result) as each student's grading finishes, in any order; `result` is what
`grade_one(job)` returned, or the exception it raised (a bug of the kit's, a lost worker, NoWorker
when the cluster graded no one for its wait), which the pipeline turns into that student's
grader-error row: one student never costs the others. Jobs are taken from `jobs` as they come, so
grading starts while the rest of the class is staged. Closing the generator (Ctrl-C) drops the jobs
not started yet.
"""

import collections
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

AGAIN = object()  # a task's result, lost with its worker before it came, that the scheduler computes again


@dataclasses.dataclass(frozen=True)
class Job:
    """One student to grade: the id, the staged tree (a folder here; its files, packed, on the way to
    a cluster's worker), the notes of staging, the seed of the inputs and the tree's fingerprint."""

    sid: str
    tree: object
    notes: tuple
    seed: int
    fingerprint: str


class NoWorker(Exception):
    """A student not graded: while it waited, no worker of the cluster graded for the whole wait."""


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


def dispatch_dask(jobs, grade_one, cluster):
    """Grade `jobs` on the workers of `cluster` (a cluster.Cluster, its workers checked), which are sent
    `grade_one`; yields (job, result or exception) as each task completes. The students left once no
    worker graded for `cluster.wait` seconds come back as NoWorker."""
    import asyncio  # here, as distributed is: 17 ms of every `kit grade`'s start that grades on no cluster

    from distributed import wait

    from kit.instructor.cluster import POLL, pack

    unsent, sent, finished = collections.deque(), {}, []

    def send():
        """Take the results that came back, then send students to the workers that can grade and are free."""
        for future in [f for f in sent if f.done()]:
            if (result := outcome(future, POLL)) is not AGAIN:
                finished.append((sent.pop(future), result))
                cluster.going()
        # One student per worker at a time: a worker that dies counts against every task it was given,
        # started or not (a task asking for a resource is given out at once, never queued), so sending
        # the whole class would let one student who kills workers cost others their grading.
        while unsent and len(sent) < cluster.slots:
            job, packed = unsent.popleft()
            sent[cluster.submit(grade_one, job, packed)] = job

    try:
        for job in jobs:  # sent as they are staged, while a worker is free
            unsent.append((job, dataclasses.replace(job, tree=pack(job.tree))))
            send()
            cluster.watch([f.key for f in sent if not f.done()], bool(unsent))
        while True:
            send()
            yield from finished
            finished.clear()
            if not (sent or unsent):
                return
            if not cluster.watch([f.key for f in sent if not f.done()], bool(unsent)):
                lost = NoWorker(f"no worker of the cluster graded for {cluster.wait:g} s")
                for future, job in sent.items():
                    result = outcome(future, POLL) if future.done() else AGAIN
                    yield job, lost if result is AGAIN else result
                yield from ((job, lost) for job, _ in unsent)
                return
            if not sent:
                time.sleep(POLL)
                continue
            try:
                wait(list(sent), timeout=POLL, return_when="FIRST_COMPLETED")
            except (TimeoutError, asyncio.TimeoutError):  # one class from Python 3.11 on
                pass
    finally:
        cluster.client.cancel([f for f in sent if not f.done()])


def outcome(future, timeout):
    """A finished task's result, the exception it ended with (KilledWorker among them: a grader error,
    never a zero), or AGAIN: its result was lost with its worker before it came, and is computed again."""
    try:
        result = future.result(timeout=timeout)
    except Exception as e:
        result = e
    if not future.done():
        return AGAIN
    future.release()
    return result
