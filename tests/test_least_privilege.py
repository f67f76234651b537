"""The check under real IAM enforcement (moto server's INITIAL_NO_AUTH_ACTION_COUNT), with the README's policy.

The server of this module lets its first 3 requests through unauthenticated: they create an administrator, whose
keys set up everything else. Every other request, the check's included, is checked against the caller's IAM
policies. moto's reset does not restore that budget, so this module has its own server and never resets it:
each test makes its own IAM user, and computes what it expects from what the module has delivered so far.
"""

import json
import logging
import random
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudtrail.check import CloudtrailCheck
from devtools import samples
from devtools.emulator import MotoServer
from devtools.proxy import Fault, FaultProxy
from tests.conftest import event_ids

ROOT = Path(__file__).resolve().parent.parent
SERVICE_CHECK = 'cloudtrail.can_connect'
ACCOUNT = '123456789012'
EVERYTHING = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}


def readme_policy():
    """The policy of the README's "AWS permissions" section, as a user would copy it."""
    text = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = text[text.index('### AWS permissions'):]
    return json.loads(re.search(r'```json\n(.*?)\n```', section, re.S).group(1))


def readme_actions():
    [statement] = readme_policy()['Statement']
    return statement['Action']


class IamWorld:
    """Trails and their objects, made with an administrator's keys; users with the policies a test gives them."""

    def __init__(self, url):
        self.url = url
        self.rng = random.Random(11)
        self.now = datetime.now(timezone.utc)
        self.delivered = {}  # trail name -> [record]
        iam = self.client('iam', {'AccessKeyId': 'testing', 'SecretAccessKey': 'testing'})
        iam.create_user(UserName='admin')  # the 3 unauthenticated requests
        iam.put_user_policy(UserName='admin', PolicyName='all', PolicyDocument=json.dumps(EVERYTHING))
        self.admin = iam.create_access_key(UserName='admin')['AccessKey']
        self.org_id = self.client('organizations').create_organization(FeatureSet='ALL')['Organization']['Id']
        self.trails = {}
        for name, bucket, organization in [('open-trail', 'open-logs', False), ('locked-trail', 'locked-logs', False),
                                           ('org-trail', 'org-logs', True)]:
            self.client('s3').create_bucket(Bucket=bucket)
            cloudtrail = self.client('cloudtrail')
            cloudtrail.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True,
                                    IsOrganizationTrail=organization)
            cloudtrail.start_logging(Name=name)
            self.trails[name] = (bucket, self.org_id if organization else None)
            self.delivered[name] = []
            self.deliver(name, minutes_ago=20)

    def client(self, service, keys=None, region='us-east-1'):
        keys = keys or self.admin
        session = boto3.session.Session(aws_access_key_id=keys['AccessKeyId'],
                                        aws_secret_access_key=keys['SecretAccessKey'], region_name=region)
        return session.client(service, endpoint_url=self.url, config=Config(
            s3={'addressing_style': 'path'}, retries={'total_max_attempts': 1}))

    def deliver(self, trail, minutes_ago):
        bucket, org_id = self.trails[trail]
        when = self.now - timedelta(minutes=minutes_ago)
        records = [samples.record(self.rng, when - timedelta(seconds=i), ACCOUNT, 'us-east-1', read_only=False)
                   for i in range(3)]
        key = samples.object_key(None, ACCOUNT, 'us-east-1', when, self.rng, org_id=org_id)
        self.client('s3').put_object(Bucket=bucket, Key=key, Body=samples.gzip_records(records))
        self.delivered[trail] += records

    def ids(self, trails=None):
        """The eventIDs delivered so far to `trails` (default: every trail)."""
        return sorted(r['eventID'] for trail in (self.trails if trails is None else trails)
                      for r in self.delivered[trail])

    def user(self, policy):
        """A new IAM user holding exactly `policy`; returns its access key."""
        name = f'reader-{uuid.uuid4().hex[:8]}'
        iam = self.client('iam')
        iam.create_user(UserName=name)
        self.set_policy(name, policy)
        return {'UserName': name, **iam.create_access_key(UserName=name)['AccessKey']}

    def set_policy(self, user, policy):
        self.client('iam').put_user_policy(UserName=user, PolicyName='cloudtrail-check',
                                           PolicyDocument=json.dumps(policy))

    def instance(self, keys, **options):
        return {'aws_access_key_id': keys['AccessKeyId'], 'aws_secret_access_key': keys['SecretAccessKey'],
                'endpoint_url': self.url, 'aws_region': 'us-east-1', 'workers': 2, **options}


@pytest.fixture(scope='module')
def iam_server():
    with MotoServer(env={'INITIAL_NO_AUTH_ACTION_COUNT': '3'}) as server:
        yield server


@pytest.fixture(scope='module')
def world(iam_server):
    return IamWorld(iam_server.url)


