"""The fast parse (orjson on batches cut at record starts) gives exactly what json.loads gives, whatever the input
does to its guesses; and a cut-short object still yields every whole record before the cut."""

import gzip
import json
import random
from datetime import datetime, timezone

import pytest

from cloudtrail import objects
from cloudtrail.objects import CorruptObject, parse
from devtools import samples

SIZES = [1, 7, 4096, 10**9]


def pieces(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


def as_object(records, **dumps):
    return gzip.compress(json.dumps({'Records': records}, **dumps).encode())


def sample_records(count, seed=1):
    rng = random.Random(seed)
    when = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    return [samples.record(rng, when, '123456789012', 'eu-west-1', error=rng.random() < 0.2) for _ in range(count)]


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('dumps', [{'separators': (',', ':')}, {}, {'indent': 2}])
def test_cloudtrail_records_come_out_as_json_loads_gives_them(size, dumps, monkeypatch):
    records = sample_records(300)
    monkeypatch.setattr(objects, 'PIECE_BYTES', 16 * 1024)  # many batches, cut anywhere
    batches = []
    loads_array = objects._loads_array
    monkeypatch.setattr(objects, '_loads_array', lambda b: batches.append(loads_array(b)) or batches[-1])
    assert list(parse(pieces(as_object(records, **dumps), size))) == records
    assert len(batches) > 10 and all(batch is not None for batch in batches)  # the fast way, all along


@pytest.mark.parametrize('size', SIZES)
def test_nested_objects_that_start_like_records_do_not_fool_it(size):
    # Every record starts with "type", and so do the objects nested in it: a batch cut there does not parse, and
    # the records are read one by one instead. (A string cannot fool it: its quotes are escaped.)
    records = [{'type': 'x', 'n': i, 'identity': {'type': 'y', 'list': [{'type': 'z'}, {'type': 'w'}]},
                's': '},{"type": "fake"}, {"type":'} for i in range(200)]
    assert list(parse(pieces(as_object(records), size))) == records


def test_mixed_first_keys_values_that_are_not_records_and_non_ascii():
    records = [{'b': 1}, 5, {'a': 'é中😀'}, None, {'b': [1, 2]}, 'x', {'c': {}}] * 50
    assert list(parse(pieces(as_object(records, ensure_ascii=False), 333))) == [r for r in records
                                                                                  if isinstance(r, dict)]


@pytest.mark.parametrize('size', [7, 4096, 10**9])
def test_an_object_cut_short_yields_its_whole_records_then_fails(size):
    records = sample_records(100)
    text = json.dumps({'Records': records}).encode()
    data = gzip.compress(text)[:-200]  # the gzip stream stops early, inside the last records
    got = []
    with pytest.raises(CorruptObject, match='ends early'):
        for record in parse(pieces(data, size)):
            got.append(record)
    assert 90 < len(got) < 100
    assert got == records[:len(got)]


def test_invalid_utf8_in_a_later_record_is_corrupt():
    records = sample_records(50)
    text = json.dumps({'Records': records}).encode().replace(b'"eventName"', b'"event\xffName"', 1)
    with pytest.raises(CorruptObject, match='UTF-8'):
        list(parse(pieces(gzip.compress(text), 4096)))
