"""CloudTrail's S3 key layout, as pure functions.

A log object is stored as
``[<S3KeyPrefix>/]AWSLogs/[<org id>/]<account>/<kind>/<region>/YYYY/MM/DD/<account>_<kind>_<region>_<YYYYMMDDTHHmmZ>_<random>.json.gz``
where <kind> is ``CloudTrail`` (API activity) or ``CloudTrail-Insight``. ``CloudTrail-Digest`` objects are
integrity digests, not activity, and are never read.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone

# The kinds of folders that hold records. Digest folders are deliberately absent.
RECORD_KINDS = ('CloudTrail', 'CloudTrail-Insight')

_KEY_TIME = re.compile(r'_(\d{8}T\d{4})Z_[^/]*$')
_ACCOUNT = re.compile(r'^\d{12}$')
_ORG = re.compile(r'^o-[a-z0-9]{10,32}$')


@dataclass(frozen=True)
class LogFolder:
    """One (account, kind, region) folder of a trail: the unit that is listed and has a cursor."""

    prefix: str  # '<...>/AWSLogs/[<org>/]<account>/<kind>/<region>/'
    account: str
    kind: str
    region: str


def logs_root(key_prefix):
    """The 'AWSLogs/' folder under a trail's S3 key prefix ('' or 'a/b' or 'a/b/')."""
    key_prefix = (key_prefix or '').strip('/')
    return f'{key_prefix}/AWSLogs/' if key_prefix else 'AWSLogs/'


def is_account(name):
    return bool(_ACCOUNT.match(name))


def is_organization(name):
    return bool(_ORG.match(name))


def delivery_stamp(key):
    """The delivery minute in an object's name ('YYYYMMDDTHHmm', sorts as time), or '' when there is none."""
    match = _KEY_TIME.search(key)
    return match.group(1) if match else ''


def key_time(key):
    """The delivery minute in an object's name (UTC), or None for a key that is not a CloudTrail log."""
    try:
        return datetime.strptime(delivery_stamp(key), '%Y%m%dT%H%M').replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def day_folder(folder, when):
    """The listing start for a folder that has no cursor yet: the day folder of `when`.

    Listing after it yields every key of that day and later; keys older than `when` are then skipped.
    """
    return f'{folder.prefix}{when:%Y/%m/%d}/'
