"""`mailcheck session ID` and `mailcheck sessions` end to end on the example project (SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import RunCli
from support.django_site import (
    EMAIL_DIFFERS,
    HEALTHY,
    INVALID_EMAIL,
    LINK_WARNINGS,
    NO_EMAIL,
    NO_SESSION,
    ORPHAN_KEY,
    build_database,
    digest,
    use_database,
)
from support.django_site import SITE_ARGS as PROJECT_ARGS

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site
pytestmark = pytest.mark.usefixtures("site")

# The candidates' domains are looked up in test_candidate_address.py, against a loopback
# nameserver; here the system's is never asked.
SITE_ARGS = (*PROJECT_ARGS, "--no-dns")
EXPECTED_BY_INTERVIEW = {
    NO_SESSION: ["session.E002"],
    ORPHAN_KEY: ["session.E003"],
    NO_EMAIL: ["session.E004", "session.E006"],
    EMAIL_DIFFERS: ["session.W001"],
    INVALID_EMAIL: ["session.E005", "session.E007"],
}
PUBLIC_LINK = "https://interviews.acme.example/join?session_key={session_key}"


def by_interview(document: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in document["findings"]:
        found.setdefault(finding.get("interview_id", "-"), []).append(finding["id"])
    return {key: sorted(ids) for key, ids in found.items()}


def rows(document: dict[str, Any]) -> dict[str, str]:
    return {row["item"]: row["value"] for row in document["interview"]}


# --- sessions: every interview ------------------------------------------------------------


def test_sessions_finds_each_problem_on_its_interview(run_cli: RunCli) -> None:
    result = run_cli("sessions", *SITE_ARGS, "--json")
    assert (result.exit_code, result.stderr) == (1, "")
    document = result.json()
    assert document["command"] == "sessions"
    assert document["summary"] == {"errors": 6, "warnings": 3, "infos": 0, "checked": 6}
    # The link warnings belong to the template, once; every other finding to its interview.
    assert by_interview(document) == {"-": LINK_WARNINGS, **EXPECTED_BY_INTERVIEW}
    assert HEALTHY not in by_interview(document)


def test_sessions_text_names_the_interview_and_the_database(run_cli: RunCli, site: Path) -> None:
    result = run_cli("sessions", *SITE_ARGS)
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first == (
        f"mailcheck sessions: 6 interviews in SQLite {site} (read-only), "
        "settings interview_site.settings"
    )
    assert f"(interview id {ORPHAN_KEY})" in result.stdout
    assert "session_key 'p3Zr8vOrphan' matches no interview_app.InterviewSession" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("✗ FAIL 6 errors, 3 warnings")


def test_sessions_with_a_public_link_and_no_problems_in_the_window(run_cli: RunCli) -> None:
    result = run_cli(
        "sessions",
        *SITE_ARGS,
        "--until",
        "2030-03-04T10:00Z",
        "--json",
        env={"MAILCHECK_LINK_TEMPLATE": PUBLIC_LINK},
    )
    assert result.exit_code == 0
    assert result.json()["summary"]["checked"] == 1
    assert result.json()["findings"] == []
    text = run_cli(
        "sessions", *SITE_ARGS, "--until", "2030-03-04T10:00Z", "--link-template", PUBLIC_LINK
    )
    assert text.stdout.rstrip().endswith("Every interview checked has what its invitation needs.")


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (["--since", "2030-03-05", "--until", "2030-03-05"], {ORPHAN_KEY, NO_EMAIL}),
        (["--since", "2030-03-06"], {EMAIL_DIFFERS, INVALID_EMAIL}),
        # 16:00 in India is 10:30 UTC: only the interviews from 10:45 UTC on.
        (["--since", "2030-03-06T16:00+05:30"], {EMAIL_DIFFERS, INVALID_EMAIL}),
        (["--since", "2030-03-06T16:30+05:30"], {INVALID_EMAIL}),
        (["--until", "2030-03-04T10:59"], {HEALTHY}),
        (["--limit", "2"], {HEALTHY, NO_SESSION}),
        (["--since", "2031-01-01"], set()),
    ],
)
def test_sessions_window_and_limit(run_cli: RunCli, window: list[str], expected: set[str]) -> None:
    result = run_cli("sessions", *SITE_ARGS, *window, "--json", "--link-template", PUBLIC_LINK)
    document = result.json()
    assert document["summary"]["checked"] == len(expected)
    assert set(by_interview(document)) <= expected
    assert result.exit_code == (1 if set(by_interview(document)) - {EMAIL_DIFFERS} else 0)


@pytest.mark.parametrize("value", ["2030-02-30", "yesterday", "03/05/2030"])
def test_sessions_bad_date_is_a_usage_error(run_cli: RunCli, value: str) -> None:
    result = run_cli("sessions", *SITE_ARGS, "--since", value)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("mailcheck: error: ")
    assert repr(value) in result.stderr and len(result.stderr.splitlines()) == 1


def test_sessions_limit_must_be_positive(run_cli: RunCli) -> None:
    result = run_cli("sessions", *SITE_ARGS, "--limit", "0")
    assert result.exit_code == 2
    assert "--limit" in result.stderr


# --- session: one interview ---------------------------------------------------------------


def test_session_healthy_shows_what_the_invitation_contains(run_cli: RunCli) -> None:
    result = run_cli("session", HEALTHY, *SITE_ARGS, "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    document = result.json()
    assert sorted(f["id"] for f in document["findings"]) == LINK_WARNINGS
    assert rows(document) == {
        "interview": f"{HEALTHY} (interviews.Interview)",
        "session_key": "k7Qm2xHealthy",
        "InterviewSession": "found (interview_app.InterviewSession)",
        "candidate": "Asha Rao",
        "candidate email": "asha.rao@example.org",
        "session email": "asha.rao@example.org",
        "job": "Backend Engineer at Acme Labs",
        "scheduled (UTC)": "Mon 04 Mar 2030, 09:30 UTC",
        "scheduled (IST)": "Mon 04 Mar 2030, 15:00 IST",
        "coding language": "python",
        "link": "http://127.0.0.1:8000/?session_key=k7Qm2xHealthy",
    }


def test_session_text_always_shows_the_invitation(run_cli: RunCli) -> None:
    result = run_cli("session", HEALTHY, *SITE_ARGS, "--link-template", PUBLIC_LINK)
    assert result.exit_code == 0
    assert "The interview and its invitation" in result.stdout
    assert "scheduled (IST)   Mon 04 Mar 2030, 15:00 IST" in result.stdout
    assert "link              https://interviews.acme.example/join?session_key=k7Qm2xHealthy" in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith("This interview's invitation has everything it needs.")


@pytest.mark.parametrize(("interview_id", "expected"), sorted(EXPECTED_BY_INTERVIEW.items()))
def test_session_reports_the_problem_of_each_interview(
    run_cli: RunCli, interview_id: str, expected: list[str]
) -> None:
    result = run_cli("session", interview_id, *SITE_ARGS, "--json", "--link-template", PUBLIC_LINK)
    assert result.exit_code == (0 if expected == ["session.W001"] else 1)
    assert result.ids() == expected
    assert result.stderr == ""


def test_session_without_a_session_has_no_link(run_cli: RunCli) -> None:
    document = run_cli("session", NO_SESSION, *SITE_ARGS, "--json").json()
    finding = next(f for f in document["findings"] if f["id"] == "session.E002")
    assert finding["subject"] == "session_key"
    assert "book_slot or book_interview did not complete" in finding["message"]
    assert rows(document)["link"] == "(none: the interview has no session_key)"
    assert rows(document)["InterviewSession"] == "- (no session_key)"


def test_session_orphan_key_names_the_key(run_cli: RunCli) -> None:
    document = run_cli("session", ORPHAN_KEY, *SITE_ARGS, "--json").json()
    finding = next(f for f in document["findings"] if f["id"] == "session.E003")
    assert "'p3Zr8vOrphan'" in finding["message"]
    assert finding["evidence"] == {"session_key": "p3Zr8vOrphan"}


def test_session_emails_that_differ_show_both(run_cli: RunCli) -> None:
    document = run_cli("session", EMAIL_DIFFERS, *SITE_ARGS, "--json").json()
    finding = next(f for f in document["findings"] if f["id"] == "session.W001")
    assert finding["evidence"] == {
        "candidate": "emeka.obi@example.org",
        "session": "emeka@oldmail.example.org",
    }
    assert "'emeka.obi@example.org'" in finding["message"]
    assert "'emeka@oldmail.example.org'" in finding["message"]


@pytest.mark.parametrize(
    "interview_id",
    [
        "nope",
        "6f1c2a3e-0001",
        "6f1c2a3e-0009-4c8e-9a51-2b7d3e4f5a60",  # well formed, no such row
        "'; DROP TABLE interviews_interview; --",
        "12345678901234567890123456789012345678901234567890",
        "",
        " ",
        "%",
    ],
)
def test_session_unknown_or_malformed_id_is_not_found(run_cli: RunCli, interview_id: str) -> None:
    result = run_cli("session", interview_id, *SITE_ARGS, "--json")
    assert (result.exit_code, result.stderr, result.exception) == (1, "", None)
    (finding,) = result.json()["findings"]
    assert finding["id"] == "session.E001"
    assert finding["message"] == (
        f"interviews.Interview has no row with the primary key {interview_id!r}"
    )


def test_session_id_is_accepted_in_any_uuid_spelling(run_cli: RunCli) -> None:
    result = run_cli("session", HEALTHY.replace("-", "").upper(), *SITE_ARGS, "--json")
    assert result.exit_code == 0
    assert rows(result.json())["candidate"] == "Asha Rao"


# --- The link -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "host"),
    [
        ("http://localhost:8000/?session_key={session_key}", "localhost"),
        ("https://0.0.0.0/?session_key={session_key}", "0.0.0.0"),
        ("https://[::1]:8443/room/{session_key}", "::1"),
        ("https://app.localhost/room/{session_key}", "app.localhost"),
        ("https://127.0.1.1/room/{session_key}", "127.0.1.1"),
    ],
)
def test_link_to_this_machine_is_a_warning(run_cli: RunCli, template: str, host: str) -> None:
    result = run_cli("session", HEALTHY, *SITE_ARGS, "--link-template", template, "--json")
    local = next(f for f in result.json()["findings"] if f["id"] == "session.W002")
    assert local["message"] == f"the interview link points at {host}: a candidate cannot open it"
    assert result.exit_code == 0
    assert (
        run_cli("session", HEALTHY, *SITE_ARGS, "--link-template", template, "--strict").exit_code
        == 1
    )


def test_link_without_key_is_a_warning(run_cli: RunCli) -> None:
    result = run_cli(
        "session",
        HEALTHY,
        *SITE_ARGS,
        "--link-template",
        "https://acme.example/interview",
        "--json",
    )
    assert result.ids() == ["session.W004"]
    assert rows(result.json())["link"] == "https://acme.example/interview"


def test_link_with_the_interview_id(run_cli: RunCli) -> None:
    template = "https://acme.example/i/{interview_id}"
    result = run_cli("session", HEALTHY, *SITE_ARGS, "--link-template", template, "--json")
    assert (result.exit_code, result.ids()) == (0, [])
    assert rows(result.json())["link"] == f"https://acme.example/i/{HEALTHY}"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://acme.example/{key}", "unknown placeholder {key}"),
        ("ftp://acme.example/{session_key}", "is not an http:// or https:// URL"),
        ("https://acme.example/{session_key", "is not a valid template"),
    ],
)
def test_bad_link_template_is_a_usage_error(run_cli: RunCli, template: str, message: str) -> None:
    result = run_cli("sessions", *SITE_ARGS, "--link-template", template)
    assert (result.exit_code, result.stdout) == (2, "")
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


class InterviewRoom(BaseHTTPRequestHandler):
    """The app's interview page: 200 for the healthy session's key, 404 otherwise."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/old":
            self.send_response(302)
            self.send_header("Location", f"/?{url.query}")
            self.end_headers()
            return
        keys = parse_qs(url.query).get("session_key", [])
        self.send_response(200 if keys == ["k7Qm2xHealthy"] else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def interview_room() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), InterviewRoom)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_check_link_reports_the_status(run_cli: RunCli, interview_room: int) -> None:
    template = f"http://127.0.0.1:{interview_room}/?session_key={{session_key}}"
    result = run_cli(
        "session", HEALTHY, *SITE_ARGS, "--check-link", "--link-template", template, "--json"
    )
    assert result.exit_code == 0
    assert rows(result.json())["link status"] == "200 OK"
    assert result.ids() == LINK_WARNINGS  # still 127.0.0.1 over http


