"""Whatever the input, mailcheck ends in a finding or a one-line error, in bounded time.

Arbitrary option values, env files, log lines, SMTP replies, AUTH challenges and DNS records:
never exit 3, never a traceback, never a run longer than its bound. The peers are real
(loopback sockets); nothing reaches another machine.
"""

from __future__ import annotations

import ipaddress
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Run, invoke
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import peers
from support.peers import RawPeer
from typer.testing import CliRunner

from interview_mailcheck.checks.dns import check_dns, target_for
from interview_mailcheck.cli import app
from interview_mailcheck.dnsdata import Answer
from interview_mailcheck.mailconfig import interpret
from interview_mailcheck.settings import merge


def examples(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def assert_clean(result: Run, bound: float | None = None, elapsed: float = 0.0) -> None:
    assert result.exception is None, repr(result.exception)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stdout == ""
        assert result.stderr.startswith("mailcheck: error: ") or "Usage:" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 or "Usage:" in result.stderr
    if bound is not None:
        assert elapsed < bound


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def refused_env() -> Iterator[Path]:
    """Settings pointing at a loopback port that refuses connections, whatever the timeout."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "refused.env"
        path.write_text(
            "EMAIL_HOST=127.0.0.1\n"
            f"EMAIL_PORT={closed_port()}\nEMAIL_USE_TLS=True\n"
            "EMAIL_HOST_USER=a@b.io\nEMAIL_HOST_PASSWORD=abcdefghij\n"
            "DEFAULT_FROM_EMAIL=a@gmail.com\nEMAIL_TIMEOUT=2\n"
        )
        yield path


# --- Options -------------------------------------------------------------------------------------

OPTION_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["inf", "-inf", "nan", "1e309", "1e300", "0", "-0", "600", "600.0001", "1e-320", "9" * 40]
    ),
    st.sampled_from(
        [
            "0001-01-01",
            "0001-01-01T00:00+05:00",
            "9999-12-31T23:59-05:00",
            "2024-02-30",
            "2024-11-26T10:00:00+99:00",
            "2024-11-26T25:61",
            "now",
            "today",
            "\x1b[2J",
        ]
    ),
)


@examples(150)
@given(timeout=OPTION_TEXT, since=OPTION_TEXT, limit=OPTION_TEXT, to=OPTION_TEXT)
def test_arbitrary_option_values(
    refused_env: Path, timeout: str, since: str, limit: str, to: str
) -> None:
    for args in (
        ["send-test", "--env-file", str(refused_env), "--timeout", timeout, "--to", to],
        ["doctor", "--env-file", str(refused_env), "--timeout", timeout, "--cafile", to],
        ["logs", "/dev/null", "--since", since, "--limit", limit],
        ["sessions", "--since", since, "--until", timeout, "--limit", limit, "--settings", ""],
    ):
        started = time.monotonic()
        result = invoke(args)
        assert_clean(result, bound=5.0, elapsed=time.monotonic() - started)


@examples(100)
@given(nameserver=OPTION_TEXT, domain=OPTION_TEXT)
def test_arbitrary_dns_options(refused_env: Path, nameserver: str, domain: str) -> None:
    try:
        address = ipaddress.ip_address(nameserver.strip().strip("[]").rsplit(":", 1)[0])
    except ValueError:
        address = None
    assume(address is None or address.is_loopback)  # never ask another machine
    args = ["dns", "--env-file", str(refused_env), "--nameserver", nameserver, "--domain", domain]
    started = time.monotonic()
    result = invoke([*args, "--timeout", "1"])
    assert_clean(result, bound=4.0, elapsed=time.monotonic() - started)


# --- Env files --------------------------------------------------------------------------------

ENV_LINE = st.one_of(
    st.builds(
        "{}={}".format,
        st.sampled_from(
            ["EMAIL_HOST", "EMAIL_PORT", "EMAIL_TIMEOUT", "EMAIL_USE_TLS", "EMAIL_URL", "X"]
        ),
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["inf", "1e300", "smtp://u:p@h:99999", "${EMAIL_HOST:-${X}}", '"']),
        ),
    ),
    st.text(max_size=50),
)


@examples(100)
@given(lines=st.lists(ENV_LINE, max_size=10))
def test_arbitrary_env_files_for_the_network_commands(lines: list[str]) -> None:
    port = closed_port()
    text = f"EMAIL_HOST=127.0.0.1\nEMAIL_PORT={port}\n" + "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ".env"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        for command in ("send-test", "dns"):
            extra = (
                ["--nameserver", f"127.0.0.1:{port}", "--timeout", "1"] if command == "dns" else []
            )
            started = time.monotonic()
            result = invoke([command, "--env-file", str(path), "--json", *extra])
            assert_clean(result, bound=6.0, elapsed=time.monotonic() - started)


# --- Log lines ----------------------------------------------------------------------------------

MARKERS = st.sampled_from(
    [
        "InterviewSession created for interview ",
        "Email sent to ",
        "Email sending failed for ",
        "[EMAIL NOT SENT] ",
        "SMTPAuthenticationError: (535, b'",
        "Traceback (most recent call last)",
        '  File "smtplib.py", line 1',
        "session_key: ",
        " with interview link: ",
        "2024-11-26T10:00:00+99:00 ",
        "0001-01-01T00:00:00+23:59 ",
        "26/Nov/2024:10:00:00 +9999 ",
        "\x1b]0;x\x07",
    ]
)
LOG_LINE = st.lists(st.one_of(MARKERS, st.text(max_size=20)), max_size=6).map("".join)


@examples(150)
@given(
    lines=st.lists(LOG_LINE, max_size=15), since=st.sampled_from([[], ["--since", "2024-01-01"]])
)
def test_arbitrary_log_lines(lines: list[str], since: list[str]) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    result = CliRunner().invoke(app, ["logs", "-", "--json", *since], input=data)
    run = Run(result.exit_code, result.stdout, result.stderr, result.exception)
    if isinstance(result.exception, SystemExit):
        run.exception = None
    assert_clean(run)
    if run.exit_code in (0, 1):
        assert "\x1b" not in run.stdout and "\x07" not in run.stdout


# --- SMTP replies and AUTH challenges -------------------------------------------------------------

REPLY = st.one_of(
    st.binary(max_size=40),
    st.builds(
        lambda code, sep, text: code + sep + text,
        st.sampled_from([b"220", b"250", b"334", b"354", b"421", b"503", b"535", b"999", b"000"]),
        st.sampled_from([b" ", b"-", b""]),
        st.binary(max_size=30),
    ),
).map(lambda reply: reply if reply.endswith(b"\n") else reply + b"\r\n")


@examples(40)
@given(replies=st.lists(REPLY, min_size=1, max_size=12))
def test_arbitrary_smtp_replies(tmp_path: Path, replies: list[bytes]) -> None:
    def answer(count: int) -> bytes:
        return replies[min(count, len(replies)) - 1]

    with RawPeer(peers.after_greeting(answer)) as peer:
        env = _plain_env(tmp_path, peer.port)
        started = time.monotonic()
        result = invoke(["send-test", "--env-file", str(env), "--allow-plaintext-auth", "-v"])
        elapsed = time.monotonic() - started
    assert_clean(result, bound=0.5 * 2 + 2.5, elapsed=elapsed)


@examples(40)
@given(
    mechanism=st.sampled_from([b"CRAM-MD5", b"PLAIN", b"LOGIN", b"CRAM-MD5 PLAIN LOGIN"]),
    challenge=st.binary(max_size=60),
)
def test_arbitrary_auth_challenges(tmp_path: Path, mechanism: bytes, challenge: bytes) -> None:
    reply = b"334 " + challenge.replace(b"\n", b"").replace(b"\r", b"") + b"\r\n"
    with RawPeer(peers.auth_answers(reply, mechanism)) as peer:
        env = _plain_env(tmp_path, peer.port)
        started = time.monotonic()
        result = invoke(["send-test", "--env-file", str(env), "--allow-plaintext-auth", "--json"])
        elapsed = time.monotonic() - started
    assert_clean(result, bound=0.5 * 2 + 2.5, elapsed=elapsed)
    assert result.exit_code == 1  # never a login: the peer never says 235


def _plain_env(folder: Path, port: int) -> Path:
    path = folder / "plain.env"
    path.write_text(
        f"EMAIL_HOST=127.0.0.1\nEMAIL_PORT={port}\nEMAIL_USE_TLS=False\n"
        "EMAIL_HOST_USER=a@b.io\nEMAIL_HOST_PASSWORD=abcdefghij\n"
        "DEFAULT_FROM_EMAIL=a@b.io\nEMAIL_TIMEOUT=0.5\n"
    )
    return path


# --- DNS records ---------------------------------------------------------------------------------

RECORD = st.one_of(
    st.text(max_size=80),
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                ["v=spf1", " include:", " redirect=", " a", " mx", " ~all", "%{d}", "v=DMARC1",
                 "; p=", "reject", ";", "=", " ", ".", "\x00", "\x1b", "0 .", "10 "]
            ),
            max_size=12,
        ),
    ),
)  # fmt: skip


@examples(300)
@given(records=st.dictionaries(st.sampled_from(["MX", "TXT", "A", "AAAA"]), st.lists(RECORD)))
def test_arbitrary_dns_records_become_findings(records: dict[str, list[str]]) -> None:
    """Whatever a nameserver answers, the checks return findings (the adapter's own parsing of
    the wire is dnspython's)."""

    def lookup(name: str, rdtype: str) -> Answer:
        found = tuple(records.get(rdtype, ()))
        return Answer(name, rdtype, "ok" if found else "nodata", found)

    environ = {"DEFAULT_FROM_EMAIL": "a@acme-hiring.test", "EMAIL_HOST": "smtp.acme-hiring.test"}
    config = interpret(merge(Path(".env"), None, environ))
    findings: list[Any] = check_dns(target_for(config), lookup)
    assert all(finding.id.startswith("dns.") for finding in findings)
