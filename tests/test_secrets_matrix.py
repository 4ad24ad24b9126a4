"""No output mailcheck writes carries the password, whatever the command, the output mode and
the way the password reaches it.

Every command that can print a secret (config, send-test, dns, doctor, session, sessions, logs)
runs in every output mode (text on a terminal at 40 and 80 columns, -v, --debug, --json,
--format github, doctor's --junit) against every leak vector:

  echo      an SMTP server whose refusal quotes the credentials, their base64 and the AUTH
            PLAIN payload (some relays do)
  settings  a settings module that raises with the password in its message
  step      an exception inside a step whose message holds the password (a bug, exit 3)
  data      the password inside data mailcheck shows: a DNS record, a log line, a row

with passwords full of quotes, backslashes, percent signs, spaces and non-ASCII letters, and
Google's spaced App Password. The terminal modes are rendered in-process with colour at the
width given (what rich wraps); a subset also runs under a real pseudo-terminal. Every form of
the password a reader could recognise is looked for in stdout, stderr and the files written.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import sqlite3
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dns.zone
import pytest
import trustme
from conftest import RunCli
from support.django_site import EXAMPLE, HEALTHY, SETTINGS, SITE_ARGS, use_database
from support.nameserver import Nameserver
from support.terminal import run_on_terminal

from interview_mailcheck.loopback import LoopbackSMTP

pytest_plugins = ["support.django_fixtures"]  # demo_db, process_state, site

USER = "hiring.team@leak.test"
PASSWORDS = {
    "specials": 'S3nt"inel\\Pa55 %w0rd&<x>',
    "app": "wxyz abcd efgh ijkl",
    "unicode": 'Sëntïnel "Pä55" \\ %ßword',
}
MODES = ("tty40", "tty80", "-v", "--debug", "--json", "github", "junit")


def forms(password: str) -> set[str]:
    """Every form of the password a reader could recognise in output."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    found: set[str] = set()
    for variant in {password, "".join(password.split())}:
        found |= {
            variant,
            json.dumps(variant)[1:-1],
            json.dumps(variant, ensure_ascii=False)[1:-1],
            repr(variant)[1:-1],
            repr(variant.encode())[2:-1],
            b64(variant),
            b64(f"\0{USER}\0{variant}"),
            quote(variant, safe=""),
        }
    groups = password.split()
    found |= {f"{a} {b}" for a, b in itertools.pairwise(groups) if len(a + b) > 8}
    return found


def leaks(password: str, *texts: str) -> list[str]:
    """The forms of `password` found in `texts` (and in them with lines joined again, as a
    reader joins what a terminal wrapped)."""
    joined = [" ".join(text.split()) for text in texts]
    return sorted(form for form in forms(password) for text in (*texts, *joined) if form in text)


def matrix(*commands: str) -> list[Any]:
    """(command, password, mode) for each command, password and mode it has (--junit is
    doctor's alone)."""
    return [
        pytest.param(command, password, mode, id=f"{command}-{password}-{mode}")
        for command in commands
        for password in sorted(PASSWORDS)
        for mode in MODES
        if mode != "junit" or command == "doctor"
    ]


def mode_args(mode: str, tmp_path: Path) -> list[str]:
    return {
        "tty40": [],
        "tty80": [],
        "-v": ["-v"],
        "--debug": ["--debug", "-v"],
        "--json": ["--json", "-v"],
        "github": ["--format", "github", "-v"],
        "junit": ["--junit", str(tmp_path / "report.xml"), "-v"],
    }[mode]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Render as for a colour terminal of the mode's width (what rich wraps at)."""

    def use(mode: str) -> None:
        if mode.startswith("tty"):
            width = int(mode.removeprefix("tty"))
            monkeypatch.setattr("interview_mailcheck.render.terminal", lambda _: (True, width))

    return use


@dataclass
class Outcome:
    stdout: str
    stderr: str
    files: list[str]


def run(run_cli: RunCli, args: list[str], tmp_path: Path, env: dict[str, str]) -> Outcome:
    result = run_cli(*args, env=env)
    assert result.exception is None
    assert result.exit_code in (0, 1, 2, 3)
    files = []
    for path in tmp_path.glob("report.xml"):
        text = path.read_text(encoding="utf-8")
        root = ET.fromstring(text)  # well-formed XML, control characters escaped
        values = [value for element in root.iter() for value in element.attrib.values()]
        files += [text, "\n".join(values + [element.text or "" for element in root.iter()])]
    return Outcome(result.stdout, result.stderr, files)


def assert_no_leak(password: str, outcome: Outcome) -> None:
    assert leaks(password, outcome.stdout, outcome.stderr, *outcome.files) == []


# --- Vector: an SMTP server echoing the credentials --------------------------------------------


def echo(user: str, password: str) -> str:
    payload = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    encoded = base64.b64encode(password.encode()).decode()
    return f"535 5.7.8 Rejected {user} {password} ({encoded}) [{payload}] for this relay"


