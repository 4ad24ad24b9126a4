"""A docker-compose file as `mailcheck config --compose` reads it: what Compose warns about,
and which services have mail settings to check.

The services' settings themselves are judged by the config checks (checks/config.py), one
service at a time, and compared with each other by checks/compare.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.registry import check

COMPOSE_WARNS = Rule(
    id="compose.W001",
    level=Level.WARNING,
    title="Docker Compose warns about the compose file",
    message="{warning}",
    hint="Compose starts the containers anyway, with what this says: fix it so the service gets "
    "the value you mean",
    explanation=(
        "Compose warns, and carries on, when a variable it interpolates is not set (it "
        "substitutes an empty string: a password written ${SMTP_PASSWORD} becomes empty), "
        "when an optional env file (required: false) is missing, and about a few other things "
        "that change what a container gets. mailcheck reads the file as Compose does and "
        "reports each warning with the service it is about."
    ),
)

NO_MAIL_SERVICE = Rule(
    id="compose.W002",
    level=Level.WARNING,
    title="No service of the compose file has mail settings",
    message="no service of {file} sets EMAIL_* or EMAIL_URL ({services}): nothing to check",
    hint="Give the services that send invitations (web, the Celery worker) their EMAIL_* "
    "settings in environment: or env_file:",
    explanation=(
        "mailcheck checks the services whose environment (environment: and env_file:) sets "
        "at least one EMAIL_* setting or EMAIL_URL. When none does, the app may read its mail "
        "settings from somewhere Compose does not show (a file baked into the image, a secrets "
        "manager), or no container has them."
    ),
)

WITHOUT_MAIL = Rule(
    id="compose.I001",
    level=Level.INFO,
    title="Services without mail settings are not checked",
    message="{services} {verb} no mail settings (EMAIL_* or EMAIL_URL), so {pronoun} not checked",
    hint="If {which} sends invitations (a Celery worker), give it the EMAIL_* settings too",
    explanation=(
        "Only the services whose environment sets an EMAIL_* setting or EMAIL_URL are checked "
        "and compared. A worker that sends invitations but has none of them sends with "
        "whatever settings.py falls back to."
    ),
)


def check_warnings(
    file: str, warnings: Mapping[str, Sequence[str]], services: Sequence[str]
) -> list[Finding]:
    """A finding per Compose warning and service it is about (`services`: those of the
    project), with no service when it is about none of them."""
    findings = []
    for warning, about in warnings.items():
        known = [service for service in about if service in services]
        for service in known or [""]:
            context = {"service": service} if service else None
            findings.append(COMPOSE_WARNS.finding(file, warning=warning, context=context))
    return findings


def check_services(file: str, with_mail: Sequence[str], without: Sequence[str]) -> list[Finding]:
    """Which services are checked: a warning when none is, an info naming those left out."""
    if not with_mail:
        listed = ", ".join(without) if without else "it defines none"
        return [NO_MAIL_SERVICE.finding(file, file=file, services=listed)]
    if not without:
        return []
    many = len(without) > 1
    return [
        WITHOUT_MAIL.finding(
            ", ".join(without),
            services=", ".join(without),
            verb="have" if many else "has",
            pronoun="they are" if many else "it is",
            which="one of them" if many else "it",
        )
    ]


CHECKS = (
    check("compose", "warnings", rules=(COMPOSE_WARNS,), function=check_warnings),
    check("compose", "services", rules=(NO_MAIL_SERVICE, WITHOUT_MAIL), function=check_services),
)