@pytest.fixture
def run(aggregator, datadog_agent, monkeypatch):
    # The check must use the keys it is given, not the harness's.
    for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'):
        monkeypatch.delenv(name, raising=False)

    def run_once(instance):
        aggregator.reset()
        check = CloudtrailCheck('cloudtrail', {}, [instance])
        check.check_id = 'cloudtrail:iam'
        error = check.run()
        return sorted(event_ids(aggregator.events)), error, by_trail(aggregator)

    return run_once


def by_trail(aggregator):
    """The run's service checks by their `trail:` tag (None for a failure that concerns every trail)."""
    return {next((t[6:] for t in c.tags if t.startswith('trail:')), None): c
            for c in aggregator.service_checks(SERVICE_CHECK)}


def without(policy, action):
    [statement] = policy['Statement']
    return {**policy, 'Statement': [{**statement, 'Action': [a for a in statement['Action'] if a != action]}]}


def with_deny(policy, action, resource):
    return {**policy, 'Statement': [*policy['Statement'],
                                    {'Effect': 'Deny', 'Action': action, 'Resource': resource}]}


# --- the README's policy is enough, and nothing more is used ---------------------------------------------------


def test_the_readme_policy_has_the_six_actions():
    assert sorted(readme_actions()) == sorted([
        'cloudtrail:DescribeTrails', 'cloudtrail:GetTrailStatus', 'organizations:DescribeOrganization',
        's3:GetBucketLocation', 's3:ListBucket', 's3:GetObject'])


def test_the_readme_policy_is_enough_and_the_check_never_writes(world, run):
    keys = world.user(readme_policy())
    with FaultProxy(world.url) as proxy:
        ids, error, checks = run(world.instance(keys, endpoint_url=proxy.url))

    assert error == ''
    assert ids == world.ids()  # every trail, the organization trail included
    assert {name: c.status for name, c in checks.items()} == {name: CloudtrailCheck.OK for name in world.trails}
    # Only reads: S3 GETs, and the CloudTrail and Organizations APIs (POST / with an X-Amz-Target).
    assert {method for method, _ in proxy.requests} <= {'GET', 'HEAD', 'POST'}
    for (method, path), headers in zip(proxy.requests, proxy.headers):
        if method == 'POST':
            assert path == '/' and re.match(r'(com\.amazonaws\.cloudtrail|AWSOrganizations)', headers['x-amz-target'])
    # IAM is enforced, and the policy gives no way to write.
    s3 = world.client('s3', keys)
    for write in (lambda: s3.put_object(Bucket='open-logs', Key='AWSLogs/x.json.gz', Body=b'x'),
                  lambda: s3.delete_object(Bucket='open-logs', Key='AWSLogs/x.json.gz')):
        with pytest.raises(ClientError) as denied:
            write()
        assert denied.value.response['Error']['Code'] == 'AccessDenied'


def test_static_mode_needs_only_the_three_s3_actions(world, run):
    policy = readme_policy()
    keys = world.user({**policy, 'Statement': [{**policy['Statement'][0], 'Action': [
        's3:GetBucketLocation', 's3:ListBucket', 's3:GetObject']}]})
    ids, error, checks = run(world.instance(keys, bucket='open-logs', trail_name='archive'))
    assert error == ''
    assert ids == world.ids(['open-trail'])
    assert checks['archive'].status == CloudtrailCheck.OK


# What is missing -> (the trails it stops, what their message must say).
MISSING = {
    'cloudtrail:DescribeTrails': (None, 'DescribeTrails failed with AccessDenied'),
    'cloudtrail:GetTrailStatus': ('all', 'GetTrailStatus failed with AccessDenied'),
    'organizations:DescribeOrganization': ('org-trail', 'DescribeOrganization failed with AccessDenied'),
    's3:GetBucketLocation': ('all', 'GetBucketLocation failed with AccessDenied'),
    's3:ListBucket': ('all', 'ListObjectsV2 failed with AccessDenied'),
    's3:GetObject': ('all', 'GetObject failed with AccessDenied'),
}


@pytest.mark.parametrize('action', MISSING)
def test_each_action_of_the_readme_policy_is_needed_and_named_when_missing(world, run, action):
    keys = world.user(without(readme_policy(), action))
    ids, error, checks = run(world.instance(keys))

    stopped, call = MISSING[action]
    if stopped is None:  # nothing can be read without the list of trails
        assert call in error and f'allow {action}' in error
        assert checks[None].status == CloudtrailCheck.CRITICAL
        assert call in checks[None].message and f'allow {action}' in checks[None].message
        return
    assert error == ''
    stopped = set(world.trails) if stopped == 'all' else {stopped}
    for name, service_check in checks.items():
        if name in stopped:
            assert service_check.status == CloudtrailCheck.CRITICAL, name
            assert call in service_check.message and f'allow {action}' in service_check.message
        else:
            assert service_check.status == CloudtrailCheck.OK, name
    assert ids == world.ids(set(world.trails) - stopped)


