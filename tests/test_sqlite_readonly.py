"""Read-only on every SQLite journal mode: rollback-journal and WAL databases, in folders made
read-only (0555), audited by `mailcheck sessions --json` in a subprocess, as root and as an
unprivileged user (nobody when the tests run as root, else the user running them).

Every case asserts: the exit status and findings are those of the same rows in an ordinary
database; the database's bytes (and its -wal's) are unchanged; the folder holds exactly the
files it held; `InterviewReader.read_only_note` says what was read instead, when anything was,
and any temporary copy is gone. The WAL cases with a -wal that has content keep a writer
connection open: one change committed in the WAL (it must be seen), one not yet (it must not).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli
from support.django_site import EXAMPLE, HEALTHY, SITE_ARGS, digest, use_database

from interview_mailcheck.adapters import sqlite_files
from interview_mailcheck.adapters.sqlite_files import (
    DatabaseChanged,
    copy_note,
    look,
    private_copy,
    sqlite_path,
)

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site

DB = "db.sqlite3"
# Committed in the WAL by the live writer: the healthy interview loses its session key.
COMMITTED = "UPDATE interviews_interview SET session_key = '' WHERE id = ?"
COMMITTED_ARGS = (HEALTHY.replace("-", ""),)
# Still open in the writer's transaction while mailcheck reads: every session gone.
UNCOMMITTED = "DELETE FROM interview_app_interviewsession"

NO_FILES_NOTE = (
    "the database is in WAL mode and SQLite cannot read it in place without creating -wal and "
    "-shm files beside it, so mailcheck read a private temporary copy of it instead"
)
NO_SHM_NOTE = (
    "the database is in WAL mode and SQLite cannot read it in place without creating a -shm "
    "file beside it, so mailcheck read a private temporary copy of it and its -wal file instead"
)
REFUSED_NOTE = (
    "the database is in WAL mode and SQLite cannot read it in place (",
    "), so mailcheck read a private temporary copy of it and its -wal file instead",
)

# `mailcheck` itself (cli.main, what the console script runs). With INIT_COMMAND set, the
# example's settings get it as DATABASES OPTIONS (Django 5.1+) first.
DRIVER = """
import os, sys
from interview_mailcheck import cli

if os.environ.get("INIT_COMMAND"):
    sys.path.insert(0, os.environ["EXAMPLE"])
    from interview_site import settings
    settings.DATABASES["default"]["OPTIONS"] = {"init_command": os.environ["INIT_COMMAND"]}
sys.argv = ["mailcheck", *sys.argv[1:]]
cli.main()
"""


# --- Running mailcheck as another user -------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    exit_code: int
    summary: dict[str, int]
    findings: list[dict[str, Any]]
    note: str

    @property
    def outcome(self) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
        return self.exit_code, self.summary, self.findings


@dataclass(frozen=True)
class Shared:
    """A world-traversable folder for the databases (pytest's tmp_path is under a 0700 one),
    with a world-writable TMPDIR in it, for the private copies."""

    root: Path
    tmp: Path
    nobody_cannot: str = ""
    """Why the user nobody cannot run mailcheck here; '' when it can (or is not needed)."""

    def folder(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir()
        folder.chmod(0o755)
        return folder


def _nobody() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


def as_user(user: str, shared: Shared) -> dict[str, Any]:
    """subprocess.run's keyword arguments that run the child as `user` ('root' or
    'unprivileged': nobody when the tests run as root, else the user running them); skips
    the test, with the reason, where that user cannot be had."""
    if os.geteuid() != 0:
        if user == "root":
            pytest.skip("the root cases need the tests to run as root")
        return {}
    if user == "root":
        return {}
    nobody = _nobody()
    if nobody is None:
        pytest.skip("there is no user nobody to switch to")
    if shared.nobody_cannot:
        pytest.skip(shared.nobody_cannot)
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def audit(shared: Shared, database: Path, user: str, init_command: str = "") -> Audit:
    """`mailcheck sessions --json` on `database` in a subprocess run as `user`."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(shared.root),
        "TMPDIR": str(shared.tmp),
        "PYTHONDONTWRITEBYTECODE": "1",
        "INTERVIEW_SITE_DB": str(database),
        "EXAMPLE": str(EXAMPLE),
        "INIT_COMMAND": init_command,
    }
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER, "sessions", *SITE_ARGS, "--no-dns", "--json"],
        cwd=shared.root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **as_user(user, shared),
    )
    print(f"exit {completed.returncode}\n--- stderr\n{completed.stderr}---")
    document = json.loads(completed.stdout)
    # What was read instead, when anything was: the info finding session.I001, said apart
    # from the audit's own findings (which must equal those of an ordinary database).
    notes = [f["message"] for f in document["findings"] if f["id"] == "session.I001"]
    assert len(notes) <= 1, notes
    findings = [f for f in document["findings"] if f["id"] != "session.I001"]
    summary = {**document["summary"], "infos": document["summary"]["infos"] - len(notes)}
    return Audit(completed.returncode, summary, findings, notes[0] if notes else "")