@pytest.fixture(scope="module")
def echo_server() -> Iterator[LoopbackSMTP]:
    with LoopbackSMTP(
        "starttls", users={USER: "not-the-password"}, ca=trustme.CA(), bad_credentials_reply=echo
    ) as server:
        yield server


def env_text(port: int, password: str) -> str:
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\n"
        f"EMAIL_HOST=localhost\nEMAIL_PORT={port}\nEMAIL_USE_TLS=True\n"
        f'EMAIL_HOST_USER={USER}\nEMAIL_HOST_PASSWORD="{quoted}"\n'
        f"DEFAULT_FROM_EMAIL=Hiring <{USER}>\nEMAIL_TIMEOUT=3\n"
    )


@pytest.mark.parametrize(("command", "password", "mode"), matrix("send-test", "doctor"))
def test_echoing_server(
    command: str,
    password: str,
    mode: str,
    echo_server: LoopbackSMTP,
    terminal: Callable[[str], None],
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    secret = PASSWORDS[password]
    env_file = tmp_path / "leak.env"
    env_file.write_text(env_text(echo_server.port, secret), encoding="utf-8")
    terminal(mode)
    # doctor's dns section would ask this machine's nameservers: its leaks are tested on
    # loopback in test_password_inside_data.
    skip = ["--skip", "dns"] if command == "doctor" else []
    args = [command, "--env-file", str(env_file), *skip, *mode_args(mode, tmp_path)]
    outcome = run(run_cli, args, tmp_path, {"SSL_CERT_FILE": echo_server.ca_file()})
    if password != "unicode":  # a non-ASCII password stops at config.E018, before AUTH
        assert "Rejected" in outcome.stdout + "".join(outcome.files)
    assert_no_leak(secret, outcome)


# --- Vector: a settings module raising with the password -----------------------------------------

RAISING = (
    "import os\nEMAIL_HOST_PASSWORD = os.environ['EMAIL_HOST_PASSWORD']\n"
    "raise ValueError(f'cannot use {EMAIL_HOST_PASSWORD!r} here')\n"
)


@pytest.mark.parametrize(
    ("command", "password", "mode"), matrix("config", "doctor", "session", "sessions")
)
def test_raising_settings_module(
    command: str,
    password: str,
    mode: str,
    terminal: Callable[[str], None],
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    secret = PASSWORDS[password]
    module = f"raising_{command.replace('-', '_')}_{password}_{mode.strip('-')}"
    (tmp_path / f"{module}.py").write_text(RAISING, encoding="utf-8")
    terminal(mode)
    head = [command, HEALTHY] if command == "session" else [command]
    args = [*head, "--settings", module, "--pythonpath", str(tmp_path)]
    try:
        outcome = run(
            run_cli, [*args, *mode_args(mode, tmp_path)], tmp_path, {"EMAIL_HOST_PASSWORD": secret}
        )
    finally:
        sys.modules.pop(module, None)
    assert "cannot use '********' here" in outcome.stderr
    assert_no_leak(secret, outcome)


# --- Vector: an exception inside a step --------------------------------------------------------

STEPS = {
    "config": "interview_mailcheck.commands.config.analyse",
    "send-test": "interview_mailcheck.commands.send_test.walk",
    "dns": "interview_mailcheck.commands.dns.check_dns",
    "doctor": "interview_mailcheck.commands.doctor.analyse_settings",
    "logs": "interview_mailcheck.commands.logs.check_log",
    "sessions": "interview_mailcheck.commands.session.InterviewChecks.audit",
    "session": "interview_mailcheck.commands.session.check_record",
}


@pytest.mark.parametrize("mode", ["-v", "--debug", "--json", "github"])
@pytest.mark.parametrize("command", sorted(STEPS))
def test_exception_inside_a_step(
    command: str, mode: str, site: Path, tmp_path: Path, run_cli: RunCli, monkeypatch: Any
) -> None:
    secret = PASSWORDS["specials"]

    def explode(*args: object, **kwargs: object) -> Any:
        raise RuntimeError(f"the step failed with {secret} in hand")

    monkeypatch.setattr(STEPS[command], explode)
    env_file = tmp_path / "leak.env"
    env_file.write_text(env_text(25, secret), encoding="utf-8")
    log = tmp_path / "app.log"
    log.write_text("2024-11-26 10:00:00 INFO Email sent to a@b.io with interview link: x\n")
    args = {
        "logs": ["logs", str(log)],
        "session": ["session", HEALTHY, *SITE_ARGS],
        "sessions": ["sessions", *SITE_ARGS],
        "dns": ["dns", "--env-file", str(env_file), "--domain", "gmail.com"],
    }.get(command, [command, "--env-file", str(env_file)])
    # The password is in the environment too, as in CI: the commands that read no env file
    # (logs, session, sessions) learn it there.
    env = {"EMAIL_HOST_PASSWORD": secret}
    outcome = run(run_cli, [*args, *mode_args(mode, tmp_path)], tmp_path, env)
    assert "internal error (RuntimeError)" in outcome.stderr
    if mode == "--debug":
        assert "Traceback (most recent call last)" in outcome.stderr
        assert "the step failed with ******** in hand" in outcome.stderr
    assert_no_leak(secret, outcome)


# --- Vector: the password inside data mailcheck shows ------------------------------------------


def zone_text(secret: str) -> str:
    def txt(text: str) -> str:
        escaped = "".join(
            chr(byte) if 32 <= byte < 127 and chr(byte) not in '"\\' else f"\\{byte:03d}"
            for byte in text.encode()
        )
        return f'"{escaped}"'

    return (
        "$ORIGIN leak.test.\n"
        "@ 300 IN SOA ns.leak.test. admin.leak.test. 1 7200 3600 1209600 300\n"
        "@ 300 IN NS ns.leak.test.\n"
        "@ 300 IN MX 10 mx.leak.test.\n"
        f"@ 300 IN TXT {txt(f'v=spf1 include:{secret} ~all')}\n"
        f"_dmarc 300 IN TXT {txt(f'v=DMARC1; p={secret}')}\n"
    )


@pytest.fixture
def hostile_database(site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo database with every candidate named after the password (set per test)."""
    database = tmp_path / "leak.sqlite3"
    shutil.copyfile(site, database)
    use_database(monkeypatch, database)
    return database


def name_everyone(database: Path, secret: str) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE interviews_candidate SET full_name = ?", (secret,))


@pytest.mark.parametrize(
    ("command", "password", "mode"), matrix("dns", "logs", "session", "sessions", "doctor")
)
def test_password_inside_data(
    command: str,
    password: str,
    mode: str,
    hostile_database: Path,
    terminal: Callable[[str], None],
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    secret = PASSWORDS[password]
    name_everyone(hostile_database, secret)
    env = {"EMAIL_HOST_PASSWORD": secret}
    env_file = tmp_path / "leak.env"
    env_file.write_text(env_text(25, secret), encoding="utf-8")
    log = tmp_path / "app.log"
    reply = repr(f"5.7.8 Username and Password not accepted for {secret}".encode())
    log.write_text(
        "2024-11-26 10:00:00 INFO InterviewSession created for interview 9, session_key: k9\n"
        "2024-11-26 10:00:01 ERROR Email sending failed for a@b.io - "
        f"SMTPAuthenticationError: (535, {reply})\n",
        encoding="utf-8",
    )
    terminal(mode)
    zone = dns.zone.from_text(zone_text(secret), relativize=False)
    with Nameserver([zone]) as server:
        args = {
            "dns": ["dns", "--env-file", str(env_file), "--domain", "leak.test"],
            "logs": ["logs", str(log)],
            "session": ["session", HEALTHY, *SITE_ARGS],
            "sessions": ["sessions", *SITE_ARGS],
            "doctor": ["doctor", "--env-file", str(env_file), *SITE_ARGS],
        }[command]
        # session and sessions look up the candidates' domains: on loopback, as dns does.
        args += ["--nameserver", server.address] if command != "logs" else []
        outcome = run(run_cli, [*args, *mode_args(mode, tmp_path)], tmp_path, env)
    shown = outcome.stdout + "".join(outcome.files)
    assert "********" in shown  # the data was shown, masked
    assert_no_leak(secret, outcome)


# --- A real terminal -------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [40, 80])
@pytest.mark.parametrize("password", ["specials", "app"])
def test_on_a_real_terminal(
    password: str, columns: int, echo_server: LoopbackSMTP, demo_db: Path, tmp_path: Path
) -> None:
    """send-test against the echoing server, and sessions over a row holding the password,
    under a pseudo-terminal of that width (colour on, rich wrapping)."""
    secret = PASSWORDS[password]
    env_file = tmp_path / "leak.env"
    env_file.write_text(env_text(echo_server.port, secret), encoding="utf-8")
    database = tmp_path / "leak.sqlite3"
    shutil.copyfile(demo_db, database)
    name_everyone(database, secret)
    smtp = run_on_terminal(
        ["send-test", "--env-file", str(env_file), "-v"],
        columns,
        {"SSL_CERT_FILE": echo_server.ca_file()},
        tmp_path,
    )
    rows = run_on_terminal(
        ["sessions", "--settings", SETTINGS, "--pythonpath", str(EXAMPLE), "--no-dns"],
        columns,
        {"EMAIL_HOST_PASSWORD": secret, "INTERVIEW_SITE_DB": str(database)},
        tmp_path,
    )
    assert "\x1b[" in smtp and "Rejected" in smtp and "********" in rows
    assert leaks(secret, smtp, rows) == []
