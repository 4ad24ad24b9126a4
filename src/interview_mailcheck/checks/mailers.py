"""`config --settings` on Django 6.1's MAILERS: what Django 6.1 refuses, or reads otherwise
than the EMAIL_* settings it replaces (mailers.py says how it reads them).

The shape of MAILERS and of each mailer is judged here; each mailer's OPTIONS are then judged
by the same checks as the EMAIL_* settings (commands/config.py runs them under the settings'
names and words their findings in terms of MAILERS).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from interview_mailcheck import mailers
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.registry import check
from interview_mailcheck.settings import DjangoResolved

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

NOT_A_DICT = Rule(
    id="mailers.E001",
    level=ERROR,
    title="MAILERS, a mailer or its OPTIONS is not a dict",
    message="{where} is a {kind}, not a dict{what}",
    hint=("Write MAILERS = {{'default': {{'BACKEND': '...EmailBackend', 'OPTIONS': {{...}}}}}}"),
    explanation=(
        "Django 6.1 reads MAILERS as a dict of aliases, each a dict with BACKEND and OPTIONS "
        "(a dict of the backend's keyword arguments). Anything else fails when the first "
        "message is sent."
    ),
)
NO_DEFAULT = Rule(
    id="mailers.E002",
    level=ERROR,
    title="MAILERS has no 'default' mailer",
    message="MAILERS defines {aliases} but no 'default': send_mail() without using= fails",
    hint="Name the mailer the app sends with 'default' (or pass using= everywhere)",
    explanation=(
        "send_mail(), EmailMessage.send() and mail_admins() use the 'default' mailer unless "
        "given using=; without one Django 6.1 raises MailerDoesNotExist when the app sends."
    ),
)
HOST_REQUIRED = Rule(
    id="mailers.E003",
    level=ERROR,
    title="An SMTP mailer has no host",
    message=(
        "{where} is not set: Django 6.1 raises \"OPTIONS must define 'host'.\" when the "
        "mailer is used (EMAIL_HOST's default, localhost, does not apply)"
    ),
    hint="Add 'host': 'smtp.example.com' to the mailer's OPTIONS",
    explanation=(
        "With MAILERS the SMTP backend has no default host: a mailer without 'host' in its "
        "OPTIONS cannot be built, and every message sent through it fails."
    ),
)
TLS_AND_SSL = Rule(
    id="mailers.E004",
    level=ERROR,
    title="A mailer has both use_tls and use_ssl",
    message=(
        "{where} has use_tls and use_ssl both on: Django 6.1 raises \"The 'use_ssl' and "
        "'use_tls' OPTIONS are incompatible.\" when the mailer is used"
    ),
    hint="Keep one: 'use_tls': True (port 587) or 'use_ssl': True (port 465)",
    explanation=(
        "STARTTLS (use_tls) upgrades a plain connection; implicit TLS (use_ssl) starts "
        "encrypted. A mailer with both cannot be built."
    ),
)
UNKNOWN_OPTION = Rule(
    id="mailers.E005",
    level=ERROR,
    title="A mailer's OPTIONS has an option its backend does not take",
    message=(
        '{where}: {backend} takes no option {option!r}: Django 6.1 raises "Unknown options '
        '{option!r}." when the mailer is used'
    ),
    hint="{fix}",
    explanation=(
        "OPTIONS are passed to the backend as keyword arguments, and Django 6.1's backends "
        "refuse one they do not know rather than ignore it. The SMTP backend takes host, "
        "port, username, password, use_tls, use_ssl, timeout, ssl_certfile and ssl_keyfile."
    ),
)
ALIAS_OPTION = Rule(
    id="mailers.E006",
    level=ERROR,
    title="A mailer's OPTIONS define 'alias'",
    message="{where} is set: Django 6.1 raises \"OPTIONS must not define 'alias'.\"",
    hint="Remove 'alias' from OPTIONS: the key of the mailer in MAILERS is its alias",
    explanation="Django passes the mailer's key as `alias`; OPTIONS may not set it.",
)
REFUSED = Rule(
    id="mailers.E007",
    level=ERROR,
    title="MAILERS and the deprecated EMAIL_* settings are both set",
    message="settings.py sets MAILERS and {names}: Django 6.1 refuses to start ({reason})",
    hint="Move those settings into the mailers' OPTIONS and remove them from settings.py",
    explanation=(
        "Django 6.1 raises ImproperlyConfigured at start-up when settings.py defines MAILERS "
        "together with EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, "
        "EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT, EMAIL_SSL_CERTFILE, "
        "EMAIL_SSL_KEYFILE or EMAIL_FILE_PATH: the app does not run at all."
    ),
)
IGNORED_KEY = Rule(
    id="mailers.W001",
    level=WARNING,
    title="A mailer has a key Django does not read",
    message="{where} is set, but Django reads only BACKEND and OPTIONS of a mailer{did_you_mean}",
    hint="Move it into OPTIONS (in lower case, as the backend's keyword argument)",
    explanation=(
        "Django 6.1 takes a mailer's BACKEND and OPTIONS and ignores every other key without "
        "a word: {'HOST': ...} beside OPTIONS configures nothing."
    ),
)
MAILERS_IGNORED = Rule(
    id="mailers.W002",
    level=WARNING,
    title="MAILERS is defined, but this Django ignores it",
    message=(
        "settings.py defines MAILERS, but Django {version} ignores it (it is read from Django "
        "6.1): mail goes by the EMAIL_* settings, checked here instead"
    ),
    hint="Upgrade to Django 6.1, or keep the EMAIL_* settings until then",
    explanation=(
        "MAILERS is new in Django 6.1. An older Django treats it as an unknown setting and "
        "builds its connection from EMAIL_BACKEND and the EMAIL_* settings (their defaults "
        "when settings.py leaves them out: localhost port 25)."
    ),
)
PORT_FROM_MODE = Rule(
    id="mailers.I001",
    level=INFO,
    title="A mailer has no port: Django 6.1 picks it from use_tls and use_ssl",
    message="{where} is not set: Django 6.1 uses {port} ({why})",
    hint="",
    explanation=(
        "Unlike EMAIL_PORT (25 whatever the mode), a mailer without 'port' gets 465 with "
        "use_ssl, 587 with use_tls and 25 otherwise."
    ),
)
MIGRATE = Rule(
    id="mailers.I002",
    level=INFO,
    title="Django 6.1 deprecates the EMAIL_* settings: MAILERS replaces them",
    message=(
        "Django {version} builds the 'default' mailer from the deprecated EMAIL_* settings "
        "(removed in Django 2028): the same in MAILERS is {snippet}"
    ),
    hint="Replace the EMAIL_* settings in settings.py with that MAILERS (see Django's "
    "'Migrating email to mailers')",
    explanation=(
        "Django 6.1 still reads EMAIL_BACKEND, EMAIL_HOST and the rest, with a deprecation "
        "warning at start-up, when settings.py does not define MAILERS; Django 2028 will not."
    ),
)

LIKELY_OPTIONS: Mapping[str, str] = {
    "user": "username",
    "login": "username",
    "host_user": "username",
    "email_host_user": "username",
    "host_password": "password",
    "email_host_password": "password",
    "tls": "use_tls",
    "starttls": "use_tls",
    "ssl": "use_ssl",
    "email_host": "host",
    "server": "host",
    "email_port": "port",
    "email_use_tls": "use_tls",
    "email_use_ssl": "use_ssl",
    "email_timeout": "timeout",
    "certfile": "ssl_certfile",
    "keyfile": "ssl_keyfile",
}
"""What people write for the SMTP backend's options (the EMAIL_* names, smtplib's words)."""


def _kind(value: object) -> str:
    return type(value).__name__


def _likely(option: str, known: frozenset[str]) -> str | None:
    lower = option.lower()
    if lower in known:
        return lower
    if lower in LIKELY_OPTIONS and LIKELY_OPTIONS[lower] in known:
        return LIKELY_OPTIONS[lower]
    close = difflib.get_close_matches(lower, sorted(known), n=1, cutoff=0.75)
    return close[0] if close else None


def check_mailers(resolved: DjangoResolved) -> list[Finding]:
    """The shape of MAILERS and of each mailer, as Django 6.1 builds them."""
    if not resolved.has_mailers:
        return []
    if not mailers.reads_mailers(resolved):
        version = ".".join(map(str, resolved.django_version))
        return [MAILERS_IGNORED.finding("MAILERS", version=version)]
    findings: list[Finding] = []
    if resolved.refused:
        names = sorted(
            name
            for name in resolved.overridden
            if name in mailers.OPTION_OF_SETTING or name == "EMAIL_BACKEND"
        )
        findings.append(
            REFUSED.finding(
                "MAILERS", names=", ".join(names) or "EMAIL_* settings", reason=resolved.refused
            )
        )
    table = resolved.mailers
    if not isinstance(table, Mapping):
        return [
            *findings,
            NOT_A_DICT.finding("MAILERS", where="MAILERS", kind=_kind(table), what=""),
        ]
    for alias, entry in table.items():
        findings += _mailer(resolved, str(alias), entry)
    named = [str(alias) for alias in table]
    if mailers.DEFAULT_ALIAS not in table:
        shown = ", ".join(repr(alias) for alias in named) or "no mailer"
        findings.append(NO_DEFAULT.finding("MAILERS", aliases=shown))
    return findings


def _mailer(resolved: DjangoResolved, alias: str, entry: object) -> list[Finding]:
    where = f"MAILERS[{alias!r}]"
    if not isinstance(entry, Mapping):
        what = " with BACKEND and OPTIONS"
        return [NOT_A_DICT.finding(where, where=where, kind=_kind(entry), what=what)]
    findings: list[Finding] = []
    for key in entry:
        if key not in (mailers.BACKEND_KEY, mailers.OPTIONS_KEY):
            place = f"{where}[{key!r}]"
            option = _likely(str(key), mailers.KNOWN_OPTIONS[mailers.SMTP_BACKEND])
            did_you_mean = f" (OPTIONS {option!r}?)" if option else ""
            findings.append(IGNORED_KEY.finding(place, where=place, did_you_mean=did_you_mean))
    given = entry.get(mailers.OPTIONS_KEY, {})
    if not isinstance(given, Mapping):
        place = mailers.path(alias)
        return [*findings, NOT_A_DICT.finding(place, where=place, kind=_kind(given), what="")]
    backend = entry.get(mailers.BACKEND_KEY, mailers.SMTP_BACKEND)
    known = mailers.KNOWN_OPTIONS.get(backend) if isinstance(backend, str) else None
    if "alias" in given:
        place = mailers.path(alias, "alias")
        findings.append(ALIAS_OPTION.finding(place, where=place))
    for option in given:
        if known is None or option in known or option == "alias":
            continue
        place = mailers.path(alias, str(option))
        likely = _likely(str(option), known)
        fix = (
            f"Write {likely!r} instead of {option!r}"
            if likely
            else f"Remove {option!r}; {str(backend).rsplit('.', 2)[-2]} takes: "
            + (", ".join(sorted(known)) or "no options")
        )
        findings.append(
            UNKNOWN_OPTION.finding(place, where=place, backend=backend, option=option, fix=fix)
        )
    if backend == mailers.SMTP_BACKEND:
        findings += _smtp_mailer(alias, given)
    return findings


def _smtp_mailer(alias: str, given: Mapping[str, object]) -> list[Finding]:
    findings: list[Finding] = []
    if given.get("host") is None:
        place = mailers.path(alias, "host")
        findings.append(HOST_REQUIRED.finding(place, where=place))
    use_tls, use_ssl = bool(given.get("use_tls")), bool(given.get("use_ssl"))
    if use_tls and use_ssl:
        place = mailers.path(alias)
        findings.append(TLS_AND_SSL.finding(mailers.path(alias, "use_ssl"), where=place))
    elif given.get("port") is None:
        mode = "ssl" if use_ssl else "starttls" if use_tls else "plain"
        why = {"ssl": "use_ssl", "starttls": "use_tls", "plain": "neither use_tls nor use_ssl"}
        place = mailers.path(alias, "port")
        findings.append(
            PORT_FROM_MODE.finding(
                place, where=place, port=mailers.DEFAULT_PORTS[mode], why=why[mode]
            )
        )
    return findings


def check_migration(resolved: DjangoResolved) -> list[Finding]:
    """Django 6.1 without MAILERS: the MAILERS that says the same as the EMAIL_* settings."""
    if resolved.has_mailers or not mailers.reads_mailers(resolved):
        return []
    version = ".".join(map(str, resolved.django_version))
    return [MIGRATE.finding("MAILERS", version=version, snippet=mailers.snippet(resolved))]


CHECKS = (
    check(
        "mailers",
        "mailers",
        "settings",
        rules=(
            NOT_A_DICT,
            NO_DEFAULT,
            HOST_REQUIRED,
            TLS_AND_SSL,
            UNKNOWN_OPTION,
            ALIAS_OPTION,
            REFUSED,
            IGNORED_KEY,
            MAILERS_IGNORED,
            PORT_FROM_MODE,
        ),
        function=check_mailers,
    ),
    check("mailers", "mailers_migration", "settings", rules=(MIGRATE,), function=check_migration),
)
