"""CloudTrail record -> log for the Agent's log pipeline, shaped as the Datadog Forwarder ships them.

The record itself is the log's structured content, with the S3 object it came from under `aws.s3`, so that
Datadog's CloudTrail log pipeline and Cloud SIEM rules find the attributes they expect.
"""

from datadog_checks.base.utils.format import json

# The Agent truncates a log above 256 kB (logs_config.max_message_size_bytes); stay under it with room for
# the Agent's own fields.
MAX_LOG_BYTES = 250_000
# What is kept of a field that had to be shortened.
KEPT_CHARS = 2_000
TRUNCATED = '...TRUNCATED...'


def log(record, *, timestamp, tags, bucket, key, service, host=None):
    """Returns (log, truncated): `truncated` tells that fields had to be shortened to fit the Agent's limit."""
    data = dict(record)
    data['aws'] = {'s3': {'bucket': bucket, 'key': key}}
    data.update(ddsource='cloudtrail', ddsourcecategory='aws', service=service, timestamp=timestamp,
                ddtags=','.join(tags))
    if host:
        data['host'] = host
    return fit(data, MAX_LOG_BYTES)


def fit(data, limit):
    """Shorten the largest fields of an oversized log, marking each, until it fits in `limit` bytes."""
    if _size(data) <= limit:
        return data, False
    sizes = {name: _size(value) for name, value in data.items()}
    total = sum(sizes.values()) + 4 * len(sizes)
    truncated = []
    for name in sorted(sizes, key=sizes.get, reverse=True):
        if total <= limit:
            break
        data[name] = json.encode(data[name], default=str)[:KEPT_CHARS] + TRUNCATED
        total += _size(data[name]) - sizes[name]
        truncated.append(name)
    # The marker says which fields were shortened and how big the record was, so nothing is lost silently.
    data['cloudtrail_check'] = {'truncated_fields': truncated, 'original_bytes': sum(sizes.values())}
    return data, True


def _size(value):
    """Bytes of the value as JSON (the same encoder as the Agent's send_log)."""
    return len(json.encode_bytes(value, default=str))
