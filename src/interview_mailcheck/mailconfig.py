"""The mail settings as Django and the app will read them: the model every layer shares.

`interpret(settings)` turns the raw values of `settings.MailSettings` (strings, as the env file
and the environment hold them, or Django's resolved values written as text) into a `MailConfig`:
the backend, host, port, the TLS switches as booleans, the credentials, the provider chosen by
EMAIL_HOST, and which values are placeholders copied from documentation. EMAIL_URL, when set,
supplies the values as the URL loaders would. Checks, commands and adapters import this module;
it imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from interview_mailcheck import secrets, values
from interview_mailcheck.email_url import EmailUrl, parse_email_url
from interview_mailcheck.providers import MODE_LABEL, Provider, provider_for_host
from interview_mailcheck.settings import (
    OPTIONAL_SETTINGS,
    READ_SETTINGS,
    URL_SETTING,
    MailSettings,
    Setting,
)

PLACEHOLDER_CANDIDATES: tuple[str, ...] = (
    "EMAIL_HOST",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
)
"""The settings judged for placeholders copied from documentation."""

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

NOT_SENDING_BACKENDS: Mapping[str, str] = {
    "django.core.mail.backends.console.EmailBackend": "prints each message to the console",
    "django.core.mail.backends.filebased.EmailBackend": "writes each message to a file",
    "django.core.mail.backends.locmem.EmailBackend": "keeps messages in memory (tests only)",
    "django.core.mail.backends.dummy.EmailBackend": "drops every message",
}

SMTP_BACKENDS = frozenset(
    {
        SMTP_BACKEND,
        "django_smtp_ssl.SSLEmailBackend",
        # Queues the message, then sends it with CELERY_EMAIL_BACKEND (SMTP by default).
        "djcelery_email.backends.CeleryEmailBackend",
    }
)

API_BACKEND_PREFIXES: tuple[str, ...] = (
    "anymail.backends.",
    "django_ses.",
    "sendgrid_backend.",
    "postmarker.django.",
    "django_mailgun.",
    "django_sparkpost.",
)

DJANGO_DEFAULT_PORT = 25

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})

FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})

# Ports whose mode is fixed whatever the host; a provider's own port table takes precedence.
GENERIC_PORT_MODES: Mapping[int, str] = {465: "ssl", 587: "starttls"}

# Values copied from documentation and tutorials, matched case-insensitively.
PLACEHOLDER_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^your[\w.+-]*@",  # your-email@gmail.com, youremail@..., your.name@...
        r"@(?:[\w-]+\.)*example\.(?:com|org|net)$",
        r"(?:^|[@.])example\.(?:com|org|net)$",  # smtp.example.com
        r"your[-_]?(?:domain|company|site|provider)\.",
        r"^(?:user|username|email|name|sender|me|you)@(?:domain|email|mail|company)\.(?:com|tld)$",
        r"^your[-_ ]",  # your-16-char-app-password, your_password, your smtp host
        r"^your(?:password|pass|email|mail|username|user|apikey|api[-_]?key|host|server)$",
        r"change[-_ ]?me",
        r"replace[-_ ]?(?:me|with|this)",
        r"^(?:[x*]{3,}[\s.-]*)+$",  # xxxx xxxx xxxx xxxx, ********
        r"^<[^<>]*>$",  # <your-password>
        r"^\{\{.*\}\}$",  # {{ template }}
        r"^(?:password|passwd|secret|todo|tbd|fixme|placeholder|dummy)$",
        r"^app[-_ ]?password$",
        r"\b16[-_ ]?(?:char|character|letter|digit)",
    )
)

ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[\w](?:[\w-]*[\w])?(?:\.[\w](?:[\w-]*[\w])?)+")

NAME_ADDR = re.compile(r"[^<>]*<([^<>]*)>\s*")


class MailConfig(NamedTuple):
    """The settings as Django and the app will read them."""

    settings: MailSettings
    backend: str
    host: str
    port: int | None
    """None when EMAIL_PORT is invalid."""
    use_tls: bool | None
    """None when the value is not a boolean."""
    use_ssl: bool | None
    user: str
    password: str
    from_email: str
    timeout: float | None
    provider: Provider | None
    placeholders: frozenset[str] = frozenset()
    email_url: EmailUrl | None = None
    """The parsed EMAIL_URL when one is set; its values are already in `settings`."""
    url_conflicts: tuple[tuple[str, str, str], ...] = ()
    """(name, the EMAIL_* variable's value, the URL's value) where they disagree."""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""

    @property
    def client_certificate(self) -> tuple[str, str] | None:
        """(EMAIL_SSL_CERTFILE, EMAIL_SSL_KEYFILE) when either is set: Django then builds its
        TLS context from them, with no CA certificate."""
        if self.ssl_certfile or self.ssl_keyfile:
            return (self.ssl_certfile, self.ssl_keyfile)
        return None

    @property
    def builds_client_context(self) -> bool:
        """Django's SMTP backend will build its TLS context from the client certificate: one
        is set, and the connection uses TLS (STARTTLS or implicit)."""
        return (
            self.client_certificate is not None
            and self.mode in ("ssl", "starttls")
            and backend_kind(self.backend) == "smtp"
        )

    @property
    def mode(self) -> str | None:
        """'ssl', 'starttls' or 'plain'; None when a switch is invalid or both are on."""
        if self.use_tls is None or self.use_ssl is None or (self.use_tls and self.use_ssl):
            return None
        return "ssl" if self.use_ssl else "starttls" if self.use_tls else "plain"

    @property
    def has_credentials(self) -> bool:
        return bool(self.user and self.password)

    def usable(self, name: str) -> bool:
        """Set, and not a placeholder: worth judging further."""
        return bool(self.settings.get(name)) and name not in self.placeholders


def parse_bool(value: str | None) -> bool | None:
    if value is None:
        return False
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def parse_port(value: str | None) -> int | None:
    if value is None:
        return DJANGO_DEFAULT_PORT
    try:
        port = int(value.strip())
    except ValueError:
        return None
    return port if 1 <= port <= 65535 else None


def parse_timeout(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    return values.parse_timeout(value)


def email_address(value: str | None) -> str | None:
    """The address in 'addr' or 'Name <addr>', or None when it is not a valid address."""
    if not value:
        return None
    text = value.strip()
    match = NAME_ADDR.fullmatch(text)
    address = match.group(1).strip() if match else text
    return address if ADDRESS.fullmatch(address) else None


def is_placeholder(value: str) -> bool:
    """True for a value (or the address inside 'Name <address>') copied from documentation."""
    text = value.strip()
    candidates = {text, email_address(text) or text}
    return bool(text) and any(
        pattern.search(candidate) for pattern in PLACEHOLDER_PATTERNS for candidate in candidates
    )


def stray(value: str) -> str:
    """What is wrong around a value: '' when nothing is."""
    inner = value.strip()
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return "is wrapped in quotes"
    if inner != value:
        return "has leading or trailing whitespace"
    return ""


def unwrap(value: str) -> str:
    inner = value.strip()
    return inner[1:-1].strip() if stray(value) == "is wrapped in quotes" else inner


_BOOLEAN_SETTINGS = frozenset({"EMAIL_USE_TLS", "EMAIL_USE_SSL"})


def _same(name: str, first: str, second: str) -> bool:
    if name in _BOOLEAN_SETTINGS:
        return parse_bool(first) == parse_bool(second)
    if name == "EMAIL_PORT":
        return parse_port(first) == parse_port(second)
    return first.strip() == second.strip()


def apply_email_url(
    settings: MailSettings,
) -> tuple[MailSettings, EmailUrl | None, tuple[tuple[str, str, str], ...]]:
    """Replace the EMAIL_* values with those EMAIL_URL yields, as the URL loaders do."""
    raw = settings.get(URL_SETTING)
    if not raw or not raw.strip():
        return settings, None, ()
    url = parse_email_url(raw)
    secrets.current().add(url.values.get("EMAIL_HOST_PASSWORD"))
    origin = f"EMAIL_URL ({settings.origin(URL_SETTING)})"
    values = dict(settings.values)
    conflicts: list[tuple[str, str, str]] = []
    for name, value in url.values.items():
        current = settings.get(name)
        if current is not None and not _same(name, current, value):
            conflicts.append((name, current, value))
        values[name] = Setting(name, value, origin)
    return settings._replace(values=values), url, tuple(conflicts)


def interpret(settings: MailSettings) -> MailConfig:
    settings, email_url, conflicts = apply_email_url(settings)
    host = (settings.get("EMAIL_HOST") or "").strip()
    placeholders = frozenset(
        name for name in PLACEHOLDER_CANDIDATES if is_placeholder(settings.get(name) or "")
    )
    timeout_raw = settings.get("EMAIL_TIMEOUT")
    return MailConfig(
        settings=settings,
        backend=(settings.get("EMAIL_BACKEND") or SMTP_BACKEND).strip(),
        host=host,
        port=_port(settings),
        use_tls=parse_bool(settings.get("EMAIL_USE_TLS")),
        use_ssl=parse_bool(settings.get("EMAIL_USE_SSL")),
        user=settings.get("EMAIL_HOST_USER") or "",
        password=settings.get("EMAIL_HOST_PASSWORD") or "",
        from_email=settings.get("DEFAULT_FROM_EMAIL") or "",
        timeout=parse_timeout(timeout_raw),
        provider=provider_for_host(host),
        placeholders=placeholders,
        email_url=email_url,
        url_conflicts=conflicts,
        ssl_certfile=(settings.get("EMAIL_SSL_CERTFILE") or "").strip(),
        ssl_keyfile=(settings.get("EMAIL_SSL_KEYFILE") or "").strip(),
    )


def _port(settings: MailSettings) -> int | None:
    """EMAIL_PORT (25 when unset); a MAILERS mailer without 'port' gets its mode's port."""
    raw = settings.get("EMAIL_PORT")
    if raw is None and settings.mailer is not None:
        from interview_mailcheck.mailers import DEFAULT_PORTS

        use_tls, use_ssl = (
            parse_bool(settings.get("EMAIL_USE_TLS")),
            parse_bool(settings.get("EMAIL_USE_SSL")),
        )
        return DEFAULT_PORTS["ssl" if use_ssl else "starttls" if use_tls else "plain"]
    return parse_port(raw)


def backend_kind(backend: str) -> str:
    if backend in NOT_SENDING_BACKENDS:
        return "not_sending"
    if backend in SMTP_BACKENDS:
        return "smtp"
    if backend.startswith(API_BACKEND_PREFIXES):
        return "api"
    if "." not in backend:
        return "invalid"
    return "unknown"


def settings_rows(config: MailConfig) -> list[dict[str, str]]:
    """The settings table for -v and --json: the password only as set/length."""
    rows = []
    for name in READ_SETTINGS:
        setting = config.settings.values[name]
        if (name == URL_SETTING or name in OPTIONAL_SETTINGS) and setting.value is None:
            continue
        rows.append({"name": name, "value": setting.shown(), "source": setting.origin})
    return rows


def describe_target(config: MailConfig) -> str:
    """One phrase for the headline: where and how mail would be sent."""
    if backend_kind(config.backend) == "api":
        return f"sends through the API backend {config.backend}"
    if not config.host:
        return "no EMAIL_HOST"
    mode = MODE_LABEL.get(config.mode or "", "an invalid TLS/SSL combination")
    port = config.port if config.port is not None else "(invalid port)"
    provider = f" ({config.provider.name})" if config.provider else ""
    return f"{config.host}:{port} with {mode}{provider}"
