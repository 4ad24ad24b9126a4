"""mailcheck on PostgreSQL, against the real server of tests/support/postgres.py.

Every command that reads the app's database (`session`, `sessions`, `doctor`'s django section,
`manage.py mailcheck ...`) gives on PostgreSQL what it gives on SQLite for the same rows, as the
app's role and as a role with SELECT only; a write through mailcheck's own connection is refused
by the server, and the dump is the same afterwards. A role without SELECT on a table, and each
way a connection fails (no server, wrong password, no such database, SSL, a server that never
answers), is a finding naming the setting or the GRANT, within the timeout, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support.django_site import (
    APP_SETTINGS,
    EMAIL_DIFFERS,
    EXAMPLE,
    HEALTHY,
    INVALID_EMAIL,
    NO_EMAIL,
    NO_SESSION,
    ORPHAN_KEY,
    SETTINGS,
    SITE_ARGS,
    console,
    manage,
    site_with_app,
    without_durations,
)
from support.postgres import (
    SESSION_TABLE,
    URL_VARIABLE,
    PostgresServer,
    Role,
    SiteDatabase,
    free_port,
    throwaway_server,
)

pytest_plugins = ["support.django_fixtures", "support.postgres"]  # demo_db; postgres, ...

SQLITE_VARIABLE = "INTERVIEW_SITE_DB"
ON_POSTGRES = "postgresql database 'interview_site' on 127.0.0.1"
NORMALISED = "DATABASE"


def mailcheck(environment: dict[str, str], *args: str, timeout: float = 120) -> Outcome:
    """`mailcheck ARGS` in a subprocess (Django is set up once per process)."""
    began = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    outcome = Outcome(completed, time.monotonic() - began)
    print(f"$ mailcheck {' '.join(args)}\nexit {completed.returncode} in {outcome.seconds:.1f} s")
    print(f"--- stdout\n{completed.stdout}--- stderr\n{completed.stderr}---")
    return outcome


class Outcome:
    def __init__(self, completed: subprocess.CompletedProcess[str], seconds: float) -> None:
        self.code = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.seconds = seconds

    def json(self) -> Any:
        return json.loads(self.stdout)


def sqlite_environment(database: Path) -> dict[str, str]:
    """This process's environment pointing the example project at a SQLite file."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMAIL_", "DJANGO", "MAILCHECK_", "INTERVIEW_SITE_"))
    }
    return {**base, SQLITE_VARIABLE: str(database)}


def normalised(text: str, database: Path) -> str:
    """The output with the database's description (the only legitimate difference) replaced."""
    return text.replace(f"SQLite {database}", NORMALISED).replace(ON_POSTGRES, NORMALISED)


# --- The same results as on SQLite --------------------------------------------------------------

READING_COMMANDS = {
    # name: (arguments, exit status on the demo rows)
    "session-healthy": (["session", HEALTHY, "--no-dns", "--json"], 0),
    "session-no-session": (["session", NO_SESSION, "--no-dns", "--json"], 1),
    "session-orphan-key": (["session", ORPHAN_KEY, "--no-dns", "--json"], 1),
    "session-no-email": (["session", NO_EMAIL, "--no-dns", "--json"], 1),
    "session-emails-differ": (["session", EMAIL_DIFFERS, "--no-dns", "--json", "-v"], 0),
    "session-invalid-email": (["session", INVALID_EMAIL, "--no-dns", "--json"], 1),
    "session-unknown": (["session", "6f1c2a3e-9999-4c8e-9a51-2b7d3e4f5a60", "--no-dns"], 1),
    "session-malformed": (["session", "6f1c2a3e-0001'", "--no-dns", "--json"], 1),
    "session-text": (["session", NO_EMAIL, "--no-dns"], 1),
    "sessions": (["sessions", "--no-dns", "--json"], 1),
    "sessions-text": (["sessions", "--no-dns", "-v"], 1),
    "sessions-window": (
        ["sessions", "--no-dns", "--json", "--since", "2030-03-05", "--until", "2030-03-06"],
        1,
    ),
    "sessions-limit": (["sessions", "--no-dns", "--json", "--limit", "2"], 1),
    "sessions-junit": (["sessions", "--no-dns", "--format", "junit"], 1),
    "doctor-django": (["doctor", "--only", "django", "--json"], 1),
}


