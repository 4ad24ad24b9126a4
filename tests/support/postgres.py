"""A throwaway PostgreSQL server as a real peer for the tests.

`PostgresServer` runs `initdb` into a fresh temporary folder and starts `postgres` from it,
listening on 127.0.0.1 at a free port and on a Unix socket in that folder, with settings that
trade durability for speed (fsync, synchronous_commit and full_page_writes off). Every role,
the superuser included, logs in with a password (scram-sha-256, on TCP and on the socket). The
server is this process's child: the fixture stops it (immediate shutdown) and removes the
folder; on Linux it also shuts down if the test process dies without a teardown.

PostgreSQL refuses to run as root, so when the tests run as root the folder is given to the
`postgres` system user and initdb and the server run as that user (subprocess's user/group).

Roles, made once for the cluster, each with a random password for the test session:

  interview_site          the app's role: owns the example project's databases and tables
  mailcheck_ro            CONNECT, USAGE on schema public and SELECT on every table, nothing else
  mailcheck_no_sessions   as mailcheck_ro, without SELECT on interview_app_interviewsession

`SiteDatabase` is one database of the example project (examples/interview_site), migrated and
seeded by the project's own `migrate` and `demo_data` in a subprocess, as django_site.py does
for SQLite; the project reads it from INTERVIEW_SITE_DATABASE_URL. It can dump itself
(`pg_dump`, deterministic) and seed N generated interviews either through `demo_data
--generate N` or, much faster, with SQL (`generate_series`) rows of the same shape and mix.

Fixtures, loaded with `pytest_plugins = ["support.postgres"]`:

  postgres            the running server (session scope)
  postgres_site       the six demo interviews, database "interview_site" (session scope)
  postgres_site_copy  a copy of postgres_site for one test, dropped afterwards

Missing server binaries (or no `postgres` user to run them as root, or no psycopg) skip the
tests that need the server, with one line saying what to install; with CI=true they fail, and
so does a server that cannot start.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import pytest

from support.django_site import EXAMPLE, SETTINGS

if TYPE_CHECKING:
    import psycopg

URL_VARIABLE = "INTERVIEW_SITE_DATABASE_URL"  # read by examples/interview_site's settings
BINDIR_VARIABLE = "MAILCHECK_TEST_PG_BINDIR"  # a folder with initdb, postgres and pg_dump
SERVER_USER = "postgres"  # who runs the server when the tests run as root
REQUIRED_BINARIES = ("initdb", "postgres", "pg_dump")
INSTALL_HINT = "install them, e.g. `apt-get install postgresql-15`"
SESSION_TABLE = "interview_app_interviewsession"
SITE_TABLES = (
    "interviews_job",
    "interviews_candidate",
    "interviews_interview",
    SESSION_TABLE,
)

# Durability off (the data is thrown away), no background work, quiet logs.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
    "jit": "off",
    "max_connections": "40",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",
    "log_checkpoints": "off",
}

# --- Finding what runs the server -----------------------------------------------------------


class PostgresUnavailable(Exception):
    """This machine cannot run the server: binaries, a user to run them as, or psycopg missing."""


class PostgresFailed(Exception):
    """The binaries are there but the server did not come up; the message quotes its log."""


def _has_binaries(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in REQUIRED_BINARIES)


def _version_key(folder: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin sorts by 15; newest first."""
    return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name)) or (0,)


def bindir_candidates() -> Iterator[Path]:
    """`pg_config --bindir`, the folders initdb and postgres on PATH really live in (Debian
    links some into /usr/local/bin), then /usr/lib/postgresql/*/bin, newest first."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            completed = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            yield Path(completed.stdout.strip())
    for name in ("initdb", "postgres"):
        found = shutil.which(name)
        if found:
            yield Path(found).parent
            yield Path(found).resolve().parent
    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)


def find_bindir() -> Path:
    """The folder with initdb, postgres and pg_dump: $MAILCHECK_TEST_PG_BINDIR alone when it is
    set (an empty or wrong one then simulates a machine without them), else the candidates."""
    binaries = ", ".join(REQUIRED_BINARIES)
    chosen = os.environ.get(BINDIR_VARIABLE)
    if chosen:
        if _has_binaries(Path(chosen)):
            return Path(chosen)
        raise PostgresUnavailable(
            f"PostgreSQL server binaries ({binaries}) not found in ${BINDIR_VARIABLE}={chosen}: "
            f"{INSTALL_HINT}"
        )
    for folder in bindir_candidates():
        if _has_binaries(folder):
            return folder
    raise PostgresUnavailable(
        f"PostgreSQL server binaries ({binaries}) not found via pg_config --bindir, PATH or "
        f"/usr/lib/postgresql/*/bin: {INSTALL_HINT}"
    )


def server_account() -> pwd.struct_passwd | None:
    """The user to run initdb and postgres as: None to run them as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"the tests run as root, PostgreSQL refuses to, and there is no {SERVER_USER!r} "
            f"user to run it as: {INSTALL_HINT} (it creates that user)"
        ) from None


