"""Where cursors live: the Agent's persistent cache, or S3 objects that follow an instance across runners.

Both keep one small value per (log source, folder). The S3 store writes with conditional requests
(`If-None-Match: *` to create, `If-Match: <etag>` to update), so that two runners of one instance can never both
advance a cursor: the second write fails, and the runner that lost gives the folder up for that run.
"""

import hashlib
import json
import time
import uuid

from botocore.exceptions import ClientError

from .cursor import CursorError, FolderCursor

# S3 answers a failed condition with 412, and a concurrent conditional write with 409.
_LOST_RACE = {'PreconditionFailed', 'ConditionalRequestConflict'}
_ABSENT = {'NoSuchKey', '404', 'NotFound'}


class CursorConflict(Exception):
    """Another runner advanced this cursor since it was read."""


def cursor_key(source_identity, folder_prefix):
    """A name safe for the Agent's cache (it strips characters outside [A-Za-z0-9_-]) and for S3."""
    digest = hashlib.sha256(f'{source_identity}\n{folder_prefix}'.encode()).hexdigest()
    return f'cursor_{digest[:40]}'


def _parse(text, what, log, now, lookback):
    if text:
        try:
            return FolderCursor.loads(text)
        except CursorError as e:
            log.warning('The saved position for %s is unreadable (%s): starting again from %s seconds ago',
                        what, e, lookback)
    return FolderCursor.fresh(now, lookback)


class AgentStore:
    """Cursors in the Agent's persistent cache: files on the node that runs the check.

    The Agent writes a cache file in place, so a crash can leave it cut short. Each cursor is therefore written
    to two entries in turn, numbered: when the newest is damaged, the other one is one object behind, and only
    that object is read again. `read` and `write` are the check's read_persistent_cache / write_persistent_cache.
    """

    def __init__(self, read, write, log):
        self._read, self._write, self._log = read, write, log
        self._numbers = {}  # cursor key -> number of the last write

    def load(self, source_identity, folder_prefix, now, lookback):
        key = cursor_key(source_identity, folder_prefix)
        copies, damaged = [], []
        for slot in ('a', 'b'):
            try:
                text = self._read(f'{key}_{slot}')
                if text:
                    copies.append((json.loads(text)['n'], FolderCursor.loads(text)))
            except Exception as e:  # cut short, not text, not JSON, or not a cursor: all mean the same here
                damaged.append(f'{type(e).__name__}: {e}')
        what = f's3 folder {folder_prefix} of {source_identity}'
        if not copies:
            self._numbers[key] = 0
            if damaged:
                self._log.warning('The saved position for %s is unreadable (%s): starting again from %s seconds '
                                  'ago', what, '; '.join(damaged), lookback)
            return FolderCursor.fresh(now, lookback)
        if damaged:
            self._log.warning('One of the two saved copies of the position for %s is unreadable (%s): using the '
                              'other one; at most one object is read again', what, damaged[0])
        number, cursor = max(copies, key=lambda copy: copy[0])
        self._numbers[key] = number
        return cursor

    def save(self, source_identity, folder_prefix, cursor):
        key = cursor_key(source_identity, folder_prefix)
        number = self._numbers.get(key, 0) + 1
        self._write(f'{key}_{"ab"[number % 2]}', cursor.dumps(n=number))
        self._numbers[key] = number


class S3Store:
    """Cursors as objects `<prefix><key>.json` in a bucket: they follow the instance to whichever runner has it."""

    def __init__(self, s3, bucket, prefix, log):
        self._s3, self._bucket, self._prefix, self._log = s3, bucket, prefix, log
        self._etags = {}  # object key -> ETag read or written last by this runner; None: absent when read

    def _key(self, source_identity, folder_prefix):
        return f'{self._prefix}{cursor_key(source_identity, folder_prefix)}.json'

    def load(self, source_identity, folder_prefix, now, lookback):
        key = self._key(source_identity, folder_prefix)
        text, self._etags[key] = _get(self._s3, self._bucket, key)
        return _parse(text, f's3://{self._bucket}/{key} ({folder_prefix} of {source_identity})', self._log, now,
                      lookback)

    def save(self, source_identity, folder_prefix, cursor):
        key = self._key(source_identity, folder_prefix)
        # S3's ETag is the content's MD5: a unique mark per write keeps two equal values from sharing an ETag.
        text = cursor.dumps(write=uuid.uuid4().hex)
        self._etags[key] = _put(self._s3, self._bucket, key, text, self._etags.get(key))


class Lease:
    """One runner at a time for an instance: an object naming its owner and an expiry, taken and renewed with
    conditional writes. A runner that dies without releasing it is replaced once the lease expires."""

    def __init__(self, s3, bucket, key, owner, seconds):
        self._s3, self._bucket, self._key, self.owner, self._seconds = s3, bucket, key, owner, seconds

    def acquire(self, now=None):
        """Take or renew the lease. Returns None when held, else who holds it and until when."""
        now = time.time() if now is None else now
        text, etag = _get(self._s3, self._bucket, self._key)
        if text:
            try:
                held = json.loads(text)
                if held['owner'] != self.owner and held['expires'] > now:
                    return f'{held["owner"]} until {time.strftime("%H:%M:%S", time.gmtime(held["expires"]))} UTC'
            except (ValueError, KeyError, TypeError):
                pass  # an unreadable lease is nobody's
        body = json.dumps({'owner': self.owner, 'expires': now + self._seconds})
        try:
            _put(self._s3, self._bucket, self._key, body, etag)
        except CursorConflict:
            return 'another runner (it took the lease at the same moment)'
        return None


def _get(s3, bucket, key):
    """(text, etag) of an object, or ('', None) when there is none."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if e.response.get('Error', {}).get('Code') in _ABSENT:
            return '', None
        raise
    with response['Body'] as body:
        return body.read().decode('utf-8', 'replace'), response['ETag']


def _put(s3, bucket, key, text, etag):
    """Write `text` only if the object is still as it was read (`etag`, or absent when None); returns the new ETag."""
    condition = {'IfMatch': etag} if etag else {'IfNoneMatch': '*'}
    try:
        return s3.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType='application/json',
                             **condition)['ETag']
    except ClientError as e:
        if e.response.get('Error', {}).get('Code') in _LOST_RACE:
            raise CursorConflict(f's3://{bucket}/{key} was changed by another runner') from None
        raise
