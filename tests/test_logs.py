"""Records shipped as logs through the Agent (`send_logs`), against a real S3/CloudTrail endpoint."""

import json
from datetime import timedelta

import pytest

from cloudtrail import logs as cloudtrail_logs
from cloudtrail import render
from cloudtrail.check import CloudtrailCheck
from tests.conftest import event_ids


@pytest.fixture
def sent_logs(datadog_agent):
    """Every log the check has sent so far in this test, in order of submission."""

    def sent():
        return [log for check_logs in datadog_agent._sent_logs.values() for log in check_logs]

    return sent


def test_every_record_arrives_once_in_object_order_with_its_attributes(aws, run_check, sent_logs):
    trail = aws.trail(prefix='audit')
    delivered = [aws.deliver(trail, minutes_ago=m, region=r, records=aws.records(aws.now - timedelta(minutes=m), 30))
                 for m, r in [(40, 'us-east-1'), (30, 'eu-west-1'), (20, 'us-east-1'), (10, 'eu-west-1')]]
    instance = aws.instance(send_logs=True, workers=4, tags=['team:sec'])

    run_check(instance)
    logs = sent_logs()
    # Every record, read-only calls included, once, object after object, each object's records in its order.
    assert [log['eventID'] for log in logs] == [r['eventID'] for _, records in delivered for r in records]

    key, records = delivered[0]
    first = logs[0]
    assert {k: first[k] for k in records[0]} == records[0]  # the record itself, untouched
    assert first['aws'] == {'s3': {'bucket': trail.bucket, 'key': key}}
    assert first['ddsource'] == 'cloudtrail' and first['service'] == 'cloudtrail'
    assert first['timestamp'] == render.event_time(records[0]) * 1000  # the record's eventTime, in ms
    assert 'host' not in first
    assert set(first['ddtags'].split(',')) >= {
        'cloudtrail', 'team:sec', f'trail:{trail.name}', 'aws_account:123456789012', 'region:us-east-1',
        f'event_source:{records[0]["eventSource"]}', f'event_name:{records[0]["eventName"]}'}

    assert run_check(instance) == []
    assert len(sent_logs()) == len(logs)  # nothing twice


def test_logs_and_events_share_the_cursor_across_restarts_and_late_objects(aws, run_check, sent_logs):
    trail = aws.trail()
    _, first = aws.deliver(trail, minutes_ago=30)
    _, newest = aws.deliver(trail, minutes_ago=5)
    instance = aws.instance(send_logs=True)
    events = run_check(instance, check_id='cloudtrail:a')

    _, late = aws.deliver(trail, minutes_ago=20)  # delivered late, below keys already read
    events += run_check(instance, check_id='cloudtrail:b')  # a restart with a new check object
    events += run_check(instance, check_id='cloudtrail:c')

    expected = sorted(r['eventID'] for r in first + newest + late)
    assert sorted(log['eventID'] for log in sent_logs()) == expected
    assert sorted(event_ids(events)) == expected


def test_logs_only_mode_submits_no_event(aws, run_check, sent_logs):
    trail = aws.trail()
    _, records = aws.deliver(trail, minutes_ago=10)
    assert run_check(aws.instance(send_logs=True, send_events=False)) == []
    assert sorted(log['eventID'] for log in sent_logs()) == sorted(r['eventID'] for r in records)


def test_log_filters_are_separate_from_event_filters(aws, run_check, sent_logs, aggregator):
    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    kept = aws.records(when, 1, event_source='ec2.amazonaws.com', event_name='RunInstances')
    read_only = aws.records(when, 1, event_source='ec2.amazonaws.com', event_name='DescribeInstances')
    kms = aws.records(when, 1, event_source='kms.amazonaws.com', event_name='Decrypt')
    s3 = aws.records(when, 1, event_source='s3.amazonaws.com', event_name='GetObject')
    aws.deliver(trail, minutes_ago=9, records=kept + read_only + kms + s3)
    instance = aws.instance(send_logs=True, logs_include_read_only=False, logs_exclude_event_sources=['kms'],
                            logs_exclude_event_names=['GetObject'], include_read_only=True)
    events = run_check(instance)
    assert [log['eventID'] for log in sent_logs()] == [kept[0]['eventID']]
    assert len(events) == 4  # events keep their own filters
    aggregator.assert_metric('cloudtrail.logs.filtered', value=3)


def test_logs_host_and_service_are_the_users_to_set(aws, run_check, sent_logs):
    trail = aws.trail()
    aws.deliver(trail, minutes_ago=10)
    run_check(aws.instance(send_logs=True, logs_host='audit-collector', service='security-audit'))
    assert {(log['host'], log['service']) for log in sent_logs()} == {('audit-collector', 'security-audit')}


def test_a_huge_record_is_shortened_with_a_marker_not_lost(aws, run_check, sent_logs, aggregator):
    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    huge = aws.records(when, 1)[0]
    huge['requestParameters'] = {'policy': 'x' * 600_000}
    normal = aws.records(when, 1)[0]
    aws.deliver(trail, minutes_ago=9, records=[huge, normal])
    run_check(aws.instance(send_logs=True))
    big, small = sent_logs()
    assert big['eventID'] == huge['eventID'] and small == {**small, **normal}
    assert big['requestParameters'].endswith(cloudtrail_logs.TRUNCATED)
    assert big['cloudtrail_check']['truncated_fields'] == ['requestParameters']
    assert big['cloudtrail_check']['original_bytes'] > 600_000
    assert len(json.dumps(big)) < cloudtrail_logs.MAX_LOG_BYTES
    aggregator.assert_metric('cloudtrail.logs.truncated', value=1)


def test_records_older_than_the_intake_accepts_are_counted_not_shipped(aws, run_check, sent_logs, aggregator, caplog):
    trail = aws.trail()
    stale = aws.records(aws.now - timedelta(hours=19), 2)
    fresh = aws.records(aws.now - timedelta(minutes=10), 1)
    aws.deliver(trail, minutes_ago=5, records=stale + fresh)
    run_check(aws.instance(send_logs=True, send_events=False))
    assert [log['eventID'] for log in sent_logs()] == [fresh[0]['eventID']]
    aggregator.assert_metric('cloudtrail.events.too_old', value=2)
    assert '2 records older than 18 hours were not sent' in caplog.text


def test_events_off_without_logs_is_a_configuration_error(aws):
    check = CloudtrailCheck('cloudtrail', {}, [aws.instance(send_events=False)])
    check.check_id = 'cloudtrail:x'
    assert '`send_events: false` requires `send_logs: true`' in check.run()
