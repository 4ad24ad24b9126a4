"""The cases that once leaked a secret, crashed or hung mailcheck, each against a real peer or a
real file: none may come back. (The leak matrix across commands and output modes is in
test_secrets_matrix.py; the property tests in test_properties.py.)"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import Run, RunCli
from support import peers
from support.django_site import SITE_ARGS
from support.peers import RawPeer
from support.terminal import run_on_terminal

from interview_mailcheck.loopback import LoopbackSMTP

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site

USER = "hiring.team@gmail.com"
PASSWORD = 'S3nt"inel\\Pa55'


def env_file(folder: Path, port: int, mode: str = "starttls", **overrides: str) -> Path:
    values = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": str(mode == "starttls"),
        "EMAIL_USE_SSL": str(mode == "ssl"),
        "EMAIL_HOST_USER": USER,
        "EMAIL_HOST_PASSWORD": PASSWORD,
        "DEFAULT_FROM_EMAIL": f"Hiring <{USER}>",
        "EMAIL_TIMEOUT": "2",
        **overrides,
    }
    path = folder / "trust.env"
    path.write_text("".join(f"{k}='{v}'\n" for k, v in values.items()), encoding="utf-8")
    return path


def forms(secret: str, user: str = USER) -> list[str]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return [
        secret,
        json.dumps(secret)[1:-1],
        b64(secret),
        b64(f"\0{user}\0{secret}"),
    ]


def assert_masked(secret: str, *outputs: str) -> None:
    for output in outputs:
        for form in forms(secret):
            assert form not in output, form


def echo(user: str, password: str) -> str:
    """A relay's refusal that quotes the credentials back (some do)."""
    payload = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    encoded = base64.b64encode(password.encode()).decode()
    return f"535 5.7.8 Rejected {user}/{password} ({encoded}, {payload})"


@pytest.fixture
def echoing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackSMTP]:
    with LoopbackSMTP(
        "starttls", users={USER: "right-password"}, ca=trustme.CA(), bad_credentials_reply=echo
    ) as server:
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file())
        yield server


# --- Secrets ------------------------------------------------------------------------------------


def test_json_escaping_does_not_hide_an_echoed_password(
    echoing: LoopbackSMTP, tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("send-test", "--env-file", env_file(tmp_path, echoing.port), "--json", "-v")
    assert result.exit_code == 1
    assert [f["id"] for f in result.json()["findings"] if f["level"] == "error"] == ["smtp.E012"]
    assert "Rejected" in result.stdout  # the reply is shown...
    assert_masked(PASSWORD, result.stdout, result.stderr)  # ...with the password masked


def test_junit_file_holds_no_echoed_password(
    echoing: LoopbackSMTP, tmp_path: Path, run_cli: RunCli
) -> None:
    junit = tmp_path / "mailcheck.xml"
    env = env_file(tmp_path, echoing.port)
    result = run_cli("doctor", "--env-file", env, "--junit", junit, "--nameserver", "127.0.0.1:9")
    assert result.exit_code == 1
    xml = junit.read_text(encoding="utf-8")
    assert "Rejected" in xml
    assert_masked(PASSWORD, xml, xml.replace("&quot;", '"'), result.stdout, result.stderr)


@pytest.mark.parametrize("columns", [40, 80])
def test_a_wrapped_app_password_is_masked_on_a_terminal(
    echoing: LoopbackSMTP, tmp_path: Path, columns: int
) -> None:
    app_password = "abcd efgh ijkl mnop"
    env = env_file(tmp_path, echoing.port, EMAIL_HOST_PASSWORD=app_password)
    shown = run_on_terminal(
        ["send-test", "--env-file", str(env), "-v"],
        columns,
        {"SSL_CERT_FILE": echoing.ca_file()},
        tmp_path,
    )
    assert "\x1b[" in shown and "Rejected" in shown  # coloured, and the reply is there
    flat = " ".join(shown.split())  # the lines as a reader joins them again
    for piece in ("abcd efgh", "efgh ijkl", "ijkl mnop", "abcdefghijklmnop"):
        assert piece not in shown and piece not in flat


def test_settings_module_raising_with_the_password(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "raising_settings.py").write_text(
        "import os\nEMAIL_TIMEOUT = int(os.environ['EMAIL_HOST_PASSWORD'])\n"
    )
    try:
        result = run_cli(
            "config",
            "--settings",
            "raising_settings",
            "--pythonpath",
            tmp_path,
            env={"EMAIL_HOST_PASSWORD": PASSWORD},
        )
    finally:
        sys.modules.pop("raising_settings", None)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: settings module 'raising_settings' cannot be imported: ValueError: "
        "invalid literal for int() with base 10: '********' (raising_settings.py line 2)\n"
    )


