"""How mail leaves the app: the backend, the host, the port and its TLS mode, the timeout, and
values in the wrong place (`mailcheck config`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from interview_mailcheck import values
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import (
    DJANGO_DEFAULT_PORT,
    GENERIC_PORT_MODES,
    NOT_SENDING_BACKENDS,
    SMTP_BACKEND,
    MailConfig,
    backend_kind,
    stray,
    unwrap,
)
from interview_mailcheck.providers import PROVIDERS
from interview_mailcheck.registry import check
from interview_mailcheck.settings import (
    MAIL_SETTINGS,
    SECRET_SETTINGS,
)

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

BACKEND_NOT_SENDING = Rule(
    id="config.E001",
    level=ERROR,
    title="EMAIL_BACKEND does not send mail",
    message="EMAIL_BACKEND is the {name} backend, which {effect}: no invitation leaves the app",
    hint=f"Set EMAIL_BACKEND={SMTP_BACKEND}",
    explanation=(
        "Django's console, file, locmem and dummy backends exist for development and tests. "
        "With any of them, send_mail() succeeds and the app logs that the email was sent, but "
        "the message is printed, written to a file, kept in memory or dropped. The app logs "
        "'[EMAIL NOT SENT] EMAIL_BACKEND is 'console'' in this case. Set EMAIL_BACKEND to "
        f"{SMTP_BACKEND} (or a sending backend such as django-anymail) in .env."
    ),
)

BACKEND_NOT_DOTTED = Rule(
    id="config.E002",
    level=ERROR,
    title="EMAIL_BACKEND is not a dotted Python path",
    message="EMAIL_BACKEND={value!r} is not a dotted path Django can import",
    hint=f"Use the full path, e.g. EMAIL_BACKEND={SMTP_BACKEND}",
    explanation=(
        "Django imports EMAIL_BACKEND with import_string(), which needs 'package.module.Class'. "
        "A short name such as 'smtp' or 'console' raises ImportError the first time the app "
        "sends mail."
    ),
)

BACKEND_UNKNOWN = Rule(
    id="config.W001",
    level=WARNING,
    title="EMAIL_BACKEND is not a backend mailcheck knows",
    message="EMAIL_BACKEND={value!r} is not a backend mailcheck knows; SMTP checks assume SMTP",
    hint=f"Check the path; the standard sending backend is {SMTP_BACKEND}",
    explanation=(
        "mailcheck knows Django's own backends and common sending backends (django-anymail, "
        "django-ses, ...). An unknown dotted path may be a typo (Django raises ImportError at "
        "send time) or a custom backend; the SMTP checks still run in case it wraps SMTP."
    ),
)

BACKEND_API = Rule(
    id="config.I001",
    level=INFO,
    title="EMAIL_BACKEND sends through a provider's API, not SMTP",
    message="EMAIL_BACKEND={value!r} sends through an HTTP API; the SMTP checks are skipped",
    hint="Check that backend's own settings (API key, domain) in its documentation",
    explanation=(
        "Backends such as django-anymail or django-ses talk to the provider's HTTP API and "
        "ignore EMAIL_HOST, EMAIL_PORT and the TLS settings, so mailcheck does not judge them."
    ),
)

BACKEND_DEFAULT = Rule(
    id="config.I002",
    level=INFO,
    title="EMAIL_BACKEND is not set: Django's default SMTP backend is used",
    hint=f"Set EMAIL_BACKEND={SMTP_BACKEND} explicitly, so nothing else can change it",
    explanation=(
        "When settings.py reads EMAIL_BACKEND from the environment with Django's default as "
        "fallback, an unset variable means SMTP. If settings.py falls back to the console "
        "backend instead, mail is only printed: set the variable explicitly."
    ),
)

HOST_MISSING = Rule(
    id="config.E003",
    level=ERROR,
    title="EMAIL_HOST is not set",
    message="EMAIL_HOST is {state}: there is no SMTP server to send through",
    hint="Set EMAIL_HOST to your provider's SMTP server, e.g. smtp.gmail.com",
    explanation=(
        "The app refuses to send without a host and logs '[EMAIL NOT SENT] EMAIL_HOST is not "
        "set'. Django alone would fall back to 'localhost', where usually nothing listens."
    ),
)

PORT_INVALID = Rule(
    id="config.E004",
    level=ERROR,
    title="EMAIL_PORT is not a port number",
    message="EMAIL_PORT={value!r} is not an integer between 1 and 65535",
    hint="Set EMAIL_PORT=587 (STARTTLS) or EMAIL_PORT=465 (implicit TLS)",
    explanation=(
        "Django passes EMAIL_PORT to smtplib, which needs an integer. Providers take mail from "
        "apps on 587 with STARTTLS or 465 with implicit TLS."
    ),
)

PORT_DEFAULT = Rule(
    id="config.I003",
    level=INFO,
    title="EMAIL_PORT is not set: Django uses port 25",
    hint="Set EMAIL_PORT=587 with EMAIL_USE_TLS=True (or 465 with EMAIL_USE_SSL=True)",
    explanation=(
        "Port 25 is for server-to-server mail; cloud hosts (AWS, GCP, Azure, many VPS) block it "
        "outbound, so the connection times out. Apps submit mail on 587 or 465."
    ),
)

BOOLEAN_INVALID = Rule(
    id="config.E005",
    level=ERROR,
    title="A boolean setting has a value that is neither true nor false",
    message="{name}={value!r} is not a boolean",
    hint="Write {name}=True or {name}=False (true/false/1/0/yes/no/on/off are accepted)",
    explanation=(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are switches. A typo such as 'Ture' is read as false "
        "by most settings code (or as true by code that only tests for a non-empty string), so "
        "the connection mode is not what was meant."
    ),
)

TLS_AND_SSL = Rule(
    id="config.E006",
    level=ERROR,
    title="EMAIL_USE_TLS and EMAIL_USE_SSL are both on",
    message=(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: Django will raise 'EMAIL_USE_TLS/"
        "EMAIL_USE_SSL are mutually exclusive' when the app sends"
    ),
    hint="Keep one: EMAIL_USE_TLS=True with port 587, or EMAIL_USE_SSL=True with port 465",
    explanation=(
        "STARTTLS (EMAIL_USE_TLS) upgrades a plain connection; implicit TLS (EMAIL_USE_SSL) "
        "starts encrypted. They exclude each other, and Django raises ValueError "
        "('EMAIL_USE_TLS/EMAIL_USE_SSL are mutually exclusive') when the app sends."
    ),
)

PORT_NEEDS_SSL = Rule(
    id="config.E007",
    level=ERROR,
    title="The port expects implicit TLS, but EMAIL_USE_SSL is off",
    message="port {port} expects implicit TLS, but EMAIL_USE_SSL is off{also}",
    hint="Set EMAIL_USE_SSL=True and EMAIL_USE_TLS=False, or use EMAIL_PORT=587 with STARTTLS",
    explanation=(
        "A server on an implicit-TLS port (465, or a provider's 2465) starts with a TLS "
        "handshake and sends no plain-text banner. Django with EMAIL_USE_TLS (or neither) waits "
        "for a banner that never comes and fails after the timeout, or hangs with no timeout."
    ),
)

PORT_NEEDS_STARTTLS = Rule(
    id="config.E008",
    level=ERROR,
    title="The port expects STARTTLS, but EMAIL_USE_SSL is on",
    message="port {port} expects STARTTLS, but EMAIL_USE_SSL is on",
    hint="Set EMAIL_USE_TLS=True and EMAIL_USE_SSL=False, or use EMAIL_PORT=465",
    explanation=(
        "On 587 and 25 the server greets in plain text and upgrades with STARTTLS. Django with "
        "EMAIL_USE_SSL opens a TLS handshake at once, which fails immediately with 'wrong "
        "version number'."
    ),
)

PORT_PLAINTEXT = Rule(
    id="config.E009",
    level=ERROR,
    title="The submission port is used without TLS",
    message="port {port} with neither EMAIL_USE_TLS nor EMAIL_USE_SSL: {why}",
    hint="Set EMAIL_USE_TLS=True (STARTTLS on 587)",
    explanation=(
        "Mail submission (port 587) and every listed provider require STARTTLS before login. "
        "Without it the password would cross the network in clear, and providers answer "
        "'530 5.7.0 Must issue a STARTTLS command first'."
    ),
)

CREDENTIALS_IN_CLEAR = Rule(
    id="config.W002",
    level=WARNING,
    title="Credentials would be sent without encryption",
    message="port {port} with credentials but neither EMAIL_USE_TLS nor EMAIL_USE_SSL",
    hint="Set EMAIL_USE_TLS=True if the server offers it; log in in clear only to a local relay",
    explanation=(
        "Without TLS, AUTH sends the user name and password base64-encoded, which is not "
        "encryption. This is acceptable only for a relay on the same machine or network."
    ),
)

TIMEOUT_INVALID = Rule(
    id="config.E014",
    level=ERROR,
    title="EMAIL_TIMEOUT is not a usable number of seconds",
    message=f"EMAIL_TIMEOUT={{value!r}} is not {values.TIMEOUT_RANGE}",
    hint="Set EMAIL_TIMEOUT=10",
    explanation=(
        "Django passes EMAIL_TIMEOUT to the socket, which needs a number above zero; an "
        "infinite or huge value ('inf', 1e300) makes socket.settimeout() raise OverflowError "
        f"or waits for ever. mailcheck takes at most {values.MAX_TIMEOUT:g} seconds, longer "
        "than any server takes to answer."
    ),
)

TIMEOUT_UNSET = Rule(
    id="config.I004",
    level=INFO,
    title="EMAIL_TIMEOUT is not set: a dead server blocks the request forever",
    hint="Set EMAIL_TIMEOUT=10",
    explanation=(
        "Django's default EMAIL_TIMEOUT is None: when the server or a firewall drops the "
        "traffic, the booking request that sends the invitation waits forever."
    ),
)

PROVIDER_PORT_UNSUPPORTED = Rule(
    id="config.E015",
    level=ERROR,
    title="The provider does not accept mail on this port",
    message="{reason}",
    hint="Use one of {ports}",
    explanation=(
        "Some providers explicitly do not offer SMTP AUTH on a port (Microsoft 365 on 465): "
        "the connection fails or login is refused whatever the credentials."
    ),
)

PROVIDER_PORT_UNLISTED = Rule(
    id="config.W005",
    level=WARNING,
    title="The port is not one the provider documents",
    message="{provider} documents {ports}; port {port} is not one of them",
    hint="Use one of {ports}",
    explanation=(
        "The provider documents which ports and modes it accepts. Another port may be "
        "blocked, or speak another mode than configured."
    ),
)

HOST_WITH_PORT = Rule(
    id="config.E022",
    level=ERROR,
    title="EMAIL_HOST contains a port",
    message=(
        "EMAIL_HOST={value!r} contains the port {port}; Django looks up the whole text as a "
        "host name"
    ),
    hint="Set EMAIL_HOST={host} and EMAIL_PORT={port}",
    explanation=(
        "Django passes EMAIL_HOST and EMAIL_PORT separately to smtplib; 'smtp.example.net:25' is "
        "not a host name, so the lookup fails (or the port is silently the default)."
    ),
)

HOST_IS_URL = Rule(
    id="config.E023",
    level=ERROR,
    title="EMAIL_HOST is a URL, not a host name",
    message="EMAIL_HOST={value!r} has a scheme; it must be the bare host name",
    hint="Set EMAIL_HOST={host}{port_hint} (or the URL in EMAIL_URL, if settings.py reads that)",
    explanation="EMAIL_HOST is a host name such as smtp.gmail.com, never smtp://... or https://...",
)

HOST_IS_ADDRESS = Rule(
    id="config.E024",
    level=ERROR,
    title="EMAIL_HOST is an email address",
    message="EMAIL_HOST={value!r} is an email address, not a server",
    hint="Put the address in EMAIL_HOST_USER and set EMAIL_HOST to the SMTP server{server_hint}",
    explanation=(
        "EMAIL_HOST names the SMTP server (smtp.gmail.com); the account's address belongs in "
        "EMAIL_HOST_USER."
    ),
)

STRAY_CHARACTERS = Rule(
    id="config.E025",
    level=ERROR,
    title="A value carries stray quotes or whitespace",
    message="{name}{shown} {what}: Django reads them as part of the value",
    hint="Remove them{where}",
    explanation=(
        "python-dotenv strips the quotes around a value, but a variable set in the shell, a "
        "Docker --env-file or a CI secret keeps them literally: EMAIL_PORT='\"587\"' is not a "
        "number and EMAIL_HOST=' smtp.gmail.com' is not a host name."
    ),
)


def check_shapes(config: MailConfig) -> list[Finding]:
    """Values in the wrong place: a port or scheme in EMAIL_HOST, stray quotes or spaces."""
    findings: list[Finding] = []
    for name in MAIL_SETTINGS:
        value = config.settings.get(name)
        problem = stray(value) if value else ""
        if problem:
            secret = name in SECRET_SETTINGS
            findings.append(
                STRAY_CHARACTERS.finding(
                    name,
                    name=name,
                    shown="" if secret else f"={value!r}",
                    what=problem,
                    where="" if secret else f" (write {name}={unwrap(value or '')})",
                )
            )
    raw_host = config.settings.get("EMAIL_HOST")
    if not raw_host or not unwrap(raw_host):
        return findings
    host = unwrap(raw_host)
    if "://" in host:
        try:
            parts = urlsplit(host)
            bare, port = parts.hostname or "", parts.port
        except ValueError:
            bare, port = "", None
        port_hint = f" and EMAIL_PORT={port}" if port else ""
        findings.append(
            HOST_IS_URL.finding(
                "EMAIL_HOST", value=raw_host, host=bare or "smtp.example.net", port_hint=port_hint
            )
        )
    elif "@" in host:
        domain = host.rsplit("@", 1)[1].lower()
        server = next((p.hosts[0] for p in PROVIDERS if domain in p.own_domains and p.hosts), "")
        server_hint = f" ({server})" if server else ""
        findings.append(
            HOST_IS_ADDRESS.finding("EMAIL_HOST", value=raw_host, server_hint=server_hint)
        )
    elif (match := re.fullmatch(r"([^:\[\]]+):(\d+)", host)) is not None:
        findings.append(
            HOST_WITH_PORT.finding(
                "EMAIL_HOST", value=raw_host, host=match.group(1), port=match.group(2)
            )
        )
    return findings


def check_backend(config: MailConfig) -> list[Finding]:
    raw = config.settings.get("EMAIL_BACKEND")
    kind = backend_kind(config.backend)
    if raw is None or not raw.strip():
        return [BACKEND_DEFAULT.finding("EMAIL_BACKEND")]
    if kind == "not_sending":
        name = config.backend.rsplit(".", 2)[-2]
        effect = NOT_SENDING_BACKENDS[config.backend]
        return [BACKEND_NOT_SENDING.finding("EMAIL_BACKEND", name=name, effect=effect)]
    if kind == "invalid":
        return [BACKEND_NOT_DOTTED.finding("EMAIL_BACKEND", value=raw)]
    if kind == "unknown":
        return [BACKEND_UNKNOWN.finding("EMAIL_BACKEND", value=raw)]
    if kind == "api":
        return [BACKEND_API.finding("EMAIL_BACKEND", value=raw)]
    return []


def check_host(config: MailConfig) -> list[Finding]:
    if config.settings.mailer is not None:
        return []  # a mailer has no default host: checks/mailers.py says what Django does
    raw = config.settings.get("EMAIL_HOST")
    if raw is None:
        return [HOST_MISSING.finding("EMAIL_HOST", state="not set")]
    if not raw.strip():
        return [HOST_MISSING.finding("EMAIL_HOST", state="empty")]
    return []


def check_values(config: MailConfig) -> list[Finding]:
    findings: list[Finding] = []
    settings = config.settings
    raw_port = settings.get("EMAIL_PORT")
    if raw_port is None:
        if settings.mailer is None:  # a mailer's port follows its mode (checks/mailers.py)
            findings.append(PORT_DEFAULT.finding("EMAIL_PORT"))
    elif config.port is None and not stray(raw_port):
        findings.append(PORT_INVALID.finding("EMAIL_PORT", value=raw_port))
    for name, parsed in (("EMAIL_USE_TLS", config.use_tls), ("EMAIL_USE_SSL", config.use_ssl)):
        raw = settings.get(name)
        if parsed is None and not stray(raw or ""):
            findings.append(BOOLEAN_INVALID.finding(name, name=name, value=raw))
    raw_timeout = settings.get("EMAIL_TIMEOUT")
    if raw_timeout is None or not raw_timeout.strip():
        findings.append(TIMEOUT_UNSET.finding("EMAIL_TIMEOUT"))
    elif config.timeout is None and not stray(raw_timeout):
        findings.append(TIMEOUT_INVALID.finding("EMAIL_TIMEOUT", value=raw_timeout))
    return findings


def check_mode(config: MailConfig) -> list[Finding]:
    """EMAIL_USE_TLS / EMAIL_USE_SSL against each other and against the port."""
    if config.use_tls and config.use_ssl:
        # A mailer that has both cannot be built at all (checks/mailers.py).
        return [] if config.settings.mailer is not None else [TLS_AND_SSL.finding("EMAIL_USE_SSL")]
    mode, port, provider = config.mode, config.port, config.provider
    if mode is None or port is None or not config.host:
        return []
    findings: list[Finding] = []
    expected: str | None = provider.ports.get(port) if provider else None
    if provider and port in provider.unsupported_ports:
        return [
            PROVIDER_PORT_UNSUPPORTED.finding(
                "EMAIL_PORT", reason=provider.unsupported_ports[port], ports=provider.ports_text()
            )
        ]
    if provider and expected is None:
        findings.append(
            PROVIDER_PORT_UNLISTED.finding(
                "EMAIL_PORT", provider=provider.name, ports=provider.ports_text(), port=port
            )
        )
    expected = expected or GENERIC_PORT_MODES.get(port)
    if expected == "ssl" and mode != "ssl":
        also = " and EMAIL_USE_TLS is on" if mode == "starttls" else ""
        findings.append(PORT_NEEDS_SSL.finding("EMAIL_USE_SSL", port=port, also=also))
    elif mode == "ssl" and (expected == "starttls" or port == DJANGO_DEFAULT_PORT):
        findings.append(PORT_NEEDS_STARTTLS.finding("EMAIL_USE_SSL", port=port))
    elif mode == "plain" and (expected == "starttls" or provider):
        why = (
            f"{provider.name} requires STARTTLS before login"
            if provider
            else "587 is the STARTTLS submission port; the password would travel in clear"
        )
        findings.append(PORT_PLAINTEXT.finding("EMAIL_USE_TLS", port=port, why=why))
    elif mode == "plain" and config.has_credentials:
        findings.append(CREDENTIALS_IN_CLEAR.finding("EMAIL_USE_TLS", port=port))
    return findings


SMTP_BACKEND_ONLY = "smtp-backend"
"""The tag of checks that judge SMTP settings: skipped for a backend that uses an HTTP API."""

CHECKS = (
    check(
        "config",
        "shapes",
        "transport",
        rules=(HOST_WITH_PORT, HOST_IS_URL, HOST_IS_ADDRESS, STRAY_CHARACTERS),
        function=check_shapes,
    ),
    check(
        "config",
        "backend",
        "transport",
        rules=(
            BACKEND_NOT_SENDING,
            BACKEND_NOT_DOTTED,
            BACKEND_UNKNOWN,
            BACKEND_API,
            BACKEND_DEFAULT,
        ),
        function=check_backend,
    ),
    check(
        "config", "host", "transport", SMTP_BACKEND_ONLY, rules=(HOST_MISSING,), function=check_host
    ),
    check(
        "config",
        "values",
        "transport",
        SMTP_BACKEND_ONLY,
        rules=(PORT_INVALID, PORT_DEFAULT, BOOLEAN_INVALID, TIMEOUT_INVALID, TIMEOUT_UNSET),
        function=check_values,
    ),
    check(
        "config",
        "mode",
        "transport",
        SMTP_BACKEND_ONLY,
        rules=(
            TLS_AND_SSL,
            PORT_NEEDS_SSL,
            PORT_NEEDS_STARTTLS,
            PORT_PLAINTEXT,
            CREDENTIALS_IN_CLEAR,
            PROVIDER_PORT_UNSUPPORTED,
            PROVIDER_PORT_UNLISTED,
        ),
        function=check_mode,
    ),
)
