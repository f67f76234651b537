"""CloudTrail record -> Datadog event, as pure functions.

Record fields are written by whoever made the API call (user agent, parameters, error messages): every string
that reaches the event is cleaned so that it cannot mention people, turn on markdown or form links.
"""

import json
import re
from datetime import datetime, timezone

TITLE_MAX = 100
TEXT_MAX = 4000
AGGREGATION_KEY_MAX = 100
PARAMETERS_MAX = 1500
# The events intake rejects events older than 18 hours.
MAX_EVENT_AGE = 18 * 3600

_CONTROL = re.compile(r'[\x00-\x09\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]')
_ZWSP = '\u200b'


def service_of(record):
    source = record.get('eventSource')
    if not isinstance(source, str) or not source:
        return 'unknown'
    return source.removesuffix('.amazonaws.com')


def is_read_only(record):
    value = record.get('readOnly')
    return value is True or value == 'true'


def event_time(record):
    """The record's eventTime as epoch seconds, or None when it is missing or unreadable."""
    value = record.get('eventTime')
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp())


def clean(value, limit):
    """Plain, inert text: no control characters, mentions, markdown switch or links, at most `limit` chars."""
    text = _CONTROL.sub(' ', str(value))
    text = text.replace('@', '@' + _ZWSP).replace('%%%', '%' + _ZWSP + '%%').replace('://', ':' + _ZWSP + '//')
    if len(text) > limit:
        text = text[: limit - 1] + '…'
    return text


def principal(identity):
    """A short name for who made the call: user name, role/session, service, or account."""
    if not isinstance(identity, dict):
        return 'unknown'
    kind = identity.get('type')
    arn = identity.get('arn') if isinstance(identity.get('arn'), str) else ''
    if kind == 'Root':
        return 'root'
    if kind == 'AWSService':
        return str(identity.get('invokedBy') or 'AWS service')
    if kind == 'AssumedRole' and ':assumed-role/' in arn:
        return arn.split(':assumed-role/', 1)[1]
    for field in ('userName', 'invokedBy'):
        if identity.get(field):
            return str(identity[field])
    if arn:
        return arn.rsplit('/', 1)[-1].rsplit(':', 1)[-1]
    return str(identity.get('principalId') or identity.get('accountId') or kind or 'unknown')


def alert_type(record):
    if record.get('errorCode'):
        return 'error'
    if record.get('eventType') == 'AwsCloudTrailInsight':
        return 'warning'
    return 'info'


def title(record, service):
    name = record.get('eventName') or 'unknown action'
    if record.get('eventType') == 'AwsCloudTrailInsight':
        details = record.get('insightDetails') if isinstance(record.get('insightDetails'), dict) else {}
        text = f'CloudTrail Insight {details.get("state", "")}: {details.get("insightType", "")} on {service} {name}'
    else:
        text = f'{principal(record.get("userIdentity"))} called {service} {name}'
        if record.get('errorCode'):
            text += f' (failed: {record["errorCode"]})'
    return clean(' '.join(text.split()), TITLE_MAX)


def _compact(value):
    return json.dumps(value, separators=(', ', ': '), sort_keys=True, default=str)


def text(record, bucket, key):
    identity = record.get('userIdentity') if isinstance(record.get('userIdentity'), dict) else {}
    issuer = ((identity.get('sessionContext') or {}).get('sessionIssuer') or {}) if identity else {}
    lines = [
        ('Identity', ' '.join(str(p) for p in (identity.get('type'), identity.get('arn')) if p)),
        ('Session issuer', issuer.get('arn') if isinstance(issuer, dict) else None),
        ('Account', record.get('recipientAccountId')),
        ('Event', f'{record.get("eventSource", "")} {record.get("eventName", "")}'.strip()),
        ('Event type', record.get('eventType')),
        ('Time', record.get('eventTime')),
        ('Region', record.get('awsRegion')),
        ('Source IP', record.get('sourceIPAddress')),
        ('User agent', record.get('userAgent')),
        ('Error', ': '.join(str(p) for p in (record.get('errorCode'), record.get('errorMessage')) if p)),
        ('Insight', _compact(record['insightDetails']) if record.get('insightDetails') else None),
        ('Request parameters', clean(_compact(record['requestParameters']), PARAMETERS_MAX)
         if record.get('requestParameters') else None),
        ('Resources', ', '.join(
            str(r.get('ARN') or r.get('arn') or '') for r in record['resources'] if isinstance(r, dict)
        ) if isinstance(record.get('resources'), list) else None),
        ('Event ID', record.get('eventID')),
        ('Log object', f's3://{bucket}/{key}'),
    ]
    body = '\n'.join(f'{label}: {value}' for label, value in lines if value)
    return clean(body, TEXT_MAX)


def tags(record, service, source_tags):
    """`source_tags` already holds cloudtrail, trail and account tags, and the instance's."""
    return source_tags + [
        f'region:{record.get("awsRegion") or "unknown"}',
        f'event_source:{record.get("eventSource") or "unknown"}',
        f'event_name:{record.get("eventName") or "unknown"}',
        f'aws_service:{service}',
    ]


def event(record, *, service, priority, timestamp, source_tags, bucket, key):
    return {
        'timestamp': timestamp,
        'msg_title': title(record, service),
        'msg_text': text(record, bucket, key),
        'priority': priority,
        'alert_type': alert_type(record),
        'aggregation_key': clean(f'{service}:{record.get("eventName") or "unknown"}', AGGREGATION_KEY_MAX),
        'source_type_name': 'cloudtrail',
        'tags': tags(record, service, source_tags),
    }
