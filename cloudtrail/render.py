"""CloudTrail record -> Datadog event, as pure functions.

Record fields are written by whoever made the API call (user agent, parameters, error messages): every string
that reaches the event is cleaned so that it cannot mention people, turn on markdown or form links.
"""

import functools
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
_ASCII_CONTROL = bytes([*range(0x00, 0x0a), *range(0x0b, 0x20), 0x7f])  # the ASCII part of _CONTROL
_AT, _SCHEME = '@' + _ZWSP, ':' + _ZWSP + '//'
# '%%%' switches an event's text to markdown.
_MARKDOWN_SWITCH = re.compile('%(?=%%)')
# json.dumps(...) with these options builds an encoder on every call; this one is built once (it keeps no state
# between calls, so threads may share it).
_COMPACT = json.JSONEncoder(separators=(', ', ': '), sort_keys=True, default=str)


def _c_compact():
    """JSONEncoder.encode still builds its C encoder on each call, which costs as much as the encoding: build it
    once. Without a circular-reference check, which parsed JSON does not need. None when it cannot be built."""
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii

        encode = c_make_encoder(None, str, encode_basestring_ascii, None, ': ', ', ', True, False, True)
        sample = {'b': [1, 2.5, None, True, 'é'], 'a': {'z': 'x@y', 'c': -1e300}}
        if ''.join(encode(sample, 0)) != _COMPACT.encode(sample):
            return None
        return encode
    except Exception:  # pragma: no cover - another Python; the plain way works
        return None


_C_COMPACT = _c_compact()


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
    return _shorten(_inert(value if type(value) is str else str(value)), limit)


def _inert(text):
    """`clean` without the length limit. It acts on each character or 3-character run on its own, so a text
    cleaned in pieces joined by newlines is the same as the whole cleaned at once."""
    if text.isascii():  # most texts; only the ASCII control characters can be there, and bytes find them fast
        raw = text.encode('ascii')
        if len(raw.translate(None, _ASCII_CONTROL)) != len(raw):
            text = _CONTROL.sub(' ', text)
    elif _CONTROL.search(text):
        text = _CONTROL.sub(' ', text)
    text = text.replace('@', _AT).replace('://', _SCHEME)
    # A zero-width space after any '%' followed by two more: no run of three is left, however long the run.
    return _MARKDOWN_SWITCH.sub('%' + _ZWSP, text) if '%%%' in text else text


def _shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + '…'


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
    return _title(text) if len(text) <= _CACHED_MAX else _uncached_title(text)


def _uncached_title(text):
    return clean(' '.join(text.split()), TITLE_MAX)


def _uncached_aggregation_key(service, name):
    return clean(f'{service}:{name}', AGGREGATION_KEY_MAX)


# Titles and aggregation keys repeat (the same people make the same calls): each is cleaned once. Only short
# ones are kept, so that the caches stay small (4096 entries of at most _CACHED_MAX characters).
_CACHED_MAX = 256
_title = functools.lru_cache(maxsize=4096)(_uncached_title)
_aggregation_key = functools.lru_cache(maxsize=4096)(_uncached_aggregation_key)


def _compact(value):
    if _C_COMPACT is None:  # pragma: no cover
        return _COMPACT.encode(value)
    return ''.join(_C_COMPACT(value, 0))


def text(record, bucket, key):
    get = record.get
    lines = []
    add = lines.append
    identity = get('userIdentity')
    if isinstance(identity, dict) and identity:
        kind, arn = identity.get('type'), identity.get('arn')
        if kind and arn:
            add(f'Identity: {kind} {arn}')
        elif kind or arn:
            add(f'Identity: {kind or arn}')
        context = identity.get('sessionContext')
        issuer = context.get('sessionIssuer') if isinstance(context, dict) else None
        value = issuer.get('arn') if isinstance(issuer, dict) else None
        if value:
            add(f'Session issuer: {value}')
    value = get('recipientAccountId')
    if value:
        add(f'Account: {value}')
    value = f'{get("eventSource", "")} {get("eventName", "")}'.strip()
    if value:
        add(f'Event: {value}')
    for label, field in _PLAIN_FIELDS:
        value = get(field)
        if value:
            add(f'{label}: {value}')
    code, message = get('errorCode'), get('errorMessage')
    if code and message:
        add(f'Error: {code}: {message}')
    elif code or message:
        add(f'Error: {code or message}')
    value = get('insightDetails')
    if value:
        add(f'Insight: {_compact(value)}')
    value = get('requestParameters')
    if value:
        add(f'Request parameters: {clean(_compact(value), PARAMETERS_MAX)}')
    value = get('resources')
    if isinstance(value, list):
        value = ', '.join([str(r.get('ARN') or r.get('arn') or '') for r in value if isinstance(r, dict)])
        if value:
            add(f'Resources: {value}')
    value = get('eventID')
    if value:
        add(f'Event ID: {value}')
    # Cleaned in two pieces: the record's lines, and the object's line, which is the same for all its records.
    if lines:
        return _shorten(f'{_inert("\n".join(lines))}\n{_object_line(bucket, key)}', TEXT_MAX)
    return _shorten(_object_line(bucket, key), TEXT_MAX)


_PLAIN_FIELDS = (('Event type', 'eventType'), ('Time', 'eventTime'), ('Region', 'awsRegion'),
                 ('Source IP', 'sourceIPAddress'), ('User agent', 'userAgent'))


@functools.lru_cache(maxsize=64)
def _object_line(bucket, key):
    return _inert(f'Log object: s3://{bucket}/{key}')


def tags(record, service, source_tags):
    """`source_tags` already holds cloudtrail, trail and account tags, and the instance's."""
    return source_tags + [
        f'region:{record.get("awsRegion") or "unknown"}',
        f'event_source:{record.get("eventSource") or "unknown"}',
        f'event_name:{record.get("eventName") or "unknown"}',
        f'aws_service:{service}',
    ]


def event(record, *, service, priority, timestamp, tags, bucket, key):
    name = record.get('eventName') or 'unknown'
    return {
        'timestamp': timestamp,
        'msg_title': title(record, service),
        'msg_text': text(record, bucket, key),
        'priority': priority,
        'alert_type': alert_type(record),
        'aggregation_key': (_aggregation_key(service, name) if type(name) is str and len(name) <= _CACHED_MAX
                            else _uncached_aggregation_key(service, name)),
        'source_type_name': 'cloudtrail',
        'tags': tags,
    }