@pytest.fixture(scope="module")
def on_sqlite(demo_db: Path) -> dict[str, Outcome]:
    """Each reading command on the SQLite demo database, once."""
    environment = sqlite_environment(demo_db)
    return {
        name: mailcheck(environment, *args, *SITE_ARGS)
        for name, (args, _) in READING_COMMANDS.items()
    }


def same_as_sqlite(ours: Outcome, theirs: Outcome, database: Path) -> None:
    assert (ours.code, ours.stderr) == (theirs.code, theirs.stderr)
    stdout, expected = normalised(ours.stdout, database), normalised(theirs.stdout, database)
    if expected.startswith("{"):
        assert without_durations(json.loads(stdout)) == without_durations(json.loads(expected))
    elif expected.startswith("<?xml"):
        assert _without_times(stdout) == _without_times(expected)
    else:
        assert stdout == expected


def _without_times(xml: str) -> str:
    import re

    return re.sub(r'(time|timestamp)="[^"]*"', "", xml)


@pytest.mark.parametrize("role_name", ["owner", "readonly"])
def test_every_reading_command_gives_what_it_gives_on_sqlite(
    postgres: PostgresServer,
    postgres_site: SiteDatabase,
    demo_db: Path,
    on_sqlite: dict[str, Outcome],
    role_name: str,
) -> None:
    """As the app's own role and as mailcheck_ro (CONNECT, USAGE, SELECT: nothing else); the
    dump is the same after all of them."""
    role: Role = getattr(postgres, role_name)
    environment = postgres_site.environment(role)
    before = postgres_site.dump()
    for name, (args, status) in READING_COMMANDS.items():
        ours = mailcheck(environment, *args, *SITE_ARGS)
        assert ours.code == status, name
        same_as_sqlite(ours, on_sqlite[name], demo_db)
        assert role.password not in ours.stdout + ours.stderr
    assert on_sqlite["sessions"].json()["summary"]["checked"] == 6
    assert postgres_site.dump() == before


