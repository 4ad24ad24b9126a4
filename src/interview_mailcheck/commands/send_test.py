"""`mailcheck send-test`: the offline checks, then the live SMTP walk."""

from __future__ import annotations

from pathlib import Path

from interview_mailcheck.checks.config import ConfigResult
from interview_mailcheck.checks.smtp import (
    BUDGET_TIMEOUTS,
    SendTestOptions,
    WalkResult,
    blocker,
    walk,
    walk_timeout,
)
from interview_mailcheck.commands.config import analyse_settings
from interview_mailcheck.mailconfig import MailConfig, describe_target
from interview_mailcheck.report import CheckRun, Report, Section
from interview_mailcheck.smtp_session import SmtpSession


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
    )


def run_walk(config: MailConfig, options: SendTestOptions) -> WalkResult:
    return walk(config, options, open_session(config, options))


def walk_sections(outcome: WalkResult) -> list[Section]:
    return [
        Section("steps", "Steps", outcome.steps),
        Section("transcript", "SMTP transcript (credentials masked)", outcome.transcript),
    ]


def smtp_part(
    result: ConfigResult, options: SendTestOptions, *, host_unresolvable: bool = False
) -> tuple[list[CheckRun], list[Section], str]:
    """The walk's checks and sections, or why it did not run: (runs, sections, skipped)."""
    stop = blocker(
        result.config,
        options,
        config_has_errors=result.has_errors,
        host_unresolvable=host_unresolvable,
    )
    if stop is not None:
        return [CheckRun("send-test", [stop.finding])], [], "" if stop.is_refusal else stop.reason
    outcome = run_walk(result.config, options)
    return outcome.runs, walk_sections(outcome), ""


def send_test_report(
    env_file: Path | None,
    options: SendTestOptions,
    *,
    strict: bool,
    settings_module: str | None = None,
    pythonpath: Path | None = None,
) -> Report:
    result = analyse_settings(env_file, settings_module, pythonpath)
    config = result.config
    runs, sections, _ = smtp_part(result, options)
    to = options.to or config.user or "?"
    recipient = "" if options.login_only else f", test message to {to}"
    verdict = (
        "The login works; no message was sent (--login-only)."
        if options.login_only
        else f"The test message was accepted: look for it in {to}'s inbox (and spam folder)."
    )
    return Report(
        "send-test",
        [*result.runs, *runs],
        headline=f"{describe_target(config)}{recipient}",
        sections=sections,
        strict=strict,
        verdict=verdict,
    )
