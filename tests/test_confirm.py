"""`send-test --confirm`: the test message followed past the SMTP server into the mailbox.

A real Dovecot (support.imap) holds the recipient's mailbox, with TLS from the same trustme CA
as the loopback SMTP server, and SPECIAL-USE folders. The SMTP server delivers each message it
accepts into that Maildir, in the folder and with the Authentication-Results header the test
chooses (SmtpToImap with a router), as a receiving provider would. The tests read what
mailcheck says: the folder, the verdicts, the From as it arrived, the bound, the cleanup, and
that the password never reaches the IMAP transcript.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import Run, RunCli
from support.imap import Dovecot, StartDovecot, free_ports

from interview_mailcheck import providers
from interview_mailcheck.checks.delivery import Arrival, judge_arrival
from interview_mailcheck.loopback import LoopbackSMTP
from interview_mailcheck.loopback_imap import Delivery, Router, SmtpToImap, authentication_results

pytest_plugins = ["support.imap_fixtures"]

USER, PASSWORD = "hiring.team@acme-hiring.io", "imap-and-smtp-app-password"
CANDIDATE, CANDIDATE_PASSWORD = "asha.rao@candidates.test", "candidate-imap-password"
SENDER = f"Hiring <{USER}>"
DOMAIN = "acme-hiring.io"
AUTHSERV = "mx.loopback.test"


class DovecotMailboxes:
    """The `Mailboxes` SmtpToImap delivers into: a Dovecot's Maildirs, as its MDA would."""

    def __init__(self, dovecot: Dovecot) -> None:
        self.dovecot = dovecot

    @property
    def users(self) -> Mapping[str, str]:
        return self.dovecot.users

    def deliver(self, user: str, folder: str, message: bytes) -> Path:
        return self.dovecot.deliver(user, message, folder)


@pytest.fixture
def mailbox(start_dovecot: StartDovecot, ca: trustme.CA) -> Dovecot:
    return start_dovecot({USER: PASSWORD, CANDIDATE: CANDIDATE_PASSWORD}, ca=ca)


def env_file(folder: Path, port: int, **overrides: str) -> Path:
    values = {
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "True",
        "EMAIL_HOST_USER": USER,
        "EMAIL_HOST_PASSWORD": PASSWORD,
        "DEFAULT_FROM_EMAIL": SENDER,
        "EMAIL_TIMEOUT": "3",
        **overrides,
    }
    path = folder / "confirm.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


@pytest.fixture
def relay(ca: trustme.CA, mailbox: Dovecot, trusted: Path) -> Iterator[Any]:
    """Start the SMTP server that delivers into `mailbox` by the router the test gives."""
    started: list[tuple[LoopbackSMTP, SmtpToImap]] = []

    def start(route: Router) -> LoopbackSMTP:
        smtp = LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca).start()
        bridge = SmtpToImap(smtp, DovecotMailboxes(mailbox), route).attach()
        started.append((smtp, bridge))
        return smtp

    yield start
    for smtp, bridge in started:
        bridge.detach()
        smtp.stop()


def passing() -> Delivery:
    return Delivery("INBOX", authentication_results(AUTHSERV, DOMAIN))


def confirm(
    run_cli: RunCli, smtp: LoopbackSMTP, mailbox: Dovecot, tmp_path: Path, *extra: str
) -> Run:
    return run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
        "--imap-host", "localhost", "--imap-port", mailbox.tls_port, "--json", *extra,
    )  # fmt: skip


def finding(result: Run, rule_id: str) -> dict[str, Any]:
    found = [f for f in result.json()["findings"] if f["id"] == rule_id]
    assert found, f"no {rule_id} in {result.ids()}"
    return found[0]


def levels(result: Run, prefix: str = "delivery.") -> list[tuple[str, str]]:
    return [(f["id"], f["level"]) for f in result.json()["findings"] if f["id"].startswith(prefix)]


def confirm_step(result: Run) -> dict[str, Any]:
    return next(step for step in result.json()["steps"] if step["step"] == "confirm")


# --- Where it arrived ---------------------------------------------------------------------------