def test_the_headline_names_the_postgresql_database(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> None:
    outcome = mailcheck(
        postgres_site.environment(postgres.readonly), "session", HEALTHY, "--no-dns", *SITE_ARGS
    )
    assert outcome.code == 0
    assert outcome.stdout.splitlines()[0] == (
        f"mailcheck session: interview {HEALTHY} in {ON_POSTGRES} (read-only), settings {SETTINGS}"
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project with mailcheck's Django app, for `manage.py mailcheck`."""
    return site_with_app(tmp_path_factory.mktemp("pg-command") / "site")


@pytest.mark.parametrize(
    "args",
    [
        ["sessions", "--no-dns", "--json"],
        ["session", NO_EMAIL, "--no-dns", "--json"],
        ["doctor", "--skip", "dns", "--skip", "send-test", "--json"],
    ],
    ids=lambda args: args[0],
)
def test_manage_py_mailcheck_gives_what_it_gives_on_sqlite(
    postgres: PostgresServer,
    postgres_site: SiteDatabase,
    demo_db: Path,
    project: Path,
    args: list[str],
) -> None:
    on_postgres = {URL_VARIABLE: postgres_site.url(postgres.readonly)}
    settings = ["--settings", APP_SETTINGS] if args[0] in ("session", "sessions") else []
    before = postgres_site.dump()
    ours = manage(project, "mailcheck", *args, env=on_postgres)
    theirs = console(project, args[0], *settings, *args[1:], env={SQLITE_VARIABLE: str(demo_db)})
    assert ours.returncode == 1 and ours.stderr == theirs.stderr == ""
    assert without_durations(json.loads(normalised(ours.stdout, demo_db))) == without_durations(
        json.loads(normalised(theirs.stdout, demo_db))
    )
    assert postgres_site.dump() == before


# --- Read-only, proven ---------------------------------------------------------------------------

WRITE_THROUGH_MAILCHECK = """
import json
import sys
from pathlib import Path

from django.db import connections

from interview_mailcheck.adapters.django import InterviewReader, load_project
from interview_mailcheck.errors import DatabaseRefused
from interview_mailcheck.interviews import ToolTable, resolve_layout

project = load_project(sys.argv[1], Path(sys.argv[2]))
reader = InterviewReader(project, resolve_layout(ToolTable(None)))
results = {}
for name, statement in json.loads(sys.argv[3]).items():
    try:
        with reader.read_only():
            cursor = connections[reader.alias].cursor()
            cursor.execute("SHOW default_transaction_read_only")
            results["switch"] = cursor.fetchone()[0]
            cursor.execute(statement)
        results[name] = "written"
    except DatabaseRefused as refused:
        results[name] = [refused.sqlstate, refused.phase, refused.kinds[0], refused.server_text]
print(json.dumps(results))
"""

WRITES = {
    "insert": "INSERT INTO interviews_job (id, title, company_name) VALUES (99, 'T', 'C')",
    "update": "UPDATE interviews_candidate SET email = ''",
    "delete": f"DELETE FROM {SESSION_TABLE}",
    "create": "CREATE TABLE mailcheck_was_here (id int)",
    "sequence": "SELECT nextval('interviews_candidate_id_seq')",
}


def test_a_write_through_mailchecks_connection_is_refused_by_the_server(
    postgres: PostgresServer, postgres_site_copy: SiteDatabase
) -> None:
    """As the app's role, which owns the tables and may write them: the server refuses because
    mailcheck's connection is read-only (SQLSTATE 25006), not for want of rights."""
    before = postgres_site_copy.dump()
    completed = subprocess.run(
        [sys.executable, "-c", WRITE_THROUGH_MAILCHECK, SETTINGS, str(EXAMPLE), json.dumps(WRITES)],
        env=postgres_site_copy.environment(postgres.owner),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(completed.stdout, completed.stderr)
    assert completed.returncode == 0
    results = json.loads(completed.stdout)
    assert results.pop("switch") == "on"
    verbs = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE", "create": "CREATE TABLE"}
    for name, verb in verbs.items():
        assert results[name] == [
            "25006",
            "read",
            "ReadOnlySqlTransaction",
            f"cannot execute {verb} in a read-only transaction",
        ]
    assert results["sequence"][:3] == ["25006", "read", "ReadOnlySqlTransaction"]
    assert postgres_site_copy.dump() == before
    # The same role, without mailcheck's switch, could have written (the proof is not vacuous).
    with postgres_site_copy.connect(postgres.owner) as connection:
        connection.execute(WRITES["update"])
    assert postgres_site_copy.dump() != before


# --- Rights -----------------------------------------------------------------------------------


GRANT = f"GRANT SELECT ON {SESSION_TABLE} TO mailcheck_no_sessions;"


@pytest.mark.parametrize(
    "args",
    [["sessions", "--no-dns"], ["session", HEALTHY, "--no-dns"], ["doctor", "--only", "django"]],
    ids=lambda args: args[0],
)
def test_a_role_without_select_gets_the_grant_to_run(
    postgres: PostgresServer, postgres_site: SiteDatabase, args: list[str]
) -> None:
    environment = postgres_site.environment(postgres.no_sessions)
    text = mailcheck(environment, *args, *SITE_ARGS)
    assert (text.code, text.stderr) == (1, "")
    assert "Traceback" not in text.stdout
    assert f"✗ session.E018  {SESSION_TABLE}: the role 'mailcheck_no_sessions' may not read " in (
        text.stdout
    )
    assert f"fix: Grant it, as the owner or a superuser: {GRANT}" in text.stdout
    document = mailcheck(environment, *args, *SITE_ARGS, "--json")
    assert document.code == 1
    (finding,) = [f for f in document.json()["findings"] if f["id"] == "session.E018"]
    assert finding["subject"] == SESSION_TABLE
    assert finding["hint"].endswith(GRANT)
    assert finding["evidence"] == {"sqlstate": "42501", "grant": GRANT}
    assert finding["message"] == (
        f"the role 'mailcheck_no_sessions' may not read the table {SESSION_TABLE}: "
        f"permission denied for table {SESSION_TABLE}"
    )


def test_after_the_grant_the_role_reads_as_the_others(
    postgres: PostgresServer, postgres_site_copy: SiteDatabase, demo_db: Path
) -> None:
    environment = postgres_site_copy.environment(postgres.no_sessions)
    assert mailcheck(environment, "sessions", "--no-dns", *SITE_ARGS).code == 1
    postgres.execute(postgres_site_copy.name, GRANT)
    granted = mailcheck(environment, "sessions", "--no-dns", "--json", *SITE_ARGS)
    expected = mailcheck(sqlite_environment(demo_db), "sessions", "--no-dns", "--json", *SITE_ARGS)
    assert granted.json() == expected.json()


# --- Connection problems named ------------------------------------------------------------------


def with_url(site: SiteDatabase, role: Role, *, port: int | None = None, **changes: str) -> str:
    """The site's URL as `role`, on another port or database, with a query string."""
    url = site.url(role)
    if port is not None:
        url = url.replace(f":{site.server.port}/", f":{port}/")
    if "database" in changes:
        url = url.rsplit("/", 1)[0] + "/" + quote(changes.pop("database"), safe="")
    if changes:
        url += "?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in changes.items())
    return url


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def problem(environment: dict[str, str], *args: str) -> tuple[Outcome, dict[str, Any]]:
    outcome = mailcheck(environment, *args, *SITE_ARGS, "--json", timeout=60)
    assert (outcome.code, outcome.stderr) == (1, "")
    document = outcome.json()
    (finding,) = document["findings"]
    return outcome, finding


@pytest.mark.parametrize("command", [["sessions"], ["session", HEALTHY]], ids=lambda c: c[0])
def test_server_not_running(
    postgres: PostgresServer, postgres_site: SiteDatabase, command: list[str]
) -> None:
    port = free_port()
    environment = {
        **postgres_site.environment(),
        URL_VARIABLE: with_url(postgres_site, postgres.readonly, port=port),
    }
    _, finding = problem(environment, *command, "--no-dns")
    assert finding["id"] == "session.E013"
    assert finding["subject"] == "DATABASES['default']['HOST']"
    assert finding["message"].startswith(
        f"nothing accepts PostgreSQL connections at 127.0.0.1:{port}: Connection refused"
    )
    assert finding["hint"] == (
        "Start the database server, or set DATABASES['default']['HOST'] and ['PORT'] to where "
        "it listens"
    )


def test_host_that_does_not_resolve(postgres: PostgresServer, postgres_site: SiteDatabase) -> None:
    url = with_url(postgres_site, postgres.readonly).replace("127.0.0.1", "db.invalid")
    environment = {**postgres_site.environment(), URL_VARIABLE: url}
    _, finding = problem(environment, "sessions", "--no-dns")
    assert finding["id"] == "session.E013"
    assert finding["hint"].startswith("Set DATABASES['default']['HOST'] to a name this machine")


WRONG_PASSWORD = 'Wr0ng-"Pg\\pass% wörd-7731'


def test_wrong_password(postgres: PostgresServer, postgres_site: SiteDatabase) -> None:
    wrong = Role(postgres.readonly.name, WRONG_PASSWORD)
    environment = postgres_site.environment(wrong)
    _, finding = problem(environment, "sessions", "--no-dns")
    assert finding["id"] == "session.E014"
    assert finding["subject"] == "DATABASES['default']['PASSWORD']"
    assert finding["message"] == (
        f"PostgreSQL at 127.0.0.1:{postgres.port} refused the login as 'mailcheck_ro': FATAL: "
        'password authentication failed for user "mailcheck_ro"'
    )
    assert finding["hint"].startswith(
        "Set DATABASES['default']['PASSWORD'] to the password of the role 'mailcheck_ro'"
    )


def forms(password: str) -> set[str]:
    """The password as a reader could recognise it in output."""
    return {
        password,
        json.dumps(password)[1:-1],
        json.dumps(password, ensure_ascii=False)[1:-1],
        repr(password)[1:-1],
        quote(password, safe=""),
        quote(password),
        "".join(password.split()),
        *(part for part in password.split() if len(part) >= 6),
    }


@pytest.mark.parametrize("mode", ["text", "verbose", "json", "github", "junit"])
def test_the_wrong_password_appears_in_no_output(
    postgres: PostgresServer, postgres_site: SiteDatabase, tmp_path: Path, mode: str
) -> None:
    environment = postgres_site.environment(Role(postgres.readonly.name, WRONG_PASSWORD))
    junit = tmp_path / "report.xml"
    extra = {
        "text": [],
        "verbose": ["-v", "--debug"],
        "json": ["--json"],
        "github": ["--format", "github"],
        "junit": ["--format", "junit", "--output", str(junit)],
    }[mode]
    for command in (["sessions", "--no-dns"], ["session", HEALTHY, "--no-dns"]):
        outcome = mailcheck(environment, *command, *SITE_ARGS, *extra)
        assert outcome.code == 1
        written = junit.read_text(encoding="utf-8") if junit.exists() else ""
        assert "session.E014" in outcome.stdout + written
        found = [f for f in forms(WRONG_PASSWORD) if f in outcome.stdout + outcome.stderr + written]
        assert found == []


def test_a_server_that_quotes_the_password_back_is_masked(postgres: PostgresServer) -> None:
    """The server quotes a bad parameter value (here the password itself, given as work_mem):
    a problem PROBLEMS does not know is the one-line error, exit 2, and masked like any other."""
    secret = "Echo-Pg-Secret-4417"
    echo = Role("mailcheck_echo", secret)
    from psycopg import sql

    postgres.execute(
        "postgres",
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(echo.name), sql.Literal(echo.password)
        ),
    )
    try:
        url = postgres.url("postgres", echo) + "?" + "options=" + quote(f"-c work_mem={secret}")
        environment = {**SiteDatabase(postgres, "postgres").environment(), URL_VARIABLE: url}
        outcome = mailcheck(environment, "sessions", "--no-dns", *SITE_ARGS)
        assert (outcome.code, outcome.stdout) == (2, "")
        assert outcome.stderr.startswith("mailcheck: error: database cannot be opened: ")
        assert 'invalid value for parameter "work_mem": "********"' in outcome.stderr
        assert secret not in outcome.stderr and len(outcome.stderr.splitlines()) == 1
    finally:
        postgres.execute("postgres", sql.SQL("DROP ROLE {}").format(sql.Identifier(echo.name)))


def test_database_missing(postgres: PostgresServer, postgres_site: SiteDatabase) -> None:
    environment = {
        **postgres_site.environment(),
        URL_VARIABLE: with_url(postgres_site, postgres.readonly, database="interview_sight"),
    }
    _, finding = problem(environment, "session", HEALTHY, "--no-dns")
    assert finding["id"] == "session.E015"
    assert finding["subject"] == "DATABASES['default']['NAME']"
    assert finding["message"] == (
        f"PostgreSQL at 127.0.0.1:{postgres.port} has no database 'interview_sight': FATAL: "
        'database "interview_sight" does not exist'
    )
    assert finding["hint"].startswith("Set DATABASES['default']['NAME'] to the app's database")


def test_the_servers_words_are_escaped_before_a_terminal(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> None:
    """The server quotes the database name it was asked for: a name with an ESC sequence and a
    CR reaches the text report written visibly, as every peer's text does."""
    hostile = "nope\x1b]0;PWNED\x07\x1b[2J\rfake"
    environment = {
        **postgres_site.environment(),
        URL_VARIABLE: with_url(postgres_site, postgres.readonly, database=hostile),
    }
    outcome = mailcheck(environment, "sessions", "--no-dns", *SITE_ARGS)
    assert outcome.code == 1
    assert "session.E015" in outcome.stdout
    assert "\x1b" not in outcome.stdout and "\r" not in outcome.stdout
    # The server's words on one line (the CR a space), ESC and BEL written visibly:
    assert 'database "nope\\x1b]0;PWNED\\x07\\x1b[2J fake" does not exist' in outcome.stdout
    assert "has no database 'nope\\x1b]0;PWNED\\x07\\x1b[2J\\rfake'" in outcome.stdout
    document = mailcheck(environment, "sessions", "--no-dns", "--json", *SITE_ARGS).json()
    spoken = hostile.replace("\r", " ")
    assert document["findings"][0]["message"].endswith(f'database "{spoken}" does not exist')


def test_ssl_required_by_the_client_of_a_server_without_it(
    postgres: PostgresServer, postgres_site: SiteDatabase
) -> None:
    url = with_url(postgres_site, postgres.readonly, sslmode="require")
    environment = {**postgres_site.environment(), URL_VARIABLE: url}
    _, finding = problem(environment, "sessions", "--no-dns")
    assert finding["id"] == "session.E016"
    assert finding["subject"] == "DATABASES['default']['OPTIONS']"
    assert finding["message"].endswith(
        "DATABASES['default']['OPTIONS']['sslmode'] ('require') do not agree: server does not "
        "support SSL, but SSL was required"
    )
    assert finding["hint"].startswith(
        "The server has ssl off: set DATABASES['default']['OPTIONS']['sslmode'] to 'prefer'"
    )


def test_ssl_required_by_the_server(postgres: PostgresServer) -> None:
    """A server whose pg_hba.conf takes this host over SSL only (hostssl), and a client that
    does not use SSL: its own server, since the shared one's pg_hba.conf stays as it is."""
    import psycopg

    with throwaway_server() as server:
        hba = server.data / "pg_hba.conf"
        hba.write_text(
            hba.read_text(encoding="utf-8").replace("\nhost    all", "\nhostssl all"),
            encoding="utf-8",
        )
        assert server._process is not None
        server._process.send_signal(signal.SIGHUP)  # reload pg_hba.conf
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                server.connect(sslmode="disable").close()
            except psycopg.OperationalError as error:
                if "no encryption" in str(error):
                    break
            time.sleep(0.05)
        url = server.url("postgres", server.superuser) + "?sslmode=disable"
        environment = {**SiteDatabase(server, "postgres").environment(), URL_VARIABLE: url}
        _, finding = problem(environment, "sessions", "--no-dns")
    assert finding["id"] == "session.E016"
    assert "no pg_hba.conf entry for host" in finding["message"]
    assert finding["message"].endswith("no encryption")
    assert finding["hint"].startswith(
        "The server accepts this host over SSL only: set "
        "DATABASES['default']['OPTIONS']['sslmode'] to 'require'"
    )


def test_a_server_that_never_answers_within_its_connect_timeout(
    postgres: PostgresServer, postgres_site: SiteDatabase, silent_server: int
) -> None:
    url = with_url(postgres_site, postgres.readonly, port=silent_server, connect_timeout="2")
    environment = {**postgres_site.environment(), URL_VARIABLE: url}
    outcome, finding = problem(environment, "sessions", "--no-dns")
    assert finding["id"] == "session.E017"
    assert finding["message"] == (
        f"no answer from PostgreSQL at 127.0.0.1:{silent_server} within 2 s: connection timeout "
        "expired"
    )
    assert "DATABASES['default']['OPTIONS']['connect_timeout'] or --timeout" in finding["hint"]
    assert outcome.seconds < 2 + 3  # the timeout, plus start-up


def test_a_server_that_never_answers_within_the_timeout_option(
    postgres: PostgresServer, postgres_site: SiteDatabase, silent_server: int
) -> None:
    """--timeout (the DNS lookups' too: none is made when the database cannot be read) bounds
    the connection over the app's own connect_timeout."""
    url = with_url(postgres_site, postgres.readonly, port=silent_server, connect_timeout="60")
    environment = {**postgres_site.environment(), URL_VARIABLE: url}
    outcome, finding = problem(
        environment, "session", HEALTHY, "--timeout", "2", "--nameserver", "127.0.0.1:9"
    )
    assert finding["id"] == "session.E017"
    assert "within 2 s" in finding["message"]
    assert outcome.seconds < 2 + 3


def test_explain_names_each_connection_finding() -> None:
    from interview_mailcheck.catalog import find_rule

    for rule_id, words in {
        "session.E013": "HOST and PORT",
        "session.E014": "28P01",
        "session.E015": "3D000",
        "session.E016": "hostssl",
        "session.E017": "connect_timeout",
        "session.E018": "42501",
    }.items():
        rule = find_rule(rule_id)
        assert rule is not None and words in rule.explanation
