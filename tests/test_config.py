"""The generated configuration model (cloudtrail/config_models) and its hand-written validators: no AWS involved."""

import importlib.util
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from cloudtrail.config_models import defaults, instance

ROOT = Path(__file__).resolve().parent.parent

ROLE_ARN = 'arn:aws:iam::123456789012:role/DatadogCloudTrailReader'


def validate(config):
    """Build the model the way AgentCheck.load_configuration_model does."""
    context = {
        'logger': logging.getLogger(__name__),
        'warning': lambda *args, **kwargs: None,
        'configured_fields': frozenset(config),
        'security_config': None,
    }
    return instance.InstanceConfig.model_validate(config, context=context)


def error_text(config):
    """The lines that AgentCheck.load_configuration_model puts in its ConfigurationError: location, then message."""
    with pytest.raises(ValidationError) as excinfo:
        validate(config)
    lines = []
    for error in excinfo.value.errors():
        lines.append(' -> '.join(str(loc) for loc in error['loc']))
        lines.append(error['msg'])
    return '\n'.join(lines)


def example_instances():
    return yaml.safe_load((ROOT / 'conf.yaml.example').read_text(encoding='utf-8'))['instances']


# --- what is accepted ---------------------------------------------------------------------------------------


def test_example_instance_is_valid_and_gets_the_documented_defaults():
    [config] = example_instances()
    assert config == {'min_collection_interval': 60}

    model = validate(config)

    assert model.aws_region == 'us-east-1'
    assert model.trails is None
    assert model.bucket is None
    assert model.prefix == ''
    assert model.trail_name is None
    assert model.role_arn is None
    assert model.role_session_name == 'datadog-cloudtrail'
    assert model.endpoint_url is None
    assert model.initial_lookback == 3600
    assert model.late_arrival_window == 7200
    assert model.include_read_only is False
    assert model.default_priority == 'low'
    assert model.workers == 8
    assert model.max_run_seconds == 45
    assert model.max_events_per_run == 20000
    assert model.discovery_interval == 300
    assert model.max_attempts == 5
    assert model.connect_timeout == 10
    assert model.read_timeout == 30
    assert model.min_collection_interval == 60
    assert 'ec2' in model.normal_priority_services
    assert len(model.normal_priority_services) == 30
    assert model.tags is None


def test_every_commented_example_value_is_accepted():
    """Uncomment the whole instance of conf.yaml.example: every example that is not a <PLACEHOLDER> must validate."""
    text = (ROOT / 'conf.yaml.example').read_text(encoding='utf-8')
    section = text[text.index('\ninstances:') :]
    uncommented = '\n'.join(
        re.sub(r'^(\s*)# (?!#)', r'\1', line) for line in section.splitlines() if not re.match(r'^\s*##', line)
    )
    [config] = yaml.safe_load(uncommented)['instances']
    config = {name: value for name, value in config.items() if '<' not in repr(value)}
    # role_session_name's example needs a role; the placeholder of role_arn was dropped above.
    config['role_arn'] = ROLE_ARN

    assert 'trails' in config and 'normal_priority_services' in config
    model = validate(config)
    assert model.trails == ('management-events', 'arn:aws:cloudtrail:us-east-1:123456789012:trail/organization-trail')


def test_every_default_given_explicitly_is_accepted():
    config = {
        name.removeprefix('instance_'): getattr(defaults, name)()
        for name in dir(defaults)
        if name.startswith('instance_')
    }
    # role_session_name, even at its default value, only makes sense with a role to assume.
    config['role_arn'] = ROLE_ARN
    assert validate(config) == validate({'role_arn': ROLE_ARN})


