"""Per-folder progress: which log objects are done, and where the next listing starts.

CloudTrail delivers objects minutes (sometimes hours) after the minute in their name, so an object can appear
below keys already read. A cursor therefore keeps two things:

- ``after``: every key at or below it is done; listings start after it (S3 ``StartAfter``);
- ``done``: the keys above ``after`` that are done.

``after`` only moves up to the newest done key minus the late-arrival window, and never past a key that was
listed but not done, so a late object inside the window is still read, and a failed object is retried.
Keys are stored relative to their folder to keep the value small.
"""

import json
import re
from datetime import datetime, timedelta, timezone

VERSION = 1

# '<YYYY/MM/DD/><account>_<kind>_<region>_><YYYYMMDDTHHmm>Z_<random>.json.gz'
_TAIL = re.compile(r'^(\d{4}/\d{2}/\d{2}/)([^/]*_)(\d{8}T\d{4})Z_[^/]*$')


class CursorError(ValueError):
    """A stored cursor that cannot be used."""


def _stamp(when):
    return when.strftime('%Y%m%dT%H%M')


class FolderCursor:
    def __init__(self, after, done=(), not_before=''):
        self.after = after
        self.done = set(done)
        # Keys stamped before this minute ('YYYYMMDDTHHmm') are older than the initial lookback: not read.
        self.not_before = not_before

    @classmethod
    def fresh(cls, now, lookback):
        """A cursor for a folder never read: start `lookback` seconds before `now` (epoch seconds)."""
        start = datetime.fromtimestamp(now - lookback, timezone.utc)
        return cls(after=f'{start:%Y/%m/%d}/', not_before=_stamp(start))

    @classmethod
    def loads(cls, text):
        try:
            data = json.loads(text)
            if data['v'] != VERSION:
                raise CursorError(f'unknown cursor version {data["v"]!r}')
            after, done, not_before = data['after'], data['done'], data.get('not_before', '')
            if not isinstance(after, str) or not isinstance(not_before, str):
                raise CursorError('`after` and `not_before` must be strings')
            if not isinstance(done, list) or not all(isinstance(t, str) for t in done):
                raise CursorError('`done` must be a list of strings')
        except CursorError:
            raise
        except (ValueError, TypeError, KeyError) as e:
            raise CursorError(f'{type(e).__name__}: {e}') from None
        return cls(after, done, not_before)

    def dumps(self, **extra):
        data = {'v': VERSION, 'after': self.after, 'done': sorted(self.done), **extra}
        if self.not_before:
            data['not_before'] = self.not_before
        return json.dumps(data, separators=(',', ':'))

    def select(self, tails):
        """Split listed keys (relative to the folder) into those to read and those older than the lookback.

        Keys older than the lookback are marked done without being read.
        """
        new, too_old = [], []
        for tail in tails:
            if tail <= self.after or tail in self.done:
                continue
            match = _TAIL.match(tail)
            if self.not_before and match and match.group(3) < self.not_before:
                too_old.append(tail)
            else:
                new.append(tail)
        self.done.update(too_old)
        return new, too_old

    def mark_done(self, tail):
        self.done.add(tail)

    def advance(self, pending, window):
        """Move `after` as far as the late-arrival window and the keys still `pending` allow."""
        if not self.done:
            return
        bound = _minus_window(max(self.done), window)
        if pending:
            bound = min(bound, min(pending))
        below = [t for t in self.done if t < bound]
        if below:
            self.after = max(self.after, max(below))
            self.done = {t for t in self.done if t > self.after}


def _minus_window(tail, window):
    """A string that sorts after every key of the minute `window` seconds before `tail`'s, and before later ones."""
    match = _TAIL.match(tail)
    if not match:
        return ''  # not a dated CloudTrail key: no basis to move forward
    _, head, stamp = match.groups()
    when = datetime.strptime(stamp, '%Y%m%dT%H%M').replace(tzinfo=timezone.utc) - timedelta(seconds=window)
    # '~' sorts after the letters and digits of the random suffix.
    return f'{when:%Y/%m/%d}/{head}{_stamp(when)}Z_~'

