"""Scaling past one Agent: the S3 cursor store, leases and partitions.

The multi-process tests run the check in separate processes (tests/runner.py), as node Agents or cluster-check
runners would, against one real endpoint (moto server).
"""

import collections
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cloudtrail.cursor import FolderCursor
from cloudtrail.stores import CursorConflict, Lease, S3Store
from devtools.proxy import FaultProxy
from tests.conftest import event_ids

ROOT = Path(__file__).resolve().parents[1]


def all_ids(delivered):
    return sorted(r['eventID'] for _, records in delivered for r in records if not r.get('readOnly'))


def s3_instance(aws, **options):
    return aws.instance(cursor_store='s3', cursor_bucket='cursor-bucket', cursor_prefix='cursors/', **options)


@pytest.fixture
def cursor_bucket(aws):
    aws.s3.create_bucket(Bucket='cursor-bucket')
    return 'cursor-bucket'


def test_s3_store_refuses_a_write_over_another_runners(aws, cursor_bucket):
    log = logging.getLogger('test')
    mine, theirs = (S3Store(aws.s3, cursor_bucket, 'c/', log) for _ in range(2))
    now = time.time()
    a = mine.load('trail', 'folder/', now, 3600)
    b = theirs.load('trail', 'folder/', now, 3600)
    a.mark_done('2026/11/24/1_CloudTrail_r_20261124T1000Z_A.json.gz')
    mine.save('trail', 'folder/', a)  # creates it
    with pytest.raises(CursorConflict):
        theirs.save('trail', 'folder/', b)  # it was absent when they read it
    mine.save('trail', 'folder/', a)  # an update over its own last write is fine
    again = theirs.load('trail', 'folder/', now, 3600)
    assert again.done == a.done
    theirs.save('trail', 'folder/', again)
    with pytest.raises(CursorConflict):
        mine.save('trail', 'folder/', a)  # now theirs is newer


def test_lease_is_held_by_one_runner_until_it_expires(aws, cursor_bucket):
    one = Lease(aws.s3, cursor_bucket, 'lease.json', 'runner-1', seconds=60)
    two = Lease(aws.s3, cursor_bucket, 'lease.json', 'runner-2', seconds=60)
    assert one.acquire(now=1000) is None
    assert 'runner-1' in two.acquire(now=1010)
    assert one.acquire(now=1050) is None  # renewed until 1110
    assert two.acquire(now=1100) is not None
    assert two.acquire(now=1111) is None  # expired: taken over
    assert 'runner-2' in one.acquire(now=1120)


def test_a_new_runner_with_an_empty_cache_continues_where_the_s3_store_left(aws, run_check, datadog_agent,
                                                                            cursor_bucket):
    trail = aws.trail()
    delivered = [aws.deliver(trail, minutes_ago=m) for m in (40, 30)]
    first = run_check(s3_instance(aws, lease_seconds=5))
    datadog_agent.reset()  # another node: nothing of the first runner's cache
    delivered.append(aws.deliver(trail, minutes_ago=20))
    time.sleep(5.1)  # the first runner's lease expires
    second = run_check(s3_instance(aws, lease_seconds=5))
    assert sorted(event_ids(first + second)) == all_ids(delivered)
    keys = [o['Key'] for o in aws.s3.list_objects_v2(Bucket=cursor_bucket)['Contents']]
    assert any(k.startswith('cursors/cursor_') for k in keys) and any(k.startswith('cursors/lease_') for k in keys)


def test_a_runner_without_the_lease_reads_nothing(aws, run_check, datadog_agent, cursor_bucket):
    trail = aws.trail()
    aws.deliver(trail, minutes_ago=10)
    instance = s3_instance(aws)
    assert run_check(instance)
    datadog_agent.reset()  # another runner, whose lease id differs
    aws.deliver(trail, minutes_ago=5)
    assert run_check(instance) == []


def test_accounts_and_regions_select_folders(aws, run_check):
    trail = aws.trail(organization=True)
    wanted = aws.deliver(trail, 10, account='111111111111', region='eu-west-1')
    aws.deliver(trail, 10, account='111111111111', region='us-east-1')
    aws.deliver(trail, 10, account='222222222222', region='eu-west-1')
    events = run_check(aws.instance(accounts=['111111111111'], regions=['eu-west-1']))
    assert sorted(event_ids(events)) == all_ids([wanted])


def org_backlog(aws, trail, minutes_ago):
    return [aws.deliver(trail, minutes_ago, account=a, region=r)
            for a in ('111111111111', '222222222222', '333333333333')
            for r in ('us-east-1', 'eu-west-1', 'ap-south-1')]