def _make_removable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    root = Path(tempfile.mkdtemp(prefix="mailcheck-sqlite-ro-"))
    try:
        root.chmod(0o755)
        tmp = root / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)
        yield Shared(root, tmp, _why_nobody_cannot_run(root))
    finally:
        _make_removable(root)
        shutil.rmtree(root)


def _why_nobody_cannot_run(root: Path) -> str:
    """Run as root: can nobody reach `root` and import mailcheck and Django with this Python?"""
    nobody = _nobody()
    if os.geteuid() != 0 or nobody is None:
        return ""
    probe = "import django, interview_mailcheck, os, sys; os.listdir(sys.argv[1])"
    try:
        completed = subprocess.run(
            [sys.executable, "-c", probe, str(root)],
            cwd=root,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            user=nobody.pw_uid,
            group=nobody.pw_gid,
            extra_groups=[],
        )
    except OSError as error:  # the interpreter itself cannot be executed
        reason = error.strerror or str(error)
    else:
        if completed.returncode == 0:
            return ""
        reason = (completed.stderr.strip().splitlines() or ["no error text"])[-1]
    return (
        f"the user nobody cannot run {sys.executable} ({reason}): the venv and its Python "
        "must be readable by nobody"
    )


# --- The databases ---------------------------------------------------------------------------


def set_journal_mode(database: Path, mode: str) -> None:
    connection = sqlite3.connect(database)
    try:
        assert connection.execute(f"PRAGMA journal_mode={mode}").fetchone() == (mode,)
        if mode == "persist":  # one write transaction: its -journal file is kept, zeroed
            connection.execute("PRAGMA user_version = 1")
    finally:
        connection.close()


def copy_of(demo: Path, folder: Path, journal_mode: str = "delete") -> Path:
    database = folder / DB
    shutil.copyfile(demo, database)
    database.chmod(0o644)
    set_journal_mode(database, journal_mode)
    return database


def apply(database: Path, *statements: tuple[str, tuple[str, ...]]) -> None:
    connection = sqlite3.connect(database)
    try:
        for sql, args in statements:
            connection.execute(sql, args)
        connection.commit()
    finally:
        connection.close()


@contextmanager
def writer(database: Path) -> Iterator[sqlite3.Connection]:
    """A connection that has committed COMMITTED to the WAL, with UNCOMMITTED still open."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_autocheckpoint=0")  # the commit stays in the -wal
        connection.execute(COMMITTED, COMMITTED_ARGS)
        connection.execute("BEGIN")
        connection.execute(UNCOMMITTED)
        yield connection
        connection.execute("ROLLBACK")
    finally:
        connection.close()


Case = Callable[[Path, Path], AbstractContextManager[Path]]
"""(demo database, empty folder) -> the case's database in that folder, while it lasts."""


@contextmanager
def rollback_journal(demo: Path, folder: Path, mode: str) -> Iterator[Path]:
    yield copy_of(demo, folder, mode)


@contextmanager
def wal_without_wal_file(demo: Path, folder: Path) -> Iterator[Path]:
    database = copy_of(demo, folder, "wal")  # closed again: -wal checkpointed and removed
    yield database


@contextmanager
def wal_live(demo: Path, folder: Path, shm_mode: int = 0o644) -> Iterator[Path]:
    database = copy_of(demo, folder, "wal")
    with writer(database):
        _beside(database, "-shm").chmod(shm_mode)
        _beside(database, "-wal").chmod(0o644)
        yield database


