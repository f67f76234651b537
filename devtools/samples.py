"""Realistic CloudTrail content: records, Insights, digests and the S3 keys CloudTrail writes them under.

Pure functions. Randomness comes from the `rng` argument (a `random.Random(seed)`), so a seed gives the
same output every time.
"""

import gzip
import hashlib
import json
import string
import uuid
from datetime import datetime, timedelta, timezone

GLOBAL_REGION = 'us-east-1'  # IAM, STS and sign-in events are logged there, whatever region was called
_GLOBAL_SOURCES = {'iam.amazonaws.com', 'sts.amazonaws.com', 'signin.amazonaws.com'}
_SUFFIX_CHARS = string.ascii_letters + string.digits
_TIME = '%Y-%m-%dT%H:%M:%SZ'

# (eventSource, eventName, readOnly, management). Non-management calls are data events.
CALLS = [
    ('ec2.amazonaws.com', 'RunInstances', False, True),
    ('ec2.amazonaws.com', 'DescribeInstances', True, True),
    ('ec2.amazonaws.com', 'TerminateInstances', False, True),
    ('ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress', False, True),
    ('iam.amazonaws.com', 'CreateUser', False, True),
    ('iam.amazonaws.com', 'AttachRolePolicy', False, True),
    ('iam.amazonaws.com', 'ListRoles', True, True),
    ('s3.amazonaws.com', 'PutBucketPolicy', False, True),
    ('s3.amazonaws.com', 'ListBuckets', True, True),
    ('s3.amazonaws.com', 'GetObject', True, False),
    ('signin.amazonaws.com', 'ConsoleLogin', False, True),
    ('sts.amazonaws.com', 'AssumeRole', False, True),
    ('sts.amazonaws.com', 'GetCallerIdentity', True, True),
    ('kms.amazonaws.com', 'Decrypt', True, True),
    ('lambda.amazonaws.com', 'CreateFunction20150331', False, True),
    ('lambda.amazonaws.com', 'ListFunctions20150331', True, True),
    ('rds.amazonaws.com', 'CreateDBInstance', False, True),
    ('rds.amazonaws.com', 'DescribeDBInstances', True, True),
    ('cloudformation.amazonaws.com', 'CreateStack', False, True),
    ('cloudformation.amazonaws.com', 'DescribeStacks', True, True),
    ('dynamodb.amazonaws.com', 'CreateTable', False, True),
    ('dynamodb.amazonaws.com', 'DescribeTable', True, True),
]

_USERS = ['alice', 'bob', 'carol', 'deploy-bot', 'terraform']
_ROLES = [('Admin', 'alice@example.com'), ('ReadOnly', 'bob@example.com'), ('ci-deployer', 'github-actions')]
_USER_AGENTS = [
    'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off',
    'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.2 Botocore/1.34.69',
    'aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64',
    'APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.41.0',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36',
]
_ERRORS = {
    'ec2.amazonaws.com': ('Client.UnauthorizedOperation', 'You are not authorized to perform this operation.'),
    'signin.amazonaws.com': (None, 'Failed authentication'),
    'iam.amazonaws.com': ('AccessDenied', 'User is not authorized to perform: iam:{action}'),
}


def as_utc(when):
    # Naive datetimes are taken as UTC, never as the machine's local time.
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _fmt(when):
    return as_utc(when).strftime(_TIME)


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _id(rng, prefix, length=17):
    return prefix + ''.join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def _ip(rng):
    return (
        f'{rng.choice([3, 18, 34, 52, 54, 81, 203])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}'
    )


def _identity(rng, account, kind, when):
    if kind == 'IAMUser':
        user = rng.choice(_USERS)
        return {
            'type': 'IAMUser',
            'principalId': _id(rng, 'AIDA'),
            'arn': f'arn:aws:iam::{account}:user/{user}',
            'accountId': account,
            'accessKeyId': _id(rng, 'AKIA', 16),
            'userName': user,
        }
    if kind == 'AssumedRole':
        role, session = rng.choice(_ROLES)
        role_id = _id(rng, 'AROA')
        return {
            'type': 'AssumedRole',
            'principalId': f'{role_id}:{session}',
            'arn': f'arn:aws:sts::{account}:assumed-role/{role}/{session}',
            'accountId': account,
            'accessKeyId': _id(rng, 'ASIA', 16),
            'sessionContext': {
                'sessionIssuer': {
                    'type': 'Role',
                    'principalId': role_id,
                    'arn': f'arn:aws:iam::{account}:role/{role}',
                    'accountId': account,
                    'userName': role,
                },
                'webIdFederationData': {},
                'attributes': {
                    'creationDate': _fmt(when - timedelta(minutes=rng.randrange(1, 60))),
                    'mfaAuthenticated': rng.choice(['true', 'false']),
                },
            },
        }
    if kind == 'Root':
        return {
            'type': 'Root',
            'principalId': account,
            'arn': f'arn:aws:iam::{account}:root',
            'accountId': account,
            'accessKeyId': _id(rng, 'ASIA', 16),
        }
    if kind == 'AWSService':
        return {
            'type': 'AWSService',
            'invokedBy': rng.choice(['cloudformation.amazonaws.com', 'autoscaling.amazonaws.com']),
        }
    raise ValueError(f'unknown identity type {kind!r}')


