"""The check end to end against a real S3/CloudTrail endpoint: what reaches Datadog, once and only once."""

from datetime import timedelta

import pytest

from cloudtrail.check import CloudtrailCheck
from tests.conftest import event_ids


def ids(records, include_read_only=False):
    return sorted(r['eventID'] for r in records if include_read_only or not r.get('readOnly'))


@pytest.mark.parametrize('workers', [1, 8])
def test_first_run_reads_the_lookback_and_later_runs_only_what_is_new(aws, run_check, workers):
    trail = aws.trail(prefix='audit/org')
    _, old = aws.deliver(trail, minutes_ago=90)
    recent = [aws.deliver(trail, minutes_ago=m, region=r)[1] for m, r in [(50, 'us-east-1'), (20, 'eu-west-1'),
                                                                           (5, 'us-east-1')]]
    instance = aws.instance(workers=workers)

    first = run_check(instance)
    assert sorted(event_ids(first)) == ids(sum(recent, []))
    assert not set(event_ids(first)) & set(ids(old))

    assert run_check(instance) == []

    _, newer = aws.deliver(trail, minutes_ago=1, region='eu-west-1')
    assert sorted(event_ids(run_check(instance))) == ids(newer)


def test_events_carry_time_tags_and_priority(aws, run_check, aggregator):
    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    records = [aws.records(when, 1, event_source='ec2.amazonaws.com', event_name='RunInstances')[0],
               aws.records(when, 1, event_source='dynamodb.amazonaws.com', event_name='CreateTable', error=True)[0]]
    aws.deliver(trail, minutes_ago=9, records=records)

    events = {e['aggregation_key']: e for e in run_check(aws.instance(tags=['team:sec']))}
    ec2, dynamodb = events['ec2:RunInstances'], events['dynamodb:CreateTable']
    assert ec2['priority'] == 'normal' and dynamodb['priority'] == 'low'
    assert ec2['alert_type'] == 'info' and dynamodb['alert_type'] == 'error'
    assert ec2['timestamp'] == int((when).timestamp())
    assert ec2['source_type_name'] == 'cloudtrail'
    assert {'cloudtrail', 'team:sec', f'trail:{trail.name}', 'aws_account:123456789012', 'region:us-east-1',
            'event_source:ec2.amazonaws.com', 'event_name:RunInstances', 'aws_service:ec2'} <= set(ec2['tags'])
    aggregator.assert_service_check('cloudtrail.can_connect', CloudtrailCheck.OK, tags=[
        'cloudtrail', 'team:sec', f'trail:{trail.name}'])
    aggregator.assert_metric('cloudtrail.events.submitted', value=2, tags=['cloudtrail', 'team:sec',
                                                                          f'trail:{trail.name}'])


def test_priority_lists_come_from_the_config(aws, run_check):
    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    records = [aws.records(when, 1, event_source=s, event_name=n)[0]
               for s, n in [('ec2.amazonaws.com', 'RunInstances'), ('dynamodb.amazonaws.com', 'CreateTable')]]
    aws.deliver(trail, minutes_ago=9, records=records)
    events = run_check(aws.instance(normal_priority_services=['dynamodb.amazonaws.com'], default_priority='normal'))
    assert {e['aggregation_key']: e['priority'] for e in events} == {
        'ec2:RunInstances': 'normal', 'dynamodb:CreateTable': 'normal'}
    aws.deliver(trail, minutes_ago=8, records=records[:1])
    events = run_check(aws.instance(normal_priority_services=['dynamodb']))
    assert [e['priority'] for e in events] == ['low']


def test_read_only_calls_are_events_only_when_asked(aws, run_check):
    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    records = aws.records(when, 3, read_only=True) + aws.records(when, 2, read_only=False)
    aws.deliver(trail, minutes_ago=9, records=records)
    assert sorted(event_ids(run_check(aws.instance()))) == ids(records)

    aws.deliver(trail, minutes_ago=8, records=records[:3])
    assert len(run_check(aws.instance(include_read_only=True))) == 3


def test_restart_and_config_edit_keep_the_cursor(aws, run_check):
    trail = aws.trail()
    _, first = aws.deliver(trail, minutes_ago=30)
    assert sorted(event_ids(run_check(aws.instance(), check_id='cloudtrail:aaa'))) == ids(first)

    # A restart builds a new check object; an edit of the instance also changes the Agent's check id.
    _, second = aws.deliver(trail, minutes_ago=20)
    edited = aws.instance(tags=['team:audit'], workers=2, min_collection_interval=120)
    assert sorted(event_ids(run_check(edited, check_id='cloudtrail:bbb'))) == ids(second)
    assert run_check(aws.instance(), check_id='cloudtrail:ccc') == []


def test_late_objects_inside_the_window_are_read_once(aws, run_check):
    trail = aws.trail()
    aws.deliver(trail, minutes_ago=30)
    aws.deliver(trail, minutes_ago=2)
    instance = aws.instance(late_arrival_window=3600)
    run_check(instance)

    # Delivered now, named for 40 and 20 minutes ago: below keys already read, inside the window.
    late = aws.deliver(trail, minutes_ago=40)[1] + aws.deliver(trail, minutes_ago=20)[1]
    assert sorted(event_ids(run_check(instance))) == ids(late)
    assert run_check(instance) == []


