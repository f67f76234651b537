"""The check in a real process over a file-backed cache (the dry run's `--state`), killed with SIGKILL mid-run.

`python -m cloudtrail --stream` prints each event the moment the check submits it, flushed, so what a process
printed before it was killed is what it had submitted: the union of what two processes print is what Datadog
would have received across an Agent killed and restarted.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import yaml

from devtools.proxy import Fault, FaultProxy
from tests.conftest import event_ids

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
PER_OBJECT = 10


def write_config(path, instance):
    path.write_text(yaml.safe_dump({'init_config': {}, 'instances': [instance]}), encoding='utf-8')


def start(config, state, output):
    """The dry run in its own process, its stdout going to a file (what it wrote there survives a SIGKILL)."""
    with open(output, 'wb') as out:
        return subprocess.Popen(
            [sys.executable, '-m', 'cloudtrail', '--config', str(config), '--state', str(state), '--stream'],
            cwd=ROOT, stdout=out, stderr=subprocess.PIPE, env=os.environ.copy(),
        )


def printed(output):
    """The events a process printed: whole lines only (a line being written at the kill is not counted)."""
    text = Path(output).read_text(encoding='utf-8') if Path(output).exists() else ''
    lines = text.split('\n')[:-1]
    return [json.loads(line) for line in lines if line and not line.startswith('{"log"')]


def deliver_backlog(aws, trail, objects, region='us-east-1'):
    """`objects` objects of PER_OBJECT records each; returns {eventID: key}."""
    owner = {}
    for i in range(objects):
        minutes_ago = 55 - i
        records = aws.records(aws.now - timedelta(minutes=minutes_ago), PER_OBJECT, region=region, read_only=False)
        key, _ = aws.deliver(trail, minutes_ago=minutes_ago, records=records, region=region)
        owner.update({r['eventID']: key for r in records})
    return owner


def test_kill_9_mid_run_loses_nothing_and_sends_again_at_most_the_objects_in_flight(aws, tmp_path):
    trail = aws.trail()
    owner = deliver_backlog(aws, trail, objects=30)
    # One object larger than a read chunk (objects.CHUNK_BYTES): its records are submitted in two goes.
    big_records = aws.records(aws.now - timedelta(minutes=20), 3000, read_only=False)
    big, _ = aws.deliver(trail, minutes_ago=20, records=big_records)
    owner.update({r['eventID']: big for r in big_records})
    size = aws.s3.head_object(Bucket=trail.bucket, Key=big)['ContentLength']
    assert size > 300_000
    state, config = tmp_path / 'state', tmp_path / 'conf.yaml'
    first_output, second_output = tmp_path / 'first.jsonl', tmp_path / 'second.jsonl'

    with FaultProxy(aws.url, latency=0.01) as proxy:
        # The big object's body stops after 300 kB: its first records are submitted, then the run waits there.
        proxy.fail('GET', f'^/{trail.bucket}/{re.escape(big)}$', Fault.pause(300_000, 60))
        write_config(config, aws.instance(endpoint_url=proxy.url, workers=WORKERS))

        first = start(config, state, first_output)
        try:
            deadline = time.monotonic() + 120  # only so that a broken run cannot hang the suite
            while not any(owner[i] == big for i in event_ids(printed(first_output))):
                assert first.poll() is None, first.stderr.read().decode()
                assert time.monotonic() < deadline, 'the big object was never reached'
                time.sleep(0.01)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
            first.stderr.close()
        assert first.returncode == -signal.SIGKILL
        before_kill = event_ids(printed(first_output))
        assert 0 < len(before_kill) < len(owner)  # killed mid-run

        second = start(config, state, second_output)
        _, errors = second.communicate(timeout=120)
        assert second.returncode == 0, errors.decode()
        after_restart = event_ids(printed(second_output))

    assert len(set(before_kill)) == len(before_kill) and len(set(after_restart)) == len(after_restart)
    assert set(before_kill) | set(after_restart) == set(owner)  # no record lost
    # Only objects being read at the kill come again (their cursor was not saved yet), whole or in part:
    # here the big one, killed half-way through.
    sent_twice = {owner[i] for i in set(before_kill) & set(after_restart)}
    assert big in sent_twice
    assert len(sent_twice) <= WORKERS


def test_a_damaged_state_directory_warns_and_the_dry_run_keeps_working(aws, tmp_path):
    trail = aws.trail()
    owner = deliver_backlog(aws, trail, objects=3)
    owner.update(deliver_backlog(aws, trail, objects=2, region='eu-west-1'))  # two folders: two cursor files
    state, config = tmp_path / 'state', tmp_path / 'conf.yaml'
    write_config(config, aws.instance(workers=WORKERS))
    run = [sys.executable, '-m', 'cloudtrail', '--config', str(config), '--state', str(state), '--stream']

    first = subprocess.run(run, cwd=ROOT, capture_output=True, env=os.environ.copy(), timeout=120)
    assert first.returncode == 0, first.stderr.decode()
    assert sorted(event_ids(map(json.loads, first.stdout.decode().splitlines()))) == sorted(owner)

    files = sorted(p for p in state.iterdir() if p.name.startswith('cloudtrail') and 'cursor_' in p.name)
    assert len(files) == 4  # two folders, each cursor kept in two copies
    for n, path in enumerate(files):
        # A write cut short by a crash, or bytes that are not even text.
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2] if n % 2 == 0 else b'\xff\xfe\x00garbage')

    again = subprocess.run(run, cwd=ROOT, capture_output=True, env=os.environ.copy(), timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    assert 'unreadable' in again.stderr.decode()
    # Started again from the lookback: everything is sent again rather than anything lost.
    assert sorted(event_ids(map(json.loads, again.stdout.decode().splitlines()))) == sorted(owner)

    last = subprocess.run(run, cwd=ROOT, capture_output=True, env=os.environ.copy(), timeout=120)
    assert last.returncode == 0 and last.stdout == b'' and b'unreadable' not in last.stderr