def test_check_link_follows_redirects(run_cli: RunCli, interview_room: int) -> None:
    template = f"http://127.0.0.1:{interview_room}/old?session_key={{session_key}}"
    result = run_cli(
        "session", HEALTHY, *SITE_ARGS, "--check-link", "--link-template", template, "--json"
    )
    final = f"http://127.0.0.1:{interview_room}/?session_key=k7Qm2xHealthy"
    assert rows(result.json())["link status"] == f"200 OK (after redirects, at {final})"


def test_check_link_error_status_is_an_error(run_cli: RunCli, interview_room: int) -> None:
    template = f"http://127.0.0.1:{interview_room}/?session_key={{session_key}}"
    result = run_cli(
        "session", EMAIL_DIFFERS, *SITE_ARGS, "--check-link", "--link-template", template, "--json"
    )
    assert result.exit_code == 1
    broken = next(f for f in result.json()["findings"] if f["id"] == "session.E008")
    assert broken["message"] == (
        f"the interview link http://127.0.0.1:{interview_room}/?session_key=r2Dv6nDiffers "
        "answers 404 Not Found"
    )
    assert rows(result.json())["link status"] == "404 Not Found"


def test_check_link_nothing_listening(run_cli: RunCli, interview_room: int) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago and now is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    template = f"http://127.0.0.1:{port}/?session_key={{session_key}}"
    result = run_cli(
        "session", HEALTHY, *SITE_ARGS, "--check-link", "--link-template", template, "--json"
    )
    assert result.exit_code == 1
    broken = next(f for f in result.json()["findings"] if f["id"] == "session.E008")
    assert "cannot be fetched: Connection refused" in broken["message"]
    assert rows(result.json())["link status"] == "no answer: Connection refused"


