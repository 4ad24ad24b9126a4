"""A SQLite database's files on disk, looked at without opening a connection; private copies.

`mode=ro` is all a rollback-journal database needs: a reader creates no file beside it. A
WAL-mode database is different (sqlite.org/wal.html, "Read-Only Databases"; walformat.html):
every reader, read-only or not, uses the -wal file and the -shm wal-index. A reader creates
them when they are missing, cannot remove them afterwards (that takes a checkpoint, a write),
and fails with "attempt to write a readonly database" or "unable to open database file" where
it cannot create them. SQLite reads such a database in place only when both files exist
already (it copes with a -shm it may not write).

The journal mode is read from the file header (bytes 18 and 19: 1 legacy, 2 WAL); SQLite also
opens a legacy-header database in WAL mode when a -wal file exists, so that counts as WAL.

Where SQLite cannot read in place, `private_copy` copies the database and its -wal into a
private temporary folder. Not `immutable=1` on the live file: it ignores the -wal (committed
rows still there would be missed) and turns locking off, so a checkpoint by the app while
mailcheck reads (Django closes the connection after each request, and the last connection to
close checkpoints) could hand it half-updated pages. The copy is checked instead: the database
file must be byte for byte the same after the -wal has been copied, which rules out a
checkpoint in between (appends to the -wal are safe: SQLite ignores an incomplete last
transaction in it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

MAGIC = b"SQLite format 3\x00"
WAL_VERSION = 2
"""The file format write and read version numbers (header bytes 18 and 19) of WAL mode."""
COPY_ATTEMPTS = 3
CHUNK = 1 << 20


def sqlite_path(name: str) -> Path | None:
    """The database file Django's NAME designates; None for in-memory and special URIs."""
    if not name or name == ":memory:":
        return None
    if not name.startswith("file:"):
        return Path(name)
    parts = urlsplit(name)
    query = parse_qs(parts.query)
    special = {"vfs", "immutable", "nolock"} & query.keys() or "memory" in query.get("mode", [])
    if special or parts.netloc not in ("", "localhost"):
        return None
    path = unquote(parts.path)
    return Path(path) if path else None


@dataclass(frozen=True)
class OnDisk:
    """What lies on disk for one database: its header's journal mode, its -wal and -shm."""

    path: Path
    wal_header: bool
    wal_size: int | None
    """The -wal file's size; None when there is no -wal file."""
    shm: bool

    @property
    def wal(self) -> Path:
        return _beside(self.path, "-wal")

    @property
    def wal_mode(self) -> bool:
        return self.wal_header or self.wal_size is not None

    @property
    def readable_in_place(self) -> bool:
        """`mode=ro` creates no file beside it: a rollback-journal database, or a WAL one whose
        -wal and -shm both exist (SQLite may still fail to use them: try, then copy)."""
        return not self.wal_mode or (self.wal_size is not None and self.shm)

    @property
    def missing(self) -> str:
        """The files a reader would create: '-wal and -shm files', 'a -shm file', ..."""
        if self.wal_size is None and not self.shm:
            return "-wal and -shm files"
        return "a -wal file" if self.wal_size is None else "a -shm file"


def look(path: Path) -> OnDisk:
    """The database's files, read and stat-ed only: no connection, nothing written."""
    try:
        with path.open("rb") as file:
            header = file.read(20)
    except OSError:  # missing or unreadable: SQLite's own error will say so
        header = b""
    # Both are 2 in WAL mode; either one is enough to treat it as WAL (copy rather than risk
    # creating files).
    wal_header = len(header) == 20 and header[:16] == MAGIC and WAL_VERSION in header[18:20]
    return OnDisk(path, wal_header, _size(_beside(path, "-wal")), _beside(path, "-shm").exists())


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class PrivateCopy:
    path: Path
    with_wal: bool
    """The -wal file was copied too (it existed and was not empty)."""


class DatabaseChanged(OSError):
    """The database file kept changing while it was copied."""


@contextmanager
def private_copy(source: Path, attempts: int = COPY_ATTEMPTS) -> Iterator[PrivateCopy]:
    """The database and its -wal in a new private (0700) temporary folder, removed afterwards.

    Raises OSError when a file cannot be read, and DatabaseChanged when the database file
    changed during each of `attempts` copies.
    """
    folder = Path(tempfile.mkdtemp(prefix="mailcheck-sqlite-"))
    try:
        copy = folder / source.name
        for _ in range(attempts):
            with_wal = _copy_once(source, copy)
            if _same_bytes(source, copy):
                break
        else:
            raise DatabaseChanged(
                f"{source} changed while mailcheck copied it, {attempts} times: the app is "
                "writing to it; try again"
            )
        yield PrivateCopy(copy, with_wal)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_once(source: Path, copy: Path) -> bool:
    """Copy the database, then its -wal if it has content; True when the -wal was copied."""
    shutil.copyfile(source, copy)
    wal, copied_wal = _beside(source, "-wal"), _beside(copy, "-wal")
    copied_wal.unlink(missing_ok=True)  # from an earlier attempt
    if not _size(wal):
        return False
    try:
        shutil.copyfile(wal, copied_wal)
    except FileNotFoundError:  # checkpointed and removed since: the database has it all
        return False
    return True


def _same_bytes(first: Path, second: Path) -> bool:
    if first.stat().st_size != second.stat().st_size:
        return False
    with first.open("rb") as one, second.open("rb") as other:
        while True:
            chunk = one.read(CHUNK)
            if chunk != other.read(CHUNK):
                return False
            if not chunk:
                return True


def copy_note(reason: str, with_wal: bool) -> str:
    """The sentence that says a private copy was read instead, and why."""
    copied = "a private temporary copy of it" + (" and its -wal file" if with_wal else "")
    return (
        f"the database is in WAL mode and SQLite cannot read it in place {reason}, "
        f"so mailcheck read {copied} instead"
    )