def _traversable_by(folder: Path, account: pwd.struct_passwd) -> bool:
    """Can `account` reach into `folder` (search permission on it and on every parent)?"""
    for part in (folder, *folder.parents):
        status = part.stat()
        if status.st_uid == account.pw_uid:
            bit = 0o100
        elif status.st_gid == account.pw_gid:
            bit = 0o010
        else:
            bit = 0o001
        if not status.st_mode & bit:
            return False
    return True


def _base_folder(account: pwd.struct_passwd | None) -> Path:
    """Where the cluster's folder goes: the temporary folder, or /tmp when the server's user
    cannot reach that (pytest's own temporary folders are private to root, for instance)."""
    for candidate in (Path(tempfile.gettempdir()), Path("/tmp")):
        if account is None or _traversable_by(candidate, account):
            return candidate
    raise PostgresUnavailable(
        f"no temporary folder that the {SERVER_USER!r} user can reach (tried "
        f"{tempfile.gettempdir()} and /tmp)"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip the test with `reason`, or fail it under CI=true, where the server must run."""
    if on_ci():
        pytest.fail(f"{reason} [CI=true: a PostgreSQL server is required]", pytrace=False)
    pytest.skip(reason)


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable(
            "psycopg is not installed: pip install -e '.[test]' (psycopg[binary])"
        ) from None


# --- Dying with the test process ----------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _stop_with_parent(parent: int) -> None:
    """In the server's process, between fork and exec: when the test process dies, the kernel
    sends the server SIGQUIT (immediate shutdown), so a killed pytest leaves no server behind.
    Runs after subprocess has switched user, which would clear the setting."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)
    if os.getppid() != parent:  # the test process died before the setting took
        os._exit(1)


# --- The server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    name: str
    password: str = field(repr=False)


def _role(name: str) -> Role:
    return Role(name, secrets.token_hex(16))


class PostgresServer:
    """One throwaway cluster on 127.0.0.1:`port` and on a Unix socket in `socket_dir`.

    `start()` and `stop()`, or use it as a context manager. Attributes: `bindir`, `folder` (the
    cluster's temporary folder: data/, server.log and the socket), `host`, `port`,
    `socket_dir`, `superuser`, `owner`, `readonly`, `no_sessions` (Roles: name and password),
    and `timings` (seconds taken by initdb, start, stop).
    """

    host = "127.0.0.1"

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.account = server_account()
        _require_psycopg()
        self.superuser = _role("postgres")
        self.owner = _role("interview_site")
        self.readonly = _role("mailcheck_ro")
        self.no_sessions = _role("mailcheck_no_sessions")
        self.folder = Path()
        self.port = 0
        self.timings: dict[str, float] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._names = itertools.count(1)

    # --- paths and addresses

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str, role: Role | None = None) -> str:
        """postgresql://ROLE:PASSWORD@127.0.0.1:PORT/DATABASE (what the example site reads)."""
        role = role or self.owner
        return (
            f"postgresql://{quote(role.name, safe='')}:{quote(role.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(database, safe='')}"
        )

    # --- running as the server's user

    def _as_server(self) -> dict[str, Any]:
        """subprocess arguments that run a program as the server's user, in its folder."""
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "LANG": "C",
            "TZ": "UTC",
            "HOME": str(self.folder),
        }
        arguments: dict[str, Any] = {"cwd": self.folder, "env": environment}
        if self.account is not None:
            arguments.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        return arguments

    def _give(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    # --- start and stop

    def start(self, timeout: float = 30.0) -> PostgresServer:
        if self._process is not None:
            raise RuntimeError("this server is already started")
        self.folder = Path(tempfile.mkdtemp(prefix="mailcheck-pg-", dir=_base_folder(self.account)))
        try:
            self._initdb()
            began = time.monotonic()
            self._spawn_and_wait(timeout)
            self.timings["start"] = time.monotonic() - began
            self._create_roles()
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        self._give(self.folder)
        password_file = self.folder / "superuser-password"
        password_file.write_text(self.superuser.password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        self._give(password_file)
        began = time.monotonic()
        completed = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                self.superuser.name,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as_server(),
        )
        password_file.unlink()
        self.timings["initdb"] = time.monotonic() - began
        if completed.returncode != 0:
            lines = (completed.stderr or completed.stdout).strip().splitlines() or ["no output"]
            raise PostgresFailed(f"initdb exited with {completed.returncode}: {lines[-1]}")

    def _spawn_and_wait(self, timeout: float) -> None:
        """Start postgres on a free port; another port if that one was taken meanwhile."""
        for _attempt in range(5):
            self.port = free_port()
            self._spawn()
            if self._wait_ready(timeout):
                return
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
            if "could not bind" not in log and "Address already in use" not in log:
                break
        raise PostgresFailed(f"the PostgreSQL server did not start: {self._log_summary()}")

    def _spawn(self) -> None:
        settings = {
            **FAST_SETTINGS,
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.data)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        if self._log is None:
            self._log = self.log_path.open("ab")
        parent = os.getpid()
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches pytest, whose teardown stops the server
            preexec_fn=lambda: _stop_with_parent(parent),
            **self._as_server(),
        )

    def _wait_ready(self, timeout: float) -> bool:
        """True once a login over TCP works; False if the server exited first."""
        import psycopg

        assert self._process is not None
        deadline = time.monotonic() + timeout
        while self._process.poll() is None:
            try:
                with self.connect(connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self._terminate()
                    raise PostgresFailed(
                        f"the PostgreSQL server did not answer within {timeout:.0f} s: "
                        f"{self._log_summary()}"
                    ) from None
                time.sleep(0.02)
        self._process = None
        return False

    def _log_summary(self) -> str:
        """The server log's last FATAL/ERROR/PANIC lines, on one line."""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no server log"
        serious = [line for line in lines if re.search(r"\b(FATAL|PANIC|ERROR):", line)]
        return " | ".join((serious or lines or ["empty server log"])[-3:])

    def _terminate(self) -> None:
        """Immediate shutdown (SIGQUIT); SIGKILL if the server is still there after 10 s."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server and remove its folder; safe to call twice."""
        began = time.monotonic()
        self._terminate()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.timings["stop"] = time.monotonic() - began
        if self.folder != Path() and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- talking to it

    def connect(
        self,
        database: str = "postgres",
        role: Role | None = None,
        *,
        unix_socket: bool = False,
        **options: Any,
    ) -> psycopg.Connection[Any]:
        """A psycopg connection (superuser unless `role`), over TCP or the Unix socket.
        `options` go to psycopg.connect: autocommit=True, options='-c ...', and so on."""
        import psycopg

        role = role or self.superuser
        options.setdefault("connect_timeout", 10)
        connection: psycopg.Connection[Any] = psycopg.connect(
            host=str(self.socket_dir) if unix_socket else self.host,
            port=self.port,
            dbname=database,
            user=role.name,
            password=role.password,
            **options,
        )
        return connection

    def execute(self, database: str, *statements: Any) -> None:
        """Run statements as the superuser, each in its own transaction (autocommit)."""
        with self.connect(database, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def _create_roles(self) -> None:
        from psycopg import sql

        statements = [
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role.name), sql.Literal(role.password)
            )
            for role in (self.owner, self.readonly, self.no_sessions)
        ]
        self.execute("postgres", *statements)

    def new_name(self, prefix: str) -> str:
        return f"{prefix}_{next(self._names)}"

    def create_database(self, name: str, *, template: str | None = None) -> None:
        """A database owned by the app's role, which only its owner can connect to until
        `grant_readers`; `template` copies another database (nobody may be connected to it)."""
        from psycopg import sql

        create = sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(self.owner.name)
        )
        if template is not None:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.execute(
            "postgres",
            create,
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)),
        )

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        self.execute(
            "postgres",
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )

    def grant_readers(self, database: str) -> None:
        """mailcheck_ro: CONNECT, USAGE on public and SELECT on every table there, only that;
        mailcheck_no_sessions: the same but SELECT on the session table. Run after migrating:
        the grants are on the tables that exist."""
        from psycopg import sql

        readers = sql.SQL(", ").join(
            sql.Identifier(role.name) for role in (self.readonly, self.no_sessions)
        )
        self.execute(
            "postgres",
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), readers),
        )
        self.execute(
            database,
            sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(readers),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(readers),
            sql.SQL("REVOKE SELECT ON {} FROM {}").format(
                sql.Identifier(SESSION_TABLE), sql.Identifier(self.no_sessions.name)
            ),
        )

    def dump(self, database: str, *, data_only: bool = False) -> str:
        """`pg_dump` of `database` as plain SQL, schema and grants too unless `data_only`.

        Deterministic for unchanged contents: same server, same options, and a fixed psql
        \\restrict key where pg_dump has one (15.14 on; otherwise it is random per dump).
        Rows come in physical order, which only a write changes.
        """
        command = [
            str(self.bindir / "pg_dump"),
            "--host",
            str(self.socket_dir),
            "--port",
            str(self.port),
            "--username",
            self.superuser.name,
            "--no-password",
            "--dbname",
            database,
        ]
        if data_only:
            command.append("--data-only")
        if _dump_has_restrict_key(self.bindir):
            command.append("--restrict-key=mailcheckTestDump")
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PGPASSWORD": self.superuser.password, "PGTZ": "UTC"},
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"pg_dump {database} exited {completed.returncode}: {completed.stderr.strip()}"
            )
        return completed.stdout

    # --- the example project

    def create_site(self, name: str, demo: Sequence[str] | None = ()) -> SiteDatabase:
        """A database of the example project: migrated, then `demo_data DEMO` unless `demo` is
        None (empty tables), then the readers' grants."""
        self.create_database(name)
        site = SiteDatabase(self, name)
        commands: list[list[str]] = [["migrate", "--verbosity", "0"]]
        if demo is not None:
            commands.append(["demo_data", *demo])
        site.manage(*commands)
        self.grant_readers(name)
        return site

    def copy_site(self, source: SiteDatabase, name: str | None = None) -> SiteDatabase:
        """A copy of `source` (CREATE DATABASE ... TEMPLATE), grants included."""
        name = name or self.new_name(source.name)
        self.create_database(name, template=source.name)
        self.grant_readers(name)
        return SiteDatabase(self, name)


