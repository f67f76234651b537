"""What S3 does wrong in production, made to happen for real on the wire, and what the check does about it.

moto answers every request correctly, so the faults it cannot produce (throttling, 500s, resets, slow answers,
bodies cut short, KMS denials) come from devtools/proxy.py, a TCP proxy between the check and moto. Each test
also counts on the proxy that the fault was really injected, so none passes by not exercising its case.
"""

import gzip
import json
import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from cloudtrail.check import CloudtrailCheck
from cloudtrail.objects import MAX_RESUMES
from devtools import samples
from devtools.emulator import client
from devtools.proxy import Fault, FaultProxy
from tests.conftest import event_ids

SERVICE_CHECK = 'cloudtrail.can_connect'
LISTING = r'^/trail-bucket\?.*start-after='  # a folder's listing (discovery lists with a delimiter, no start-after)
API = r'^/$'  # CloudTrail's JSON API: POST /


@pytest.fixture
def proxy(aws):
    with FaultProxy(aws.url) as running:
        yield running


@pytest.fixture
def run(aggregator, datadog_agent):
    """Like conftest's run_check, but hands back the run's error and service checks instead of asserting."""

    def run_once(instance):
        aggregator.reset()
        check = CloudtrailCheck('cloudtrail', {}, [instance])
        check.check_id = 'cloudtrail:faults'
        error = check.run()
        return Run(list(aggregator.events), error, aggregator.service_checks(SERVICE_CHECK))

    return run_once


class Run:
    def __init__(self, events, error, service_checks):
        self.events, self.error, self.service_checks = events, error, service_checks

    @property
    def ids(self):
        return sorted(event_ids(self.events))

    def status(self, trail):
        [check] = [c for c in self.service_checks if f'trail:{trail}' in c.tags]
        return check


def ids(*record_lists):
    return sorted(r['eventID'] for records in record_lists for r in records)


def object_path(trail, key):
    return f'^/{trail.bucket}/{re.escape(key)}$'


def warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# --- retried by botocore: throttling, server errors, resets, slow answers ---------------------------------------


@pytest.mark.parametrize('fault', [Fault.slow_down, Fault.internal_error, Fault.reset],
                         ids=['503 SlowDown', '500 InternalError', 'connection reset'])
def test_throttling_server_errors_and_resets_are_retried(aws, proxy, run, caplog, fault):
    trail = aws.trail()
    delivered = [aws.deliver(trail, minutes_ago=m) for m in (30, 20, 10)]
    # One fault on every kind of call: the CloudTrail API, the folder listing and two object reads.
    proxy.fail('POST', API, fault())
    proxy.fail('GET', LISTING, fault())
    for key, _ in delivered[:2]:
        proxy.fail('GET', object_path(trail, key), fault())

    result = run(aws.instance(endpoint_url=proxy.url))

    assert result.error == ''
    assert result.ids == ids(*(records for _, records in delivered))  # every record, once
    assert result.status(trail.name).status == CloudtrailCheck.OK
    assert not warnings(caplog)
    # Each faulty call was made again by botocore, in the same run.
    assert proxy.count('GET', LISTING) == 2
    for key, _ in delivered[:2]:
        assert proxy.count('GET', object_path(trail, key)) == 2


def test_throttling_past_the_retries_reports_the_trail_and_reads_the_object_next_run(aws, proxy, run):
    trail = aws.trail()
    (_, early), (throttled, late) = aws.deliver(trail, minutes_ago=30), aws.deliver(trail, minutes_ago=10)
    proxy.fail('GET', object_path(trail, throttled), Fault.slow_down(), times=2)
    instance = aws.instance(endpoint_url=proxy.url, max_attempts=2, workers=1)

    failed = run(instance)
    assert proxy.count('GET', object_path(trail, throttled)) == 2  # max_attempts is honoured
    assert failed.error == ''
    assert failed.ids == ids(early)
    status = failed.status(trail.name)
    assert status.status == CloudtrailCheck.CRITICAL
    assert 'GetObject failed with SlowDown' in status.message and throttled in status.message
    assert 'read again on the next run' in status.message and '`max_attempts`' in status.message

    again = run(instance)
    assert again.ids == ids(late)  # nothing lost, nothing sent twice
    assert again.status(trail.name).status == CloudtrailCheck.OK


def test_a_slow_answer_times_out_and_is_retried(aws, proxy, run):
    trail = aws.trail()
    key, records = aws.deliver(trail, minutes_ago=10)
    proxy.fail('GET', object_path(trail, key), Fault.stall(5))

    result = run(aws.instance(endpoint_url=proxy.url, read_timeout=1))

    assert result.ids == ids(records)
    assert result.status(trail.name).status == CloudtrailCheck.OK
    assert proxy.count('GET', object_path(trail, key)) >= 2  # read_timeout gave up on the stalled attempt


