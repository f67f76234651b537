"""Streaming parse of log objects, without AWS: every record comes out, whatever the piece boundaries."""

import gzip
import json

import pytest

from cloudtrail.objects import CorruptObject, parse

RECORDS = [{'eventName': f'Call{i}', 'eventSource': 'ec2.amazonaws.com', 'requestParameters': {'s': 'é' * i}}
           for i in range(200)]


def pieces(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize('size', [1, 7, 4096, 10**9])
def test_records_come_out_whole_and_in_order_at_any_piece_size(size):
    data = gzip.compress(json.dumps({'Records': RECORDS}, indent=1).encode())
    assert list(parse(pieces(data, size))) == RECORDS


def test_concatenated_gzip_members():
    text = json.dumps({'Records': RECORDS}).encode()
    data = gzip.compress(text[:1000]) + gzip.compress(text[1000:])
    assert list(parse(pieces(data, 333))) == RECORDS


def test_empty_records_array():
    assert list(parse([gzip.compress(b'{"Records":[]}')])) == []


@pytest.mark.parametrize('data, message', [
    (b'', 'empty'),
    (b'{"Records": []}', 'not gzip'),
    (gzip.compress(b'{"Records": [{"a": 1}, {"b": '), 'invalid JSON'),
    (gzip.compress(b'{"Records": [{"a": 1}'), 'not closed'),
    (gzip.compress(b'{"awsAccountId": "1", "digestStartTime": "x"}'), 'does not start with'),
    (gzip.compress(b'<html>nope</html>'), 'does not start with'),
    (gzip.compress(b'{"Records": [{"a": 1}]}')[:-12], 'ends early'),
    (gzip.compress(b'{"Records": [{"a": "\xff\xfe"}]}'), 'UTF-8'),
])
def test_broken_objects_raise_corrupt_object(data, message):
    with pytest.raises(CorruptObject, match=message):
        list(parse(pieces(data, 5)))
