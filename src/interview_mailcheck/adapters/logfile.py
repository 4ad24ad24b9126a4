"""Reading a log as a stream of byte blocks: a file, standard input, or gzip-compressed data.

The only module that opens log files. Compression is recognised by the gzip magic bytes, not by
the file name, and decompressed with zlib in bounded blocks, so memory stays flat whatever the
size. I/O and decompression errors become `InputError` (exit 2, one line).
"""

from __future__ import annotations

import io
import itertools
import sys
import zlib
from collections.abc import Iterator
from typing import cast

from interview_mailcheck.errors import InputError, unreadable

STDIN = "-"
BLOCK_SIZE = 4 << 20
"""Bytes read (and, for gzip, decompressed) at a time."""
GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer (CRC-32 and length are checked)
_GZIP_OUTPUT = 1 << 20
"""Decompressed bytes per step: small enough for the allocator to reuse freed blocks."""


def describe(source: str) -> str:
    return "standard input" if source == STDIN else source


Block = bytes | memoryview
"""A block of the log. A memoryview is valid only until the next block is asked for."""


def read_blocks(source: str, block_size: int = BLOCK_SIZE) -> Iterator[Block]:
    """The log's (decompressed) bytes in blocks of about `block_size`; `-` is standard input."""
    name = describe(source)
    if source == STDIN:
        yield from _blocks(cast(io.BufferedIOBase, sys.stdin.buffer), name, block_size)
        return
    try:
        stream = open(source, "rb")  # noqa: SIM115 - closed below, also when the caller stops
    except OSError as error:
        raise unreadable("log file", name, error) from None
    with stream:
        yield from _blocks(stream, name, block_size)


def _blocks(stream: io.BufferedIOBase, name: str, block_size: int) -> Iterator[Block]:
    raw = _raw_blocks(stream, name, block_size)
    first = bytes(next(raw, b""))
    while 0 < len(first) < len(GZIP_MAGIC):  # a pipe may hand over one byte at first
        more = next(raw, b"")
        if not more:
            break
        first += more
    if first.startswith(GZIP_MAGIC):
        yield from _gunzip(first, raw, name)
    elif first:
        yield first
        yield from raw


def _raw_blocks(stream: io.BufferedIOBase, name: str, block_size: int) -> Iterator[Block]:
    """Blocks read into one reused buffer: each is valid until the next is asked for.

    A fresh 4 MiB object per block would make the C allocator's footprint creep upwards over a
    long run (glibc raises its mmap threshold and the heap fragments); one buffer keeps the peak
    memory of a 1 GB log the same as that of a 100 MB one.
    """
    buffer = bytearray(block_size)
    view = memoryview(buffer)
    while True:
        try:
            count = stream.readinto(buffer)
        except IsADirectoryError:
            raise InputError(f"log file is a directory, not a file: {name}") from None
        except OSError as error:
            raise InputError(f"log file cannot be read: {name}: {error.strerror}") from None
        if not count:
            return
        yield view[:count]


def _gunzip(first: bytes, rest: Iterator[Block], name: str) -> Iterator[Block]:
    """Decompress gzip members one after another (`cat a.gz b.gz` is a valid gzip file)."""
    decompressor = zlib.decompressobj(_GZIP_WBITS)
    for compressed in itertools.chain((first,), rest):
        pending = compressed
        while pending:
            if decompressor.eof:  # another member follows, or the zero padding gzip allows
                if not bytes(pending).strip(b"\0"):
                    break
                decompressor = zlib.decompressobj(_GZIP_WBITS)
            try:
                # max_length bounds the output of one call; the rest waits in unconsumed_tail.
                block = decompressor.decompress(pending, _GZIP_OUTPUT)
            except zlib.error as error:
                raise InputError(f"log file is not valid gzip data: {name}: {error}") from None
            if block:
                yield block
            pending = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
    if not decompressor.eof:
        raise InputError(f"log file is truncated gzip data (it ends mid-stream): {name}")
