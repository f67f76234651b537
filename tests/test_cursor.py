"""The cursor's rules, without AWS: what is read, what is skipped, and how far listings move forward."""

import json
import logging
from datetime import datetime, timezone

import pytest

from cloudtrail.cursor import CursorError, FolderCursor
from cloudtrail.stores import AgentStore, cursor_key

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc).timestamp()
HOUR = 3600


def tail(hhmm, suffix='A', day='24'):
    return f'2026/11/{day}/123456789012_CloudTrail_us-east-1_202611{day}T{hhmm}Z_{suffix * 16}.json.gz'


def test_fresh_cursor_reads_only_the_lookback():
    cursor = FolderCursor.fresh(NOW, lookback=HOUR)
    new, too_old = cursor.select([tail('1030'), tail('1100'), tail('1130')])
    assert new == [tail('1100'), tail('1130')]
    assert too_old == [tail('1030')]


def test_lookback_crossing_midnight_lists_from_the_previous_day():
    cursor = FolderCursor.fresh(datetime(2026, 11, 24, 0, 30, tzinfo=timezone.utc).timestamp(), lookback=HOUR)
    assert cursor.after == '2026/11/23/'
    new, _ = cursor.select([tail('2345', day='23'), tail('0010')])
    assert new == [tail('2345', day='23'), tail('0010')]


def test_done_objects_are_not_selected_again():
    cursor = FolderCursor.fresh(NOW, lookback=HOUR)
    cursor.mark_done(tail('1100'))
    assert cursor.select([tail('1100'), tail('1105')])[0] == [tail('1105')]


def test_after_trails_the_newest_done_key_by_the_window():
    cursor = FolderCursor(after='2026/11/24/')
    for hhmm in ('0800', '0900', '0955', '1000', '1100'):
        cursor.mark_done(tail(hhmm))
    cursor.advance(pending=set(), window=HOUR)
    # 1100 - 1h = 1000: keys of 10:00 and before are now below `after`.
    assert cursor.after == tail('1000')
    assert cursor.done == {tail('1100')}


def test_a_late_object_inside_the_window_is_still_selected():
    cursor = FolderCursor(after='2026/11/24/')
    cursor.mark_done(tail('1100'))
    cursor.mark_done(tail('1130'))
    cursor.advance(pending=set(), window=HOUR)
    late = tail('1110', suffix='B')
    assert cursor.select([late, tail('1100'), tail('1130')])[0] == [late]


def test_after_never_passes_a_pending_key():
    cursor = FolderCursor(after='2026/11/24/')
    for hhmm in ('0800', '0900', '1100'):
        cursor.mark_done(tail(hhmm))
    failed = tail('0830')
    cursor.advance(pending={failed}, window=HOUR)
    assert cursor.after == tail('0800')
    assert cursor.select([failed])[0] == [failed]


def test_same_minute_keys_stay_distinct():
    cursor = FolderCursor(after='2026/11/24/')
    cursor.mark_done(tail('1000', 'A'))
    cursor.mark_done(tail('1200', 'A'))
    cursor.advance(pending=set(), window=HOUR)
    # after = 10:00 'A...'; a key of the same minute sorting above it is listed and read.
    assert cursor.select([tail('1000', 'B')])[0] == [tail('1000', 'B')]


def test_round_trip():
    cursor = FolderCursor.fresh(NOW, HOUR)
    cursor.mark_done(tail('1130'))
    again = FolderCursor.loads(cursor.dumps())
    assert (again.after, again.done, again.not_before) == (cursor.after, cursor.done, cursor.not_before)


@pytest.mark.parametrize('text', ['{"v":1,"after":"2026/11/2', 'garbage', '[]', '{"v":9,"after":"","done":[]}',
                                  '{"v":1,"after":3,"done":[]}', '{"v":1,"after":"","done":[1]}'])
def test_unreadable_values_raise_cursor_error(text):
    with pytest.raises(CursorError):
        FolderCursor.loads(text)


def agent_store():
    values = {}
    return values, AgentStore(values.get, values.__setitem__, logging.getLogger('test'))


FOLDER = 'AWSLogs/1/CloudTrail/us-east-1/'


def test_store_replaces_an_unreadable_value_with_a_fresh_start(caplog):
    values, store = agent_store()
    for slot in 'ab':
        values[f'{cursor_key("arn:trail", FOLDER)}_{slot}'] = '{"v":1,"after":"20'
    cursor = store.load('arn:trail', FOLDER, NOW, HOUR)
    assert cursor.after == '2026/11/24/' and cursor.not_before == '20261124T1100'
    assert 'unreadable' in caplog.text


def test_store_falls_back_on_the_previous_copy_when_the_newest_is_cut_short(caplog):
    values, store = agent_store()
    cursor = FolderCursor.fresh(NOW, HOUR)
    cursor.mark_done(tail('1110'))
    store.save('arn:trail', FOLDER, cursor)
    cursor.mark_done(tail('1120'))
    store.save('arn:trail', FOLDER, cursor)
    cursor.mark_done(tail('1130'))
    store.save('arn:trail', FOLDER, cursor)
    assert store.load('arn:trail', FOLDER, NOW, HOUR).done == {tail('1110'), tail('1120'), tail('1130')}

    newest = max(values, key=lambda k: json.loads(values[k])['n'])
    values[newest] = values[newest][:25]  # a crash in the middle of the Agent's write
    again = AgentStore(values.get, values.__setitem__, logging.getLogger('test'))
    assert again.load('arn:trail', FOLDER, NOW, HOUR).done == {tail('1110'), tail('1120')}
    assert 'using the other one' in caplog.text
    # The next save overwrites the damaged copy, and the good one stays as the fallback.
    cursor = again.load('arn:trail', FOLDER, NOW, HOUR)
    cursor.mark_done(tail('1140'))
    again.save('arn:trail', FOLDER, cursor)
    assert all(FolderCursor.loads(v) for v in values.values())


def test_store_keys_are_safe_for_the_agent_and_distinct():
    a = cursor_key('arn:aws:cloudtrail:us-east-1:1:trail/a', 'AWSLogs/1/CloudTrail/us-east-1/')
    b = cursor_key('arn:aws:cloudtrail:us-east-1:1:trail/a', 'AWSLogs/1/CloudTrail/eu-west-1/')
    assert a != b
    assert all(c.isalnum() or c in '_-' for c in a + b)
