"""The PostgreSQL peer itself (tests/support/postgres.py): the server, the example project on
it, the roles' rights, read-only transactions, the dump and the seeders; and `mailcheck
sessions` on it, in a subprocess, against the same rows on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors
from support.django_site import (
    EMAIL_DIFFERS,
    EXAMPLE,
    HEALTHY,
    INVALID_EMAIL,
    NO_EMAIL,
    NO_SESSION,
    ORPHAN_KEY,
    SETTINGS,
    SITE_ARGS,
)
from support.postgres import (
    BINDIR_VARIABLE,
    FAST_SETTINGS,
    SESSION_TABLE,
    SITE_TABLES,
    URL_VARIABLE,
    PostgresServer,
    PostgresUnavailable,
    Role,
    SiteDatabase,
    throwaway_server,
    unavailable,
)

pytest_plugins = ["support.django_fixtures", "support.postgres"]  # demo_db; postgres, ...

DEMO_IDS = {HEALTHY, NO_SESSION, ORPHAN_KEY, NO_EMAIL, EMAIL_DIFFERS, INVALID_EMAIL}
APP_LABELS = ("interviews", "interview_app")


def sqlite_environment(database: Path) -> dict[str, str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "DJANGO", "MAILCHECK_", "INTERVIEW_SITE_"))
    }
    return {**environment, "INTERVIEW_SITE_DB": str(database)}


def dumpdata(environment: dict[str, str]) -> list[dict[str, Any]]:
    """The example project's own `dumpdata` of its two apps, less the sessions' created_at
    (auto_now_add: the time each database was seeded)."""
    completed = subprocess.run(
        [sys.executable, "manage.py", "dumpdata", *APP_LABELS],
        cwd=EXAMPLE,
        env={**environment, "DJANGO_SETTINGS_MODULE": SETTINGS},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    objects: list[dict[str, Any]] = json.loads(completed.stdout)
    for item in objects:
        item["fields"].pop("created_at", None)
    return objects


def one(connection: psycopg.Connection[Any], query: str) -> Any:
    row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


# --- The server ---------------------------------------------------------------------------


def test_server_answers_on_loopback_and_on_its_socket(postgres: PostgresServer) -> None:
    with postgres.connect() as connection:
        assert one(connection, "SELECT inet_server_addr()::text") == "127.0.0.1/32"
        assert one(connection, "SELECT current_setting('listen_addresses')") == "127.0.0.1"
        assert int(one(connection, "SELECT current_setting('port')")) == postgres.port
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            assert one(connection, f"SELECT current_setting('{name}')") == FAST_SETTINGS[name]
        version = int(one(connection, "SELECT current_setting('server_version_num')"))
    assert version >= 100000
    with postgres.connect(unix_socket=True) as connection:
        assert one(connection, "SELECT inet_server_addr()") is None  # a Unix socket
        assert one(connection, "SELECT current_user") == "postgres"
    assert postgres.socket_dir.joinpath(f".s.PGSQL.{postgres.port}").is_socket()
    if os.geteuid() == 0:  # the server refuses root: it runs as the postgres user
        assert postgres.account is not None and postgres.account.pw_name == "postgres"
        assert postgres.data.stat().st_uid == postgres.account.pw_uid


def test_a_wrong_password_is_refused(postgres: PostgresServer, postgres_site: SiteDatabase) -> None:
    wrong = Role(postgres.readonly.name, "not-the-password")
    with pytest.raises(psycopg.OperationalError) as refused:
        postgres_site.connect(wrong)
    assert 'password authentication failed for user "mailcheck_ro"' in str(refused.value)


def test_a_server_of_its_own_starts_stops_and_leaves_nothing() -> None:
    with throwaway_server() as server:
        folder, port = server.folder, server.port
        with server.connect() as connection:
            assert one(connection, "SELECT 40 + 2") == 42
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=port, user="postgres", connect_timeout=2)
    assert set(server.timings) == {"initdb", "start", "stop"}


# --- The example project on it ------------------------------------------------------------


def test_example_project_is_migrated_with_the_six_demo_interviews(
    postgres_site: SiteDatabase, demo_db: Path
) -> None:
    with postgres_site.connect() as connection:
        applied = connection.execute(
            "SELECT app, name FROM django_migrations WHERE app = ANY(%s) ORDER BY app",
            [list(APP_LABELS)],
        ).fetchall()
        ids = {str(row[0]) for row in connection.execute("SELECT id FROM interviews_interview")}
        owners = connection.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert applied == [("interview_app", "0001_initial"), ("interviews", "0001_initial")]
    assert ids == DEMO_IDS
    assert owners == [("interview_site",)]  # migrated as the app's role
    # The very rows of the SQLite demo database, as the project itself serializes them.
    on_postgres = dumpdata(postgres_site.environment())
    assert on_postgres == dumpdata(sqlite_environment(demo_db))
    assert len([o for o in on_postgres if o["model"] == "interviews.interview"]) == 6


# --- Rights --------------------------------------------------------------------------------


def test_mailcheck_ro_can_select_and_nothing_else(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> None:
    with postgres_site.connect(postgres.readonly, autocommit=True) as connection:
        assert one(connection, "SELECT count(*) FROM interviews_interview") == 6
        assert one(connection, f"SELECT count(*) FROM {SESSION_TABLE}") == 4
        grants = connection.execute(
            "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = 'mailcheck_ro'"
        ).fetchall()
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        assert set(SITE_TABLES) <= tables
        assert sorted(grants) == sorted((table, "SELECT") for table in tables)
        with pytest.raises(errors.InsufficientPrivilege) as insert:
            connection.execute(
                "INSERT INTO interviews_candidate (id, full_name, email) VALUES (99, 'X', '')"
            )
        assert "permission denied for table interviews_candidate" in str(insert.value)
        with pytest.raises(errors.InsufficientPrivilege) as update:
            connection.execute("UPDATE interviews_interview SET session_key = 'changed'")
        assert "permission denied for table interviews_interview" in str(update.value)
        with pytest.raises(errors.InsufficientPrivilege) as create:
            connection.execute("CREATE TABLE mailcheck_was_here (id int)")
        assert "permission denied for schema public" in str(create.value)


def test_a_role_without_select_on_the_session_table_is_refused_it(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> None:
    with postgres_site.connect(postgres.no_sessions, autocommit=True) as connection:
        assert one(connection, "SELECT count(*) FROM interviews_interview") == 6
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            connection.execute(f"SELECT session_key FROM {SESSION_TABLE}")
    assert str(refused.value).startswith(f"permission denied for table {SESSION_TABLE}")


def test_a_read_only_connection_refuses_writes(postgres_site: SiteDatabase) -> None:
    before = postgres_site.dump()
    options = "-c default_transaction_read_only=on"
    with postgres_site.connect(options=options, autocommit=True) as connection:  # the owner
        assert one(connection, "SHOW default_transaction_read_only") == "on"
        with pytest.raises(errors.ReadOnlySqlTransaction) as insert:
            connection.execute(
                "INSERT INTO interviews_job (id, title, company_name) VALUES (9, 'T', 'C')"
            )
        assert "cannot execute INSERT in a read-only transaction" in str(insert.value)
        with pytest.raises(errors.ReadOnlySqlTransaction) as update:
            connection.execute("UPDATE interviews_candidate SET email = ''")
        assert "cannot execute UPDATE in a read-only transaction" in str(update.value)
    assert postgres_site.dump() == before


# --- The dump --------------------------------------------------------------------------------


def test_the_dump_is_the_same_twice_and_changes_with_the_data(
    postgres_site_copy: SiteDatabase,
) -> None:
    first, second = postgres_site_copy.dump(), postgres_site_copy.dump()
    assert first == second
    assert "Asha Rao" in first and "GRANT SELECT ON TABLE public.interviews_interview" in first
    data = postgres_site_copy.dump(data_only=True)
    assert data == postgres_site_copy.dump(data_only=True)
    assert "CREATE TABLE" not in data and "k7Qm2xHealthy" in data
    with postgres_site_copy.connect() as connection:
        connection.execute("UPDATE interviews_candidate SET email = '' WHERE id = 1")
    changed = postgres_site_copy.dump()
    assert "1\tAsha Rao\tasha.rao@example.org" in first
    assert "1\tAsha Rao\tasha.rao@example.org" not in changed and "1\tAsha Rao\t\n" in changed


# --- Seeding at scale --------------------------------------------------------------------------


def test_sql_seeding_makes_the_rows_of_demo_data_generate(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> None:
    """On top of the demo rows, so the candidates' ids start after theirs as demo_data's do."""
    by_django, by_sql = postgres.copy_site(postgres_site), postgres.copy_site(postgres_site)
    try:
        by_django.generate_with_django(1000)
        by_sql.generate_with_sql(1000)
        for site in (by_django, by_sql):
            assert site.count("interviews_interview") == 1006
            assert site.count(SESSION_TABLE) == 4 + 980  # not numbers 1 and 2 of each hundred
        generated = dumpdata(by_sql.environment())
        assert generated == dumpdata(by_django.environment())
        emails = [o["fields"]["email"] for o in generated if o["model"] == "interviews.candidate"]
        assert emails.count("") == 1 + 10  # Dana Levi, and number 3 of each hundred
    finally:
        postgres.drop_database(by_django.name)
        postgres.drop_database(by_sql.name)


# --- mailcheck on PostgreSQL ---------------------------------------------------------------


def mailcheck_sessions(environment: dict[str, str], *options: str) -> tuple[int, str, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", "sessions", *SITE_ARGS, "--no-dns", *options],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(f"exit {completed.returncode}\n{completed.stdout}\n{completed.stderr}")
    return completed.returncode, completed.stdout, completed.stderr


def test_mailcheck_sessions_reports_on_postgresql_what_it_reports_on_sqlite(
    postgres: PostgresServer, postgres_site: SiteDatabase, demo_db: Path
) -> None:
    on_sqlite = mailcheck_sessions(sqlite_environment(demo_db), "--json")
    assert on_sqlite[0] == 1 and json.loads(on_sqlite[1])["summary"]["checked"] == 6
    before = postgres_site.dump()
    for role in (postgres.owner, postgres.readonly):
        environment = postgres_site.environment(role)
        assert environment[URL_VARIABLE].startswith(f"postgresql://{role.name}:")
        code, stdout, stderr = mailcheck_sessions(environment, "--json")
        assert (code, stderr) == (1, "")
        assert json.loads(stdout) == json.loads(on_sqlite[1])
        assert role.password not in stdout
    text = mailcheck_sessions(postgres_site.environment(postgres.readonly))[1]
    assert text.splitlines()[0] == (
        "mailcheck sessions: 6 interviews in postgresql database 'interview_site' on "
        f"127.0.0.1 (read-only), settings {SETTINGS}"
    )
    assert postgres_site.dump() == before


# --- Without a server -----------------------------------------------------------------------


def test_missing_binaries_skip_with_one_line_or_fail_on_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(BINDIR_VARIABLE, str(tmp_path))  # a folder without the binaries
    with pytest.raises(PostgresUnavailable) as missing:
        PostgresServer()
    reason = str(missing.value)
    assert "\n" not in reason and reason.endswith("`apt-get install postgresql-15`")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        unavailable(reason)
    assert skipped.value.msg == reason
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        unavailable(reason)
    assert failed.value.msg is not None and failed.value.msg.startswith(reason)