# --- one bucket denied: that trail says why, the others keep flowing -------------------------------------------


@pytest.mark.parametrize('action, resource, call', [
    ('s3:GetObject', 'arn:aws:s3:::locked-logs/*', 'GetObject'),
    ('s3:ListBucket', 'arn:aws:s3:::locked-logs', 'ListObjectsV2'),
])
def test_access_denied_on_one_trails_bucket_stops_only_that_trail(world, run, action, resource, call):
    keys = world.user(with_deny(readme_policy(), action, resource))
    instance = world.instance(keys)
    locked_before = world.ids(['locked-trail'])

    ids, error, checks = run(instance)

    assert error == ''
    locked = checks['locked-trail']
    assert locked.status == CloudtrailCheck.CRITICAL
    assert f'{call} failed with AccessDenied' in locked.message and f'allow {action}' in locked.message
    assert 'locked-logs' in locked.message
    assert checks['open-trail'].status == checks['org-trail'].status == CloudtrailCheck.OK
    assert ids == world.ids(['open-trail', 'org-trail'])

    # The other trails keep flowing; once the permission is given, the locked trail's objects are all read.
    opened_before = set(world.ids(['open-trail']))
    world.deliver('open-trail', minutes_ago=5)
    again, _, checks = run(instance)
    assert checks['locked-trail'].status == CloudtrailCheck.CRITICAL
    assert again == sorted(set(world.ids(['open-trail'])) - opened_before)
    world.set_policy(keys['UserName'], readme_policy())
    ids, error, checks = run(instance)
    assert ids == locked_before and error == ''
    assert {c.status for c in checks.values()} == {CloudtrailCheck.OK}


# --- secrets never reach a log line, an error or a service check -----------------------------------------------


def everything_said(caplog, error, checks):
    lines = [record.getMessage() for record in caplog.records]
    lines += [record.exc_text or '' for record in caplog.records]
    return '\n'.join([*lines, error, *(c.message or '' for c in checks.values())])


@pytest.fixture
def debug_logs(caplog):
    """Everything at DEBUG, botocore included (as an Agent at `log_level: debug` would log it)."""
    botocore_logger = logging.getLogger('botocore')
    level = botocore_logger.level
    botocore_logger.setLevel(logging.NOTSET)  # undo what an earlier test's check did, so this one must do it again
    caplog.set_level(logging.DEBUG)
    yield caplog
    botocore_logger.setLevel(level)


def test_refused_credentials_are_reported_without_the_secret_or_the_token(world, run, debug_logs):
    keys = world.user(readme_policy())
    secret, token = 'Wr0ngSecretKeyThatMustNeverBeLogged0000', 'SessionTokenThatMustNeverBeLogged-FwoGZXIvYXdz'
    instance = world.instance({**keys, 'SecretAccessKey': secret}, aws_session_token=token)

    ids, error, checks = run(instance)

    assert ids == []
    assert 'credentials are refused' in checks[None].message
    said = everything_said(debug_logs, error, checks)
    assert 'DescribeTrails' in said  # the failure is explained...
    assert secret not in said and token not in said  # ...without the credentials
    assert any(r.name.startswith('botocore') for r in debug_logs.records)  # botocore was heard, at INFO


def test_an_assumed_role_session_and_the_external_id_stay_out_of_the_logs(aws, debug_logs, aggregator,
                                                                         datadog_agent):
    trail = aws.trail()
    key, _ = aws.deliver(trail, minutes_ago=10)
    external_id = 'ExternalIdThatMustNeverBeLogged-7c1e'
    with FaultProxy(aws.url) as proxy:
        # And one failure on the way, so that error paths are covered too.
        proxy.fail('GET', f'^/{trail.bucket}/{re.escape(key)}$', Fault.error(403, 'AccessDenied', 'Access Denied'))
        check = CloudtrailCheck('cloudtrail', {}, [aws.instance(
            endpoint_url=proxy.url, role_arn='arn:aws:iam::123456789012:role/DatadogCloudTrailReader',
            external_id=external_id)])
        check.check_id = 'cloudtrail:role'
        error = check.run()
        # The role session's token, as the check sent it on the wire (moto issues a new one per AssumeRole).
        tokens = {h['x-amz-security-token'] for h in proxy.headers if 'x-amz-security-token' in h}

    checks = by_trail(aggregator)
    assert tokens and error == ''
    assert 'GetObject failed with AccessDenied' in checks[trail.name].message
    said = everything_said(debug_logs, error, checks)
    assert external_id not in said
    assert not any(token in said for token in tokens)
    assert 'SecretAccessKey' not in said
