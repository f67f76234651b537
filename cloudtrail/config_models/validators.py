"""Hand-written validation of the instance configuration (scripts/sync_config.py never overwrites this file).

The generated models in instance.py call, when present:
  - `initialize_instance(values)` on the raw instance mapping, before any field is validated;
  - `instance_<option>(value, field=...)` on the raw value of each option that the instance sets, before pydantic
    checks its type and the constraints of the spec (minimum, maximum, enum, ...);
  - `check_instance(model)` on the validated model (unused here: the model is frozen).
A ValueError raised by any of them becomes a pydantic ValidationError, which the check's base class turns into a
ConfigurationError. Messages name the option (in backquotes) because a model-level error carries no location.
"""

import re

from . import defaults

SERVICE_SUFFIX = '.amazonaws.com'

# arn:<partition>:iam::<12-digit account>:role/[<path>/]<name>
ROLE_ARN = re.compile(r'^arn:aws(-[a-z]+)*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]+$')

# us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-3, us-isob-east-1, ...
REGION = re.compile(r'^[a-z]{2}(-[a-z]+)+-\d{1,2}$')

STATIC_KEYS = ('aws_access_key_id', 'aws_secret_access_key', 'aws_session_token')


def _given(values, name):
    """Whether the instance really sets an option: a null or empty value counts as not set."""
    value = values.get(name)
    return value is not None and value != '' and value != [] and value != ()


def _quoted(names):
    return ', '.join(f'`{name}`' for name in names)


def initialize_instance(values, **kwargs):
    if not isinstance(values, dict):
        return values

    problems = []

    if _given(values, 'bucket') and _given(values, 'trails'):
        problems.append(
            '`bucket` and `trails` cannot be used together: set `bucket` to read one bucket directly (static mode), '
            'or `trails` to choose among the trails that the CloudTrail API describes'
        )
    for name in ('prefix', 'trail_name'):
        if _given(values, name) and not _given(values, 'bucket'):
            problems.append(f'`{name}` only applies to static mode and requires `bucket`')

    if _given(values, 'aws_access_key_id') and not _given(values, 'aws_secret_access_key'):
        problems.append('`aws_access_key_id` requires `aws_secret_access_key`')
    if _given(values, 'aws_secret_access_key') and not _given(values, 'aws_access_key_id'):
        problems.append('`aws_secret_access_key` requires `aws_access_key_id`')
    if _given(values, 'aws_session_token') and not (
        _given(values, 'aws_access_key_id') and _given(values, 'aws_secret_access_key')
    ):
        problems.append('`aws_session_token` requires `aws_access_key_id` and `aws_secret_access_key`')
    static_keys = [name for name in STATIC_KEYS if _given(values, name)]
    if _given(values, 'aws_profile') and static_keys:
        problems.append(f'`aws_profile` cannot be combined with static credentials ({_quoted(static_keys)})')

    for name in ('external_id', 'role_session_name'):
        if _given(values, name) and not _given(values, 'role_arn'):
            problems.append(f'`{name}` requires `role_arn`')

    if values.get('cursor_store') == 's3' and not _given(values, 'cursor_bucket'):
        problems.append('`cursor_store: s3` requires `cursor_bucket`')
    partition = values.get('partition')
    if isinstance(partition, dict):
        index, count = partition.get('index'), partition.get('count')
        if not isinstance(index, int) or not isinstance(count, int) or not 0 <= index < count:
            problems.append('`partition` needs `index` and `count` with 0 <= index < count, '
                            f'got index {index!r} and count {count!r}')
    for account in values.get('accounts') or ():
        if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
            problems.append(f'`accounts` entries are 12-digit AWS account ids (quote them in YAML), got {account!r}')

    if values.get('send_events') is False and not values.get('send_logs'):
        problems.append('`send_events: false` requires `send_logs: true`: otherwise the check has nothing to send')

    if problems:
        raise ValueError('; '.join(problems))

    # An option left empty in YAML (`workers:`) is null: give it its default rather than None.
    return {
        name: getattr(defaults, f'instance_{name}')()
        if value is None and hasattr(defaults, f'instance_{name}')
        else value
        for name, value in values.items()
    }


def instance_aws_region(value, **kwargs):
    if isinstance(value, str) and not REGION.match(value):
        raise ValueError(
            f'`aws_region` must be an AWS region code such as `us-east-1` or `eu-central-2`, got {value!r}'
        )
    return value


def instance_role_arn(value, **kwargs):
    if isinstance(value, str) and not ROLE_ARN.match(value):
        raise ValueError(
            '`role_arn` must be the ARN of an IAM role, `arn:<partition>:iam::<12-digit account id>:role/<name>` '
            f'(for example `arn:aws:iam::123456789012:role/DatadogCloudTrailReader`), got {value!r}'
        )
    return value


def instance_bucket(value, **kwargs):
    if isinstance(value, str) and ('/' in value or value.startswith('s3:')):
        raise ValueError(
            f'`bucket` must be a bare bucket name such as `my-cloudtrail-logs`, got {value!r}: '
            'leave out `s3://` and put the key prefix in `prefix`'
        )
    return value


def instance_trails(value, **kwargs):
    if isinstance(value, (list, tuple)):
        for entry in value:
            if isinstance(entry, str) and not entry.strip():
                raise ValueError('`trails` entries must be trail names or ARNs, not empty strings')
    return value


def instance_endpoint_url(value, **kwargs):
    if isinstance(value, str) and not re.match(r'^https?://[^/\s]+', value):
        raise ValueError(
            f'`endpoint_url` must be an http:// or https:// URL such as `https://s3.us-east-1.amazonaws.com`, '
            f'got {value!r}'
        )
    return value


def instance_normal_priority_services(value, **kwargs):
    """Entries are service names as in `eventSource` without `.amazonaws.com`: that suffix is removed if given."""
    if not isinstance(value, (list, tuple)):
        return value
    services = []
    for entry in value:
        if isinstance(entry, str):
            service = entry.strip().lower().removesuffix(SERVICE_SUFFIX)
            if not service or '/' in service or ' ' in service:
                raise ValueError(
                    '`normal_priority_services` entries must be service names such as `ec2` or `iam` '
                    f'(the `eventSource` of a record without `{SERVICE_SUFFIX}`), got {entry!r}'
                )
            entry = service
        services.append(entry)
    return services
