"""The test tools themselves: the emulator process, the key layout and seeding."""

import gzip
import json
import os
import random
import re
from datetime import timedelta

import pytest

from devtools import samples
from devtools.emulator import MotoServer, client
from devtools.seed import create_trail, put_objects, seed_day

ACCOUNT = '123456789012'
NOW = samples.utc(2026, 11, 24, 12, 0)

# The layout in design.md section 2.
LOG_KEY = re.compile(
    r'^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/'
    r'(?P<kind>CloudTrail|CloudTrail-Insight)/'
    r'(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/'
    r'(?P=account)_(?P=kind)_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$'
)


@pytest.fixture(scope='module')
def server():
    with MotoServer() as running:
        yield running


@pytest.fixture
def url(server):
    server.reset()
    return server.url


def test_emulator_is_a_separate_process_that_resets_and_stops():
    server = MotoServer().start()
    try:
        assert server.process.pid != os.getpid()
        assert server.process.poll() is None
        s3 = client('s3', server.url)
        s3.create_bucket(Bucket='some-bucket')
        assert [b['Name'] for b in s3.list_buckets()['Buckets']] == ['some-bucket']
        server.reset()
        assert s3.list_buckets()['Buckets'] == []
    finally:
        process = server.process
        server.stop()
    assert process.poll() is not None


@pytest.mark.parametrize(
    'prefix, org_id, kind',
    [
        (None, None, 'CloudTrail'),
        ('team/logs', None, 'CloudTrail'),
        ('p', 'o-a1b2c3d4e5', 'CloudTrail'),
        (None, None, 'CloudTrail-Insight'),
    ],
)
def test_object_key_follows_cloudtrail_layout(prefix, org_id, kind):
    when = samples.utc(2026, 3, 7, 9, 5, 42)
    key = samples.object_key(prefix, ACCOUNT, 'eu-west-1', when, random.Random(1), org_id=org_id, kind=kind)
    match = LOG_KEY.match(key)
    assert match, key
    assert (match['prefix'], match['org'], match['kind']) == (prefix, org_id, kind)
    assert '_eu-west-1_20260307T0905Z_' in key


def test_digest_key_names_the_trail_and_the_second():
    key = samples.digest_key('p', ACCOUNT, 'us-east-2', 'main', samples.utc(2026, 3, 7, 9, 5, 42))
    assert key == (
        'p/AWSLogs/123456789012/CloudTrail-Digest/us-east-2/2026/03/07/'
        '123456789012_CloudTrail-Digest_us-east-2_main_us-east-2_20260307T090542Z.json.gz'
    )


def test_keys_sort_by_delivery_time():
    rng = random.Random(7)
    # Across a minute, an hour, a day and a month boundary.
    times = [samples.utc(2026, 11, 30, 23, 58) + timedelta(minutes=m) for m in range(0, 5)]
    times += [samples.utc(2026, 11, 30, 9, 59), samples.utc(2026, 11, 30, 10, 0)]
    keys = {samples.object_key('p', ACCOUNT, 'us-east-1', t, rng): t for t in rng.sample(times, len(times))}
    # The date folders and the file name's timestamp agree, so whole keys sort in time order.
    assert [keys[k] for k in sorted(keys)] == sorted(times)


def test_samples_are_deterministic_and_global_services_log_in_us_east_1():
    def batch(seed):
        rng = random.Random(seed)
        return [samples.record(rng, NOW, ACCOUNT, 'eu-west-1') for _ in range(50)]

    assert batch(3) == batch(3)
    rng = random.Random(0)
    for source in ('iam.amazonaws.com', 'sts.amazonaws.com', 'signin.amazonaws.com'):
        assert samples.record(rng, NOW, ACCOUNT, 'eu-west-1', event_source=source)['awsRegion'] == 'us-east-1'
    assert all(r['awsRegion'] == 'eu-west-1' for r in batch(4))  # unasked, global services stay in us-east-1
    login = samples.record(rng, NOW, ACCOUNT, 'us-east-1', event_name='ConsoleLogin', error=True)
    assert login['eventType'] == 'AwsConsoleSignIn'
    assert login['responseElements'] == {'ConsoleLogin': 'Failure'}
    insight = samples.insight_record(rng, NOW, ACCOUNT, 'us-east-1', state='End')
    assert 'userIdentity' not in insight and insight['eventCategory'] == 'Insight'


def test_seeded_objects_list_and_gunzip_back(url):
    trail = create_trail(url, 'main-trail', 'trail-bucket', prefix='logs', organization=True)
    assert trail.account == ACCOUNT and trail.org_id.startswith('o-')
    described = client('cloudtrail', url).describe_trails()['trailList'][0]
    assert (described['TrailARN'], described['S3KeyPrefix'], described['IsOrganizationTrail']) == (
        trail.arn,
        'logs',
        True,
    )
    assert client('cloudtrail', url).get_trail_status(Name=trail.arn)['IsLogging'] is True

    s3 = client('s3', url)
    times = [NOW - timedelta(minutes=m) for m in (20, 10, 0)]
    written = put_objects(
        s3, trail.bucket, 'logs', ACCOUNT, 'eu-west-1', times, 4, random.Random(0), org_id=trail.org_id
    )

    folder = f'logs/AWSLogs/{trail.org_id}/{ACCOUNT}/CloudTrail/eu-west-1/'
    listed = [o['Key'] for o in s3.list_objects_v2(Bucket=trail.bucket, Prefix=folder)['Contents']]
    assert listed == sorted(key for key, _ in written)  # S3 lists in key order, which is time order
    for key, records in written:
        body = s3.get_object(Bucket=trail.bucket, Key=key)['Body'].read()
        assert json.loads(gzip.decompress(body)) == {'Records': records}


def test_seed_day_puts_recent_and_older_files_digests_and_an_insight(url):
    day = seed_day(url, NOW, regions=('us-east-1', 'eu-west-1'), older_every=timedelta(hours=6), records_per_object=2)
    recent = [key for key, _ in day.logs if '_20261124T11' in key or '_20261124T1200Z_' in key]
    assert len(recent) == 2 * 60
    assert len(day.logs) > len(recent)
    assert len(day.digests) == 2 * 3 and len(day.insights) == 1

    s3 = client('s3', url)
    pages = s3.get_paginator('list_objects_v2').paginate(Bucket=day.trail.bucket, Prefix='demo/AWSLogs/')
    stored = {o['Key'] for page in pages for o in page['Contents']}
    assert stored == {k for k, _ in day.logs} | {k for k, _ in day.insights} | set(day.digests)
    digest = json.loads(gzip.decompress(s3.get_object(Bucket=day.trail.bucket, Key=day.digests[-1])['Body'].read()))
    assert 'Records' not in digest and digest['logFiles']
