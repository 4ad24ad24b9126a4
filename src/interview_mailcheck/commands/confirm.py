"""`send-test --confirm`: follow the test message into the recipient's mailbox over IMAP.

After the SMTP walk has handed over the message (with its token), log in to the mailbox,
look for the token in INBOX, the spam folder (SPECIAL-USE \\Junk, else a well-known name) and
All Mail, again every two seconds until --confirm-timeout, read the message's header, and
delete it unless --keep. What the header says is judged by checks/delivery.py.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from interview_mailcheck import authresults, mailboxes
from interview_mailcheck.checks.delivery import (
    DELETED,
    IMAP_FAILED,
    IMAP_LOGIN_REFUSED,
    NO_IMAP_HOST,
    NOT_A_RECIPIENT,
    Arrival,
    judge_arrival,
)
from interview_mailcheck.checks.smtp import TOKEN_HEADER, SendTestOptions, WalkResult, recipients
from interview_mailcheck.findings import Finding
from interview_mailcheck.imap_session import ImapProblem
from interview_mailcheck.mailconfig import MailConfig
from interview_mailcheck.report import CheckRun
from interview_mailcheck.values import CONFIRM_TIMEOUT, resolve_timeout

PASSWORD_VARIABLE = "MAILCHECK_IMAP_PASSWORD"
IMPLICIT_TLS_PORT, STARTTLS_PORT = 993, 143
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class ConfirmOptions:
    host: str | None = None
    port: int | None = None
    starttls: bool = False
    user: str | None = None
    within: float = CONFIRM_TIMEOUT
    keep: bool = False


@dataclass
class Confirmation:
    run: CheckRun
    row: dict[str, Any]
    """The `confirm` row of the Steps section (folder, seconds, authentication_results)."""
    transcript: list[dict[str, Any]]


def confirm(
    config: MailConfig, smtp: SendTestOptions, options: ConfirmOptions, walked: WalkResult
) -> Confirmation:
    """Look for the message the walk sent; the `confirm` check, its step row, the dialogue."""
    started = time.perf_counter()
    provider = config.provider
    host = options.host or (provider.imap_host if provider else "")
    port = options.port or (STARTTLS_PORT if options.starttls else IMPLICIT_TLS_PORT)
    row: dict[str, Any] = {"step": "confirm", "folder": None, "seconds": None}
    transcript: list[dict[str, Any]] = []
    if not host:
        findings = [NO_IMAP_HOST.finding("--imap-host", host=config.host)]
    else:
        findings, transcript = _read_mailbox(config, smtp, options, host, port, walked, row)
    duration = round((time.perf_counter() - started) * 1000, 1)
    run = CheckRun("confirm", findings, duration_ms=duration)
    levels = {finding.level.label for finding in findings}
    row.update(
        status="failed" if "error" in levels else "warning" if "warning" in levels else "ok",
        duration_ms=run.duration_ms,
        detail=findings[0].message if findings else "",
    )
    return Confirmation(run, row, transcript)


def _read_mailbox(
    config: MailConfig,
    smtp: SendTestOptions,
    options: ConfirmOptions,
    host: str,
    port: int,
    walked: WalkResult,
    row: dict[str, Any],
) -> tuple[list[Finding], list[dict[str, Any]]]:
    from interview_mailcheck.adapters.imap import ImapClient
    from interview_mailcheck.adapters.tls import tls_context

    user = mailbox_user(config, options)
    password = imap_password(config)
    timeout = resolve_timeout(smtp.timeout, config.timeout)
    client = ImapClient(
        host,
        port,
        security="starttls" if options.starttls else "tls",
        context=tls_context(smtp.cafile, smtp.insecure),
        timeout=timeout,
        budget=options.within + 4 * timeout,
    )
    findings: list[Finding] = []
    try:
        client.connect()
        client.login(user, password)
        order = mailboxes.search_order(client.folders())
        found = client.wait_for(
            order,
            TOKEN_HEADER,
            walked.token,
            within=options.within,
            every=POLL_SECONDS,
            since=walked.sent_at,
        )
        searched = tuple(folder.name for folder in order)
        if found is None:
            arrival = Arrival(None, False, options.within, searched=searched)
        else:
            header = client.headers(found.folder, found.uid)
            spam = found.folder == mailboxes.spam_folder(order)
            arrival = Arrival(found.folder.name, spam, found.seconds, header, searched)
            row.update(
                folder=found.folder.name,
                seconds=found.seconds,
                authentication_results=_verdicts(header),
            )
        findings += judge_arrival(arrival, config.from_email, config.provider, options.within)
        if found is not None:
            findings.append(_remove(client, found, options.keep))
    except ImapProblem as problem:
        findings.append(_problem(problem, host, port, user, config))
    finally:
        client.logout()
    lines = [{"ms": 0.0, "who": "*", "line": f"IMAP {host}:{port}"}] + [
        {"ms": line.at_ms, "who": line.who, "line": line.text} for line in client.transcript.lines
    ]
    return findings, lines


def mailbox_user(config: MailConfig, options: ConfirmOptions) -> str:
    """Whose mailbox is read: --imap-user, else EMAIL_HOST_USER."""
    return options.user or config.user


def imap_password(config: MailConfig) -> str:
    """MAILCHECK_IMAP_PASSWORD (the environment, else the env file), else EMAIL_HOST_PASSWORD."""
    env_file = config.settings.env_file
    written = env_file.values.get(PASSWORD_VARIABLE) if env_file else None
    return os.environ.get(PASSWORD_VARIABLE) or written or config.password


def unread_recipient(
    config: MailConfig, smtp: SendTestOptions, options: ConfirmOptions
) -> Finding | None:
    """The error when the mailbox --confirm reads is none of the recipients: nothing to find."""
    user = mailbox_user(config, options)
    to = recipients(config, smtp)
    if not user or "@" not in user or any(user.lower() == a.lower() for a in to):
        return None
    return NOT_A_RECIPIENT.finding("--imap-user", user=user, recipients=", ".join(to) or "nobody")


def _verdicts(header: bytes) -> dict[str, str | None]:
    results = authresults.from_header(header)
    return results.summary() if results else {}


def _remove(client: Any, found: Any, keep: bool) -> Finding:
    if keep:
        kept = f"the test message was kept in {found.folder.name} (--keep)"
        return DELETED.finding("mailbox", what=kept)
    deletion = client.delete(found.folder, found.uid)
    what = (
        f"the test message was deleted from {found.folder.name}"
        if deletion.expunged
        else f"the test message is flagged \\Deleted in {found.folder.name}: {deletion.detail}"
    )
    return DELETED.finding("mailbox", what=what)


def _problem(problem: ImapProblem, host: str, port: int, user: str, config: MailConfig) -> Finding:
    provider = config.provider
    if problem.kind == "login_refused":
        advice = provider.imap_advice if provider and provider.imap_advice else ""
        fix = (
            f"{advice}; the password is MAILCHECK_IMAP_PASSWORD, else EMAIL_HOST_PASSWORD"
            if advice
            else "Check --imap-user and MAILCHECK_IMAP_PASSWORD (else EMAIL_HOST_PASSWORD)"
        )
        reply = problem.reply or problem.detail
        return IMAP_LOGIN_REFUSED.finding("--imap-user", host=host, user=user, reply=reply, fix=fix)
    fixes = {
        "certificate": "Trust the IMAP server's CA (SSL_CERT_FILE or --cafile), or fix --imap-host",
        "tls_failed": "Check --imap-port: 993 is implicit TLS, 143 STARTTLS (--imap-starttls)",
        "not_imap": "Check --imap-host and --imap-port: something else answers there",
        "refused": "Check --imap-port, and that IMAP is on for the mailbox",
    }
    fix = fixes.get(problem.kind, "Check --imap-host, --imap-port and the network, then retry")
    return IMAP_FAILED.finding("--imap-host", host=host, port=port, detail=problem.detail, fix=fix)