_RESTRICT_KEY: dict[Path, bool] = {}


def _dump_has_restrict_key(bindir: Path) -> bool:
    if bindir not in _RESTRICT_KEY:
        completed = subprocess.run(
            [str(bindir / "pg_dump"), "--help"], capture_output=True, text=True, check=False
        )
        _RESTRICT_KEY[bindir] = "--restrict-key" in completed.stdout
    return _RESTRICT_KEY[bindir]


# --- One database of the example project -----------------------------------------------------

MANAGE = """
import json
import sys

import django
from django.core.management import call_command

django.setup()
for command in json.loads(sys.argv[1]):
    call_command(*command)
"""

# `demo_data --generate N` (examples/interview_site/interviews/management/commands/demo_data.py)
# in three INSERT ... SELECT over generate_series: the same rows, numbers and mix. Of every
# hundred generated interviews, number 1 has no session key, number 2 a key no session has,
# number 3 no email. Like bulk_create, it sets ids explicitly and leaves the id sequences alone;
# the sessions' created_at is the transaction's time rather than each row's.
GENERATE_JOB = """
INSERT INTO interviews_job (id, title, company_name) VALUES (2, 'Data Engineer', 'Globex')
ON CONFLICT (id) DO NOTHING
"""
GENERATE_CANDIDATES = """
INSERT INTO interviews_candidate (id, full_name, email)
SELECT %(first)s::bigint + n + 1,
       'Candidate ' || n,
       CASE WHEN n %% 100 = 3 THEN '' ELSE 'candidate' || n || '@example.org' END
FROM generate_series(0, %(count)s::bigint - 1) AS n
"""
GENERATE_INTERVIEWS = """
INSERT INTO interviews_interview (id, candidate_id, job_id, started_at, session_key)
SELECT ('6e' || lpad(to_hex(n), 30, '0'))::uuid,
       %(first)s::bigint + n + 1,
       2,
       timestamptz '2030-01-01 08:00:00+00' + n * interval '30 minutes',
       CASE WHEN n %% 100 = 1 THEN ''
            ELSE 'gen' || lpad(n::text, greatest(8, length(n::text)), '0') END
FROM generate_series(0, %(count)s::bigint - 1) AS n
"""
GENERATE_SESSIONS = """
INSERT INTO interview_app_interviewsession (session_key, candidate_email, coding_language,
                                            created_at)
SELECT 'gen' || lpad(n::text, greatest(8, length(n::text)), '0'),
       CASE WHEN n %% 100 = 3 THEN '' ELSE 'candidate' || n || '@example.org' END,
       'python',
       now()
FROM generate_series(0, %(count)s::bigint - 1) AS n
WHERE n %% 100 NOT IN (1, 2)
"""