# --- Bounds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "1e300", "9999999999", "nan", "0", "-2", "601"])
@pytest.mark.parametrize("command", ["send-test", "dns", "doctor"])
def test_timeouts_out_of_bounds_are_usage_errors(
    command: str, value: str, tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli(command, "--env-file", env_file(tmp_path, 587), "--timeout", value)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"mailcheck: error: --timeout {value!r} must be a number of seconds above 0 and at most "
        "600\n"
    )


@pytest.mark.parametrize("value", ["inf", "1e300", "9999999999"])
def test_email_timeout_out_of_bounds_is_a_config_error(
    value: str, tmp_path: Path, run_cli: RunCli
) -> None:
    with RawPeer(peers.silent) as peer:
        env = env_file(tmp_path, peer.port, EMAIL_TIMEOUT=value)
        result = run_cli("send-test", "--env-file", env, "--json")
        assert peer.connections == 0
    assert result.exit_code == 1
    timeout = next(f for f in result.json()["findings"] if f["id"] == "config.E014")
    assert timeout["message"] == (
        f"EMAIL_TIMEOUT={value!r} is not a number of seconds above 0 and at most 600"
    )


def test_impossible_offset_in_a_log_line_is_a_line_without_a_stamp(
    tmp_path: Path, run_cli: RunCli
) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "2024-11-26 10:00:00 INFO InterviewSession created for interview 7, session_key: k7\n"
        "2024-11-26T10:00:01+99:00 INFO Email sent to a@b.io with interview link: "
        "https://x.test/?session_key=k7\n"
    )
    result = run_cli("logs", log, "--since", "2024-11-26T09:00:00", "--json")
    assert result.exit_code == 0
    assert result.json()["interviews"][0]["outcome"] == "sent"


def test_sessions_since_outside_the_representable_dates(run_cli: RunCli) -> None:
    result = run_cli("sessions", *SITE_ARGS, "--since", "0001-01-01T00:00+05:00")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(
        "mailcheck: error: --since '0001-01-01T00:00+05:00' is not a real date and time"
    )


def test_a_huge_env_file_is_read_in_linear_time(tmp_path: Path, run_cli: RunCli) -> None:
    """200,000 lines took python-dotenv's interpolation minutes; the bound is generous."""
    path = tmp_path / "big.env"
    lines = [f"APP_SETTING_{n}=${{EMAIL_HOST:-x}}/{n}" for n in range(1, 200_000)]
    path.write_text("EMAIL_HOST=smtp.gmail.com\n" + "\n".join(lines) + "\n")
    started = time.monotonic()
    result = run_cli("config", "--env-file", path, "--json")
    assert time.monotonic() - started < 30
    assert result.exit_code in (0, 1)
    assert result.json()["command"] == "config"


def test_an_env_file_over_the_limit_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "huge.env"
    with path.open("wb") as stream:
        stream.truncate((16 << 20) + 1)
    result = run_cli("config", "--env-file", path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"mailcheck: error: env file is larger than 16 MiB, which no real env file is: {path}\n"
    )


# --- The user's code -------------------------------------------------------------------------


def test_settings_module_printing_keeps_json_one_document(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "chatty_settings.py").write_text(
        "print('loading settings...')\nEMAIL_HOST = 'smtp.gmail.com'\n"
    )
    try:
        result = run_cli(
            "config", "--settings", "chatty_settings", "--pythonpath", tmp_path, "--json"
        )
    finally:
        sys.modules.pop("chatty_settings", None)
    assert result.json()["command"] == "config"  # stdout is exactly one JSON document
    assert result.stderr == "loading settings...\n"


def test_settings_module_calling_sys_exit(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "exiting_settings.py").write_text("import sys\nsys.exit(5)\n")
    try:
        result = run_cli("config", "--settings", "exiting_settings", "--pythonpath", tmp_path)
    finally:
        sys.modules.pop("exiting_settings", None)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "mailcheck: error: settings module 'exiting_settings' cannot be imported: SystemExit: 5 "
        "(exiting_settings.py line 2)\n"
    )