@contextmanager
def wal_without_shm_file(demo: Path, folder: Path) -> Iterator[Path]:
    """A -wal with a committed change and no -shm: copied while its writer was open, as a
    backup or a snapshot of a running app can be."""
    scratch = folder.parent / f"{folder.name}-writer"
    scratch.mkdir()
    live = copy_of(demo, scratch, "wal")
    with writer(live):
        database = folder / DB
        shutil.copyfile(live, database)
        shutil.copyfile(_beside(live, "-wal"), _beside(database, "-wal"))
    for path in (database, _beside(database, "-wal")):
        path.chmod(0o644)
    yield database


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def contents(folder: Path) -> dict[str, str]:
    """Every file's sha256; the -shm wal-index only by name (readers take locks in it)."""
    return {
        path.name: "wal-index" if path.name.endswith("-shm") else digest(path)
        for path in sorted(folder.iterdir())
    }


# --- The expected audits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    original: Audit
    committed: Audit
    uncommitted_too: Audit


@pytest.fixture(scope="module")
def expected(demo_db: Path, shared: Shared) -> Expected:
    """The audits of ordinary (rollback-journal, writable) databases with the same rows."""
    runs = []
    statements: list[tuple[str, tuple[str, ...]]] = [
        (COMMITTED, COMMITTED_ARGS),
        (UNCOMMITTED, ()),
    ]
    for count, name in enumerate(("original", "committed", "uncommitted")):
        database = copy_of(demo_db, shared.folder(f"expected-{name}"))
        apply(database, *statements[:count])
        runs.append(audit(shared, database, "root" if os.geteuid() == 0 else "unprivileged"))
    return Expected(*runs)


def test_the_changes_show_in_the_audit(expected: Expected) -> None:
    """Without this, a case could pass while missing the committed change or seeing the
    uncommitted one."""
    assert expected.original.exit_code == 1 and expected.original.note == ""
    assert expected.committed.outcome != expected.original.outcome
    assert expected.uncommitted_too.outcome != expected.committed.outcome
    healthy = [f["id"] for f in expected.committed.findings if f.get("interview_id") == HEALTHY]
    assert healthy == ["session.E002"]


# --- Every journal mode, read-only folder, root and unprivileged -----------------------------


@dataclass(frozen=True)
class Scenario:
    build: Case
    files: tuple[str, ...]  # what the folder holds while mailcheck reads
    sees: str  # which expected audit: original or committed
    note: dict[str, str | tuple[str, str]]  # by user: the exact note, or (prefix, suffix)


def _rollback(mode: str) -> Case:
    return lambda demo, folder: rollback_journal(demo, folder, mode)


WAL_FILES = (DB, f"{DB}-shm", f"{DB}-wal")
NO_NOTE: dict[str, str | tuple[str, str]] = {"root": "", "unprivileged": ""}
SCENARIOS = {
    "rollback-delete": Scenario(_rollback("delete"), (DB,), "original", NO_NOTE),
    "rollback-persist": Scenario(_rollback("persist"), (DB, f"{DB}-journal"), "original", NO_NOTE),
    "wal-no-wal-file": Scenario(
        wal_without_wal_file,
        (DB,),
        "original",
        {"root": NO_FILES_NOTE, "unprivileged": NO_FILES_NOTE},
    ),
    "wal-live-writer": Scenario(wal_live, WAL_FILES, "committed", NO_NOTE),
    "wal-live-writer-shm-unusable": Scenario(
        lambda demo, folder: wal_live(demo, folder, shm_mode=0o000),
        WAL_FILES,
        "committed",
        {"root": "", "unprivileged": REFUSED_NOTE},  # root opens a mode-0 file all the same
    ),
    "wal-without-shm-file": Scenario(
        wal_without_shm_file,
        (DB, f"{DB}-wal"),
        "committed",
        {"root": NO_SHM_NOTE, "unprivileged": NO_SHM_NOTE},
    ),
}


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_read_only_folder(
    name: str, user: str, demo_db: Path, shared: Shared, expected: Expected
) -> None:
    check_scenario(
        SCENARIOS[name], shared.folder(f"{name}-{user}"), user, demo_db, shared, expected
    )


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("name", ["wal-live-writer", "wal-live-writer-shm-unusable"])
def test_an_init_command_that_reads_the_database(
    name: str, user: str, demo_db: Path, shared: Shared, expected: Expected
) -> None:
    """Django 5.1's init_command runs at connect: a -shm SQLite cannot use fails it there."""
    import django

    if django.VERSION < (5, 1):
        pytest.skip("init_command is Django 5.1's")
    folder = shared.folder(f"init-command-{name}-{user}")
    check_scenario(
        SCENARIOS[name], folder, user, demo_db, shared, expected, "PRAGMA journal_mode=WAL"
    )