def test_objects_later_than_the_window_are_not_read(aws, run_check):
    trail = aws.trail()
    aws.deliver(trail, minutes_ago=50)
    aws.deliver(trail, minutes_ago=2)
    instance = aws.instance(late_arrival_window=600)
    run_check(instance)
    # Named 53 minutes before the newest key read, below keys already behind the 10-minute window: too late.
    aws.deliver(trail, minutes_ago=55)
    assert run_check(instance) == []


def test_multi_region_trail_reads_every_region_folder(aws, run_check):
    trail = aws.trail()
    delivered = [aws.deliver(trail, minutes_ago=10, region=r)[1] for r in ('us-east-1', 'eu-west-1', 'ap-south-1')]
    events = run_check(aws.instance())
    assert sorted(event_ids(events)) == ids(sum(delivered, []))
    assert {t for e in events for t in e['tags'] if t.startswith('region:')} >= {
        'region:eu-west-1', 'region:ap-south-1'}


def test_organization_trail_with_key_prefix_reads_member_accounts(aws, run_check):
    trail = aws.trail(organization=True, prefix='org/trails')
    assert trail.org_id
    delivered = [aws.deliver(trail, minutes_ago=10, account=a)[1] for a in ('111111111111', '222222222222')]
    events = run_check(aws.instance())
    assert sorted(event_ids(events)) == ids(sum(delivered, []))
    assert {t for e in events for t in e['tags'] if t.startswith('aws_account:')} == {
        'aws_account:111111111111', 'aws_account:222222222222'}


def test_inactive_trails_are_skipped(aws, run_check):
    stopped = aws.trail(name='stopped-trail', bucket='stopped-bucket', logging=False)
    active = aws.trail(name='active-trail', bucket='active-bucket')
    aws.deliver(stopped, minutes_ago=10)
    _, records = aws.deliver(active, minutes_ago=10)
    events = run_check(aws.instance())
    assert sorted(event_ids(events)) == ids(records)


def test_trails_option_selects_by_name_or_arn(aws, run_check, aggregator):
    one = aws.trail(name='one-trail', bucket='one-bucket')
    two = aws.trail(name='two-trail', bucket='two-bucket')
    _, first = aws.deliver(one, minutes_ago=10)
    _, second = aws.deliver(two, minutes_ago=10)
    assert sorted(event_ids(run_check(aws.instance(trails=['one-trail'])))) == ids(first)
    assert sorted(event_ids(run_check(aws.instance(trails=[two.arn, 'missing-trail'])))) == ids(second)
    aggregator.assert_service_check('cloudtrail.can_connect', CloudtrailCheck.CRITICAL,
                                    tags=['cloudtrail', 'trail:missing-trail'])


def test_static_mode_discovers_accounts_organizations_and_regions(aws, run_check, monkeypatch):
    aws.s3.create_bucket(Bucket='static-bucket')
    delivered = [
        aws.deliver(None, 10, bucket='static-bucket', prefix='p', account='333333333333', region='eu-west-1')[1],
        aws.deliver(None, 10, bucket='static-bucket', prefix='p', account='444444444444', org_id='o-abcdefghij')[1],
    ]
    aws.deliver(None, 10, bucket='static-bucket', prefix='other', account='333333333333')  # another prefix
    events = run_check(aws.instance(bucket='static-bucket', prefix='p/', trail_name='archive'))
    assert sorted(event_ids(events)) == ids(sum(delivered, []))
    assert all('trail:archive' in e['tags'] for e in events)


def test_static_mode_makes_no_cloudtrail_call(aws, run_check, monkeypatch):
    aws.s3.create_bucket(Bucket='static-bucket')
    aws.deliver(None, 10, bucket='static-bucket', prefix='', account='333333333333')
    monkeypatch.setenv('AWS_ENDPOINT_URL_CLOUDTRAIL', 'http://127.0.0.1:9')  # nothing listens there
    instance = aws.instance(bucket='static-bucket')
    instance.pop('endpoint_url')
    monkeypatch.setenv('AWS_ENDPOINT_URL', aws.url)  # boto3's own setting keeps working
    assert len(run_check(instance)) == 5


def test_digests_are_skipped_and_insights_are_warnings(aws, run_check):
    from devtools import samples

    trail = aws.trail()
    when = aws.now - timedelta(minutes=10)
    insight = samples.insight_record(aws.rng, when, trail.account, 'us-east-1')
    aws.deliver(trail, minutes_ago=9, records=[insight], kind='CloudTrail-Insight')
    digest = samples.digest_key(trail.prefix, trail.account, 'us-east-1', trail.name, when)
    aws.s3.put_object(Bucket=trail.bucket, Key=digest, Body=samples.gzip_json({'digestStartTime': 'x'}))
    events = run_check(aws.instance())
    assert [e['alert_type'] for e in events] == ['warning']
    assert events[0]['msg_title'].startswith('CloudTrail Insight Start')


def test_records_older_than_the_intake_accepts_are_counted_not_sent(aws, run_check, aggregator):
    trail = aws.trail()
    stale = aws.records(aws.now - timedelta(hours=19), 3)
    fresh = aws.records(aws.now - timedelta(minutes=10), 2)
    aws.deliver(trail, minutes_ago=5, records=stale + fresh)
    assert sorted(event_ids(run_check(aws.instance(include_read_only=True)))) == ids(fresh, True)
    aggregator.assert_metric('cloudtrail.events.too_old', value=3)