def _parameters(rng, account, region, name):
    """(requestParameters, responseElements, resources) for one call: enough to look real, not exhaustive."""
    instance = f'i-{rng.getrandbits(68):017x}'
    bucket = rng.choice(['app-assets', 'billing-exports', 'ml-datasets'])
    user = rng.choice(_USERS)
    role, session = rng.choice(_ROLES)
    request = response = resources = None  # what List*/Get* calls without parameters log
    if name == 'RunInstances':
        request = {'instanceType': rng.choice(['t3.micro', 'm6i.large']), 'minCount': 1, 'maxCount': 1}
        response = {'instancesSet': {'items': [{'instanceId': instance, 'currentState': {'name': 'pending'}}]}}
    elif name == 'TerminateInstances':
        request = {'instancesSet': {'items': [{'instanceId': instance}]}}
        response = {'instancesSet': {'items': [{'instanceId': instance, 'currentState': {'name': 'shutting-down'}}]}}
    elif name == 'AuthorizeSecurityGroupIngress':
        rule = {'ipProtocol': 'tcp', 'fromPort': 22, 'toPort': 22, 'ipRanges': {'items': [{'cidrIp': '0.0.0.0/0'}]}}
        request = {'groupId': f'sg-{rng.getrandbits(68):017x}', 'ipPermissions': {'items': [rule]}}
        response = {'_return': True}
    elif name == 'DescribeInstances':
        request = {'instancesSet': {}, 'filterSet': {}}
    elif name == 'CreateUser':
        request = {'userName': user}
        response = {'user': {'userName': user, 'arn': f'arn:aws:iam::{account}:user/{user}'}}
    elif name == 'AttachRolePolicy':
        request = {'roleName': role, 'policyArn': 'arn:aws:iam::aws:policy/AdministratorAccess'}
    elif name == 'PutBucketPolicy':
        request = {'bucketName': bucket, 'Host': f'{bucket}.s3.amazonaws.com', 'policy': ''}
    elif name == 'GetObject':
        key = f'reports/{rng.randrange(10000):05d}.csv'
        request = {'bucketName': bucket, 'Host': f'{bucket}.s3.{region}.amazonaws.com', 'key': key}
        resources = [
            {'type': 'AWS::S3::Object', 'ARN': f'arn:aws:s3:::{bucket}/{key}'},
            {'accountId': account, 'type': 'AWS::S3::Bucket', 'ARN': f'arn:aws:s3:::{bucket}'},
        ]
    elif name == 'AssumeRole':
        request = {'roleArn': f'arn:aws:iam::{account}:role/{role}', 'roleSessionName': session}
        response = {'assumedRoleUser': {'arn': f'arn:aws:sts::{account}:assumed-role/{role}/{session}'}}
    elif name == 'Decrypt':
        request = {'encryptionAlgorithm': 'SYMMETRIC_DEFAULT'}
        key_arn = f'arn:aws:kms:{region}:{account}:key/{_uuid(rng)}'
        resources = [{'accountId': account, 'type': 'AWS::KMS::Key', 'ARN': key_arn}]
    elif name == 'CreateFunction20150331':
        request = {'functionName': 'resize-images', 'runtime': 'python3.12', 'handler': 'app.handler'}
        response = {'functionArn': f'arn:aws:lambda:{region}:{account}:function:resize-images'}
    elif name == 'CreateDBInstance':
        request = {'dBInstanceIdentifier': 'orders-db', 'engine': 'postgres', 'dBInstanceClass': 'db.t4g.medium'}
        response = {'dBInstanceArn': f'arn:aws:rds:{region}:{account}:db:orders-db', 'dBInstanceStatus': 'creating'}
    elif name == 'CreateStack':
        request = {'stackName': 'network', 'capabilities': ['CAPABILITY_IAM']}
        response = {'stackId': f'arn:aws:cloudformation:{region}:{account}:stack/network/{_uuid(rng)}'}
    elif name in ('CreateTable', 'DescribeTable'):
        request = {'tableName': 'sessions'}
        if name == 'CreateTable':
            response = {'tableDescription': {'tableName': 'sessions', 'tableStatus': 'CREATING'}}
    elif name == 'DescribeStacks':
        request = {'stackName': 'network'}
    return request, response, resources