# --- bodies cut short: resumed by the check itself -------------------------------------------------------------


def big_object(aws, trail, minutes_ago):
    """An object of about 25 kB, so that a response cut after a few kB stops in the middle of the body."""
    records = aws.records(aws.now - timedelta(minutes=minutes_ago), 200, read_only=False)
    return aws.deliver(trail, minutes_ago=minutes_ago, records=records)


@pytest.mark.parametrize('cuts', [1, 3, MAX_RESUMES])
def test_a_body_cut_short_is_resumed_where_it_stopped(aws, proxy, run, cuts):
    trail = aws.trail()
    key, records = big_object(aws, trail, minutes_ago=10)
    _, other = aws.deliver(trail, minutes_ago=5)
    path = object_path(trail, key)
    proxy.fail('GET', path, Fault.truncate(3000), times=cuts)

    result = run(aws.instance(endpoint_url=proxy.url))

    assert result.error == ''
    assert result.ids == ids(records, other)  # every record exactly once
    assert result.status(trail.name).status == CloudtrailCheck.OK
    gets = [headers for (method, p), headers in zip(proxy.requests, proxy.headers)
            if method == 'GET' and re.search(path, p)]
    assert len(gets) == cuts + 1
    # Each retry asks for the rest only, of the same version of the object.
    assert 'range' not in gets[0]
    offsets = [int(re.fullmatch(r'bytes=(\d+)-', h['range']).group(1)) for h in gets[1:]]
    assert offsets == sorted(offsets) and offsets[0] > 0
    etag = client('s3', aws.url).head_object(Bucket=trail.bucket, Key=key)['ETag']
    assert all(h['if-match'] == etag for h in gets[1:])


def test_a_body_cut_short_too_often_is_read_again_next_run(aws, proxy, run):
    trail = aws.trail()
    key, records = big_object(aws, trail, minutes_ago=10)
    proxy.fail('GET', object_path(trail, key), Fault.truncate(3000), times=MAX_RESUMES + 1)
    instance = aws.instance(endpoint_url=proxy.url)

    failed = run(instance)
    status = failed.status(trail.name)
    assert status.status == CloudtrailCheck.CRITICAL
    assert 'cut while reading' in status.message and key in status.message
    # What was read before the last cut was submitted; it is the only part that can come twice.
    assert set(failed.ids) < set(ids(records))

    again = run(instance)
    assert again.ids == ids(records)
    assert again.status(trail.name).status == CloudtrailCheck.OK
    assert run(instance).events == []


# --- objects that are not CloudTrail logs ---------------------------------------------------------------------

NOT_LOGS = {
    'not gzip': b'{"Records": []}',
    'gzip, not JSON': gzip.compress(b'<html>Access denied</html>'),
    'no Records': samples.gzip_json({'digestStartTime': '2026-11-24T10:00:00Z', 'logFiles': []}),
    'empty': b'',
    'gzip cut short': samples.gzip_records([{'eventID': 'x'}] * 50)[:-20],
    'Records not closed': gzip.compress(b'{"Records": [{"eventID": "x"}, '),
}


def test_objects_that_are_not_logs_are_skipped_once_with_a_warning(aws, proxy, run, caplog, aggregator):
    trail = aws.trail()
    good, bad = [], {}
    minutes = 50
    for reason, body in NOT_LOGS.items():
        good.append(aws.deliver(trail, minutes_ago=minutes))
        key, _ = aws.deliver(trail, minutes_ago=minutes - 2)
        aws.s3.put_object(Bucket=trail.bucket, Key=key, Body=body)
        bad[reason] = key
        minutes -= 5
    good.append(aws.deliver(trail, minutes_ago=5))
    instance = aws.instance(endpoint_url=proxy.url, late_arrival_window=0)

    result = run(instance)

    assert result.error == ''
    # The neighbours are read. (Whole records before the damage of a broken object are kept: eventID 'x'.)
    assert [i for i in result.ids if i != 'x'] == ids(*(records for _, records in good))
    assert result.status(trail.name).status == CloudtrailCheck.OK
    aggregator.assert_metric('cloudtrail.objects.corrupt', value=len(NOT_LOGS))
    logged = warnings(caplog)
    for reason, key in bad.items():
        assert any(key in line and 'will not be read again' in line for line in logged), reason

    # The next run fetches none of them again, and lists from past them: they do not hold the cursor back.
    before = {key: proxy.count('GET', object_path(trail, key)) for key in bad.values()}
    assert run(instance).events == []
    assert {key: proxy.count('GET', object_path(trail, key)) for key in bad.values()} == before
    listed_from = [parse_qs(urlparse(p).query)['start-after'][0] for m, p in proxy.requests
                   if m == 'GET' and re.search(LISTING, p)][-1]
    assert listed_from >= max(bad.values())


