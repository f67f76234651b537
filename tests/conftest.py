"""Test harness: a real moto server (separate process) as AWS, datadog-checks-dev's stubs as the Agent."""

import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from cloudtrail import CloudtrailCheck
from devtools import samples
from devtools.emulator import MotoServer, client
from devtools.seed import create_trail, put_object

EVENT_ID = re.compile(r'^Event ID: (\S+)$', re.M)


@pytest.fixture(scope='session')
def moto_server():
    with MotoServer() as server:
        yield server


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A clean emulator for each test, reached through boto3's standard credential chain."""
    moto_server.reset()
    for name, value in {'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing'}.items():
        monkeypatch.setenv(name, value)
    for name in ('AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3'):
        monkeypatch.delenv(name, raising=False)
    return World(moto_server.url)


def event_ids(events):
    """The CloudTrail eventID of each event, read back from the text a user sees."""
    return [EVENT_ID.search(e['msg_text']).group(1) for e in events]


class World:
    """The emulated AWS account of one test, and the Agent that runs the check against it."""

    def __init__(self, url):
        self.url = url
        self.rng = random.Random(7)
        self.now = datetime.now(timezone.utc)
        self.s3 = client('s3', url)

    def trail(self, name='main-trail', bucket='trail-bucket', **options):
        return create_trail(self.url, name, bucket, **options)

    def records(self, when, count, account='123456789012', region='us-east-1', **options):
        return [samples.record(self.rng, when - timedelta(seconds=i), account, region, **options)
                for i in range(count)]

    def deliver(self, trail, minutes_ago, records=None, *, region='us-east-1', account=None, kind='CloudTrail',
                bucket=None, prefix=None, org_id=None):
        """Write one log object named for `minutes_ago`; returns (key, records)."""
        when = self.now - timedelta(minutes=minutes_ago)
        account = account or (trail.account if trail else '123456789012')
        if records is None:
            records = self.records(when, 5, account, region, read_only=False)
        key = samples.object_key(trail.prefix if trail else prefix, account, region, when, self.rng,
                                 org_id=org_id if org_id else (trail.org_id if trail else None), kind=kind)
        put_object(self.s3, bucket or trail.bucket, key, samples.gzip_records(records))
        return key, records

    def instance(self, **options):
        return {'endpoint_url': self.url, 'aws_region': 'us-east-1', 'workers': 4, **options}


@pytest.fixture
def run_check(aggregator, datadog_agent):
    """Run a new check instance once (as the Agent does after a restart or config edit); return its events.

    The persistent cache (`datadog_agent`) is kept across calls within a test, like the Agent's files.
    """

    def run(instance, check_id='cloudtrail:1a2b3c'):
        aggregator.reset()
        check = CloudtrailCheck('cloudtrail', {}, [instance])
        check.check_id = check_id
        error = check.run()
        assert not error, error
        return list(aggregator.events)

    return run
