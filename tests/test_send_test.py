"""`mailcheck send-test` against real SMTP servers on loopback.

aiosmtpd servers (STARTTLS, implicit TLS, plain) with trustme certificates, answering with each
provider's exact reply text; raw TCP peers for the broken and hostile cases. Nothing is mocked.
"""

from __future__ import annotations

import base64
import datetime
import email
import re
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
import trustme
from conftest import Run, RunCli
from support import peers
from support.peers import RawPeer

from interview_mailcheck.loopback import GENERIC_BAD_CREDENTIALS, LoopbackSMTP, free_port

USER = "hiring.team@gmail.com"
APP_PASSWORD = "abcdefghijklmnop"
SENTINEL = "Sentinel-Pa55word-9f3k"
SENTINEL_FORMS = (
    SENTINEL,
    base64.b64encode(SENTINEL.encode()).decode(),
    base64.b64encode(f"\0{USER}\0{SENTINEL}".encode()).decode(),
)
TIMEOUT = 1.0
BOUND = TIMEOUT * 2 + 1.5  # the whole command: a couple of timeouts, plus start-up


@pytest.fixture
def trust(trusted: Path) -> str:
    """The CA file trusted through SSL_CERT_FILE (conftest's `trusted`), as a string."""
    return str(trusted)


def write_env(
    folder: Path,
    port: int,
    mode: str,
    *,
    user: str = USER,
    password: str = APP_PASSWORD,
    host: str = "localhost",
    extra: str = "",
) -> Path:
    path = folder / "send.env"
    path.write_text(
        "EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend\n"
        f"EMAIL_HOST={host}\nEMAIL_PORT={port}\n"
        f"EMAIL_USE_TLS={mode == 'starttls'}\nEMAIL_USE_SSL={mode == 'ssl'}\n"
        f"EMAIL_HOST_USER={user}\nEMAIL_HOST_PASSWORD={password}\n"
        f"DEFAULT_FROM_EMAIL=Hiring Team <{USER}>\nEMAIL_TIMEOUT={TIMEOUT}\n" + extra,
        encoding="utf-8",
    )
    return path


def smtp_ids(result: Run) -> list[str]:
    return [f["id"] for f in result.json()["findings"] if f["id"].startswith("smtp.")]


def failure(result: Run) -> dict[str, object]:
    errors = [f for f in result.json()["findings"] if f["level"] == "error"]
    assert len(errors) == 1, errors
    return errors[0]


def assert_no_secret(result: Run) -> None:
    for form in SENTINEL_FORMS:
        assert form not in result.stdout and form not in result.stderr


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[LoopbackSMTP]:
    with LoopbackSMTP("starttls", users={USER: APP_PASSWORD}, ca=ca) as server:
        yield server


@pytest.fixture
def ssl_server(ca: trustme.CA) -> Iterator[LoopbackSMTP]:
    with LoopbackSMTP("ssl", users={USER: APP_PASSWORD}, ca=ca) as server:
        yield server


# --- Success ------------------------------------------------------------------------------------