def test_an_object_listed_then_deleted_is_skipped_without_error(aws, proxy, run, caplog):
    trail = aws.trail()
    (_, before), (gone, _), (_, after) = [aws.deliver(trail, minutes_ago=m) for m in (30, 20, 10)]
    moto_s3 = client('s3', aws.url)
    # Deleted for real between the listing and the GET: moto itself answers 404 NoSuchKey.
    proxy.fail('GET', object_path(trail, gone), Fault.before(lambda *_: moto_s3.delete_object(
        Bucket=trail.bucket, Key=gone)))
    instance = aws.instance(endpoint_url=proxy.url)

    result = run(instance)

    assert result.error == ''
    assert result.ids == ids(before, after)
    assert result.status(trail.name).status == CloudtrailCheck.OK
    assert not warnings(caplog)
    assert run(instance).events == []
    assert proxy.count('GET', object_path(trail, gone)) == 1  # not asked for again


# --- one trail denied, the others keep flowing ----------------------------------------------------------------

# What S3 answers a GetObject of an SSE-KMS object when the caller may not use the key.
KMS_DENIED = ('User: arn:aws:iam::123456789012:user/datadog is not authorized to perform: kms:Decrypt on resource: '
              'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab because no '
              'identity-based policy allows the kms:Decrypt action')


def test_kms_decrypt_denied_on_one_trail_names_the_permission_and_the_other_trail_flows(aws, proxy, run):
    encrypted = aws.trail(name='encrypted-trail', bucket='encrypted-bucket')
    plain = aws.trail(name='plain-trail', bucket='plain-bucket')
    _, secret = aws.deliver(encrypted, minutes_ago=10)
    _, first = aws.deliver(plain, minutes_ago=10)
    proxy.fail('GET', r'^/encrypted-bucket/AWSLogs/.*\.json\.gz$', Fault.error(403, 'AccessDenied', KMS_DENIED),
               times=1000)
    instance = aws.instance(endpoint_url=proxy.url)

    denied = run(instance)

    assert denied.error == ''
    assert denied.ids == ids(first)
    status = denied.status('encrypted-trail')
    assert status.status == CloudtrailCheck.CRITICAL
    assert 'GetObject failed with AccessDenied' in status.message
    assert 'allow kms:Decrypt' in status.message
    assert denied.status('plain-trail').status == CloudtrailCheck.OK

    # Once the key policy is fixed, the encrypted trail's objects are read: none was given up.
    proxy.clear()
    _, second = aws.deliver(plain, minutes_ago=5)
    fixed = run(instance)
    assert fixed.ids == ids(secret, second)
    assert fixed.status('encrypted-trail').status == CloudtrailCheck.OK


# --- the persistent cache damaged -----------------------------------------------------------------------------

