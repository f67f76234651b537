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

CHUNK_BYTES = 256 * 1024
# A record larger than this is not CloudTrail (AWS caps records far below); stop rather than buffer it all.
MAX_RECORD_CHARS = 32 * 1024 * 1024
# Times a body cut short is resumed from where it stopped before the object is given up for this run.
MAX_RESUMES = 5

# Errors of a response body that stops early; botocore does not retry these itself.
_CUT_SHORT = (IncompleteReadError, ResponseStreamingError, ReadTimeoutError, ConnectionClosedError)

_OPENING = re.compile(r'\s*\{\s*"Records"\s*:\s*\[')
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
    return _parse_records(_gunzip(chunks))


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


def _gunzip(chunks):
    """Yield text from gzip bytes (several concatenated gzip members are allowed)."""
    inflater = zlib.decompressobj(wbits=31)
    text = codecs.getincrementaldecoder('utf-8')()
    received = False
    try:
        for chunk in chunks:
            received = received or bool(chunk)
            while chunk:
                yield text.decode(inflater.decompress(chunk))
                chunk = inflater.unused_data
                if chunk:
                    inflater = zlib.decompressobj(wbits=31)
        if not received:
            raise CorruptObject('the object is empty')
        if not inflater.eof:
            raise CorruptObject('the gzip stream ends early')
        yield text.decode(b'', final=True)
    except zlib.error as e:
        raise CorruptObject(f'not gzip data ({e})') from None
    except UnicodeDecodeError as e:
        raise CorruptObject(f'not UTF-8 text ({e.reason})') from None


def _parse_records(texts):
    """Yield each element of the 'Records' array of a JSON document that arrives in pieces."""
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

    # The opening '{"Records": [' (every CloudTrail log object starts so).
    while not (opening := _OPENING.match(buffer)):
        if len(buffer) > 64 or not more():
            raise CorruptObject('not a CloudTrail log: it does not start with {"Records": [')
    pos = opening.end()

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