def test_check_link_without_a_session_fetches_nothing(run_cli: RunCli, interview_room: int) -> None:
    template = f"http://127.0.0.1:{interview_room}/?session_key={{session_key}}"
    result = run_cli(
        "session", NO_SESSION, *SITE_ARGS, "--check-link", "--link-template", template, "--json"
    )
    assert rows(result.json())["link status"] == "not fetched (no link)"
    assert "session.E008" not in result.ids()


# --- Layout: models and fields by option ------------------------------------------------


def test_field_paths_by_option(run_cli: RunCli) -> None:
    """The name column as the email: every candidate's 'address' is invalid."""
    result = run_cli(
        "session",
        HEALTHY,
        *SITE_ARGS,
        "--json",
        "--field",
        "interview.candidate-email=candidate__full_name",
        "--field",
        "session.coding-language=",
    )
    assert result.exit_code == 1
    assert "session.E005" in result.ids()
    assert rows(result.json())["coding language"] == "(empty)"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--interview-model", "interviews.Nope"],
            "interview model 'interviews.Nope' not found: LookupError: App 'interviews' "
            "doesn't have a 'Nope' model.",
        ),
        (["--session-model", "nowhere.Session"], "session model 'nowhere.Session' not found"),
        (["--session-model", "InterviewSession"], "is not of the form app_label.ModelName"),
        (
            ["--field", "interview.candidate-email=candidate__mail"],
            "field 'candidate__mail' (interview.candidate-email) not found: interviews.Candidate "
            "has no field 'mail' (its fields: email, full_name, id, interviews)",
        ),
        (
            ["--field", "session.session-key=key"],
            "field 'key' (session.session-key) not found: interview_app.InterviewSession has no "
            "field 'key'",
        ),
        (
            ["--field", "interview.job-title=started_at__title"],
            "interviews.Interview.started_at is not a relation, so 'title' cannot follow it",
        ),
        (
            ["--field", "interview.candidate-name=candidate__interviews__id"],
            "interviews.Candidate.interviews holds many rows",
        ),
        (["--field", "interview.candidate-email"], "expected SIDE.KEY=PATH"),
        (["--field", "interview.mail=email"], "unknown interview field 'mail'"),
        (["--field", "job.title=title"], "unknown side 'job'"),
        (["--field", "interview.session-key="], "interview.session-key cannot be empty"),
        (["--field", "interview.company=job.company"], "is not a field path like job__title"),
    ],
)
def test_missing_model_or_field_is_named(run_cli: RunCli, options: list[str], message: str) -> None:
    result = run_cli("sessions", *SITE_ARGS, *options)
    assert (result.exit_code, result.stdout, result.exception) == (2, "", None)
    assert result.stderr.startswith("mailcheck: error: ")
    assert message in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- Read-only, and databases that cannot be used ---------------------------------------------