GARBAGE = {
    'truncated': lambda value: value[: len(value) // 2],
    'binary': lambda value: '\x00\x1f\ufffd\ufffd',
    'other JSON': lambda value: '[1, 2, 3]',
    'future version': lambda value: json.dumps({**json.loads(value), 'v': 99}),
    'wrong types': lambda value: json.dumps({**json.loads(value), 'done': 'abc'}),
}


@pytest.mark.parametrize('damage', GARBAGE.values(), ids=GARBAGE.keys())
def test_a_damaged_cursor_warns_and_restarts_from_the_lookback(aws, run, datadog_agent, caplog, damage):
    trail = aws.trail()
    _, records = aws.deliver(trail, minutes_ago=20)
    instance = aws.instance()
    assert run(instance).ids == ids(records)

    cursors = [key for key in datadog_agent._cache if 'cursor_' in key]
    assert cursors
    for key in cursors:
        datadog_agent._cache[key] = damage(datadog_agent._cache[key])
    _, newer = aws.deliver(trail, minutes_ago=10)
    caplog.clear()

    restarted = run(instance)

    assert restarted.error == ''
    assert restarted.status(trail.name).status == CloudtrailCheck.OK
    assert restarted.ids == ids(records, newer)  # a safe restart: the lookback again, nothing lost
    assert any('unreadable' in line and 'starting again' in line for line in warnings(caplog))

    caplog.clear()
    assert run(instance).events == []  # the cursor was written back whole
    assert not warnings(caplog)


# --- bad configuration ---------------------------------------------------------------------------------------

BAD_CONFIG = [
    ({'default_priority': 'urgent'}, 'default_priority'),
    ({'initial_lookback': -60}, 'initial_lookback'),
    ({'late_arrival_window': -1}, 'late_arrival_window'),
    ({'workers': 0}, 'workers'),
    ({'role_session_name': 'datadog'}, '`role_session_name` requires `role_arn`'),
    ({'external_id': 'ext-id-do-not-log'}, '`external_id` requires `role_arn`'),
    ({'aws_session_token': 'token-do-not-log'}, '`aws_session_token` requires'),
    ({'aws_access_key_id': 'AKIAEXAMPLE', 'aws_secret_access_key': 'secret-do-not-log', 'aws_profile': 'x'},
     '`aws_profile` cannot be combined'),
]


@pytest.mark.parametrize('options, named', BAD_CONFIG, ids=[n for _, n in BAD_CONFIG])
def test_a_bad_configuration_fails_the_run_naming_the_option(aws, proxy, run, options, named):
    result = run(aws.instance(endpoint_url=proxy.url, **options))
    [error] = json.loads(result.error)
    assert named in error['message']
    assert proxy.requests == []  # stopped before any AWS call
    for secret in ('ext-id-do-not-log', 'token-do-not-log', 'secret-do-not-log'):
        assert secret not in result.error


# --- what the operator sees --------------------------------------------------------------------------------


def test_every_metric_of_metadata_csv_is_emitted_with_its_type(aws, run, aggregator):
    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    records = (aws.records(when, 3, read_only=False) + aws.records(when, 2, read_only=True)
               + aws.records(aws.now - timedelta(hours=19), 2, read_only=False))
    aws.deliver(trail, minutes_ago=9, records=records)
    key, _ = aws.deliver(trail, minutes_ago=8)
    aws.s3.put_object(Bucket=trail.bucket, Key=key, Body=b'garbage')
    for minutes_ago in (7, 6, 5, 4):
        aws.deliver(trail, minutes_ago=minutes_ago)

    run(aws.instance(send_logs=True, max_events_per_run=3, workers=1))

    with open('metadata.csv', encoding='utf-8') as f:
        rows = [line.split(',')[:2] for line in f.read().splitlines()[1:]]
    types = {'count': aggregator.COUNT, 'gauge': aggregator.GAUGE}
    for name, kind in rows:
        aggregator.assert_metric(name, metric_type=types[kind], tags=['cloudtrail', f'trail:{trail.name}'])
    tags = ['cloudtrail', f'trail:{trail.name}']
    aggregator.assert_metric('cloudtrail.records.filtered', value=2, tags=tags)
    aggregator.assert_metric('cloudtrail.events.too_old', value=2, tags=tags)
    aggregator.assert_metric('cloudtrail.objects.corrupt', value=1, tags=tags)
    [backlog] = aggregator.metrics('cloudtrail.objects.backlog')
    assert backlog.value > 0  # max_events_per_run reached: the rest waits for the next run
    assert {m for m in aggregator.metric_names if m.startswith('cloudtrail.')} <= {name for name, _ in rows}


def test_the_service_check_is_the_one_documented(aws, run):
    with open('assets/service_checks.json', encoding='utf-8') as f:
        [documented] = json.load(f)
    trail = aws.trail()
    result = run(aws.instance(trails=[trail.name, 'missing-trail']))
    assert documented['check'] == SERVICE_CHECK
    assert {c.status for c in result.service_checks} == {CloudtrailCheck.OK, CloudtrailCheck.CRITICAL}
    assert {'ok', 'critical'} == set(documented['statuses'])
    assert all(any(t.startswith(f'{group}:') for t in c.tags)
               for c in result.service_checks for group in documented['groups'])


def test_attacker_controlled_fields_arrive_inert_and_within_limits(aws, run):
    trail = aws.trail()
    record = aws.records(aws.now - timedelta(minutes=10), 1, read_only=False, error=True)[0]
    record['userAgent'] = '@here %%% [click](https://evil.example/x) <b>bold</b> @alice ' + 'A' * 6000
    record['errorMessage'] = '@channel ' + 'B' * 9000
    record['requestParameters'] = {'name': '@here https://evil.example ' + 'C' * 9000}
    record['eventName'] = 'Run @here [x](https://evil.example) ' + 'D' * 300
    aws.deliver(trail, minutes_ago=9, records=[record])

    [event] = run(aws.instance()).events

    assert len(event['msg_title']) <= 100 and len(event['msg_text']) <= 4000
    assert len(event['aggregation_key']) <= 100
    for field in ('msg_title', 'msg_text'):
        text = event[field]
        assert not re.search(r'@(here|channel|alice)\b', text)
        assert 'https://' not in text and '%%%' not in text