def test_arrived_in_the_inbox_with_every_verdict_passing(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = confirm(run_cli, smtp, mailbox, tmp_path)
    assert result.exit_code == 0
    assert levels(result) == [
        ("delivery.I001", "info"),
        ("delivery.I003", "info"),
        ("delivery.I004", "info"),
    ]
    assert finding(result, "delivery.I001")["message"].startswith(
        "the test message arrived in INBOX after "
    )
    assert finding(result, "delivery.I003")["message"] == (
        "the receiving server says: spf=pass, dkim=pass, dmarc=pass"
    )
    step = confirm_step(result)
    assert (step["status"], step["folder"]) == ("ok", "INBOX")
    assert isinstance(step["seconds"], float) and 0 <= step["seconds"] < 5
    assert step["authentication_results"] == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert finding(result, "delivery.I004")["message"] == "the test message was deleted from INBOX"
    assert mailbox.messages(USER) == []  # removed, and only it


def test_a_candidate_mailbox_of_its_own(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    """The usual set-up: a test candidate's inbox, read with its own IMAP password."""
    smtp = relay(lambda received: passing())
    result = run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--to", CANDIDATE, "--confirm",
        "--imap-host", "localhost", "--imap-port", mailbox.tls_port, "--imap-user", CANDIDATE,
        env={"MAILCHECK_IMAP_PASSWORD": CANDIDATE_PASSWORD},
    )  # fmt: skip
    assert result.exit_code == 0
    assert f"test message to {CANDIDATE}, confirmed over IMAP" in result.stdout
    assert "--confirm: the test message arrived in INBOX after" in result.stdout
    assert result.stdout.rstrip().endswith(
        "The test message reached the inbox, as the confirm step shows."
    )
    assert CANDIDATE_PASSWORD not in result.stdout
    assert mailbox.messages(CANDIDATE) == [] and mailbox.messages(USER) == []


def test_in_spam_with_a_failing_dmarc_verdict_names_the_record_to_fix(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    verdict = authentication_results(AUTHSERV, DOMAIN, spf="pass", dkim="none", dmarc="fail")
    smtp = relay(lambda received: Delivery(mailbox.junk, verdict))
    result = confirm(run_cli, smtp, mailbox, tmp_path)
    assert result.exit_code == 1
    assert levels(result) == [
        ("delivery.E001", "error"),
        ("delivery.I003", "info"),
        ("delivery.W001", "warning"),
        ("delivery.E003", "error"),
        ("delivery.I004", "info"),
    ]
    spam = finding(result, "delivery.E001")
    assert spam["message"].startswith(f"the test message arrived in the spam folder {mailbox.junk}")
    assert spam["message"].endswith(" s, the receiver's verdicts: DMARC fail")
    assert f"_dmarc.{DOMAIN}" in spam["hint"]
    assert finding(result, "delivery.W001")["message"] == (
        f"DKIM none for {DOMAIN}: the receiving server could not judge it"
    )
    step = confirm_step(result)
    assert (step["status"], step["folder"]) == ("failed", mailbox.junk)
    assert step["authentication_results"] == {"spf": "pass", "dkim": "none", "dmarc": "fail"}
    assert mailbox.messages(USER) == []


def test_spam_folder_found_by_name_without_special_use(
    start_dovecot: StartDovecot, ca: trustme.CA, trusted: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    mailbox = start_dovecot({USER: PASSWORD}, ca=ca, special_use=False)
    with LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as smtp:
        route = lambda received: Delivery("Spam", None)  # noqa: E731
        with SmtpToImap(smtp, DovecotMailboxes(mailbox), route):
            result = confirm(run_cli, smtp, mailbox, tmp_path)
    assert result.exit_code == 1
    assert finding(result, "delivery.E001")["message"].startswith(
        "the test message arrived in the spam folder Spam after "
    )
    assert finding(result, "delivery.E001")["hint"] == (
        "Check the sending domain's SPF, DKIM and DMARC"
    )
    assert finding(result, "delivery.I002")["message"] == (
        "the message as received has no Authentication-Results header: the receiving server "
        "says nothing"
    )


def test_a_rewritten_from_is_a_warning(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(
        lambda received: Delivery(
            "INBOX", authentication_results(AUTHSERV, DOMAIN), rewrite_from=f"Hiring <{USER}>"
        )
    )
    env = env_file(tmp_path, smtp.port, DEFAULT_FROM_EMAIL="Careers <careers@acme-hiring.io>")
    result = run_cli(
        "send-test", "--env-file", env, "--confirm", "--imap-host", "localhost",
        "--imap-port", mailbox.tls_port, "--json",
    )  # fmt: skip
    assert result.exit_code == 0
    rewritten = finding(result, "delivery.W002")
    assert rewritten["message"] == (
        f"the message arrived From {USER}, not careers@acme-hiring.io: the provider rewrote it"
    )
    assert rewritten["hint"].startswith("Make DEFAULT_FROM_EMAIL an address the account may send")
    assert confirm_step(result)["status"] == "warning"


def test_the_provider_gives_the_send_as_fix() -> None:
    gmail = providers.provider_for_host("smtp.gmail.com")
    assert gmail is not None
    header = (
        b"Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=acme-hiring.io\r\n"
        b"From: hiring.team@gmail.com\r\nSubject: x\r\n"
    )
    found = judge_arrival(Arrival("INBOX", False, 1.5, header), "careers@acme-hiring.io", gmail, 60)
    rewritten = next(f for f in found if f.id == "delivery.W002")
    assert rewritten.hint == gmail.send_as_fix
    assert "Send mail as" in rewritten.hint


# --- What goes wrong -----------------------------------------------------------------------------


def test_not_arrived_within_the_bound(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: None)  # accepted, then dropped without a word
    started = time.monotonic()
    result = confirm(run_cli, smtp, mailbox, tmp_path, "--confirm-timeout", "1.5")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert levels(result) == [("delivery.E002", "error")]
    assert finding(result, "delivery.E002")["message"] == (
        "the test message did not arrive in INBOX, Junk, All Mail within 1.5 s"
    )
    assert elapsed < 1.5 + 4  # the bound, plus the send and the IMAP login
    assert confirm_step(result)["folder"] is None


def test_keep_leaves_the_message(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = confirm(run_cli, smtp, mailbox, tmp_path, "--keep")
    assert result.exit_code == 0
    assert finding(result, "delivery.I004")["message"] == (
        "the test message was kept in INBOX (--keep)"
    )
    [kept] = mailbox.messages(USER)
    token = kept.header("X-Mailcheck-Token")
    assert token and token in kept.subject


def test_only_the_test_message_is_deleted(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    mailbox.deliver(USER, b"From: a@b.test\r\nSubject: an invitation\r\n\r\nhello\r\n")
    smtp = relay(lambda received: passing())
    result = confirm(run_cli, smtp, mailbox, tmp_path)
    assert result.exit_code == 0
    assert [m.subject for m in mailbox.messages(USER)] == ["an invitation"]


def test_starttls_on_the_plain_port(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
        "--imap-host", "localhost", "--imap-port", mailbox.plain_port, "--imap-starttls",
        "-v", "--json",
    )  # fmt: skip
    assert result.exit_code == 0
    imap = [row["line"] for row in result.json()["imap"]]
    assert any("STARTTLS" in line for line in imap)
    assert finding(result, "delivery.I001")


def test_login_refused_gives_the_advice_and_never_the_password(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    wrong = "not-the-imap-password"
    result = run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
        "--imap-host", "localhost", "--imap-port", mailbox.tls_port, "-v", "--json",
        env={"MAILCHECK_IMAP_PASSWORD": wrong},
    )  # fmt: skip
    assert result.exit_code == 1
    refused = finding(result, "delivery.E004")
    assert refused["message"].startswith(f"localhost refused the IMAP login of {USER}: ")
    assert "MAILCHECK_IMAP_PASSWORD" in refused["hint"]
    login = [row["line"] for row in result.json()["imap"] if " LOGIN " in row["line"]]
    assert login and all(line.endswith(" ********") for line in login)
    for text in (result.stdout, result.stderr):
        assert wrong not in text and PASSWORD not in text


def test_the_imap_dialogue_is_in_the_transcript_with_the_password_masked(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = confirm(run_cli, smtp, mailbox, tmp_path, "-v")
    assert result.exit_code == 0
    lines = [row["line"] for row in result.json()["imap"]]
    assert lines[0] == f"IMAP localhost:{mailbox.tls_port}"
    assert any(" LOGIN " in line and line.endswith("********") for line in lines)
    assert any("UID SEARCH" in line.upper() for line in lines)
    assert PASSWORD not in result.stdout


def test_nothing_listening_on_the_imap_port(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    [closed] = free_ports(1)
    result = run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
        "--imap-host", "localhost", "--imap-port", closed, "--json",
    )  # fmt: skip
    assert result.exit_code == 1
    failed = finding(result, "delivery.E005")
    assert failed["message"].startswith(f"the mailbox at localhost:{closed} could not be read: ")
    assert failed["hint"] == "Check --imap-port, and that IMAP is on for the mailbox"


def test_implicit_tls_against_the_starttls_port(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
        "--imap-host", "localhost", "--imap-port", mailbox.plain_port, "--json",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "993 is implicit TLS, 143 STARTTLS" in finding(result, "delivery.E005")["hint"]


def test_a_mailbox_that_is_not_a_recipient_sends_nothing(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = confirm(run_cli, smtp, mailbox, tmp_path, "--to", "asha.rao@candidates.test")
    assert result.exit_code == 1
    assert finding(result, "delivery.E007")["message"] == (
        f"--confirm would read the mailbox of {USER}, but the message goes to "
        "asha.rao@candidates.test"
    )
    assert smtp.messages == []


def test_no_imap_host_known_for_the_server(
    relay: Any, mailbox: Dovecot, tmp_path: Path, run_cli: RunCli
) -> None:
    smtp = relay(lambda received: passing())
    result = run_cli(
        "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm", "--json"
    )
    assert result.exit_code == 1
    assert finding(result, "delivery.E006")["message"] == (
        "no IMAP server is known for localhost: the delivery cannot be confirmed"
    )
    assert [m.folder for m in mailbox.messages(USER)] == ["INBOX"]  # sent, then not looked for


def test_the_known_providers_name_their_imap_server() -> None:
    expected = {
        "smtp.gmail.com": "imap.gmail.com",
        "smtp.office365.com": "outlook.office365.com",
        "smtp.mail.yahoo.com": "imap.mail.yahoo.com",
    }
    for smtp_host, imap_host in expected.items():
        provider = providers.provider_for_host(smtp_host)
        assert provider is not None and provider.imap_host == imap_host


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--confirm", "--login-only"], "--login-only and --confirm cannot be used together"),
        (["--confirm", "--envelope"], "--envelope and --confirm cannot be used together"),
        (["--keep"], "--keep only means something with --confirm"),
        (["--imap-user", "x@y.test"], "--imap-user only means something with --confirm"),
        (["--confirm", "--imap-host", "a b"], "--imap-host 'a b' is not a host name"),
        (["--confirm", "--imap-port", "99999"], "--imap-port '99999' is not a port"),
        (["--confirm", "--confirm-timeout", "-1"], "--confirm-timeout '-1' must be a number"),
    ],
)
def test_bad_options_are_one_line_usage_errors(
    args: list[str], error: str, run_cli: RunCli
) -> None:
    result = run_cli("send-test", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mailcheck: error: {error}")
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


# --- Hostile mailboxes -------------------------------------------------------------------------


def test_a_mailbox_that_stops_answering_after_login_ends_within_the_bound(
    ca: trustme.CA, trusted: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    from support.imap_peers import HANG, ImapPeer, answering

    with (
        LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as smtp,
        ImapPeer(answering({b"LIST": lambda tag, verb, line: HANG}), ca=ca) as peer,
    ):
        started = time.monotonic()
        result = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
            "--imap-host", "localhost", "--imap-port", peer.port, "--json",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    failed = finding(result, "delivery.E005")
    assert "stopped answering" in failed["message"] or "timed out" in failed["message"]
    assert elapsed < 3 + 5  # EMAIL_TIMEOUT (3 s) for the silent LIST, plus the send


def test_a_refusal_with_terminal_escapes_reaches_the_terminal_inert(
    ca: trustme.CA, trusted: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    from support.imap_peers import ImapPeer, answering

    def refuse(tag: bytes, verb: bytes, line: bytes) -> bytes:
        return tag + b" NO [AUTHENTICATIONFAILED] bad\x1b[2J\x1b]0;owned\x07 login\r\n"

    with (
        LoopbackSMTP("starttls", users={USER: PASSWORD}, ca=ca) as smtp,
        ImapPeer(answering({b"LOGIN": refuse}), ca=ca) as peer,
    ):
        result = run_cli(
            "send-test", "--env-file", env_file(tmp_path, smtp.port), "--confirm",
            "--imap-host", "localhost", "--imap-port", peer.port, "-v",
        )  # fmt: skip
    assert result.exit_code == 1
    assert "delivery.E004" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "bad\\x1b[2J\\x1b]0;owned\\x07 login" in result.stdout
    assert PASSWORD not in result.stdout
