"""Past the login: the envelope probe, refusals after DATA as each provider gives them, the EHLO
name Django sends, retries, and several recipients. Real servers on loopback (aiosmtpd with
trustme certificates, raw TCP peers for what aiosmtpd will not do)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from conftest import Run, RunCli
from support import peers
from support.peers import RawPeer

from interview_mailcheck.loopback import LoopbackSMTP

USER, PASSWORD = "hiring.team@acme-hiring.io", "correct-horse-battery"
CANDIDATE = "asha.rao@candidates.test"


def env_file(folder: Path, port: int, mode: str = "starttls", **overrides: str) -> Path:
    values = {
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": str(mode == "starttls"),
        "EMAIL_HOST_USER": USER,
        "EMAIL_HOST_PASSWORD": PASSWORD,
        "DEFAULT_FROM_EMAIL": f"Hiring <{USER}>",
        "EMAIL_TIMEOUT": "2",
        **overrides,
    }
    path = folder / "delivery.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def server(ca: trustme.CA, **behaviour: object) -> LoopbackSMTP:
    return LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca, **behaviour)  # type: ignore[arg-type]


def errors(result: Run) -> list[str]:
    return [f["id"] for f in result.json()["findings"] if f["level"] == "error"]


def finding(result: Run, rule_id: str) -> dict[str, object]:
    return next(f for f in result.json()["findings"] if f["id"] == rule_id)


# --- Refusals after DATA, as each provider gives them ---------------------------------------

LATE_REFUSALS = {
    # provider: (where it refuses, the reply, the meaning the reply table gives)
    "zoho": (
        "reject_data",
        "553 Relaying disallowed as hiring@acme-hiring.io",
        "The server refused the From address: the account does not own it",
    ),
    "gmail": (
        "reject_data",
        "550 5.4.5 Daily user sending quota exceeded. x1-20020a - gsmtp",
        "Gmail's daily sending quota is used up (a permanent code, but it clears daily)",
    ),
    "sendgrid": (
        "reject_data",
        "550 The from address does not match a verified Sender Identity. Mail cannot be sent",
        "SendGrid has not verified this sender",
    ),
    "microsoft": (
        "reject_data",
        "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
        "Microsoft refused to send as this sender",
    ),
    "brevo": (
        "reject_sender",
        "502 5.7.0 Please authenticate first",
        "Brevo requires a login before sending",
    ),
}


@pytest.mark.parametrize("provider", sorted(LATE_REFUSALS))
def test_refusals_at_the_step_the_provider_gives_them(
    provider: str, ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    where, reply, meaning = LATE_REFUSALS[provider]
    with server(ca, **{where: reply}) as smtp:
        login_only = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--login-only", "--json"
        )
        result = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--to", CANDIDATE, "--json"
        )
    assert login_only.exit_code == 0  # a login-only preflight passes all of them
    expected = "smtp.E021" if where == "reject_data" else "smtp.E019"
    assert (result.exit_code, errors(result)) == (1, [expected])
    refused = finding(result, expected)
    assert meaning in str(refused["message"])
    assert refused["step"] == "send"
    assert refused["evidence"]["reply"] == reply  # type: ignore[index]


def test_ses_sandbox_delivers_to_the_account_and_refuses_the_candidate(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    with server(ca, verified=frozenset({USER})) as smtp:
        env = env_file(tmp_path, smtp.port)
        to_self = run_cli("send-test", "--env-file", env, "--json")
        to_candidate = run_cli("send-test", "--env-file", env, "--to", CANDIDATE, "--json")
    assert to_self.exit_code == 0
    assert finding(to_self, "smtp.W003")["message"] == (
        f"the only recipient was {USER}, the account itself: a server that delivers to the "
        "sender and refuses everyone else passes this test"
    )
    assert (to_candidate.exit_code, errors(to_candidate)) == (1, ["smtp.E021"])
    assert "SES has not verified this address" in str(finding(to_candidate, "smtp.E021")["message"])


# --- The envelope probe ------------------------------------------------------------------------


def test_envelope_gives_mail_and_rcpt_and_sends_nothing(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    with server(ca) as smtp:
        env = env_file(tmp_path, smtp.port)
        result = run_cli(
            "send-test", "--env-file", env, "--envelope", "--to", CANDIDATE, "--to", USER, "-v",
            "--json",
        )  # fmt: skip
        assert smtp.messages == []
    assert result.exit_code == 0
    assert finding(result, "smtp.I011")["message"] == (
        f"MAIL FROM {USER} and RCPT TO {CANDIDATE}, {USER} accepted, then RSET: nothing was sent"
    )
    client = [row["line"] for row in result.json()["transcript"] if row["who"] == "C"]
    assert [line.split(":")[0].split()[0].upper() for line in client[-5:]] == [
        "MAIL",
        "RCPT",
        "RCPT",
        "RSET",
        "QUIT",
    ]
    assert [s["step"] for s in result.json()["steps"]][-1] == "envelope"


def test_envelope_names_a_refused_recipient(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    refusal = "550 5.1.1 <asha.rao@candidates.test>: Recipient address rejected: unknown"
    with server(ca, reject_recipient=refusal) as smtp:
        result = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--envelope", "--to",
            CANDIDATE, "--json",
        )  # fmt: skip
    assert (result.exit_code, errors(result)) == (1, ["smtp.E020"])
    assert str(finding(result, "smtp.E020")["message"]).startswith(f"recipient {CANDIDATE} refused")


def test_several_recipients_get_one_message(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    with server(ca) as smtp:
        env = env_file(tmp_path, smtp.port)
        result = run_cli("send-test", "--env-file", env, "--to", CANDIDATE, "--to", "b@c.test")
        assert [m.recipients for m in smtp.messages] == [[CANDIDATE, "b@c.test"]]
    assert result.exit_code == 0
    assert "smtp.W003" not in result.stdout


# --- EHLO as Django sends it -------------------------------------------------------------------


def test_ehlo_is_the_name_django_sends(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    with server(ca) as smtp:
        result = run_cli("send-test", "--env-file", env_file(tmp_path, smtp.port), "-v", "--json")
    ehlo = [row["line"] for row in result.json()["transcript"] if row["line"].startswith("ehlo")]
    assert ehlo and all(line == f"ehlo {socket.getfqdn()}" for line in ehlo)


@pytest.mark.parametrize("name", ["3f2a9c1b7e4d", "[172.17.0.2]"])
def test_a_name_that_is_not_fully_qualified_refused_at_ehlo_is_its_own_error(
    name: str, ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    with server(ca, ehlo_needs_dot=True) as smtp:
        result = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--ehlo", name, "--json"
        )
    assert (result.exit_code, errors(result)) == (1, ["smtp.E029"])
    refused = finding(result, "smtp.E029")
    assert refused["message"] == (
        f"the server refused EHLO {name}: 421 4.7.0 Try again later, closing connection. (EHLO)"
    )
    assert refused["subject"] == "EHLO" and refused["step"] == "greet"


def test_a_fully_qualified_ehlo_name_passes(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    with server(ca, ehlo_needs_dot=True) as smtp:
        result = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--ehlo", "app.acme.io",
            "--to", CANDIDATE,
        )  # fmt: skip
    assert result.exit_code == 0


def test_fully_qualified() -> None:
    from interview_mailcheck.checks.smtp import fully_qualified

    assert fully_qualified("app.acme.io") and fully_qualified("localhost.localdomain")
    assert not any(
        fully_qualified(name) for name in ("3f2a9c1b7e4d", "[172.17.0.2]", "10.0.0.7", "::1", "a.")
    )


# --- Retries ---------------------------------------------------------------------------------

BUSY = b"421 4.7.0 Try again later, closing connection.\r\n"


def plain_env(folder: Path, port: int) -> Path:
    return env_file(folder, port, "plain")


def send(run_cli: RunCli, env: Path, *args: str) -> tuple[Run, float]:
    started = time.monotonic()
    result = run_cli(
        "send-test", "--env-file", env, "--allow-plaintext-auth", "--to", CANDIDATE, "--json",
        *args,
    )  # fmt: skip
    return result, time.monotonic() - started


@pytest.fixture
def busy_twice() -> Iterator[RawPeer]:
    with RawPeer(peers.busy_then_ready(2, BUSY)) as peer:
        yield peer


def test_a_busy_server_is_retried_and_the_run_says_so(
    busy_twice: RawPeer, tmp_path: Path, run_cli: RunCli
) -> None:
    result, elapsed = send(run_cli, plain_env(tmp_path, busy_twice.port), "--retries", "2")
    assert busy_twice.connections == 3
    assert result.exit_code == 0
    retried = finding(result, "smtp.W004")
    assert retried["message"] == (
        "passed on attempt 3 of 3; before that: attempt 1: 421 at the greet; "
        "attempt 2: 421 at the greet"
    )
    assert elapsed < 0.5 + 1.0 + 3  # the two pauses and the runs


def test_without_retries_the_busy_server_is_the_failure(
    busy_twice: RawPeer, tmp_path: Path, run_cli: RunCli
) -> None:
    result, _ = send(run_cli, plain_env(tmp_path, busy_twice.port))
    assert busy_twice.connections == 1
    assert (result.exit_code, errors(result)) == (1, ["smtp.E008"])


def test_retries_that_run_out(busy_twice: RawPeer, tmp_path: Path, run_cli: RunCli) -> None:
    result, _ = send(run_cli, plain_env(tmp_path, busy_twice.port), "--retries", "1")
    assert busy_twice.connections == 2
    assert (result.exit_code, errors(result)) == (1, ["smtp.E008"])
    assert finding(result, "smtp.I012")["message"] == (
        "the server refused all 2 attempts: attempt 1: 421 at the greet"
    )


def test_a_dropped_first_connection_is_retried(tmp_path: Path, run_cli: RunCli) -> None:
    with RawPeer(peers.busy_then_ready(1, None)) as peer:
        result, _ = send(run_cli, plain_env(tmp_path, peer.port), "--retries", "1")
        assert peer.connections == 2
    assert result.exit_code == 0
    assert "smtp.W004" in result.ids()


def test_a_silent_server_is_not_retried(tmp_path: Path, run_cli: RunCli) -> None:
    """Only what trying again may mend is retried: silence would cost the timeout each time."""
    with RawPeer(peers.silent) as peer:
        args = ("--retries", "3", "--timeout", "1")
        result, elapsed = send(run_cli, plain_env(tmp_path, peer.port), *args)
        assert peer.connections == 2  # the walk, and the probe that asks whether it speaks TLS
    assert errors(result) == ["smtp.E007"]
    assert "smtp.I012" not in result.ids() and elapsed < 1 + 1 + 1


def test_the_message_has_crlf_line_ends_as_django_sends_them(
    ca: trustme.CA, trusted: None, tmp_path: Path, run_cli: RunCli
) -> None:
    """smtplib sends bytes as they are: a message made with "\\n" would carry bare LFs, which
    Gmail and others refuse (SMTP smuggling defences). Django sends CRLF; so does mailcheck."""
    with server(ca) as smtp:
        result = run_cli("send-test", "--env-file", env_file(tmp_path, smtp.port))
        [received] = smtp.messages
    assert result.exit_code == 0
    assert b"\r\n\r\n" in received.data
    assert received.data.count(b"\n") == received.data.count(b"\r\n")
