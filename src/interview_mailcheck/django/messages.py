"""Findings as Django's check messages: the level mapped, the id prefixed with `mailcheck.`.

A broken setting is a finding; whatever else goes wrong is one warning (`mailcheck.W001`), never
an exception: a system check that raises stops runserver and every management command.
"""

from __future__ import annotations

from django.core.checks import CheckMessage, Error, Info
from django.core.checks import Warning as CheckWarning

from interview_mailcheck import secrets
from interview_mailcheck.catalog import DJANGO_PREFIX
from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.inert import escape_controls

FAILED = "mailcheck.W001"
LEVELS: dict[Level, type[CheckMessage]] = {
    Level.ERROR: Error,
    Level.WARNING: CheckWarning,
    Level.INFO: Info,
}


def email_settings_messages() -> list[CheckMessage]:
    """The system check's answer for the settings of this process. With DEBUG on (a developer's
    settings, where the console backend is the point) an error is reported as a warning, so
    that runserver and migrate still start; `check --fail-level WARNING` still fails on it."""
    from django.conf import settings

    try:
        from interview_mailcheck.commands.config import analyse_configured

        result = analyse_configured(settings)
        developing = debug_on(settings)
        return [message(finding, developing) for finding in result.findings]
    except Exception as error:  # a bug in mailcheck, or a value it cannot read
        return [failed(error)]


def debug_on(settings: object) -> bool:
    """DEBUG as the project sets it (the test runner turns it off before running the checks)."""
    import sys

    test_state = getattr(sys.modules.get("django.test.utils"), "_TestState", None)
    saved = getattr(test_state, "saved_data", None)
    if saved is not None and hasattr(saved, "debug"):
        return bool(saved.debug)
    return bool(getattr(settings, "DEBUG", False))


def inert(text: str) -> str:
    """Masked, control characters shown visibly, on one line (Django prints it as it is)."""
    return escape_controls(secrets.mask(text))


def message(finding: Finding, developing: bool = False) -> CheckMessage:
    softened = developing and finding.level == Level.ERROR
    kind = CheckWarning if softened else LEVELS[finding.level]
    hint = inert(finding.hint) if finding.hint else ""
    if softened:
        hint = f"{hint} (an error with DEBUG off; a warning here, as DEBUG is on)".lstrip()
    return kind(
        inert(finding.message),
        hint=hint or None,
        obj=inert(finding.subject) if finding.subject else None,
        id=DJANGO_PREFIX + finding.id,
    )


def failed(error: BaseException) -> CheckMessage:
    from interview_mailcheck.cli.app import ISSUES_URL
    from interview_mailcheck.errors import MailcheckError

    try:
        text = " ".join(str(error).split())
    except Exception:  # an exception that cannot say what it is
        text = ""
    if isinstance(error, MailcheckError):
        what = f"mailcheck could not check the email settings: {text}"
    else:
        what = (
            f"mailcheck could not check the email settings: internal error "
            f"({type(error).__name__}{': ' + text if text else ''}); this is a bug in mailcheck"
        )
    hint = "Run `manage.py mailcheck config --debug` to see it whole" + (
        "" if isinstance(error, MailcheckError) else f", and report it at {ISSUES_URL}"
    )
    return CheckWarning(inert(what), hint=hint, id=FAILED)
