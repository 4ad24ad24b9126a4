"""`mailcheck send-test`: the offline checks, then the live SMTP walk."""

from __future__ import annotations

from pathlib import Path

from interview_mailcheck.checks.config import analyse, backend_kind, describe_target
from interview_mailcheck.checks.smtp import NOT_CONNECTING, SendTestOptions, preflight, walk
from interview_mailcheck.findings import Level
from interview_mailcheck.report import Report, Section
from interview_mailcheck.settings import load_settings


def send_test_report(env_file: Path | None, options: SendTestOptions, *, strict: bool) -> Report:
    settings = load_settings(env_file)
    result = analyse(settings)
    config = result.config
    findings = list(result.findings)
    sections: list[Section] = []
    if backend_kind(config.backend) == "api":
        findings.append(
            NOT_CONNECTING.finding(
                "EMAIL_BACKEND",
                why=f"{config.backend} sends through an HTTP API, not SMTP",
                fix="Test that backend with its provider's tools",
            )
        )
    elif any(finding.level == Level.ERROR for finding in findings):
        findings.append(
            NOT_CONNECTING.finding(
                "send-test",
                why="the configuration has errors (listed above)",
                fix="Fix the configuration errors, then run send-test again",
            )
        )
    elif (missing := preflight(config, options)) is not None:
        findings.append(missing)
    else:
        outcome = walk(config, options)
        findings += outcome.findings
        sections = [
            Section("steps", "Steps", outcome.steps),
            Section("transcript", "SMTP transcript (credentials masked)", outcome.transcript),
        ]
    to = options.to or config.user or "?"
    recipient = "" if options.login_only else f", test message to {to}"
    verdict = (
        "The login works; no message was sent (--login-only)."
        if options.login_only
        else f"The test message was accepted: look for it in {to}'s inbox (and spam folder)."
    )
    return Report(
        command="send-test",
        findings=findings,
        headline=f"{describe_target(config)}{recipient}",
        sections=sections,
        strict=strict,
        verdict=verdict,
    )