def test_starttls_sends_the_message(
    starttls_server: LoopbackSMTP, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    env = write_env(tmp_path, starttls_server.port, "starttls")
    result = run_cli("send-test", "--env-file", env, "--json")
    assert result.exit_code == 0
    # The test message went to the account itself: that proves less than it seems (W003).
    assert smtp_ids(result) == [*(f"smtp.I00{n}" for n in (1, 2, 3, 4, 5, 6, 8)), "smtp.W003"]
    steps = result.json()["steps"]
    assert [s["step"] for s in steps] == [
        "resolve",
        "connect",
        "greet",
        "starttls",
        "certificate",
        "login",
        "send",
    ]
    assert [s["status"] for s in steps] == ["ok"] * 6 + ["warning"]
    assert all(s["duration_ms"] >= 0 for s in steps)
    accepted = next(f for f in result.json()["findings"] if f["id"] == "smtp.I008")
    assert f"queued as {starttls_server.handler.queue_id}" in accepted["message"]
    assert accepted["step"] == "send" and accepted["duration_ms"] >= 0
    [received] = starttls_server.messages
    assert received.sender == USER and received.recipients == [USER] and received.login == USER
    message = email.message_from_bytes(received.data, policy=policy.default)
    token = message["X-Mailcheck-Token"]
    assert len(token) == 16 and message["Subject"].endswith(f"[{token}]")
    assert message["Date"] and message["Message-ID"] and message["From"] == f"Hiring Team <{USER}>"
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert f"port: {starttls_server.port}" in body and "mode: STARTTLS" in body
    assert "host: localhost" in body


def test_implicit_tls_login_only_sends_nothing(
    ssl_server: LoopbackSMTP, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    env = write_env(tmp_path, ssl_server.port, "ssl")
    result = run_cli("send-test", "--env-file", env, "--login-only")
    assert result.exit_code == 0
    assert "implicit TLS" in result.stdout and "smtp.I009" in result.stdout
    assert result.stdout.rstrip().endswith("The login works; no message was sent (--login-only).")
    assert ssl_server.messages == []
    assert ssl_server.login_attempts == [USER]


def test_to_overrides_the_recipient(
    starttls_server: LoopbackSMTP, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    env = write_env(tmp_path, starttls_server.port, "starttls")
    assert (
        run_cli("send-test", "--env-file", env, "--to", "candidate@acme-hiring.io").exit_code == 0
    )
    assert starttls_server.messages[0].recipients == ["candidate@acme-hiring.io"]


def test_relay_without_login(ca: trustme.CA, tmp_path: Path, run_cli: RunCli) -> None:
    with LoopbackSMTP("plain", ca=ca) as relay:
        env = write_env(tmp_path, relay.port, "plain", user="", password="")
        result = run_cli("send-test", "--env-file", env, "--to", "c@acme-hiring.io", "--json")
        assert result.exit_code == 0
        assert "smtp.I007" in smtp_ids(result)
        assert len(relay.messages) == 1 and relay.messages[0].login is None


# --- Login failures, classified by the reply ----------------------------------------------

PROVIDER_REPLIES = {
    "gmail-535": (
        "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
        "535 5.7.8  https://support.google.com/mail/?p=BadCredentials x1 - gsmtp",
        "smtp.E012",
        "account password instead of an App Password",
        "myaccount.google.com/apppasswords",
    ),
    "gmail-534-app-password": (
        "534-5.7.9 Application-specific password required. Learn more at\r\n"
        "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor x1 - gsmtp",
        "smtp.E012",
        "requires an App Password",
        "2-Step Verification",
    ),
    "gmail-534-web-login": (
        "534-5.7.14 <https://accounts.google.com/signin/continue?x> Please log in through your"
        " web browser\r\n"
        "534 5.7.14 and then try again. x1 - gsmtp",
        "smtp.E012",
        "Google blocked the sign-in",
        "from a browser",
    ),
    "gmail-454-temporary": (
        "454 4.7.0 Too many login attempts, please try again later. x1 - gsmtp",
        "smtp.E018",
        "throttled",
        "back off",
    ),
    "microsoft-tenant": (
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the"
        " Tenant.",
        "smtp.E012",
        "SMTP AUTH is disabled",
        "Set-TransportConfig",
    ),
    "microsoft-5.7.3": (
        "535 5.7.3 Authentication unsuccessful [AM0PR02CA0001.eurprd02.prod.outlook.com]",
        "smtp.E012",
        "Microsoft refused the login",
        "Authenticated SMTP",
    ),
    "ses": (
        "535 Authentication Credentials Invalid",
        "smtp.E012",
        "SES refused the SMTP credentials",
        "not IAM access keys",
    ),
    "sendgrid": (
        "535 Authentication failed: Bad username / password",
        "smtp.E012",
        "SendGrid refused the login",
        "'apikey'",
    ),
    "generic": (
        GENERIC_BAD_CREDENTIALS,
        "smtp.E012",
        "The server refused the user name and password",
        "EMAIL_HOST_USER",
    ),
}


@pytest.mark.parametrize("case", sorted(PROVIDER_REPLIES))
def test_login_refusal_is_explained_by_the_reply(
    case: str, ca: trustme.CA, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """The reply decides, not the host: the server here is 'localhost' for every provider."""
    reply, finding_id, meaning, fix = PROVIDER_REPLIES[case]
    with LoopbackSMTP(
        "starttls", users={USER: APP_PASSWORD}, ca=ca, bad_credentials_reply=reply
    ) as server:
        env = write_env(tmp_path, server.port, "starttls", password=SENTINEL)
        result = run_cli("send-test", "--env-file", env, "--json", "-v")
        assert server.messages == []
    assert result.exit_code == 1
    error = failure(result)
    assert error["id"] == finding_id and error["step"] == "login"
    assert meaning in str(error["message"]) and fix in str(error["hint"])
    assert error["evidence"]["reply"] == reply.replace("\r\n", "\n")  # type: ignore[index]
    assert_no_secret(result)


def test_login_failure_in_text_names_step_reply_and_fix(
    starttls_server: LoopbackSMTP, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    env = write_env(tmp_path, starttls_server.port, "starttls", password=SENTINEL)
    result = run_cli("send-test", "--env-file", env, "-v")
    assert result.exit_code == 1
    assert (
        "smtp.E012  EMAIL_HOST_PASSWORD: Gmail refused the user name and password" in result.stdout
    )
    assert "(step login," in result.stdout
    assert "reply: 535-5.7.8 Username and Password not accepted" in result.stdout
    assert "fix: Use an App Password" in result.stdout
    assert re.search(r"\bC +AUTH PLAIN \*{8}\n", result.stdout)
    assert_no_secret(result)


def test_auth_login_payloads_are_masked(
    ca: trustme.CA, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """AUTH LOGIN sends the user and the password as separate base64 lines: both masked."""
    server = LoopbackSMTP("starttls", users={USER: APP_PASSWORD}, ca=ca)
    server.start()
    try:
        env = write_env(tmp_path, server.port, "starttls", password=SENTINEL)
        result = run_cli("send-test", "--env-file", env, "--json", "-v")
    finally:
        server.stop()
    transcript = [row["line"] for row in result.json()["transcript"] if row["who"] == "C"]
    # smtplib tries PLAIN, then LOGIN, as Django does: every payload line is masked.
    assert "AUTH PLAIN ********" in transcript
    assert "AUTH LOGIN ********" in transcript
    auth_index = transcript.index("AUTH LOGIN ********")
    assert transcript[auth_index + 1] == "********"
    assert_no_secret(result)


# --- TLS mix-ups --------------------------------------------------------------------------------


def test_ssl_spoken_to_a_starttls_port(
    starttls_server: LoopbackSMTP, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    env = write_env(tmp_path, starttls_server.port, "ssl")
    started = time.monotonic()
    result = run_cli("send-test", "--env-file", env, "--json")
    assert time.monotonic() - started < TIMEOUT  # the handshake fails at once
    error = failure(result)
    assert error["id"] == "smtp.E010" and error["step"] == "tls"
    assert "EMAIL_USE_TLS=True and EMAIL_USE_SSL=False" in str(error["hint"])
    assert "220 mx.loopback.test" in str(error["message"])
    assert starttls_server.login_attempts == []


def test_starttls_spoken_to_an_implicit_tls_port(
    ssl_server: LoopbackSMTP, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    env = write_env(tmp_path, ssl_server.port, "starttls")
    started = time.monotonic()
    result = run_cli("send-test", "--env-file", env, "--json")
    assert time.monotonic() - started < BOUND
    error = failure(result)
    assert error["id"] == "smtp.E006" and error["step"] == "greet"
    assert "EMAIL_USE_SSL=True" in str(error["hint"])
    assert ssl_server.login_attempts == []


def test_no_starttls_offered_stops_before_the_credentials(tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.no_starttls_but_auth) as peer:
        env = write_env(tmp_path, peer.port, "starttls", password=SENTINEL)
        result = run_cli("send-test", "--env-file", env, "--json", "-v")
        received = bytes(peer.received)
    error = failure(result)
    assert error["id"] == "smtp.E011"
    assert b"AUTH" not in received.upper()
    for form in SENTINEL_FORMS:
        assert form.encode() not in received
    assert_no_secret(result)


def test_plaintext_login_needs_the_flag(ca: trustme.CA, tmp_path: Path, run_cli: RunCli) -> None:
    with LoopbackSMTP(
        "plain", users={USER: APP_PASSWORD}, ca=ca, auth_over_plaintext=True
    ) as relay:
        port = relay.port
        env = write_env(tmp_path, port, "plain")
        refused = run_cli("send-test", "--env-file", env, "--json")
        assert relay.login_attempts == []
        allowed = run_cli("send-test", "--env-file", env, "--json", "--allow-plaintext-auth")
        assert relay.login_attempts == [USER] and len(relay.messages) == 1
    assert failure(refused)["id"] == "smtp.E016"
    assert allowed.exit_code == 0
    assert "smtp.W002" in smtp_ids(allowed)
    # the offline check warns about it too
    assert "config.W002" in [f["id"] for f in allowed.json()["findings"]]


# --- Certificates -------------------------------------------------------------------------------


def test_untrusted_ca_is_an_error_naming_the_certificate(
    starttls_server: LoopbackSMTP, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    env = write_env(tmp_path, starttls_server.port, "starttls", password=SENTINEL)
    result = run_cli("send-test", "--env-file", env, "--json")
    error = failure(result)
    assert error["id"] == "smtp.E015" and error["step"] == "starttls"
    assert "unknown issuer" in str(error["message"]) and "issued by O=trustme" in str(
        error["message"]
    )
    assert "SSL_CERT_FILE" in str(error["hint"]) and "--cafile" in str(error["hint"])
    evidence = error["evidence"]
    assert "trustme" in evidence["issuer"]  # type: ignore[index]
    assert evidence["valid_for"] == ["localhost", "127.0.0.1"]  # type: ignore[index]
    assert evidence["expires"]  # type: ignore[index]
    assert starttls_server.login_attempts == []
    assert_no_secret(result)


def test_cafile_adds_the_ca(
    starttls_server: LoopbackSMTP,
    ca: trustme.CA,
    tmp_path: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    env = write_env(tmp_path, starttls_server.port, "starttls")
    result = run_cli("send-test", "--env-file", env, "--cafile", tmp_path / "ca.pem")
    assert result.exit_code == 0


def test_insecure_skips_verification_with_a_warning(
    starttls_server: LoopbackSMTP, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    env = write_env(tmp_path, starttls_server.port, "starttls")
    result = run_cli("send-test", "--env-file", env, "--insecure", "--json")
    assert result.exit_code == 0
    assert "smtp.W001" in smtp_ids(result)
    assert run_cli("send-test", "--env-file", env, "--insecure", "--strict").exit_code == 1


def test_hostname_mismatch_lists_the_valid_names(
    ca: trustme.CA, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    with LoopbackSMTP(
        "ssl", users={USER: APP_PASSWORD}, ca=ca, certificate_names=("mail.acme-hiring.io",)
    ) as server:
        env = write_env(tmp_path, server.port, "ssl")
        result = run_cli("send-test", "--env-file", env, "--json")
    error = failure(result)
    assert error["id"] == "smtp.E015" and "hostname mismatch" in str(error["message"])
    assert error["evidence"]["valid_for"] == ["mail.acme-hiring.io"]  # type: ignore[index]
    assert "it is valid for mail.acme-hiring.io" in str(error["message"])
    assert (
        error["hint"] == "Set EMAIL_HOST=mail.acme-hiring.io, a name the certificate is valid for"
    )


def test_best_name_prefers_the_closest_certificate_name() -> None:
    from interview_mailcheck.checks.smtp_failures import best_name

    names = ("smtp.acme-hiring.io", "mail.other.test", "10.0.0.5")
    assert best_name("mx.acme-hiring.io", names) == "smtp.acme-hiring.io"
    assert best_name("relay.internal", ("*.acme-hiring.io",)) == "smtp.acme-hiring.io"


def test_expired_certificate(ca: trustme.CA, trust: str, tmp_path: Path, run_cli: RunCli) -> None:
    expired = ca.issue_cert(
        "localhost",
        not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
        not_after=datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc),
    )
    server = LoopbackSMTP("ssl", users={USER: APP_PASSWORD}, ca=ca)
    server._server_context = lambda: _context_for(expired)  # type: ignore[method-assign]
    with server:
        env = write_env(tmp_path, server.port, "ssl")
        result = run_cli("send-test", "--env-file", env, "--json")
    error = failure(result)
    assert "expired" in str(error["message"])
    assert "2021" in str(error["evidence"]["expires"])  # type: ignore[index]


def _context_for(cert: trustme.LeafCert) -> object:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


# --- The network and hostile peers ----------------------------------------------------------------


def test_connection_refused_fails_fast(tmp_path: Path, run_cli: RunCli) -> None:
    env = write_env(tmp_path, free_port(), "starttls")
    started = time.monotonic()
    result = run_cli("send-test", "--env-file", env, "--json")
    assert time.monotonic() - started < TIMEOUT
    error = failure(result)
    assert error["id"] == "smtp.E003" and error["step"] == "connect"
    steps = {s["step"]: s["status"] for s in result.json()["steps"]}
    assert (
        steps["connect"] == "failed" and steps["login"] == "skipped" and steps["send"] == "skipped"
    )


def test_connection_timeout_is_told_apart(tmp_path: Path, run_cli: RunCli) -> None:
    listener, filler, port = peers.listening_but_full()
    try:
        env = write_env(tmp_path, port, "starttls", host="127.0.0.1")
        started = time.monotonic()
        result = run_cli("send-test", "--env-file", env, "--json")
        elapsed = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    error = failure(result)
    assert error["id"] == "smtp.E004"
    assert "firewall" in str(error["hint"]) and "25" in str(error["hint"])
    assert TIMEOUT * 0.9 < elapsed < BOUND


def test_host_that_does_not_resolve(tmp_path: Path, run_cli: RunCli) -> None:
    env = write_env(tmp_path, 587, "starttls", host="no-such-host.invalid")
    error = failure(run_cli("send-test", "--env-file", env, "--json"))
    assert error["id"] in ("smtp.E001", "smtp.E002") and error["step"] == "resolve"


HOSTILE = {
    "garbage banner": (peers.garbage_banner, "smtp.E009"),
    "banner never comes": (peers.silent, "smtp.E007"),
    "hang-up after EHLO": (peers.hang_up_after_ehlo, "smtp.E023"),
    "endless reply": (peers.endless_reply, "smtp.E024"),
    "endless line": (peers.endless_line, "smtp.E024"),
    "one byte at a time": (peers.trickle, "smtp.E022"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_peer_ends_in_a_clear_error(case: str, tmp_path: Path, run_cli: RunCli) -> None:
    behaviour, expected = HOSTILE[case]
    with RawPeer(behaviour) as peer:
        env = write_env(tmp_path, peer.port, "starttls", password=SENTINEL)
        started = time.monotonic()
        result = run_cli("send-test", "--env-file", env, "--json", "-v")
        elapsed = time.monotonic() - started
    assert result.exception is None
    assert result.exit_code == 1
    assert failure(result)["id"] == expected
    assert elapsed < BOUND
    assert_no_secret(result)


# --- Before any connection ------------------------------------------------------------------------


def test_config_errors_stop_before_connecting(tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.silent) as peer:
        env = write_env(
            tmp_path,
            peer.port,
            "starttls",
            extra="EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend\n",
        )
        result = run_cli("send-test", "--env-file", env, "--json")
        assert peer.connections == 0
    ids = [f["id"] for f in result.json()["findings"]]
    assert "config.E001" in ids and "smtp.I010" in ids
    assert result.exit_code == 1


def test_no_recipient_stops_before_connecting(tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.silent) as peer:
        env = write_env(tmp_path, peer.port, "starttls", user="hiring")
        result = run_cli("send-test", "--env-file", env, "--json")
        assert peer.connections == 0
    assert failure(result)["id"] == "smtp.E025"


def test_bad_options_are_usage_errors(tmp_path: Path, run_cli: RunCli) -> None:
    env = write_env(tmp_path, 587, "starttls")
    missing = run_cli("send-test", "--env-file", env, "--cafile", tmp_path / "none.pem")
    assert missing.exit_code == 2 and "CA file not found" in missing.stderr
    zero = run_cli("send-test", "--env-file", env, "--timeout", "0")
    assert zero.exit_code == 2 and "--timeout" in zero.stderr
    (tmp_path / "bad.pem").write_text("not a certificate")
    bad = run_cli("send-test", "--env-file", env, "--cafile", tmp_path / "bad.pem")
    assert bad.exit_code == 2 and "not a PEM" in bad.stderr
    for outcome in (missing, zero, bad):
        assert outcome.stdout == "" and "Traceback" not in outcome.stderr


# --- Refusals after login ------------------------------------------------------------------


def test_sender_refused_is_explained(
    ca: trustme.CA, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    refusal = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
    with LoopbackSMTP(
        "starttls", users={USER: APP_PASSWORD}, ca=ca, reject_sender=refusal
    ) as server:
        env = write_env(tmp_path, server.port, "starttls")
        result = run_cli("send-test", "--env-file", env, "--json")
    error = failure(result)
    assert error["id"] == "smtp.E019" and error["step"] == "send"
    assert "Send As" in str(error["hint"])


def test_recipient_refused_is_explained(
    ca: trustme.CA, trust: str, tmp_path: Path, run_cli: RunCli
) -> None:
    refusal = (
        "554 Message rejected: Email address is not verified. The following identities failed "
        "the check"
    )
    with LoopbackSMTP(
        "starttls", users={USER: APP_PASSWORD}, ca=ca, reject_recipient=refusal
    ) as server:
        env = write_env(tmp_path, server.port, "starttls")
        result = run_cli("send-test", "--env-file", env, "--json")
    error = failure(result)
    assert error["id"] == "smtp.E020"
    assert "sandbox" in str(error["hint"])
