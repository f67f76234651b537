"""AWS errors turned into messages an operator can act on: which call failed and which permission to add.

Messages never quote a credential: they are built from the error's code and message, the operation, and the
resource named by the caller, never from a request.
"""

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

# API operation -> the IAM action that allows it.
PERMISSIONS = {
    'DescribeTrails': 'cloudtrail:DescribeTrails',
    'GetTrailStatus': 'cloudtrail:GetTrailStatus',
    'DescribeOrganization': 'organizations:DescribeOrganization',
    'GetBucketLocation': 's3:GetBucketLocation',
    'ListObjectsV2': 's3:ListBucket',
    'GetObject': 's3:GetObject',
    'AssumeRole': 'sts:AssumeRole',
}

_DENIED = {'AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AllAccessDisabled',
           'KMS.AccessDeniedException', 'KMS.DisabledException', 'KMS.NotFoundException'}
# The credentials themselves are refused: adding a permission will not help.
_BAD_CREDENTIALS = {'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'ExpiredTokenException',
                    'InvalidClientTokenId', 'UnrecognizedClientException', 'InvalidToken', 'TokenRefreshRequired'}
# Still failing after botocore's retries, but likely to pass later.
_TRANSIENT = {'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestLimitExceeded',
              'TooManyRequestsException', 'RequestThrottled', 'RequestThrottledException', 'ServiceUnavailable',
              'InternalError', 'InternalFailure', 'ServiceUnavailableException', 'RequestTimeout',
              'RequestTimeTooSkewed', 'BandwidthLimitExceeded', 'EC2ThrottledException'}
_XML_FIELD = '<{0}>([^<]*)</{0}>'


class Problem(Exception):
    """A failure of one log source, already explained for the operator."""


def _status(error):
    return error.response.get('ResponseMetadata', {}).get('HTTPStatusCode')


def _code_and_message(error):
    """The error's code and message, also when botocore could not parse the body (then the code is the status).

    Some endpoints (S3-compatible servers, emulators) answer a JSON-protocol API with an XML error document.
    """
    info = error.response.get('Error', {})
    code, message = str(info.get('Code') or 'Unknown'), str(info.get('Message') or '')
    if message.lstrip().startswith('<'):
        found_code = re.search(_XML_FIELD.format('Code'), message)
        found_message = re.search(_XML_FIELD.format('Message'), message)
        code = found_code.group(1) if found_code else code
        message = found_message.group(1) if found_message else ''
    return code, ' '.join(message.split())[:300]


def explain(error, what):
    """One line: what failed, why, and what to do. `what` names the resource (trail, bucket, key)."""
    if isinstance(error, Problem):
        return str(error)
    if isinstance(error, NoCredentialsError):
        return (f'{what}: no AWS credentials found: set aws_access_key_id/aws_secret_access_key, aws_profile or '
                f'role_arn, or give the Agent an instance profile')
    if isinstance(error, ClientError):
        code, message = _code_and_message(error)
        operation = error.operation_name
        permission = PERMISSIONS.get(operation, operation)
        text = f'{what}: {operation} failed with {code}'
        if message:
            text += f' ({message})'
        if code.startswith('KMS.') or 'kms' in message.lower():
            return text + ': the trail is encrypted with SSE-KMS; allow kms:Decrypt on its key'
        if code in _BAD_CREDENTIALS:
            return text + (': the credentials are refused (wrong, revoked or expired): check aws_access_key_id, '
                           'aws_secret_access_key, aws_session_token or aws_profile, or the identity of role_arn')
        if operation == 'AssumeRole' and (code in _DENIED or _status(error) == 403):
            return text + (': allow sts:AssumeRole on the role to the identity the check uses, and check that the '
                           "role's trust policy accepts it (and external_id, if it requires one)")
        if code in _DENIED or _status(error) == 403:
            return text + f': allow {permission} to the identity the check uses'
        if code == 'NoSuchBucket':
            return text + ': the bucket does not exist: check the trail (or `bucket`) and its account'
        if code in _TRANSIENT or (_status(error) or 0) >= 500:
            return text + (' after every retry: what is left is read again on the next run; if this persists, '
                           'lower `workers` or raise `max_attempts`')
        return text
    if isinstance(error, (IncompleteReadError, ResponseStreamingError, ConnectionClosedError)):
        return (f'{what}: the connection was cut while reading ({type(error).__name__}), also after resuming: '
                f'the object is read again on the next run')
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError)):
        return (f'{what}: {error}: the endpoint did not answer in time after every retry: check the network path '
                f'to AWS (proxy, VPC endpoint, endpoint_url), or raise connect_timeout / read_timeout')
    if isinstance(error, BotoCoreError):
        return f'{what}: {error}'
    return f'{what}: {type(error).__name__}: {error}'