def test_partitions_cover_every_folder_once_and_a_new_count_loses_nothing(aws, run_check, datadog_agent,
                                                                          cursor_bucket):
    trail = aws.trail(organization=True)
    delivered = org_backlog(aws, trail, 30)

    def run_partitions(count):
        events = []
        for index in range(count):
            events += run_check(s3_instance(aws, partition={'index': index, 'count': count}))
        return events

    three = run_partitions(3)
    ids = event_ids(three)
    assert len(ids) == len(set(ids)) and sorted(ids) == all_ids(delivered)
    assert len({tuple(sorted(e['tags'])) for e in three}) > 1

    later = org_backlog(aws, trail, 20)
    datadog_agent.reset()  # two instances on other runners: only the S3 store knows the cursors
    two = run_partitions(2)
    ids = event_ids(two)
    assert len(ids) == len(set(ids)) and sorted(ids) == all_ids(later)


# --- separate processes -----------------------------------------------------------------------------------


class Runner:
    """One check runner process with its own persistent cache."""

    def __init__(self, tmp_path, name, instance, runs=1, pause=0.0):
        conf = tmp_path / f'{name}.yaml'
        conf.write_text(yaml.safe_dump({'init_config': {}, 'instances': [instance]}))
        self.output = (tmp_path / f'{name}.out').open('w+')
        env = {**os.environ, 'PYTHONPATH': str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / 'tests' / 'runner.py'), str(conf), str(tmp_path / f'{name}-state'),
             str(runs), str(pause)],
            stdout=self.output, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def lines(self):
        self.output.seek(0)
        return self.output.read().splitlines()

    def ids(self):
        return [line for line in self.lines() if line and not line.startswith(('#', 'run failed'))]

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.ids()) < count:
            assert self.process.poll() is None, self.lines()[-20:]
            assert time.monotonic() < deadline, 'the runner made no progress'
            time.sleep(0.05)

    def finish(self, timeout=120):
        self.process.wait(timeout)
        assert self.process.returncode == 0, self.lines()[-20:]
        return self.ids()


def test_failover_after_kill_delivers_everything_once_but_the_objects_in_flight(aws, tmp_path, cursor_bucket):
    trail = aws.trail()
    delivered = [aws.deliver(trail, minutes_ago=50 - i / 2, records=aws.records(aws.now, 10, read_only=False))
                 for i in range(60)]
    with FaultProxy(aws.url, latency=0.02) as slow:
        instance = s3_instance(aws, endpoint_url=slow.url, workers=2, lease_seconds=5)
        first = Runner(tmp_path, 'a', instance)
        first.wait_for(150)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        # A different runner, empty cache; it waits for the dead runner's lease to expire.
        second = Runner(tmp_path, 'b', instance, runs=4, pause=2.5)
        ids = first.ids() + second.finish()
    counts = collections.Counter(ids)
    assert sorted(counts) == all_ids(delivered)
    duplicated = [i for i, n in counts.items() if n > 1]
    # At most the objects being read when the first runner died: `workers` objects of 10 records, plus the ones
    # queued ahead (the reader runs ahead by twice the pool).
    assert len(duplicated) <= 4 * 10, len(duplicated)


def test_two_runners_racing_on_one_instance_deliver_each_record_once(aws, tmp_path, cursor_bucket):
    trail = aws.trail()
    instance = s3_instance(aws, workers=2, lease_seconds=5)
    delivered = [aws.deliver(trail, minutes_ago=50 - i / 4, records=aws.records(aws.now, 5, read_only=False))
                 for i in range(10)]
    # Both start together and run repeatedly while new objects keep arriving.
    runners = [Runner(tmp_path, name, instance, runs=8, pause=0.5) for name in ('a', 'b')]
    positions = []
    for wave in range(4):
        delivered += [aws.deliver(trail, minutes_ago=40 - wave * 5 - i / 4,
                                  records=aws.records(aws.now, 5, read_only=False)) for i in range(5)]
        positions.append(cursor_positions(aws, cursor_bucket))
        time.sleep(0.7)
    ids = [i for runner in runners for i in runner.finish()]
    positions.append(cursor_positions(aws, cursor_bucket))

    counts = collections.Counter(ids)
    assert sorted(counts) == all_ids(delivered)
    assert max(counts.values()) == 1, 'a record was submitted twice'
    for before, after in zip(positions, positions[1:]):
        assert all(after[key] >= position for key, position in before.items()), 'a cursor went backwards'


def cursor_positions(aws, bucket):
    positions = {}
    for item in aws.s3.list_objects_v2(Bucket=bucket, Prefix='cursors/cursor_').get('Contents', ()):
        body = aws.s3.get_object(Bucket=bucket, Key=item['Key'])['Body'].read().decode()
        cursor = FolderCursor.loads(body)
        positions[item['Key']] = max([cursor.after, *cursor.done])
    return positions