def test_full_trails_instance():
    config = {
        'aws_region': 'eu-central-2',
        'trails': ['management-events', 'arn:aws:cloudtrail:us-east-1:123456789012:trail/org'],
        'aws_access_key_id': 'AKIAEXAMPLE',
        'aws_secret_access_key': 'secret',
        'aws_session_token': 'token',
        'role_arn': ROLE_ARN,
        'external_id': 'external',
        'role_session_name': 'my-session',
        'endpoint_url': 'http://localhost:4566',
        'initial_lookback': 0,
        'late_arrival_window': 64800,
        'include_read_only': True,
        'normal_priority_services': ['iam', 'sts'],
        'default_priority': 'normal',
        'workers': 1,
        'max_run_seconds': 0.5,
        'max_events_per_run': 1,
        'discovery_interval': 0,
        'max_attempts': 1,
        'connect_timeout': 1.5,
        'read_timeout': 60,
        'tags': ['env:prod'],
        'service': 'audit',
        'min_collection_interval': 120,
        'empty_default_hostname': True,
    }

    model = validate(config)

    assert model.trails == ('management-events', 'arn:aws:cloudtrail:us-east-1:123456789012:trail/org')
    assert model.normal_priority_services == ('iam', 'sts')
    assert model.default_priority == 'normal'
    assert model.initial_lookback == 0
    assert model.late_arrival_window == 64800
    assert model.max_run_seconds == 0.5
    assert model.role_session_name == 'my-session'
    assert model.tags == ('env:prod',)


def test_full_static_instance():
    config = {
        'bucket': 'my-cloudtrail-logs',
        'prefix': 'org/cloudtrail',
        'trail_name': 'copied-trail',
        'aws_profile': 'audit',
        'role_arn': 'arn:aws-us-gov:iam::123456789012:role/path/to/Reader',
    }

    model = validate(config)

    assert (model.bucket, model.prefix, model.trail_name) == ('my-cloudtrail-logs', 'org/cloudtrail', 'copied-trail')
    assert model.trails is None


@pytest.mark.parametrize(
    'region', ['us-east-1', 'eu-central-2', 'us-gov-west-1', 'cn-north-1', 'ap-southeast-3', 'us-isob-east-1']
)
def test_regions(region):
    assert validate({'aws_region': region}).aws_region == region


@pytest.mark.parametrize(
    'arn',
    [
        ROLE_ARN,
        'arn:aws-cn:iam::123456789012:role/reader',
        'arn:aws-us-gov:iam::123456789012:role/service-role/reader',
        'arn:aws:iam::123456789012:role/with+=,.@-chars',
    ],
)
def test_role_arns(arn):
    assert validate({'role_arn': arn}).role_arn == arn


def test_service_names_are_normalized():
    model = validate({'normal_priority_services': ['EC2.amazonaws.com', ' iam ', 's3']})
    assert model.normal_priority_services == ('ec2', 'iam', 's3')


def test_null_options_get_their_default():
    # `workers:` with nothing after it is null in YAML.
    model = validate({'workers': None, 'role_session_name': None, 'prefix': None, 'normal_priority_services': None})
    assert model.workers == 8
    assert model.role_session_name == 'datadog-cloudtrail'
    assert model.prefix == ''
    assert len(model.normal_priority_services) == 30


def test_empty_values_do_not_count_as_set():
    validate({'prefix': '', 'trail_name': '', 'external_id': '', 'aws_session_token': ''})


def test_model_is_immutable():
    model = validate({'trails': ['a']})
    with pytest.raises(ValidationError):
        model.workers = 3
    assert isinstance(model.trails, tuple)


# --- what is rejected ---------------------------------------------------------------------------------------

