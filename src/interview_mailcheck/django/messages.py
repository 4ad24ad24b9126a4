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
    """The system check's answer for the settings of this process."""
    from django.conf import settings

    try:
        from interview_mailcheck.commands.config import analyse_configured

        result = analyse_configured(settings)
        return [message(finding) for finding in result.findings]
    except Exception as error:  # a bug in mailcheck, or a value it cannot read
        return [failed(error)]


def inert(text: str) -> str:
    """Masked, control characters shown visibly, on one line (Django prints it as it is)."""
    return escape_controls(secrets.mask(text))


def message(finding: Finding) -> CheckMessage:
    return LEVELS[finding.level](
        inert(finding.message),
        hint=inert(finding.hint) if finding.hint else None,
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