def test_django_setup_interrupted_by_the_app(tmp_path: Path) -> None:
    """An app whose ready() raises KeyboardInterrupt: exit 2 naming it (a fresh process)."""
    app = tmp_path / "stubborn"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass StubbornConfig(AppConfig):\n"
        "    name = 'stubborn'\n\n    def ready(self):\n        print('ready!')\n"
        "        raise KeyboardInterrupt\n"
    )
    (tmp_path / "stubborn_settings.py").write_text(
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['stubborn']\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", "sessions", "--settings",
         "stubborn_settings", "--json"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == (
        "ready!\nmailcheck: error: django.setup() failed with settings 'stubborn_settings': "
        "KeyboardInterrupt (apps.py line 9)\n"
    )


# --- Untrusted text ----------------------------------------------------------------------------

HOSTILE_NAME = "Asha\x1b]0;PWNED\x07\x1b[2J Rao"
INERT_NAME = "Asha\\x1b]0;PWNED\\x07\\x1b[2J Rao"


def test_a_candidate_name_with_terminal_sequences_is_shown_inert(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    from support.django_site import HEALTHY, use_database

    database = tmp_path / "hostile.sqlite3"
    database.write_bytes(site.read_bytes())
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE interviews_candidate SET full_name = ?", (HOSTILE_NAME,))
    use_database(monkeypatch, database)
    result = run_cli("session", HEALTHY, *SITE_ARGS, "--no-dns")
    assert INERT_NAME in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    as_json = run_cli("session", HEALTHY, *SITE_ARGS, "--no-dns", "--json")
    rows = as_json.json()["interview"]
    assert {"item": "candidate", "value": HOSTILE_NAME} in rows  # data, exactly as stored


def test_a_log_line_with_terminal_sequences_is_shown_inert(tmp_path: Path, run_cli: RunCli) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "2024-11-26 10:00:00 ERROR Email sending failed for asha@x.io - "
        f"SMTPRecipientsRefused: (550, b'5.1.1 {HOSTILE_NAME} unknown')\n"
    )
    result = run_cli("logs", log)
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert INERT_NAME in result.stdout


def test_an_email_host_with_control_characters_is_shown_inert(
    tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("config", "-v", env={"EMAIL_HOST": "smtp.gmail.com\x1b[2J\r"})
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert "smtp.gmail.com\\x1b[2J\\r" in result.stdout
    github = run_cli("config", "--format", "github", env={"EMAIL_HOST": "smtp\x1b[2J.io"})
    assert "\x1b" not in github.stdout and "smtp\\x1b[2J.io" in github.stdout


# --- Hostile SMTP peers ------------------------------------------------------------------------


def plain_env(folder: Path, port: int) -> Path:
    return env_file(folder, port, "plain", EMAIL_HOST_PASSWORD="plain-pa55word")


def send_test(run_cli: RunCli, env: Path, *args: str) -> tuple[Run, float]:
    started = time.monotonic()
    result = run_cli("send-test", "--env-file", env, "--json", "-v", *args)
    return result, time.monotonic() - started


def errors(result: Run) -> list[str]:
    return [f["id"] for f in result.json()["findings"] if f["level"] == "error"]


def test_starttls_accepted_but_never_started(tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.starttls_then_plain) as peer:
        result, _ = send_test(run_cli, env_file(tmp_path, peer.port))
        assert b"AUTH" not in peer.received
    assert (result.exit_code, errors(result)) == (1, ["smtp.E027"])


@pytest.mark.parametrize("code", [b"999", b"100", b"000"])
def test_greeting_code_outside_the_smtp_range(code: bytes, tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.greeting_code(code)) as peer:
        result, _ = send_test(run_cli, env_file(tmp_path, peer.port))
    assert (result.exit_code, errors(result)) == (1, ["smtp.E009"])
    assert f"the code {int(code)}, which is no SMTP reply code" in result.stdout


def test_a_silent_server_ends_within_the_timeout_and_a_second(
    tmp_path: Path, run_cli: RunCli
) -> None:
    with RawPeer(peers.silent) as peer:
        result, elapsed = send_test(run_cli, env_file(tmp_path, peer.port), "--timeout", "1.5")
    assert errors(result) == ["smtp.E007"]
    assert 1.5 <= elapsed < 1.5 + 1.0 + 0.5  # the timeout, the probe, and start-up slack


def test_503_to_auth_is_not_a_login(tmp_path: Path, run_cli: RunCli) -> None:
    reply = b"503 5.5.1 Error: send EHLO first\r\n"
    with RawPeer(peers.auth_answers(reply)) as peer:
        result, _ = send_test(run_cli, plain_env(tmp_path, peer.port), "--allow-plaintext-auth")
        assert b"MAIL FROM" not in peer.received.upper()
    assert (result.exit_code, errors(result)) == (1, ["smtp.E028"])
    assert "smtp.I006" not in [f["id"] for f in result.json()["findings"]]


def test_cram_md5_challenge_that_is_not_base64(tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.auth_answers(b"334 notbase64\r\n", b"CRAM-MD5")) as peer:
        result, _ = send_test(run_cli, plain_env(tmp_path, peer.port), "--allow-plaintext-auth")
    assert result.exception is None
    assert (result.exit_code, errors(result)) == (1, ["smtp.E024"])
    assert "AUTH challenge could not be read" in result.stdout