@dataclass(frozen=True)
class SiteDatabase:
    """One database of the example project on `server`, named `name`."""

    server: PostgresServer
    name: str

    def url(self, role: Role | None = None) -> str:
        return self.server.url(self.name, role)

    def environment(self, role: Role | None = None) -> dict[str, str]:
        """This process's environment, less the variables that would steer the example project
        or mailcheck elsewhere, pointing the example project at this database as `role`."""
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("EMAIL_", "DJANGO", "MAILCHECK_", "INTERVIEW_SITE_"))
        }
        return {**base, URL_VARIABLE: self.url(role)}

    def connect(self, role: Role | None = None, **options: Any) -> psycopg.Connection[Any]:
        """A psycopg connection to this database as `role` (the app's role by default)."""
        return self.server.connect(self.name, role or self.server.owner, **options)

    def dump(self, *, data_only: bool = False) -> str:
        return self.server.dump(self.name, data_only=data_only)

    def manage(self, *commands: Sequence[str], role: Role | None = None) -> str:
        """Run management commands of the example project in one subprocess; its stdout."""
        completed = subprocess.run(
            [sys.executable, "-c", MANAGE, json.dumps([list(command) for command in commands])],
            cwd=EXAMPLE,
            env={**self.environment(role), "DJANGO_SETTINGS_MODULE": SETTINGS},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"example project {commands} on {self.name} exited {completed.returncode}:\n"
                f"{completed.stderr}"
            )
        return completed.stdout

    def generate_with_django(self, count: int) -> None:
        """`demo_data --generate COUNT`, as the SQLite tests and bench/sessions.py do."""
        self.manage(["demo_data", "--generate", str(count)])

    def generate_with_sql(self, count: int) -> None:
        """The rows of `demo_data --generate COUNT`, made by the server (see GENERATE_*).

        As the superuser with session_replication_role=replica, which skips the foreign-key
        checks (a third of the time): the rows refer to each other by construction.
        """
        with self.server.connect(self.name) as connection:
            connection.execute("SET session_replication_role = replica")
            connection.execute(GENERATE_JOB)
            row = connection.execute(
                "SELECT coalesce(max(id), 0) FROM interviews_candidate"
            ).fetchone()
            assert row is not None
            values = {"first": row[0], "count": count}
            for statement in (GENERATE_CANDIDATES, GENERATE_INTERVIEWS, GENERATE_SESSIONS):
                connection.execute(statement, values)
        self.analyze()

    def analyze(self) -> None:
        """Planner statistics (autovacuum is off on this server)."""
        self.server.execute(self.name, "ANALYZE")

    def count(self, table: str) -> int:
        from psycopg import sql

        with self.connect() as connection:
            row = connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()
        assert row is not None
        return int(row[0])


# --- Fixtures -------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    """A started server, stopped and removed on exit; skips the test (fails it on CI) when
    the server cannot run here."""
    try:
        server = PostgresServer()
        server.start()
    except (PostgresUnavailable, PostgresFailed) as error:
        unavailable(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The throwaway server, started once per test session."""
    with throwaway_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_site(postgres: PostgresServer) -> SiteDatabase:
    """The example project's database "interview_site": the six demo interviews."""
    return postgres.create_site("interview_site")


@pytest.fixture
def postgres_site_copy(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> Iterator[SiteDatabase]:
    """A copy of postgres_site that this test may change; dropped afterwards."""
    copy = postgres.copy_site(postgres_site)
    yield copy
    postgres.drop_database(copy.name)
