"""S3 side of a log folder: list the keys after a cursor, and stream one object's records.

An object is decompressed and parsed a piece at a time, so memory stays bounded by the largest record rather
than the object's size.
"""

import codecs
import json
import re
import zlib

from botocore.exceptions import (
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

try:
    import orjson  # shipped with the Agent (datadog-checks-base): parses CloudTrail about 1.5x as fast as json
except ImportError:  # pragma: no cover
    orjson = None

CHUNK_BYTES = 256 * 1024
# Bytes of JSON inflated, and then parsed, at a time: about 200 records, some hundreds of kB as Python objects.
PIECE_BYTES = 256 * 1024
# Parsed records are cut from the text at record boundaries; past this without one, parse record by record.
MAX_BATCH_BYTES = 16 * 1024 * 1024
# A record larger than this is not CloudTrail (AWS caps records far below); stop rather than buffer it all.
MAX_RECORD_CHARS = 32 * 1024 * 1024
# Times a body cut short is resumed from where it stopped before the object is given up for this run.
MAX_RESUMES = 5

# Errors of a response body that stops early; botocore does not retry these itself.
_CUT_SHORT = (IncompleteReadError, ResponseStreamingError, ReadTimeoutError, ConnectionClosedError)

_OPENING = re.compile(rb'\s*\{\s*"Records"\s*:\s*\[')
# The start of a record: '{' and its first key (without escapes), e.g. '{"eventVersion":'.
_RECORD_HEAD = re.compile(rb'\s*(\{\s*"[^"\\]{1,100}"\s*:)')
_SEPARATOR = re.compile(r'[\s,]*')
_DECODER = json.JSONDecoder()


class CorruptObject(Exception):
    """The object is not a gzip-compressed CloudTrail log; reading it again will not help."""


def list_keys(s3, bucket, prefix, start_after):
    """Log object keys under `prefix` that sort after `start_after`, in key order."""
    paginator = s3.get_paginator('list_objects_v2')
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, StartAfter=start_after):
        for item in page.get('Contents', ()):
            if item['Key'].endswith('.json.gz'):
                yield item['Key']


def read_records(s3, bucket, key):
    """Yield the records of one CloudTrail log object, one at a time."""
    return parse(_download(s3, bucket, key))


def parse(chunks):
    """Yield the records of a gzip-compressed CloudTrail log given as pieces of bytes."""
    return _parse_records(_inflate(chunks))


def _download(s3, bucket, key):
    """Yield the object's bytes; when the body is cut short, resume with a ranged GET where it stopped."""
    offset, etag, resumes = 0, None, 0
    while True:
        params = {'Bucket': bucket, 'Key': key}
        if offset:
            # If-Match: never splice the rest of a different version onto what was read.
            params.update(Range=f'bytes={offset}-', IfMatch=etag)
        response = s3.get_object(**params)
        etag = etag or response.get('ETag')
        body = response['Body']
        try:
            for chunk in iter(lambda: body.read(CHUNK_BYTES), b''):
                offset += len(chunk)
                yield chunk
            return
        except _CUT_SHORT:
            resumes += 1
            if resumes > MAX_RESUMES:
                raise
        finally:
            body.close()


def _inflate(chunks):
    """Yield the bytes that gzip data inflates to, PIECE_BYTES at most at a time (concatenated members allowed)."""
    inflater = zlib.decompressobj(wbits=31)
    received = False
    try:
        for chunk in chunks:
            received = received or bool(chunk)
            while True:
                piece = inflater.decompress(chunk, PIECE_BYTES)
                if piece:
                    yield piece
                if inflater.eof and inflater.unused_data:
                    chunk = inflater.unused_data  # another gzip member follows
                    inflater = zlib.decompressobj(wbits=31)
                elif inflater.unconsumed_tail or len(piece) == PIECE_BYTES:
                    chunk = inflater.unconsumed_tail  # held back by the cap (b'': output still to come)
                else:
                    break
        if not received:
            raise CorruptObject('the object is empty')
        if not inflater.eof:
            raise CorruptObject('the gzip stream ends early')
    except zlib.error as e:
        raise CorruptObject(f'not gzip data ({e})') from None


