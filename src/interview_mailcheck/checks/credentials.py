"""Who sends: the login, the password and the sender, and what the provider of EMAIL_HOST
requires of each (`mailcheck config`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from interview_mailcheck.checks.transport import SMTP_BACKEND_ONLY
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import (
    MailConfig,
    email_address,
)
from interview_mailcheck.providers import GMAIL_APP_PASSWORD_URL, Provider
from interview_mailcheck.registry import check
from interview_mailcheck.secrets import describe_secret
from interview_mailcheck.settings import (
    SECRET_SETTINGS,
)

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

PLACEHOLDER_SETTINGS: Mapping[str, str] = {
    "EMAIL_HOST": "Set EMAIL_HOST to your provider's SMTP server, e.g. smtp.gmail.com.",
    "EMAIL_HOST_USER": "Set EMAIL_HOST_USER to the login of the account that sends invitations.",
    "EMAIL_HOST_PASSWORD": (
        "Set EMAIL_HOST_PASSWORD to the real secret (for Gmail a 16-letter App Password from "
        f"{GMAIL_APP_PASSWORD_URL})."
    ),
    "DEFAULT_FROM_EMAIL": "Set DEFAULT_FROM_EMAIL to the address invitations come from.",
    "SERVER_EMAIL": "Set SERVER_EMAIL to the address error reports come from.",
}

CREDENTIALS_INCOMPLETE = Rule(
    id="config.E010",
    level=ERROR,
    title="Only one of EMAIL_HOST_USER and EMAIL_HOST_PASSWORD is set",
    message="{present} is set but {missing} is {state}",
    hint="Set {missing} too, or neither for a relay that needs no login",
    explanation=(
        "Django logs in only when both are non-empty. With one of them, it skips AUTH and the "
        "provider refuses the message ('530 Authentication Required'). The app logs '[EMAIL NOT "
        "SENT] Email credentials incomplete'."
    ),
)

CREDENTIALS_REQUIRED = Rule(
    id="config.E011",
    level=ERROR,
    title="The provider requires a login, but no credentials are set",
    message="{provider} requires a login, but EMAIL_HOST_USER and EMAIL_HOST_PASSWORD are empty",
    hint="Set the login: {credentials}",
    explanation=(
        "Every hosted provider requires SMTP AUTH. Without credentials Django sends MAIL FROM "
        "straight away and the server answers 530 (authentication required)."
    ),
)

PLACEHOLDER = Rule(
    id="config.E012",
    level=ERROR,
    title="A setting holds a placeholder copied from documentation",
    message="{name}{shown} looks like a placeholder copied from documentation",
    hint="{fix}",
    explanation=(
        "Values such as your-email@gmail.com, your-16-char-app-password, changeme or an "
        "example.com address come from tutorials and .env.example files. The server refuses "
        "them (or, for addresses, mail goes nowhere). Replace them with the real values."
    ),
)

FROM_INVALID = Rule(
    id="config.E013",
    level=ERROR,
    title="DEFAULT_FROM_EMAIL is not a deliverable address",
    message="DEFAULT_FROM_EMAIL={value!r} is not a valid email address",
    hint="Use 'name@your-domain' or 'Display Name <name@your-domain>'",
    explanation=(
        "Every invitation is sent From DEFAULT_FROM_EMAIL. Servers reject a malformed sender at "
        "MAIL FROM, and an address on a domain without a dot (such as localhost) is refused or "
        "lands in spam."
    ),
)

FROM_MISSING = Rule(
    id="config.W003",
    level=WARNING,
    title="DEFAULT_FROM_EMAIL is not set",
    message="DEFAULT_FROM_EMAIL is not set: Django sends from webmaster@localhost",
    hint="Set DEFAULT_FROM_EMAIL to the account's address, e.g. DEFAULT_FROM_EMAIL=EMAIL_HOST_USER",
    explanation=(
        "Django's fallback sender webmaster@localhost is refused by providers (550/553) or "
        "rewritten; candidates who get the message see a meaningless sender."
    ),
)

SERVER_EMAIL_INVALID = Rule(
    id="config.W004",
    level=WARNING,
    title="SERVER_EMAIL is not a valid address",
    message="SERVER_EMAIL={value!r} is not a valid email address",
    hint="Use the same address as DEFAULT_FROM_EMAIL",
    explanation=(
        "SERVER_EMAIL is the sender of Django's error reports to ADMINS, not of invitations; a "
        "bad value hides server errors rather than invitations."
    ),
)

USER_NOT_ADDRESS = Rule(
    id="config.E016",
    level=ERROR,
    title="The provider needs the full address as EMAIL_HOST_USER",
    message="{provider} logs in with the full address, but EMAIL_HOST_USER={value!r} has no @",
    hint="Set EMAIL_HOST_USER to the full address, e.g. name@gmail.com",
    explanation=(
        "Gmail, Microsoft 365, Yahoo, Zoho, iCloud and Mailgun identify the account by its full "
        "address; a bare user name is refused with 535."
    ),
)

SENDGRID_USER = Rule(
    id="config.E017",
    level=ERROR,
    title="SendGrid's SMTP user must be the word 'apikey'",
    message="SendGrid logs in with the user 'apikey', but EMAIL_HOST_USER={value!r}",
    hint="Set EMAIL_HOST_USER=apikey and EMAIL_HOST_PASSWORD to an API key allowed to send mail",
    explanation=(
        "SendGrid's SMTP relay takes the literal user name 'apikey' and an API key as the "
        "password; the account's user name or email address is refused with 535."
    ),
)

GMAIL_NOT_APP_PASSWORD = Rule(
    id="config.W006",
    level=WARNING,
    title="The Gmail password does not look like an App Password",
    message=(
        "EMAIL_HOST_PASSWORD ({described}) is not 16 letters once spaces are removed: it looks "
        "like the account password, not an App Password"
    ),
    hint=(
        "Turn on 2-Step Verification, create an App Password at "
        f"{GMAIL_APP_PASSWORD_URL} and use its 16 letters (spaces do not matter)"
    ),
    explanation=(
        "Gmail refuses the account password over SMTP with '535-5.7.8 Username and Password not "
        "accepted'. It accepts an App Password: 16 letters shown as four groups of four (the "
        "spaces are display only). App Passwords need 2-Step Verification on the account."
    ),
)

SES_IAM_SECRET = Rule(
    id="config.W007",
    level=WARNING,
    title="The SES password looks like an IAM secret access key",
    message=(
        "EMAIL_HOST_PASSWORD ({described}) has the length of an IAM secret access key (40), "
        "not of an SES SMTP password (44)"
    ),
    hint="Create SMTP credentials in the SES console for the region in EMAIL_HOST",
    explanation=(
        "Amazon SES's SMTP password is derived from an IAM key for one region; the IAM secret "
        "access key itself is refused with '535 Authentication Credentials Invalid'."
    ),
)

FROM_NOT_ACCOUNT = Rule(
    id="config.W008",
    level=WARNING,
    title="The From address is not the account the provider lets you send as",
    message="DEFAULT_FROM_EMAIL {sender} is not the login {user}: {note}",
    hint="Set DEFAULT_FROM_EMAIL to {user} (or a verified alias of it)",
    explanation=(
        "Gmail rewrites the From of a message to the account when it is not the account or a "
        "verified alias; Microsoft 365 refuses it (550 5.7.60 SendAsDenied); Yahoo, Zoho and "
        "iCloud refuse addresses the account does not own."
    ),
)

CREDENTIALS_NOT_ASCII = Rule(
    id="config.E018",
    level=ERROR,
    title="The credentials contain non-ASCII characters",
    message="{name} contains non-ASCII characters, which smtplib cannot send",
    hint="Use an ASCII password (App Passwords and API keys always are)",
    explanation=(
        "Django logs in with smtplib, which encodes the AUTH payload as ASCII: a user name or "
        "password with a character such as é, ü or a non-breaking space makes every send fail "
        "with UnicodeEncodeError before the server sees it."
    ),
)


def check_credentials(config: MailConfig) -> list[Finding]:
    user, password = (
        config.settings.get("EMAIL_HOST_USER"),
        config.settings.get("EMAIL_HOST_PASSWORD"),
    )
    if bool(user) != bool(password):
        present, missing = (
            ("EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
            if user
            else ("EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER")
        )
        state = "empty" if config.settings.get(missing) == "" else "not set"
        return [
            CREDENTIALS_INCOMPLETE.finding(missing, present=present, missing=missing, state=state)
        ]
    not_ascii = [
        name
        for name, value in (("EMAIL_HOST_USER", user), ("EMAIL_HOST_PASSWORD", password))
        if value and not value.isascii()
    ]
    if not_ascii:
        return [CREDENTIALS_NOT_ASCII.finding(name, name=name) for name in not_ascii]
    if not user and config.provider:
        return [
            CREDENTIALS_REQUIRED.finding(
                "EMAIL_HOST_USER",
                provider=config.provider.name,
                credentials=config.provider.credentials,
            )
        ]
    return []


def check_placeholders(config: MailConfig) -> list[Finding]:
    findings = []
    for name in PLACEHOLDER_SETTINGS:
        if name in config.placeholders:
            value = config.settings.get(name)
            shown = "" if name in SECRET_SETTINGS else f"={value!r}"
            findings.append(
                PLACEHOLDER.finding(name, name=name, shown=shown, fix=PLACEHOLDER_SETTINGS[name])
            )
    return findings


def check_addresses(config: MailConfig) -> list[Finding]:
    findings: list[Finding] = []
    settings = config.settings
    sender = settings.get("DEFAULT_FROM_EMAIL")
    if sender is None or not sender.strip():
        findings.append(FROM_MISSING.finding("DEFAULT_FROM_EMAIL"))
    elif "DEFAULT_FROM_EMAIL" not in config.placeholders and email_address(sender) is None:
        findings.append(FROM_INVALID.finding("DEFAULT_FROM_EMAIL", value=sender))
    server_email = settings.get("SERVER_EMAIL")
    if (
        server_email
        and "SERVER_EMAIL" not in config.placeholders
        and email_address(server_email) is None
    ):
        findings.append(SERVER_EMAIL_INVALID.finding("SERVER_EMAIL", value=server_email))
    return findings


def check_provider(config: MailConfig) -> list[Finding]:
    """The provider profile chosen by EMAIL_HOST: user, password and From rules."""
    provider = config.provider
    if provider is None:
        return []
    findings: list[Finding] = []
    user = config.user.strip()
    if config.usable("EMAIL_HOST_USER"):
        if provider.user_rule == "apikey" and user != "apikey":
            findings.append(SENDGRID_USER.finding("EMAIL_HOST_USER", value=user))
        elif provider.user_rule == "address" and "@" not in user:
            findings.append(
                USER_NOT_ADDRESS.finding("EMAIL_HOST_USER", provider=provider.name, value=user)
            )
    if config.usable("EMAIL_HOST_PASSWORD"):
        findings += PASSWORD_CHECKS[provider.password_rule](config.password)
    if config.usable("DEFAULT_FROM_EMAIL") and config.usable("EMAIL_HOST_USER"):
        findings += _check_sender(config, provider)
    return findings


def _gmail_password(password: str) -> list[Finding]:
    if re.fullmatch(r"[A-Za-z]{16}", "".join(password.split())):
        return []
    return [
        GMAIL_NOT_APP_PASSWORD.finding("EMAIL_HOST_PASSWORD", described=describe_secret(password))
    ]


def _ses_password(password: str) -> list[Finding]:
    if len(password.strip()) != 40:
        return []
    return [SES_IAM_SECRET.finding("EMAIL_HOST_PASSWORD", described=describe_secret(password))]


PASSWORD_CHECKS: Mapping[str, Callable[[str], list[Finding]]] = {
    "gmail_app_password": _gmail_password,
    "ses_smtp_password": _ses_password,
    "any": lambda password: [],
}


def _check_sender(config: MailConfig, provider: Provider) -> list[Finding]:
    if provider.from_rule == "any":
        return []
    sender = email_address(config.from_email)
    user = email_address(config.user)
    if sender is None or user is None or sender.lower() == user.lower():
        return []
    user_domain = user.rsplit("@", 1)[1].lower()
    same_domain = sender.rsplit("@", 1)[1].lower() == user_domain
    # On a custom (Workspace) domain an address of the same domain may be an alias; on the
    # provider's own domain (gmail.com) another address belongs to someone else.
    if (
        same_domain
        and provider.from_rule != "must_be_login"
        and user_domain not in provider.own_domains
    ):
        return []
    return [
        FROM_NOT_ACCOUNT.finding(
            "DEFAULT_FROM_EMAIL", sender=sender, user=user, note=provider.from_note
        )
    ]


CHECKS = (
    check(
        "config", "placeholders", "credentials", rules=(PLACEHOLDER,), function=check_placeholders
    ),
    check(
        "config",
        "credentials",
        "credentials",
        SMTP_BACKEND_ONLY,
        rules=(CREDENTIALS_INCOMPLETE, CREDENTIALS_NOT_ASCII, CREDENTIALS_REQUIRED),
        function=check_credentials,
    ),
    check(
        "config",
        "addresses",
        "credentials",
        rules=(FROM_MISSING, FROM_INVALID, SERVER_EMAIL_INVALID),
        function=check_addresses,
    ),
    check(
        "config",
        "provider",
        "credentials",
        "provider",
        SMTP_BACKEND_ONLY,
        rules=(
            USER_NOT_ADDRESS,
            SENDGRID_USER,
            GMAIL_NOT_APP_PASSWORD,
            SES_IAM_SECRET,
            FROM_NOT_ACCOUNT,
        ),
        function=check_provider,
    ),
)
