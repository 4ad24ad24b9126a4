"""Scanning a large log in a second process, a block ahead of the one that reads its events.

`logscan.candidate_lines` (the passes in C that find the lines of interest) and reading those
lines into events (`logscan.events_of`, in Python) take about two thirds and one third of the
time of a large log. On a machine with more than one core they can overlap: a forked child runs
`candidate_lines` over the file and writes the candidate lines into a pipe, in batches; this
process reads them from the pipe and does the rest. The candidates are the very same (the
child runs the same code over the same bytes), and so is the report.

Nothing is written anywhere but the pipe: no temporary file holds log lines (a log can hold a
password). Memory stays flat: a full pipe stops the child until this process catches up. An
error the child meets (an unreadable block, truncated gzip) arrives in its place in the stream
and is raised here as the same one-line `InputError`. When this process stops early (an error,
Ctrl-C) the child is killed and reaped.

The child is used only where it pays and is safe: a regular file of at least `WORKER_MIN_BYTES`,
a platform with `os.fork`, more than one CPU, and no other thread running (forking a process with
threads can deadlock the child). Everything else is scanned in this process, as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import struct
import threading
from collections.abc import Iterator
from typing import IO

from interview_mailcheck.adapters.logfile import BLOCK_SIZE, STDIN, read_blocks
from interview_mailcheck.errors import InputError
from interview_mailcheck.logscan import Candidate, Tally, candidate_lines

WORKER_MIN_BYTES = 64 << 20
"""Smaller files are scanned in this process: forking costs more than it saves on them."""
BATCH_BYTES = 256 << 10
"""Candidate bytes the child gathers before one write to the pipe."""

_FRAME = struct.Struct("<cI")  # kind, payload length
_ENTRY = struct.Struct("<QIB")  # line number, line length, ends a traceback through mail frames
_LINES = struct.Struct("<Q")
_BATCH, _END, _INPUT_ERROR, _FAILED = b"C", b"E", b"X", b"!"


def scan(source: str, tally: Tally, block_size: int = BLOCK_SIZE) -> Iterator[Candidate]:
    """`candidate_lines(read_blocks(source), tally)`, in a second process when that pays."""
    if use_worker(source):
        return scan_in_child(source, tally, block_size)
    return candidate_lines(read_blocks(source, block_size), tally)


def use_worker(source: str, min_bytes: int = WORKER_MIN_BYTES) -> bool:
    """Whether `source` is scanned by a child process (see the module's notes)."""
    if source == STDIN or not hasattr(os, "fork") or _cpus() < 2:
        return False
    if threading.active_count() > 1:
        return False
    try:
        status = os.stat(source)
    except (OSError, ValueError):  # a missing file, a bad name: read_blocks says what is wrong
        return False
    return stat.S_ISREG(status.st_mode) and status.st_size >= min_bytes


def _cpus() -> int:
    """The CPUs this process may run on (its affinity, where the platform says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def scan_in_child(source: str, tally: Tally, block_size: int = BLOCK_SIZE) -> Iterator[Candidate]:
    """`candidate_lines(read_blocks(source, block_size), tally)` run by a forked child, its
    lines read from a pipe (whatever `use_worker` would say: tests call it directly)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(source, block_size, write_end)
    os.close(write_end)
    ended = False
    try:
        with os.fdopen(read_end, "rb", buffering=1 << 16) as pipe:
            while True:
                kind, payload = _read_frame(pipe)
                if kind == _BATCH:
                    yield from _entries(payload)
                elif kind == _END:
                    (tally.lines,) = _LINES.unpack(payload)
                    ended = True
                    return
                elif kind == _INPUT_ERROR:
                    ended = True
                    raise InputError(payload.decode("utf-8", "replace"))
                else:
                    ended = True
                    failure = payload.decode("utf-8", "replace")
                    raise RuntimeError(f"log scan worker failed: {failure}")
    finally:
        if not ended:
            _stop(pid)
        _reap(pid)


def _entries(payload: bytes) -> Iterator[Candidate]:
    view = memoryview(payload)
    position, size, unpack = 0, len(payload), _ENTRY.unpack_from
    while position < size:
        number, length, mail = unpack(view, position)
        position += _ENTRY.size
        yield number, payload[position : position + length], bool(mail)
        position += length


def _read_frame(pipe: IO[bytes]) -> tuple[bytes, bytes]:
    read = pipe.read
    header = read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise RuntimeError("log scan worker ended without finishing")
    kind, length = _FRAME.unpack(header)
    payload = read(length) if length else b""
    if len(payload) < length:
        raise RuntimeError("log scan worker ended without finishing")
    return kind, payload


def _child(source: str, block_size: int, write_end: int) -> None:
    """Scan `source`, write the frames, exit: no cleanup of the parent's runs here (os._exit)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent reports it and kills us
        tally = Tally()
        batch = bytearray()
        pack = _ENTRY.pack
        try:
            for number, line, mail in candidate_lines(read_blocks(source, block_size), tally):
                batch += pack(number, len(line), mail)
                batch += line
                if len(batch) >= BATCH_BYTES:
                    _write_frame(write_end, _BATCH, batch)
                    batch.clear()
            if batch:
                _write_frame(write_end, _BATCH, batch)
            _write_frame(write_end, _END, _LINES.pack(tally.lines))
        except InputError as error:
            if batch:
                _write_frame(write_end, _BATCH, batch)
            _write_frame(write_end, _INPUT_ERROR, str(error).encode("utf-8", "replace"))
        except BrokenPipeError:  # the parent stopped reading: nothing to tell
            code = 1
        except BaseException as error:  # reported to the parent, then exit
            text = f"{type(error).__name__}: {error}"
            _write_frame(write_end, _FAILED, text.encode("utf-8", "replace"))
            code = 1
    except BaseException:  # the child must never go on to run the parent's code
        code = 1
    finally:
        os._exit(code)


def _write_frame(fd: int, kind: bytes, payload: bytes | bytearray) -> None:
    data = memoryview(_FRAME.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    except KeyboardInterrupt:  # a second Ctrl-C while waiting: make sure it is gone
        _stop(pid)
        os.waitpid(pid, 0)
        raise