def _pick_call(rng, region, event_source, event_name, read_only):
    calls = [
        c
        for c in CALLS
        if (event_source is None or c[0] == event_source)
        and (event_name is None or c[1] == event_name)
        and (read_only is None or c[2] == read_only)
        # Global services only show up in us-east-1 files, unless asked for by name.
        and (region == GLOBAL_REGION or event_source or event_name or c[0] not in _GLOBAL_SOURCES)
    ]
    if not calls:
        if event_source and event_name:
            return event_source, event_name, bool(read_only), True
        raise ValueError(f'no known call for {event_source!r} {event_name!r} read_only={read_only!r}')
    return rng.choice(calls)


def record(
    rng, when, account, region, *, event_source=None, event_name=None, read_only=None, error=False, identity_type=None
):
    """One CloudTrail record as CloudTrail writes it. Unknown (source, name) pairs are allowed as written."""
    source, name, is_read_only, management = _pick_call(rng, region, event_source, event_name, read_only)
    aws_region = GLOBAL_REGION if source in _GLOBAL_SOURCES else region
    identity_type = identity_type or rng.choices(['IAMUser', 'AssumedRole', 'Root', 'AWSService'], [3, 6, 1, 1])[0]
    if name == 'ConsoleLogin' and identity_type == 'AWSService':
        identity_type = 'IAMUser'  # services do not sign in to the console
    identity = _identity(rng, account, identity_type, when)
    request, response, resources = _parameters(rng, account, region, name)
    if identity_type == 'AWSService':
        source_ip = user_agent = identity['invokedBy']
    else:
        source_ip, user_agent = _ip(rng), rng.choice(_USER_AGENTS)

    rec = {
        'eventVersion': rng.choice(['1.08', '1.09']),
        'userIdentity': identity,
        'eventTime': _fmt(when),
        'eventSource': source,
        'eventName': name,
        'awsRegion': aws_region,
        'sourceIPAddress': source_ip,
        'userAgent': user_agent,
        'requestParameters': request,
        'responseElements': response,
        'requestID': _uuid(rng),
        'eventID': _uuid(rng),
        'readOnly': is_read_only,
        'eventType': 'AwsApiCall',
        'managementEvent': management,
        'recipientAccountId': account,
        'eventCategory': 'Management' if management else 'Data',
    }
    if resources:
        rec['resources'] = resources
    if identity_type != 'AWSService':
        rec['tlsDetails'] = {
            'tlsVersion': 'TLSv1.3',
            'cipherSuite': 'TLS_AES_128_GCM_SHA256',
            'clientProvidedHostHeader': f'{source.split(".")[0]}.{aws_region}.amazonaws.com',
        }
    if name == 'ConsoleLogin':
        rec.update(eventType='AwsConsoleSignIn', requestParameters=None, responseElements={'ConsoleLogin': 'Success'})
        rec['additionalEventData'] = {
            'LoginTo': 'https://console.aws.amazon.com/console/home',
            'MobileVersion': 'No',
            'MFAUsed': rng.choice(['Yes', 'No']),
        }
        rec['userAgent'] = _USER_AGENTS[-1]  # a browser
        rec.pop('requestID')  # sign-in events carry no request id
    if error:
        code, message = _ERRORS.get(source, ('AccessDenied', 'Access Denied'))
        if code:
            rec['errorCode'] = code
        rec['errorMessage'] = message.format(action=name)
        rec['responseElements'] = {'ConsoleLogin': 'Failure'} if name == 'ConsoleLogin' else None
    return rec


