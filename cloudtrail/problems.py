"""AWS errors turned into messages an operator can act on: which call failed and which permission to add."""

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

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

_DENIED = {'AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AllAccessDisabled', 'InvalidAccessKeyId',
           'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidClientTokenId', 'UnrecognizedClientException',
           'KMS.AccessDeniedException', 'KMS.DisabledException', 'KMS.NotFoundException'}


class Problem(Exception):
    """A failure of one log source, already explained for the operator."""


def is_denied(error):
    return isinstance(error, ClientError) and error.response.get('Error', {}).get('Code') in _DENIED


def explain(error, what):
    """One line: what failed, why, and what to do. `what` names the resource (trail, bucket, key)."""
    if isinstance(error, Problem):
        return str(error)
    if isinstance(error, NoCredentialsError):
        return (f'{what}: no AWS credentials found: set aws_access_key_id/aws_secret_access_key, aws_profile or '
                f'role_arn, or give the Agent an instance profile')
    if isinstance(error, ClientError):
        info = error.response.get('Error', {})
        code, message = info.get('Code', 'Unknown'), info.get('Message', '')
        operation = error.operation_name
        permission = PERMISSIONS.get(operation, operation)
        text = f'{what}: {operation} failed with {code}'
        if message:
            text += f' ({message})'
        if code.startswith('KMS.') or 'kms' in message.lower():
            return text + ': the trail is encrypted with SSE-KMS; allow kms:Decrypt on its key'
        if code in _DENIED:
            return text + f': allow {permission} to the identity the check uses'
        return text
    if isinstance(error, BotoCoreError):
        return f'{what}: {error}'
    return f'{what}: {type(error).__name__}: {error}'
