"""Fill an emulator with trails and CloudTrail objects.

moto creates trails but never writes log files, so the objects are generated here (see samples.py) and put
where CloudTrail would put them.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from devtools import samples
from devtools.emulator import client


@dataclass(frozen=True)
class Trail:
    name: str
    arn: str
    bucket: str
    prefix: str | None
    account: str
    region: str  # the trail's home region
    org_id: str | None = None
    multi_region: bool = True


def create_trail(
    url,
    name,
    bucket,
    *,
    prefix=None,
    multi_region=True,
    organization=False,
    logging=True,
    region='us-east-1',
    bucket_region=None,
):
    """Create `bucket` (in `bucket_region`, default `region`) and a trail writing to it; start logging.

    `organization=True` makes an organization trail, creating the organization first (moto would accept the
    flag without one, AWS would not). Makes 4 requests (one fewer without logging, one more with an
    organization): count them when the server runs with INITIAL_NO_AUTH_ACTION_COUNT.
    """
    account = client('sts', url, region).get_caller_identity()['Account']
    org_id = _organization_id(url) if organization else None

    bucket_region = bucket_region or region
    s3 = client('s3', url, bucket_region)
    if bucket_region == 'us-east-1':
        s3.create_bucket(Bucket=bucket)  # us-east-1 refuses a LocationConstraint naming itself
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={'LocationConstraint': bucket_region})
    # No bucket policy: moto does not check that CloudTrail may write to the bucket, only that it exists.

    cloudtrail = client('cloudtrail', url, region)
    params = {
        'Name': name,
        'S3BucketName': bucket,
        'IsMultiRegionTrail': multi_region,
        'IsOrganizationTrail': organization,
    }
    if prefix:
        params['S3KeyPrefix'] = prefix
    arn = cloudtrail.create_trail(**params)['TrailARN']
    if logging:
        cloudtrail.start_logging(Name=name)
    return Trail(name, arn, bucket, prefix, account, region, org_id, multi_region)


def _organization_id(url):
    organizations = client('organizations', url)
    try:
        return organizations.create_organization(FeatureSet='ALL')['Organization']['Id']
    except organizations.exceptions.AlreadyInOrganizationException:
        return organizations.describe_organization()['Organization']['Id']


def put_object(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def put_objects(
    s3,
    bucket,
    prefix,
    account,
    region,
    times,
    records_per_object,
    rng,
    *,
    org_id=None,
    include_read_only_share=0.4,
    error_share=0.05,
):
    """One log file per delivery time in `times`; returns [(key, records)] in the order written.

    `records_per_object` is a count or a (min, max) range. Records fall in the 5 minutes before their file's
    delivery time, in no particular order, as CloudTrail writes them.
    """
    written = []
    for when in times:
        count = records_per_object if isinstance(records_per_object, int) else rng.randint(*records_per_object)
        records = [
            samples.record(
                rng,
                when - timedelta(seconds=rng.randrange(300)),
                account,
                region,
                read_only=rng.random() < include_read_only_share,
                error=rng.random() < error_share,
            )
            for _ in range(count)
        ]
        key = samples.object_key(prefix, account, region, when, rng, org_id=org_id)
        put_object(s3, bucket, key, samples.gzip_records(records))
        written.append((key, records))
    return written


@dataclass
class Day:
    """What seed_day wrote."""

    trail: Trail
    now: datetime
    logs: list = field(default_factory=list)  # [(key, records)]
    insights: list = field(default_factory=list)  # [(key, records)]
    digests: list = field(default_factory=list)  # [key]

    def records(self):
        return [r for _, records in self.logs for r in records]


def seed_day(
    url,
    now=None,
    *,
    seed=0,
    regions=('us-east-1', 'eu-west-1', 'ap-southeast-2'),
    bucket='demo-cloudtrail-logs',
    prefix='demo',
    trail_name='demo-trail',
    records_per_object=(10, 30),
    recent_every=timedelta(minutes=1),
    older_every=timedelta(minutes=30),
    digest_hours=3,
):
    """A demo-sized day of one multi-region trail: about 320 log files and 6,400 records with the defaults.

    Per region, one file a minute over the hour before `now` (what a first run with a one-hour lookback
    reads) and one every 30 minutes over the 23 hours before that (what it skips). Plus hourly digests for
    the last `digest_hours` hours and one Insight file in the home region.
    """
    now = samples.as_utc(now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    trail = create_trail(url, trail_name, bucket, prefix=prefix)
    s3 = client('s3', url)
    day = Day(trail, now)

    hour_ago = now - timedelta(hours=1)
    recent = _times(hour_ago + recent_every, now, recent_every)
    older = _times(now - timedelta(hours=24), hour_ago - older_every, older_every)
    for region in regions:
        day.logs += put_objects(s3, bucket, prefix, trail.account, region, older + recent, records_per_object, rng)

    day.digests = _put_digests(s3, trail, regions, day.logs, now, digest_hours, rng)

    # An Insight: its Start and End in one file (CloudTrail may deliver them apart).
    start = samples.insight_record(rng, now - timedelta(minutes=40), trail.account, trail.region)
    end = samples.insight_record(
        rng,
        now - timedelta(minutes=15),
        trail.account,
        trail.region,
        state='End',
        shared_event_id=start['sharedEventID'],
    )
    insight = [start, end]
    key = samples.object_key(
        prefix, trail.account, trail.region, now - timedelta(minutes=10), rng, kind='CloudTrail-Insight'
    )
    put_object(s3, bucket, key, samples.gzip_records(insight))
    day.insights.append((key, insight))
    return day


def _times(start, end, step):
    """start, start + step, ... up to and including end."""
    times = []
    while start <= end:
        times.append(start)
        start += step
    return times


def _put_digests(s3, trail, regions, logs, now, hours, rng):
    """Hourly digests per region, chained to the previous one, each hashing the files of its hour."""
    # A trail's digest hour starts when its logging started, not on the hour: pick a clock offset.
    last_end = now.replace(minute=0) + timedelta(seconds=rng.randrange(3600))
    if last_end > now:
        last_end -= timedelta(hours=1)
    keys = []
    for region in regions:
        previous = None
        for end in [last_end - timedelta(hours=h) for h in reversed(range(hours))]:
            start = end - timedelta(hours=1)
            files = [
                (key, samples.gzip_records(records), records)
                for key, records in logs
                if f'/{region}/' in key and start <= _key_time(key) < end
            ]
            key = samples.digest_key(trail.prefix, trail.account, region, trail.name, end)
            body = samples.digest_body(rng, trail.account, trail.bucket, key, start, end, files, previous)
            put_object(s3, trail.bucket, key, body)
            previous = (trail.bucket, key, body)
            keys.append(key)
    return keys


def _key_time(key):
    """The delivery minute in a log file's key (..._20261124T1005Z_<suffix>.json.gz)."""
    stamp = key.rsplit('_', 2)[1]
    return datetime.strptime(stamp, '%Y%m%dT%H%MZ').replace(tzinfo=timezone.utc)