def insight_record(
    rng,
    when,
    account,
    region,
    *,
    state='Start',
    shared_event_id=None,
    event_source='ec2.amazonaws.com',
    event_name='RunInstances',
    insight_type='ApiCallRateInsight',
):
    """An Insight event: an unusual call rate or error rate starting or ending. No userIdentity.

    Pass the same `shared_event_id` to the Start and the End of one insight.
    """
    baseline, observed = round(rng.uniform(0.01, 0.5), 4), round(rng.uniform(5, 40), 1)
    statistics = {'baseline': {'average': baseline}, 'insight': {'average': observed}}
    if state == 'End':
        statistics.update(insightDuration=rng.randrange(1, 30), baselineDuration=rng.randrange(5000, 11000))
    return {
        'eventVersion': '1.08',
        'eventTime': _fmt(when),
        'awsRegion': GLOBAL_REGION if event_source in _GLOBAL_SOURCES else region,
        'eventID': _uuid(rng),
        'eventType': 'AwsCloudTrailInsight',
        'recipientAccountId': account,
        'sharedEventID': shared_event_id or _uuid(rng),
        'insightDetails': {
            'state': state,
            'eventSource': event_source,
            'eventName': event_name,
            'insightType': insight_type,
            'insightContext': {
                'statistics': statistics,
                'attributions': [
                    {
                        'attribute': 'userIdentityArn',
                        'insight': [
                            {
                                'value': f'arn:aws:sts::{account}:assumed-role/ci-deployer/github-actions',
                                'average': observed,
                            }
                        ],
                        'baseline': [{'value': f'arn:aws:iam::{account}:user/alice', 'average': baseline}],
                    },
                    {
                        'attribute': 'errorCode',
                        'insight': [{'value': 'null', 'average': observed}],
                        'baseline': [{'value': 'null', 'average': baseline}],
                    },
                ],
            },
        },
        'eventCategory': 'Insight',
    }


def _folder(prefix, account, kind, region, when, org_id):
    parts = [prefix.strip('/')] if prefix else []
    parts += ['AWSLogs'] + ([org_id] if org_id else []) + [account, kind, region, when.strftime('%Y/%m/%d')]
    return '/'.join(parts)


def object_key(prefix, account, region, when, rng, org_id=None, kind='CloudTrail'):
    """The key of a log file (`kind='CloudTrail'`) or an Insight file (`kind='CloudTrail-Insight'`).

    `when` is the delivery time: the key carries its minute, not the records' times.
    """
    if kind not in ('CloudTrail', 'CloudTrail-Insight'):
        raise ValueError(f'not a log kind: {kind!r} (digests: use digest_key)')
    when = as_utc(when)
    suffix = ''.join(rng.choice(_SUFFIX_CHARS) for _ in range(16))
    name = f'{account}_{kind}_{region}_{when:%Y%m%dT%H%MZ}_{suffix}.json.gz'
    return f'{_folder(prefix, account, kind, region, when, org_id)}/{name}'


def digest_key(prefix, account, region, trail_name, when, org_id=None):
    """The key of an hourly digest file: its name holds the trail and a timestamp to the second."""
    when = as_utc(when)
    name = f'{account}_CloudTrail-Digest_{region}_{trail_name}_{region}_{when:%Y%m%dT%H%M%SZ}.json.gz'
    return f'{_folder(prefix, account, "CloudTrail-Digest", region, when, org_id)}/{name}'


def gzip_json(obj):
    # Compact JSON like CloudTrail's, mtime=0 so the same records give the same bytes.
    return gzip.compress(json.dumps(obj, separators=(',', ':')).encode(), mtime=0)


def gzip_records(records):
    """The body of a log or Insight file."""
    return gzip_json({'Records': list(records)})


def digest_body(rng, account, bucket, key, start, end, log_files=(), previous=None):
    """The gzipped body of a digest file: hashes of the log files delivered in [start, end), no `Records`.

    `log_files` holds (key, body, records) tuples; `previous` the (bucket, key, body) of the previous digest.
    """

    def times(records):
        stamps = sorted(r['eventTime'] for r in records)
        return {'oldestEventTime': stamps[0], 'newestEventTime': stamps[-1]} if stamps else {}

    files = [
        {
            's3Bucket': bucket,
            's3Object': log_key,
            'hashValue': hashlib.sha256(body).hexdigest(),
            'hashAlgorithm': 'SHA-256',
            **times(records),
        }
        for log_key, body, records in log_files
    ]
    digest = {
        'awsAccountId': account,
        'digestStartTime': _fmt(start),
        'digestEndTime': _fmt(end),
        'digestS3Bucket': bucket,
        'digestS3Object': key,
        'digestPublicKeyFingerprint': f'{rng.getrandbits(128):032x}',
        'digestSignatureAlgorithm': 'SHA256withRSA',
        **times([r for _, _, records in log_files for r in records]),
        'previousDigestS3Bucket': previous[0] if previous else None,
        'previousDigestS3Object': previous[1] if previous else None,
        'previousDigestHashValue': hashlib.sha256(previous[2]).hexdigest() if previous else None,
        'previousDigestHashAlgorithm': 'SHA-256' if previous else None,
        'previousDigestSignature': f'{rng.getrandbits(512):0128x}' if previous else None,
        'logFiles': files,
    }
    return gzip_json(digest)


def utc(*args):
    """datetime(*args) in UTC: shorthand for tests."""
    return datetime(*args, tzinfo=timezone.utc)