# (config, the options the message must name)
CROSS_FIELD = [
    ({'bucket': 'b', 'trails': ['t']}, ['bucket', 'trails']),
    ({'prefix': 'p'}, ['prefix', 'bucket']),
    ({'trail_name': 'n', 'trails': ['t']}, ['trail_name', 'bucket']),
    ({'aws_access_key_id': 'AKIA'}, ['aws_access_key_id', 'aws_secret_access_key']),
    ({'aws_secret_access_key': 's'}, ['aws_secret_access_key', 'aws_access_key_id']),
    ({'aws_session_token': 't'}, ['aws_session_token', 'aws_access_key_id', 'aws_secret_access_key']),
    (
        {'aws_session_token': 't', 'aws_access_key_id': 'AKIA'},
        ['aws_session_token', 'aws_secret_access_key'],
    ),
    (
        {'aws_profile': 'p', 'aws_access_key_id': 'AKIA', 'aws_secret_access_key': 's'},
        ['aws_profile', 'aws_access_key_id', 'aws_secret_access_key'],
    ),
    ({'external_id': 'x'}, ['external_id', 'role_arn']),
    ({'role_session_name': 'session'}, ['role_session_name', 'role_arn']),
]


@pytest.mark.parametrize('config, names', CROSS_FIELD, ids=[' '.join(sorted(c)) for c, _ in CROSS_FIELD])
def test_cross_field_errors(config, names):
    text = error_text(config)
    for name in names:
        # A model-level error has no location: the message itself must name the options.
        assert f'`{name}`' in text, text


def test_every_cross_field_problem_is_reported_at_once():
    text = error_text({'bucket': 'b', 'trails': ['t'], 'external_id': 'x'})
    assert '`bucket` and `trails`' in text
    assert '`external_id` requires `role_arn`' in text


BAD_VALUES = [
    ('initial_lookback', -1),
    ('initial_lookback', 64801),
    ('late_arrival_window', -1),
    ('late_arrival_window', 64801),
    ('default_priority', 'high'),
    ('default_priority', 'NORMAL'),
    ('workers', 0),
    ('workers', 'many'),
    ('max_run_seconds', 0),
    ('max_run_seconds', -5),
    ('max_events_per_run', 0),
    ('discovery_interval', -1),
    ('max_attempts', 0),
    ('connect_timeout', 0),
    ('read_timeout', -1),
    ('aws_region', 'US-EAST-1'),
    ('aws_region', 'useast1'),
    ('aws_region', 'us-east'),
    ('aws_region', 'us-east-1a'),
    ('role_arn', 'DatadogCloudTrailReader'),
    ('role_arn', 'arn:aws:iam::123456789012:user/someone'),
    ('role_arn', 'arn:aws:iam::12345:role/reader'),
    ('role_arn', 'arn:aws:sts::123456789012:assumed-role/reader/session'),
    ('role_arn', 'arn:aws:iam::123456789012:role/'),
    ('role_session_name', 'x'),
    ('normal_priority_services', ['ec2', '']),
    ('normal_priority_services', ['.amazonaws.com']),
    ('normal_priority_services', ['ec2 iam']),
    ('normal_priority_services', 'ec2'),
    ('trails', []),
    ('trails', ['']),
    ('trails', 'management-events'),
    ('bucket', ''),
    ('bucket', 's3://my-bucket'),
    ('bucket', 'my-bucket/prefix'),
    ('endpoint_url', 'localhost:4566'),
    ('include_read_only', 'sometimes'),
]


@pytest.mark.parametrize('name, value', BAD_VALUES, ids=[f'{n}={v!r}' for n, v in BAD_VALUES])
def test_bad_values(name, value):
    config = {name: value}
    if name == 'role_session_name':
        config['role_arn'] = ROLE_ARN
    text = error_text(config)
    assert name in text, text


def test_error_message_of_a_bad_role_arn_shows_the_expected_form():
    text = error_text({'role_arn': 'arn:aws:iam::123456789012:user/someone'})
    assert 'role_arn' in text.splitlines()[0]
    assert 'arn:<partition>:iam::<12-digit account id>:role/<name>' in text


# --- the generated files ------------------------------------------------------------------------------------


@pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ('datamodel_code_generator', 'ruff', 'semver')),
    reason='the config tooling of scripts/sync_config.py (datamodel-code-generator, ruff, semver) is not installed',
)
def test_generated_files_are_in_sync_with_the_spec():
    result = subprocess.run(
        [sys.executable, str(ROOT / 'scripts' / 'sync_config.py'), '--check'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