COMMANDS = [
    ["sessions"],
    ["sessions", "--since", "2030-03-05", "--limit", "1", "--json"],
    ["session", HEALTHY, "-v"],
    ["session", ORPHAN_KEY, "--json"],
    ["session", "not-an-id"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_database_is_byte_identical_after_every_command(
    run_cli: RunCli, site: Path, command: list[str]
) -> None:
    before = digest(site), site.stat().st_mtime_ns
    result = run_cli(*command, *SITE_ARGS)
    assert result.exit_code in (0, 1)
    assert (digest(site), site.stat().st_mtime_ns) == before
    assert sorted(path.name for path in site.parent.iterdir()) == ["demo.sqlite3"]


def test_commands_work_on_a_read_only_database(
    run_cli: RunCli, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    copy = folder / "demo.sqlite3"
    copy.write_bytes(site.read_bytes())
    copy.chmod(0o444)
    folder.chmod(0o555)
    try:
        use_database(monkeypatch, copy)
        result = run_cli("sessions", *SITE_ARGS, "--json")
        assert result.exit_code == 1
        assert by_interview(result.json()) == {"-": LINK_WARNINGS, **EXPECTED_BY_INTERVIEW}
        assert run_cli("session", HEALTHY, *SITE_ARGS).exit_code == 0
        assert digest(copy) == digest(site)
        assert [path.name for path in folder.iterdir()] == ["demo.sqlite3"]
    finally:
        folder.chmod(0o755)


def test_the_connection_refuses_writes(site: Path) -> None:
    """Even as root, who ignores file modes: SQLite itself opens the file read-only."""
    from django.db import connections
    from support.django_site import EXAMPLE, SETTINGS

    from interview_mailcheck.adapters.django import InterviewReader, load_project
    from interview_mailcheck.errors import InputError
    from interview_mailcheck.interviews import ToolTable, resolve_layout

    reader = InterviewReader(load_project(SETTINGS, EXAMPLE), resolve_layout(ToolTable(None)))
    before = digest(site)
    with (
        pytest.raises(InputError, match="attempt to write a readonly database") as refused,
        reader.read_only(),
    ):
        connections["default"].cursor().execute("DELETE FROM interviews_interview")
    assert "migrations" not in str(refused.value)  # that hint is for missing tables only
    assert digest(site) == before
    assert connections["default"].settings_dict["NAME"] == str(site)  # given back as it was


def test_missing_database_file_is_not_created(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    use_database(monkeypatch, missing)
    result = run_cli("sessions", *SITE_ARGS)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"mailcheck: error: database cannot be opened: SQLite {missing}: no such file\n"
    )
    assert not missing.exists()


def test_database_without_the_tables(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    use_database(monkeypatch, empty)
    result = run_cli("session", HEALTHY, *SITE_ARGS)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mailcheck: error: database cannot be read: SQLite {empty}:")
    assert "no such table: interviews_interview" in result.stderr
    assert "migrations" in result.stderr and len(result.stderr.splitlines()) == 1


def test_file_that_is_not_a_database(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = tmp_path / "notes.sqlite3"
    text.write_text("not a database\n" * 100)
    use_database(monkeypatch, text)
    result = run_cli("sessions", *SITE_ARGS)
    assert result.exit_code == 2
    assert "file is not a database" in result.stderr and "Traceback" not in result.stderr
    assert "migrations" not in result.stderr
    assert text.read_text() == "not a database\n" * 100


# --- A constant number of queries ----------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("generated")
    return {
        count: build_database(folder / f"{count}.sqlite3", "--generate", str(count))
        for count in (10, 1000)
    }


def test_sessions_runs_the_same_queries_for_10_and_1000_interviews(
    run_cli: RunCli, generated: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import connections

    statements: dict[int, list[str]] = {}
    for count, path in generated.items():
        use_database(monkeypatch, path)
        seen: list[str] = []

        def record(
            execute: Any, sql: str, params: Any, many: bool, context: Any, seen: list[str] = seen
        ) -> Any:
            seen.append(sql.split()[0])
            return execute(sql, params, many, context)

        with connections["default"].execute_wrapper(record):
            result = run_cli("sessions", *SITE_ARGS, "--json")
        assert result.json()["summary"]["checked"] == count
        # Of each hundred: no session (1 error), orphan key (1), no email (2: both sides).
        assert result.json()["summary"]["errors"] == 4 * max(1, count // 100)
        statements[count] = seen
    assert statements[10] == statements[1000] == ["BEGIN", "SELECT"]


def test_session_is_one_query(run_cli: RunCli) -> None:
    from django.db import connections

    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql.split()[0])
        return execute(sql, params, many, context)

    with connections["default"].execute_wrapper(record):
        assert run_cli("session", NO_EMAIL, *SITE_ARGS).exit_code == 1
    assert seen == ["BEGIN", "SELECT"]


# --- The same output as before the streaming rewrite ----------------------------------------

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "sessions"


@pytest.fixture(scope="module")
def generated_300(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_database(tmp_path_factory.mktemp("golden") / "300.sqlite3", "--generate", "300")


@pytest.mark.parametrize("output", ["text", "json"])
def test_sessions_output_is_the_recorded_one(
    run_cli: RunCli, generated_300: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    """300 generated interviews (12 errors): text and --json byte for byte as recorded from
    the code before findings were capped and the output streamed (tests/fixtures/sessions)."""
    use_database(monkeypatch, generated_300)
    result = run_cli("sessions", *SITE_ARGS, *(["--json"] if output == "json" else []))
    assert result.exit_code == 1
    expected = (GOLDEN / f"generated-300.{output}").read_text(encoding="utf-8")
    assert result.stdout == expected.replace("{database}", str(generated_300))


def test_sessions_lists_the_first_findings_of_each_id_and_counts_the_rest(
    run_cli: RunCli, generated_300: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, generated_300)
    everything = run_cli("sessions", *SITE_ARGS, "--json").json()
    result = run_cli("sessions", *SITE_ARGS, "--json", "--max-listed", "2")
    assert result.exit_code == 1
    document = result.json()
    # Three of each of the four errors: two listed, one counted; the counts stay exact.
    assert document["summary"] == {**everything["summary"], "infos": 4}
    notes = [finding for finding in document["findings"] if finding["id"] == "session.I003"]
    assert [note["subject"] for note in notes] == [
        "session.E002",
        "session.E003",
        "session.E004",
        "session.E006",
    ]
    assert notes[0]["message"] == (
        "session.E002 (The interview has no session_key: its InterviewSession was never "
        "created): 1 more not listed (--max-listed 2)"
    )
    listed = [finding for finding in document["findings"] if finding["id"] != "session.I003"]
    assert listed == [
        finding
        for finding in everything["findings"]
        if finding.get("interview_id", "")[-3:] not in ("0c9", "0ca", "0cb")
    ]
    text = run_cli("sessions", *SITE_ARGS, "--max-listed", "2").stdout
    assert "Errors (12, 8 listed)" in text
    assert text.endswith("✗ FAIL 12 errors, 2 warnings, 4 infos. Run `mailcheck explain <id>` for "
                         "the full story of a finding.\n")  # fmt: skip


def test_sessions_max_listed_0_lists_everything(
    run_cli: RunCli, generated_300: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(monkeypatch, generated_300)
    result = run_cli("sessions", *SITE_ARGS, "--json", "--max-listed", "0")
    expected = (GOLDEN / "generated-300.json").read_text(encoding="utf-8")
    assert result.stdout == expected
