"""Read objects on a bounded pool of threads while the check's own thread submits what they produce.

Results are handed back in the order the jobs were given, object after object, through one small queue per
object: readers run ahead on the next objects, but a reader whose queue is full waits, so memory stays
bounded whatever the objects' sizes. Events and logs are submitted, and cursors saved, only from the calling
thread.
"""

import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

ITEM, DONE = 'item', 'done'
# Items a reader may produce ahead of the submitting thread, per object.
QUEUE_ITEMS = 512
# Items handed over together: a queue operation (and a wake-up of the other thread) per batch rather than per
# item, which took a sixth of the run time of a backlog when each event crossed alone.
BATCH_ITEMS = 64


class Stopped(Exception):
    """A job abandoned because the run is ending."""


def run_jobs(jobs, work, workers, keep_going):
    """Yield (ITEM, job, item) for each item `work(job)` yields, then (DONE, job, error or None), job after job.

    New jobs start only while `keep_going()` is true; jobs already started run to their end.
    """
    stop = threading.Event()
    jobs = iter(jobs)
    started = deque()  # (job, its queue), in the order given

    def run(job, results):
        error, batch = None, []
        try:
            if stop.is_set():
                raise Stopped()
            for item in work(job):
                batch.append(item)
                if len(batch) == BATCH_ITEMS:
                    results.put((ITEM, batch))
                    batch = []
                    if stop.is_set():
                        raise Stopped()
        except BaseException as e:  # reported to the caller, who decides what a failure means
            error = e
        if batch:
            results.put((ITEM, batch))  # what was read before a failure is handed over, as item by item
        results.put((DONE, error))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix='cloudtrail-read') as pool:

        def start_more():
            # Twice the pool: the next objects are read while the current one is being submitted.
            while len(started) < 2 * workers and keep_going():
                job = next(jobs, None)
                if job is None:
                    return
                results = queue.Queue(maxsize=QUEUE_ITEMS // BATCH_ITEMS)
                pool.submit(run, job, results)
                started.append((job, results))

        try:
            start_more()
            while started:
                job, results = started[0]
                kind, value = results.get()
                if kind == DONE:
                    started.popleft()
                    start_more()
                    yield kind, job, value
                else:
                    for item in value:
                        yield kind, job, item
        finally:
            # The caller stopped early (or failed): let every reader finish without blocking on a full queue.
            stop.set()
            for _, results in started:
                while results.get()[0] != DONE:
                    pass
