"""`mailcheck send-test`: the offline checks, then the live SMTP walk."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from interview_mailcheck.checks.config import ConfigResult
from interview_mailcheck.checks.smtp import (
    BUDGET_TIMEOUTS,
    SendTestOptions,
    WalkResult,
    blocker,
    step_row,
    walk,
    walk_timeout,
)
from interview_mailcheck.checks.smtp_rules import RETRIED, RETRIES_FAILED
from interview_mailcheck.commands.config import analyse_settings
from interview_mailcheck.mailconfig import MailConfig, describe_target
from interview_mailcheck.mailers import speak_runs
from interview_mailcheck.report import CheckRun, Report, Section
from interview_mailcheck.smtp_session import SmtpSession

if TYPE_CHECKING:
    from interview_mailcheck.commands.confirm import ConfirmOptions


def open_session(config: MailConfig, options: SendTestOptions) -> SmtpSession:
    """The real SMTP session (adapters/smtp.py) for these settings."""
    from interview_mailcheck.adapters.smtp import SmtpClient

    timeout = walk_timeout(config, options)
    return SmtpClient(
        config.host,
        config.port or 25,
        timeout=timeout,
        budget=timeout * BUDGET_TIMEOUTS,
        cafile=options.cafile,
        insecure=options.insecure,
        local_hostname=options.ehlo,
        client_certificate=config.client_certificate if config.builds_client_context else None,
    )


BACKOFF_SECONDS = (0.5, 1.0, 2.0)
"""The pause before each retry (the last one again for any after): short, as a CI job waits."""


def run_walk(config: MailConfig, options: SendTestOptions) -> WalkResult:
    """The walk; once more after a short pause, up to --retries times, while it fails in a way
    that trying again may mend (a 4xx at the greeting or EHLO, a connection dropped at once)."""
    failures: list[str] = []
    attempts = options.retries + 1
    for attempt in range(1, attempts + 1):
        outcome = walk(config, options, open_session(config, options))
        if not outcome.retryable or attempt == attempts:
            break
        failures.append(f"attempt {attempt}: {outcome.retryable}")
        time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])
    if failures:
        said = "; ".join(failures)
        note = (
            RETRIED.finding("send-test", attempt=attempt, attempts=attempts, failures=said)
            if outcome.passed
            else RETRIES_FAILED.finding("send-test", attempts=attempt, failures=said)
        )
        outcome.runs.insert(0, CheckRun("retries", [note]))
    return outcome


def walk_sections(outcome: WalkResult) -> list[Section]:
    return [
        Section("steps", "Steps", outcome.steps),
        Section("transcript", "SMTP transcript (credentials masked)", outcome.transcript),
    ]


def smtp_part(
    result: ConfigResult,
    options: SendTestOptions,
    *,
    host_unresolvable: bool = False,
    confirming: ConfirmOptions | None = None,
) -> tuple[list[CheckRun], list[Section], str]:
    """The walk's checks and sections, or why it did not run: (runs, sections, skipped).
    With `confirming`, the message sent is then looked for in the mailbox (the confirm step)."""
    stop = blocker(
        result.config,
        options,
        config_has_errors=result.blocks_walk,
        host_unresolvable=host_unresolvable,
    )
    if stop is not None:
        return [CheckRun("send-test", [stop.finding])], [], "" if stop.is_refusal else stop.reason
    if confirming is not None:
        from interview_mailcheck.commands.confirm import unread_recipient

        misaddressed = unread_recipient(result.config, options, confirming)
        if misaddressed is not None:
            return [CheckRun("confirm", [misaddressed])], [], ""
    outcome = run_walk(result.config, options)
    outcome.runs = speak_runs(outcome.runs, result.config.settings.mailer)
    sections = walk_sections(outcome)
    if confirming is not None:
        if outcome.sent:
            from interview_mailcheck.commands.confirm import confirm

            confirmation = confirm(result.config, options, confirming, outcome)
            outcome.runs.append(confirmation.run)
            sections[0].rows.append(confirmation.row)
            sections.append(
                Section("imap", "IMAP transcript (credentials masked)", confirmation.transcript)
            )
        else:
            outcome.runs.append(CheckRun("confirm", skipped="not reached: nothing was sent"))
            sections[0].rows.append(step_row(outcome.runs[-1]))
    return outcome.runs, sections, ""


def send_test_report(
    env_file: Path | None,
    options: SendTestOptions,
    *,
    strict: bool,
    settings_module: str | None = None,
    pythonpath: Path | None = None,
    confirming: ConfirmOptions | None = None,
    mailer: str | None = None,
) -> Report:
    result = analyse_settings(env_file, settings_module, pythonpath, mailer)
    config = result.config
    runs, sections, _ = smtp_part(result, options, confirming=confirming)
    to = ", ".join(options.to) or config.user or "?"
    if options.login_only:
        recipient, verdict = "", "The login works; no message was sent (--login-only)."
    elif options.envelope:
        recipient = f", envelope to {to}"
        verdict = "The server would take the message (--envelope); nothing was sent."
    elif confirming is not None:
        recipient = f", test message to {to}, confirmed over IMAP"
        verdict = "The test message reached the inbox, as the confirm step shows."
    else:
        recipient = f", test message to {to}"
        verdict = f"The test message was accepted: look for it in {to}'s inbox (and spam folder)."
    return Report(
        "send-test",
        [*result.runs, *runs],
        headline=f"{describe_target(config)}{recipient}",
        sections=sections,
        strict=strict,
        verdict=verdict,
    )