def _parse_records(pieces):
    """Yield each element of the 'Records' array of a JSON document that arrives as pieces of UTF-8 bytes."""
    pieces = iter(pieces)
    buffer = b''
    # The opening '{"Records": [' (every CloudTrail log object starts so).
    while not (opening := _OPENING.match(buffer)):
        piece = next(pieces, None) if len(buffer) <= 64 else None
        if piece is None:
            raise CorruptObject('not a CloudTrail log: it does not start with {"Records": [')
        buffer += piece
    buffer = buffer[opening.end():]
    if orjson is None:
        yield from _decode_each(_text(buffer, pieces))
    else:
        yield from _decode_batches(buffer, pieces)


def _decode_batches(buffer, pieces):
    """The fast way: many whole records at a time, parsed by orjson straight from the bytes.

    The records of an object all start alike ('{"eventVersion":' in CloudTrail's logs): the last such start in
    the buffer is taken as the end of a batch of whole records. That guess is checked for free: the batch
    parses as a JSON array only if the cut is between two records, never inside a string or a nested object.
    Anything unexpected (a wrong guess, invalid JSON or UTF-8, a huge record) hands the rest, from the last
    record boundary, to _decode_each, which yields the same records or says what is wrong with the object.
    """
    marker = None
    while True:
        if marker is None and (head := _RECORD_HEAD.match(buffer)):
            marker = head.group(1)
            buffer = buffer[head.start(1):]  # from the first record's '{', so that the search below skips it
        cut = buffer.rfind(marker, 1) if marker else -1
        if cut > 0:
            batch = buffer[:cut].rstrip()
            records = _loads_array(batch[:-1]) if batch.endswith(b',') else None
            if records is None:
                break
            buffer = buffer[cut:]
            for record in records:
                if type(record) is dict:
                    yield record
        elif len(buffer) > MAX_BATCH_BYTES or (marker is None and len(buffer) > 4096):
            break  # no record boundary found where one should be: let the careful way deal with it
        try:
            piece = next(pieces, None)
        except CorruptObject as error:
            # The object is cut short or broken further on: still yield the whole records before that point.
            yield from _decode_each(_text(buffer, _raise(error)))
            return  # the array closed before the point where the object is broken
        if piece is None:
            # The end: the last records, the ']' that closes them and the '}' that closes the object.
            end = buffer.rstrip()
            if end.endswith(b'}') and (end := end[:-1].rstrip()).endswith(b']'):
                records = _loads_array(end[:-1])
                if records is not None:
                    for record in records:
                        if type(record) is dict:
                            yield record
                    return
            break
        buffer += piece
    yield from _decode_each(_text(buffer, pieces))


def _loads_array(elements):
    """The list that '[' + elements + ']' is as JSON, or None when it is not valid JSON (or not UTF-8)."""
    try:
        return orjson.loads(b'[' + elements + b']')
    except orjson.JSONDecodeError:
        return None


def _raise(error):
    raise error
    yield  # a generator: it raises when asked for its first piece


def _text(buffer, pieces):
    """Text from the UTF-8 bytes of `buffer` then `pieces`."""
    decoder = codecs.getincrementaldecoder('utf-8')()
    try:
        yield decoder.decode(buffer)
        for piece in pieces:
            yield decoder.decode(piece)
        yield decoder.decode(b'', final=True)
    except UnicodeDecodeError as e:
        raise CorruptObject(f'not UTF-8 text ({e.reason})') from None


def _decode_each(texts):
    """The careful way: one record at a time with the standard library, from text that starts inside the array."""
    buffer, pos = '', 0
    texts = iter(texts)

    def more():
        nonlocal buffer, pos
        for piece in texts:
            if piece:
                buffer = buffer[pos:] + piece
                pos = 0
                return True
        return False

    while True:
        pos = _SEPARATOR.match(buffer, pos).end()
        if pos == len(buffer):
            if not more():
                raise CorruptObject('the Records array is not closed')
            continue
        if buffer[pos] == ']':
            return
        try:
            record, end = _DECODER.raw_decode(buffer, pos)
        except json.JSONDecodeError as e:
            # Usually the record continues in the next piece; otherwise the JSON is broken.
            if len(buffer) - pos > MAX_RECORD_CHARS or not more():
                raise CorruptObject(f'invalid JSON ({e.msg})') from None
            continue
        pos = end
        if isinstance(record, dict):
            yield record