def check_scenario(
    scenario: Scenario,
    folder: Path,
    user: str,
    demo_db: Path,
    shared: Shared,
    expected: Expected,
    init_command: str = "",
) -> None:
    as_user(user, shared)  # skips before anything is built where the user cannot be had
    with scenario.build(demo_db, folder) as database:
        if scenario.sees == "committed":  # the change is in the -wal only
            assert _beside(database, "-wal").stat().st_size > 0
        folder.chmod(0o555)
        try:
            before = contents(folder)
            result = audit(shared, database, user, init_command)
            after = contents(folder)
        finally:
            folder.chmod(0o755)
    assert tuple(before) == scenario.files
    assert result.outcome == getattr(expected, scenario.sees).outcome
    assert after == before  # the same files, the same bytes: nothing created, left or changed
    assert list(shared.tmp.iterdir()) == []  # no private copy left behind
    note = scenario.note[user]
    if isinstance(note, tuple):
        prefix, suffix = note
        assert result.note.startswith(prefix) and result.note.endswith(suffix)
        assert len(result.note) > len(prefix + suffix)  # SQLite's reason, between them
    else:
        assert result.note == note


# --- In this process: the copy, the note, and the helpers ------------------------------------


def test_wal_database_in_a_writable_folder_gets_no_files_beside_it(
    run_cli: RunCli, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second report: mode=ro created -wal and -shm beside it, and could not remove them."""
    folder = tmp_path / "app"
    folder.mkdir()
    database = copy_of(site, folder, "wal")
    before = contents(folder)
    use_database(monkeypatch, database)
    result = run_cli("sessions", *SITE_ARGS, "--no-dns", "--json")
    assert result.exit_code == 1
    assert contents(folder) == before == {DB: digest(database)}


def test_the_copy_is_removed_when_the_read_fails(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections

    from interview_mailcheck.adapters.django import InterviewReader, load_project

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    folder = tmp_path / "app"
    folder.mkdir()
    database = copy_of(site, folder, "wal")
    use_database(monkeypatch, database)
    reader = InterviewReader(load_project("interview_site.settings", EXAMPLE), _layout())
    seen: list[str] = []
    with pytest.raises(RuntimeError, match="the audit failed"), reader.read_only():
        name = connections["default"].settings_dict["NAME"]
        seen += [name, *os.listdir(temporary)]
        assert len(next(reader.many())) == 9  # a row, read from the copy
        raise RuntimeError("the audit failed")
    assert seen[0].startswith(temporary.as_uri()) and seen[0].endswith(f"/{DB}?mode=ro")
    assert len(seen) == 2  # one private folder while reading
    assert list(temporary.iterdir()) == []
    assert reader.read_only_note == NO_FILES_NOTE
    assert connections["default"].settings_dict["NAME"] == str(database)
    assert contents(folder) == {DB: digest(database)}


def test_a_copy_that_cannot_be_made_is_one_line(
    run_cli: RunCli, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from interview_mailcheck.adapters import django as adapter

    @contextmanager
    def changing(source: Path) -> Iterator[Any]:
        raise DatabaseChanged(f"{source} changed while mailcheck copied it, 3 times")
        yield  # pragma: no cover

    monkeypatch.setattr(adapter, "private_copy", changing)
    database = copy_of(site, tmp_path, "wal")
    use_database(monkeypatch, database)
    result = run_cli("sessions", *SITE_ARGS, "--no-dns")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"mailcheck: error: database cannot be opened: SQLite {database}: it is in WAL mode and "
        "SQLite cannot read it in place without creating -wal and -shm files beside it, and a "
        f"private copy could not be made: DatabaseChanged: {database} changed while mailcheck "
        "copied it, 3 times\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == [DB]


def _layout() -> Any:
    from interview_mailcheck.interviews import ToolTable, resolve_layout

    return resolve_layout(ToolTable(None))


def test_rollback_journal_database_keeps_the_mode_ro_path(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections

    from interview_mailcheck.adapters.django import InterviewReader, load_project

    database = copy_of(site, tmp_path)
    use_database(monkeypatch, database)
    reader = InterviewReader(load_project("interview_site.settings", EXAMPLE), _layout())
    with reader.read_only():
        assert connections["default"].settings_dict["NAME"] == database.as_uri() + "?mode=ro"
    assert reader.read_only_note == ""


@pytest.mark.parametrize(
    ("mode", "wal_header"), [("delete", False), ("truncate", False), ("wal", True)]
)
def test_look_reads_the_journal_mode_from_the_header(
    demo_db: Path, tmp_path: Path, mode: str, wal_header: bool
) -> None:
    database = copy_of(demo_db, tmp_path, mode)
    before = contents(tmp_path)
    disk = look(database)
    assert (disk.wal_header, disk.wal_mode, disk.readable_in_place) == (
        wal_header,
        wal_header,
        not wal_header,
    )
    assert (disk.wal_size, disk.shm) == (None, False)
    assert contents(tmp_path) == before


def test_look_counts_a_wal_file_beside_a_legacy_header(tmp_path: Path) -> None:
    """SQLite opens such a database in WAL mode, so it needs the -shm too."""
    database = tmp_path / DB
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    _beside(database, "-wal").write_bytes(b"")
    disk = look(database)
    assert (disk.wal_header, disk.wal_mode, disk.readable_in_place) == (False, True, False)
    assert disk.missing == "a -shm file"


def test_look_at_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite3"
    text.write_text("not a database\n" * 100)
    assert look(text).readable_in_place  # mode=ro then, and SQLite's own error
    assert look(tmp_path / "missing.sqlite3").readable_in_place


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("/srv/app/db.sqlite3", Path("/srv/app/db.sqlite3")),
        ("file:app.db", Path("app.db")),
        ("file:///srv/my%20app/db.sqlite3?cache=shared", Path("/srv/my app/db.sqlite3")),
        ("file://localhost/srv/db.sqlite3", Path("/srv/db.sqlite3")),
        (":memory:", None),
        ("file:memdb?mode=memory&cache=shared", None),
        ("file:/srv/db.sqlite3?immutable=1", None),
        ("file:/srv/db.sqlite3?vfs=unix-none", None),
        ("file://elsewhere/srv/db.sqlite3", None),
    ],
)
def test_sqlite_path(name: str, path: Path | None) -> None:
    assert sqlite_path(name) == path


def test_private_copy_takes_the_wal_and_is_removed(tmp_path: Path) -> None:
    database = tmp_path / DB
    database.write_bytes(b"main")
    _beside(database, "-wal").write_bytes(b"frames")
    _beside(database, "-shm").write_bytes(b"index")
    with private_copy(database) as copy:
        folder = copy.path.parent
        assert copy.with_wal and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert sorted(path.name for path in folder.iterdir()) == [DB, f"{DB}-wal"]
        assert _beside(copy.path, "-wal").read_bytes() == b"frames"
    assert not folder.exists()
    _beside(database, "-wal").write_bytes(b"")  # an empty -wal is not copied
    with private_copy(database) as copy:
        assert not copy.with_wal and copy.path.read_bytes() == b"main"


def test_private_copy_retries_while_the_database_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint between copying the database and its -wal would mix two states."""
    database = tmp_path / DB
    database.write_bytes(b"version 1")
    copies: list[Path] = []
    real_copy = sqlite_files._copy_once

    def copy_then_checkpoint(source: Path, copy: Path) -> bool:
        copied = real_copy(source, copy)
        copies.append(copy)
        if len(copies) < 3:
            source.write_bytes(f"version {len(copies) + 1}".encode())
        return copied

    monkeypatch.setattr(sqlite_files, "_copy_once", copy_then_checkpoint)
    with private_copy(database) as copy:
        assert copy.path.read_bytes() == b"version 3"
    assert len(copies) == 3

    def always_checkpoint(source: Path, copy: Path) -> bool:
        copied = real_copy(source, copy)
        copies.append(copy)
        source.write_bytes(b"version %d" % len(copies))
        return copied

    monkeypatch.setattr(sqlite_files, "_copy_once", always_checkpoint)
    changed = "changed while mailcheck copied it, 3 times"
    with pytest.raises(DatabaseChanged, match=changed), private_copy(database):
        pass  # pragma: no cover
    assert not copies[-1].parent.exists()


def test_copy_note_wording() -> None:
    assert copy_note("without creating -wal and -shm files beside it", False) == NO_FILES_NOTE
    assert copy_note("without creating a -shm file beside it", True) == NO_SHM_NOTE
