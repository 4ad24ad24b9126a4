"""checks/database.py without a server: what each refusal the Django adapter raises becomes.

The real server's own words are in tests/test_postgres_sessions.py; here the table's rows, the
SQLSTATE-only fallback, the GRANT's quoting, the masking and what stays an input error.
"""

from __future__ import annotations

import pytest

from interview_mailcheck import secrets
from interview_mailcheck.checks.database import PROBLEMS, database_findings, identifier
from interview_mailcheck.errors import DatabaseRefused, InputError

SETTINGS = {
    "vendor": "postgresql",
    "alias": "default",
    "where": "postgresql database 'hiring' on db.internal",
    "host": "db.internal",
    "port": "5432",
    "name": "hiring",
    "user": "mailcheck",
    "sslmode": "",
    "connect_timeout": "10",
}


def refused(
    text: str,
    *,
    phase: str = "open",
    sqlstate: str | None = None,
    kinds: tuple[str, ...] = ("OperationalError", "DatabaseError", "Error", "Exception"),
    **settings: str,
) -> DatabaseRefused:
    return DatabaseRefused(
        f"database cannot be opened: {SETTINGS['where']}: OperationalError: {text}",
        phase=phase,
        server_text=text,
        sqlstate=sqlstate,
        kinds=kinds,
        database={**SETTINGS, **settings},
    )


CASES = [
    # (what the driver said, sqlstate, phase, kinds, the id, the subject)
    ("connection refused", "Connection refused", None, "open", (), "session.E013", "HOST"),
    (
        "socket",
        "failed: No such file or directory Is the server running locally",
        None,
        "open",
        (),
        "session.E013",
        "HOST",
    ),
    (
        "unresolved",
        "failed to resolve host 'db.internal'",
        None,
        "open",
        (),
        "session.E013",
        "HOST",
    ),
    (
        "password",
        'FATAL: password authentication failed for user "mailcheck"',
        None,
        "open",
        (),
        "session.E014",
        "PASSWORD",
    ),
    (
        "no password",
        "fe_sendauth: no password supplied",
        None,
        "open",
        (),
        "session.E014",
        "PASSWORD",
    ),
    ("no role", 'FATAL: role "mailcheck" does not exist', None, "open", (), "session.E014", "USER"),
    (
        "database",
        'FATAL: database "hiring" does not exist',
        None,
        "open",
        (),
        "session.E015",
        "NAME",
    ),
    (
        "ssl off",
        "server does not support SSL, but SSL was required",
        None,
        "open",
        (),
        "session.E016",
        "OPTIONS",
    ),
    (
        "hostssl",
        'FATAL: no pg_hba.conf entry for host "10.0.0.5", user "mailcheck", database '
        '"hiring", no encryption',
        None,
        "open",
        (),
        "session.E016",
        "OPTIONS",
    ),
    (
        "timeout",
        "connection timeout expired",
        None,
        "open",
        ("ConnectionTimeout",),
        "session.E017",
        "HOST",
    ),
    (
        "connect",
        'FATAL: permission denied for database "hiring" DETAIL: User does not have '
        "CONNECT privilege.",
        None,
        "open",
        (),
        "session.E018",
        "",
    ),
]


@pytest.mark.parametrize(
    ("text", "sqlstate", "phase", "kinds", "rule_id", "setting"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_refusal_is_its_finding_naming_the_setting(
    text: str, sqlstate: str | None, phase: str, kinds: tuple[str, ...], rule_id: str, setting: str
) -> None:
    extra = {"kinds": (*kinds, "OperationalError")} if kinds else {}
    (finding,) = database_findings(refused(text, sqlstate=sqlstate, phase=phase, **extra))
    assert finding.id == rule_id
    if setting:
        assert finding.subject == f"DATABASES['default'][{setting!r}]"
        assert f"DATABASES['default'][{setting!r}]" in finding.hint + finding.message


def test_no_select_on_a_table_gives_the_grant() -> None:
    (finding,) = database_findings(
        refused(
            "permission denied for table interview_app_interviewsession",
            phase="read",
            sqlstate="42501",
        )
    )
    assert (finding.id, finding.subject) == ("session.E018", "interview_app_interviewsession")
    assert finding.hint == (
        "Grant it, as the owner or a superuser: "
        "GRANT SELECT ON interview_app_interviewsession TO mailcheck;"
    )
    assert dict(finding.evidence) == {
        "sqlstate": "42501",
        "grant": "GRANT SELECT ON interview_app_interviewsession TO mailcheck;",
    }


def test_no_usage_on_the_schema_and_no_connect_give_their_grants() -> None:
    (schema,) = database_findings(
        refused("permission denied for schema public", phase="read", sqlstate="42501")
    )
    assert schema.hint.endswith("GRANT USAGE ON SCHEMA public TO mailcheck;")
    (connect,) = database_findings(refused('FATAL: permission denied for database "hiring"'))
    assert connect.hint.endswith("GRANT CONNECT ON DATABASE hiring TO mailcheck;")


def test_a_refusal_in_another_language_is_known_by_its_sqlstate() -> None:
    (finding,) = database_findings(
        refused("Keine Berechtigung für Tabelle x", phase="read", sqlstate="42501")
    )
    assert finding.id == "session.E018"
    assert finding.hint.endswith("GRANT SELECT ON <name> TO mailcheck;")


def test_names_that_need_quoting_are_quoted_in_the_grant() -> None:
    assert identifier("interview_app_interviewsession") == "interview_app_interviewsession"
    assert identifier("Hiring") == '"Hiring"'
    assert identifier('odd"name') == '"odd""name"'
    (finding,) = database_findings(
        refused('permission denied for table "Sessions"', phase="read", sqlstate="42501", user="Ro")
    )
    assert finding.hint.endswith('GRANT SELECT ON "Sessions" TO "Ro";')


def test_what_the_table_does_not_know_is_no_finding() -> None:
    unknown = refused('FATAL: invalid value for parameter "work_mem": "lots"')
    assert database_findings(unknown) == []
    assert isinstance(unknown, InputError)  # so the command's one-line error, exit 2
    assert str(unknown).startswith("database cannot be opened: ")
    # A read-time refusal of the open phase's words is not taken for a connection problem.
    assert database_findings(refused("Connection refused", phase="read")) == []
    # Another backend's words are not PostgreSQL's, even where they look alike.
    assert database_findings(refused("Connection refused", vendor="mysql")) == []


def test_the_servers_words_are_masked_as_the_finding_is_made() -> None:
    secret = "Pg-Secret-in-a-reply-9931"
    raw = f'FATAL: password authentication failed for user "mailcheck" ({secret})'
    made_before = refused(raw)  # the secret not yet known when the driver's error came
    secrets.current().add(secret)
    (finding,) = database_findings(made_before)
    assert secret not in finding.message + finding.hint + finding.subject
    assert secrets.MASK in finding.message
    made_after = refused(raw)
    assert secret not in made_after.server_text and secret not in str(made_after)


def test_every_row_names_a_setting_or_a_grant() -> None:
    for problem in PROBLEMS:
        assert bool(problem.setting) != bool(problem.grant) or problem.setting == "USER"
        assert problem.words, problem
        assert problem.phase in ("open", "read")
