"""Where the logs are: trails (or a configured bucket) -> log sources -> the folders to list.

A log source is one trail's delivery location. Its folders are one per (account, kind, region), found by
listing, so that multi-region and organization trails pick up new regions and accounts by themselves.
"""

import hashlib
from dataclasses import dataclass

from .layout import RECORD_KINDS, LogFolder, is_account, is_organization, logs_root
from .problems import Problem, explain


@dataclass(frozen=True)
class LogSource:
    name: str  # the trail's name: the `trail:` tag
    identity: str  # what the cursor is keyed on: the trail ARN, or s3://bucket/prefix in static mode
    bucket: str
    key_prefix: str  # the trail's S3KeyPrefix ('' when none)
    bucket_region: str
    account: str | None = None  # a trail's own account; None to discover accounts by listing
    org_id: str | None = None  # organization trails deliver under AWSLogs/<org id>/


def discover_trails(aws, wanted=None):
    """The active trails (all, or those named in `wanted` by name or ARN), as log sources.

    Returns (sources, problems): a trail that cannot be used is reported by name, and does not stop the others.
    """
    cloudtrail = aws.client('cloudtrail')
    try:
        trails = cloudtrail.describe_trails(includeShadowTrails=True)['trailList']
    except Exception as e:
        raise Problem(explain(e, 'listing trails')) from e

    by_arn = {}
    for trail in trails:
        if wanted and trail['Name'] not in wanted and trail['TrailARN'] not in wanted:
            continue
        by_arn.setdefault(trail['TrailARN'], trail)
    missing = set(wanted or ()) - {t['Name'] for t in by_arn.values()} - set(by_arn)

    sources, problems = [], {name: Problem(f'trail {name}: not found by DescribeTrails') for name in missing}
    org_id = None
    for arn, trail in sorted(by_arn.items()):
        name = trail['Name']
        try:
            status = aws.client('cloudtrail', trail.get('HomeRegion')).get_trail_status(Name=arn)
            if not status.get('IsLogging'):
                continue
            if trail.get('IsOrganizationTrail') and org_id is None:
                org_id = aws.client('organizations').describe_organization()['Organization']['Id']
            sources.append(LogSource(
                name=name,
                identity=arn,
                bucket=trail['S3BucketName'],
                key_prefix=trail.get('S3KeyPrefix') or '',
                bucket_region=bucket_region(aws, trail['S3BucketName']),
                account=arn.split(':')[4],
                org_id=org_id if trail.get('IsOrganizationTrail') else None,
            ))
        except Exception as e:
            problems[name] = Problem(explain(e, f'trail {name}'))
    return sources, problems


def static_source(aws, bucket, prefix, name):
    """A log source for a bucket and prefix given in the configuration: no CloudTrail API call."""
    prefix = (prefix or '').strip('/')
    return LogSource(
        name=name or bucket,
        identity=f's3://{bucket}/{prefix}',
        bucket=bucket,
        key_prefix=prefix,
        bucket_region=bucket_region(aws, bucket),
    )


def bucket_region(aws, bucket):
    location = aws.client('s3').get_bucket_location(Bucket=bucket).get('LocationConstraint')
    # Buckets in us-east-1 report no location; 'EU' is the legacy name of eu-west-1.
    return {None: 'us-east-1', '': 'us-east-1', 'EU': 'eu-west-1'}.get(location, location)


def log_folders(s3, source):
    """Every (account, kind, region) folder of a source that holds records; digest folders are left out."""
    root = logs_root(source.key_prefix)
    if source.org_id:
        org_root = f'{root}{source.org_id}/'
        account_roots = [(a, f'{org_root}{a}/') for a in _children(s3, source.bucket, org_root) if is_account(a)]
    elif source.account:
        account_roots = [(source.account, f'{root}{source.account}/')]
    else:
        account_roots = []
        for child in _children(s3, source.bucket, root):
            if is_account(child):
                account_roots.append((child, f'{root}{child}/'))
            elif is_organization(child):
                org_root = f'{root}{child}/'
                account_roots += [(a, f'{org_root}{a}/') for a in _children(s3, source.bucket, org_root)
                                  if is_account(a)]
    folders = []
    for account, account_root in account_roots:
        for kind in RECORD_KINDS:
            for region in _children(s3, source.bucket, f'{account_root}{kind}/'):
                folders.append(LogFolder(f'{account_root}{kind}/{region}/', account, kind, region))
    return folders


def in_partition(source, folder, index, count):
    """Whether `folder` belongs to partition `index` of `count`: a stable hash of (trail, account, region).

    Both kinds of folder (API activity and Insights) of an (account, region) go to the same partition.
    """
    digest = hashlib.sha256(f'{source.identity}\n{folder.account}\n{folder.region}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big') % count == index


def _children(s3, bucket, prefix):
    """Names of the 'folders' directly under `prefix`."""
    names = []
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix, Delimiter='/'):
        names += [p['Prefix'][len(prefix):].rstrip('/') for p in page.get('CommonPrefixes', ())]
    return names
