"""Record -> event, without AWS: titles, text, tags, priorities, and records of every shape."""

import gzip
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cloudtrail import render

CORPUS = Path(__file__).resolve().parents[2] / 'shared' / 'corpus'

RUN_INSTANCES = {
    'eventVersion': '1.09',
    'userIdentity': {
        'type': 'AssumedRole',
        'arn': 'arn:aws:sts::123456789012:assumed-role/Admin/alice',
        'sessionContext': {'sessionIssuer': {'arn': 'arn:aws:iam::123456789012:role/Admin', 'userName': 'Admin'}},
    },
    'eventTime': '2026-11-24T11:58:03Z',
    'eventSource': 'ec2.amazonaws.com',
    'eventName': 'RunInstances',
    'awsRegion': 'eu-west-1',
    'sourceIPAddress': '203.0.113.7',
    'userAgent': 'aws-cli/2.15.0',
    'requestParameters': {'instanceType': 't3.micro', 'minCount': 1},
    'eventID': 'e3b6f0a2-1111-2222-3333-444455556666',
    'readOnly': False,
    'recipientAccountId': '123456789012',
}


def make(record, **overrides):
    service = render.service_of(record)
    options = dict(service=service, priority='normal', timestamp=1, bucket='b',
                   key='AWSLogs/123456789012/CloudTrail/eu-west-1/2026/11/24/x.json.gz',
                   tags=render.tags(record, service, ['cloudtrail', 'trail:main', 'aws_account:123456789012']))
    options.update(overrides)
    return render.event(record, **options)


def test_event_says_who_did_what_where():
    event = make(RUN_INSTANCES)
    assert event['msg_title'] == 'Admin/alice called ec2 RunInstances'
    assert event['alert_type'] == 'info'
    assert event['source_type_name'] == 'cloudtrail'
    assert event['aggregation_key'] == 'ec2:RunInstances'
    assert set(event['tags']) == {
        'cloudtrail', 'trail:main', 'aws_account:123456789012', 'region:eu-west-1',
        'event_source:ec2.amazonaws.com', 'event_name:RunInstances', 'aws_service:ec2'}
    text = event['msg_text']
    for expected in ('arn:aws:sts::123456789012:assumed-role/Admin/alice', 'arn:aws:iam::123456789012:role/Admin',
                     '203.0.113.7', 'aws-cli/2.15.0', '"instanceType": "t3.micro"',
                     'e3b6f0a2-1111-2222-3333-444455556666', 's3:\u200b//b/AWSLogs/123456789012/'):
        assert expected in text


def test_failed_call_is_an_error_event_naming_the_error():
    event = make(dict(RUN_INSTANCES, errorCode='Client.UnauthorizedOperation', errorMessage='You are not allowed'))
    assert event['alert_type'] == 'error'
    assert event['msg_title'].endswith('(failed: Client.UnauthorizedOperation)')
    assert 'Client.UnauthorizedOperation: You are not allowed' in event['msg_text']


def test_insight_is_a_warning():
    insight = {'eventType': 'AwsCloudTrailInsight', 'eventSource': 'ec2.amazonaws.com', 'eventName': 'RunInstances',
               'eventCategory': 'Insight', 'insightDetails': {'state': 'Start', 'insightType': 'ApiCallRateInsight'}}
    event = make(insight)
    assert event['alert_type'] == 'warning'
    assert event['msg_title'] == 'CloudTrail Insight Start: ApiCallRateInsight on ec2 RunInstances'


@pytest.mark.parametrize('identity, expected', [
    ({'type': 'IAMUser', 'userName': 'bob', 'arn': 'arn:aws:iam::1:user/bob'}, 'bob'),
    ({'type': 'Root', 'arn': 'arn:aws:iam::1:root'}, 'root'),
    ({'type': 'AWSService', 'invokedBy': 'lambda.amazonaws.com'}, 'lambda.amazonaws.com'),
    ({'type': 'FederatedUser', 'arn': 'arn:aws:sts::1:federated-user/carol'}, 'carol'),
    ({'type': 'AWSAccount', 'accountId': '999999999999'}, '999999999999'),
    (None, 'unknown'),
])
def test_principal_short_names(identity, expected):
    assert render.principal(identity) == expected


def test_event_time_parses_the_shapes_seen_in_real_logs():
    expected = int(datetime(2026, 11, 24, 11, 58, 3, tzinfo=timezone.utc).timestamp())
    assert render.event_time({'eventTime': '2026-11-24T11:58:03Z'}) == expected
    assert render.event_time({'eventTime': '2026-11-24 11:58:03'}) == expected
    assert render.event_time({'eventTime': '2026-11-24T13:58:03+02:00'}) == expected
    assert render.event_time({'eventTime': None}) is None
    assert render.event_time({}) is None
    assert render.event_time({'eventTime': 'yesterday'}) is None


def test_read_only_and_service():
    assert render.is_read_only({'readOnly': True})
    assert not render.is_read_only({'eventVersion': '1.0'})  # old records have no readOnly field
    assert render.service_of({'eventSource': 'signin.amazonaws.com'}) == 'signin'
    assert render.service_of({}) == 'unknown'


def test_attacker_controlled_fields_cannot_mention_link_or_switch_on_markdown():
    hostile = dict(RUN_INSTANCES,
                   userAgent='%%% \n [click](https://evil.example) @admin @here \x1b[31m\u202e %%%%%%%',
                   errorCode='X', errorMessage='@oncall see http://evil.example',
                   requestParameters={'name': '%%%' + 'A' * 10000})
    event = make(hostile)
    for field in ('msg_title', 'msg_text'):
        value = event[field]
        assert '%%%' not in value
        assert '://' not in value
        assert not re.search('@[^\u200b]', value)
        assert '\x1b' not in value and '\u202e' not in value
    assert len(event['msg_text']) <= render.TEXT_MAX


def test_huge_records_stay_within_the_intake_limits():
    huge = dict(RUN_INSTANCES, eventName='X' * 500, requestParameters={'k': 'v' * 100000},
                userIdentity={'type': 'IAMUser', 'userName': 'u' * 300}, eventSource='s' * 300)
    event = make(huge)
    assert len(event['msg_title']) <= render.TITLE_MAX
    assert len(event['msg_text']) <= render.TEXT_MAX
    assert len(event['aggregation_key']) <= render.AGGREGATION_KEY_MAX


def corpus_records():
    if not CORPUS.is_dir():
        return []
    records = []
    for path in sorted(CORPUS.glob('*.json.gz')):
        records += json.loads(gzip.decompress(path.read_bytes()))['Records']
    return records


@pytest.mark.skipif(not CORPUS.is_dir(), reason='the shared corpus of real records is not beside this clone')
def test_every_real_record_renders_within_limits():
    records = corpus_records()
    assert len(records) > 700
    for record in records:
        event = make(record, timestamp=render.event_time(record) or 1)
        assert 0 < len(event['msg_title']) <= render.TITLE_MAX
        assert 0 < len(event['msg_text']) <= render.TEXT_MAX
        assert len(event['aggregation_key']) <= render.AGGREGATION_KEY_MAX
        assert event['alert_type'] == ('error' if record.get('errorCode') else 'info')
        assert all(isinstance(t, str) and t for t in event['tags'])
