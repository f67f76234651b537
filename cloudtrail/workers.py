"""Run object reads on a bounded pool of threads while the check's own thread submits what they produce.

Events are submitted, and cursors saved, only from the calling thread, in the order results arrive. The queue
between the two is bounded, so a fast reader cannot pile up a whole object's events in memory.
"""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

ITEM, DONE = 'item', 'done'


class Stopped(Exception):
    """A job abandoned because the run is ending."""


def run_jobs(jobs, work, workers, keep_going):
    """Yield (ITEM, job, item) for each item `work(job)` yields, then (DONE, job, error or None) per job.

    New jobs start only while `keep_going()` is true; jobs already started run to their end.
    """
    results = queue.Queue(maxsize=workers * 64)
    stop = threading.Event()
    jobs = iter(jobs)

    def run(job):
        error = None
        try:
            for item in work(job):
                if stop.is_set():
                    raise Stopped()
                results.put((ITEM, job, item))
        except BaseException as e:  # reported to the caller, who decides what a failure means
            error = e
        results.put((DONE, job, error))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix='cloudtrail-read') as pool:
        in_flight = 0

        def start_one():
            nonlocal in_flight
            job = next(jobs, None) if keep_going() else None
            if job is not None:
                pool.submit(run, job)
                in_flight += 1

        try:
            for _ in range(workers):
                start_one()
            while in_flight:
                kind, job, value = results.get()
                if kind == DONE:
                    in_flight -= 1
                    start_one()
                yield kind, job, value
        finally:
            # The caller stopped early (or failed): let the threads finish without blocking on a full queue.
            stop.set()
            while in_flight:
                if results.get()[0] == DONE:
                    in_flight -= 1
