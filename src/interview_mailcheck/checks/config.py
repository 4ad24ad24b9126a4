"""Offline checks of the email settings: `mailcheck config`.

`analyse(settings)` interprets the raw values the way Django and the app will, then runs
every check over them. Each check is a plain function returning a list of findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from interview_mailcheck import secrets, values
from interview_mailcheck.adapters.envfile import EnvBinding
from interview_mailcheck.email_url import EmailUrl, encoded, mask_password, parse_email_url
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.providers import (
    GMAIL_APP_PASSWORD_URL,
    MODE_LABEL,
    PROVIDERS,
    Provider,
    provider_for_host,
)
from interview_mailcheck.secrets import describe_secret
from interview_mailcheck.settings import (
    MAIL_SETTINGS,
    READ_SETTINGS,
    SECRET_SETTINGS,
    URL_SETTING,
    MailSettings,
    Setting,
)

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

# --- Django facts ----------------------------------------------------------------------------

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

_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[\w](?:[\w-]*[\w])?(?:\.[\w](?:[\w-]*[\w])?)+")
_NAME_ADDR = re.compile(r"[^<>]*<([^<>]*)>\s*")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=", re.MULTILINE)

# --- Rules -----------------------------------------------------------------------------------

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
    hint="Set {credentials}",
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
SHADOWED = Rule(
    id="config.W009",
    level=WARNING,
    title="The environment overrides a different value in the env file",
    message=(
        "{name} is set in the environment and differs from {file} line {line}: "
        "the app uses the environment's"
    ),
    hint="Unset {name} in the environment (or make both agree) so the file is the one source",
    explanation=(
        "load_dotenv() never overrides a variable that is already set in the process "
        "environment. A stale export in the shell, a container ENV line or a CI variable then "
        "silently wins over the .env file you are editing."
    ),
)
DUPLICATE_KEY = Rule(
    id="config.W010",
    level=WARNING,
    title="A setting is defined more than once in the env file",
    message="{name} is defined on lines {lines}: the last one (line {last}) wins",
    hint="Keep one definition of {name}",
    explanation="python-dotenv keeps the last definition; the earlier ones are dead and mislead.",
)
COMMENT_CUT = Rule(
    id="config.W011",
    level=WARNING,
    title="An unquoted value is cut at ' #'",
    message="{name} on line {line}: everything from ' #' on is read as a comment{shown}",
    hint='Quote the value ({name}="...") if the # belongs to it, or move the comment up a line',
    explanation=(
        "python-dotenv treats whitespace followed by # in an unquoted value as the start of a "
        "comment, so 'abcd #efg' is read as 'abcd'. Quote values that contain ' #'."
    ),
)
UNPARSABLE_LINE = Rule(
    id="config.W012",
    level=WARNING,
    title="A line of the env file cannot be parsed",
    message="line {line} cannot be parsed (an unclosed quote?); python-dotenv skips it",
    hint="Close the quote or fix the line; {key}",
    explanation=(
        "python-dotenv skips a statement it cannot parse, most often a value whose opening quote "
        "is never closed. The setting on that line is then missing."
    ),
)
QUOTE_SWALLOWS = Rule(
    id="config.W013",
    level=WARNING,
    title="A quoted value runs over several lines and swallows other settings",
    message=(
        "the quote opened for {name} on line {line} runs to line {end}: {swallowed} {verb} not set"
    ),
    hint="Close the quote on line {line}",
    explanation=(
        "A quoted value may span lines, so an opening quote without its closing quote runs to "
        "the next quote character in the file: the settings in between become part of the value "
        "and are not set at all."
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
EMAIL_URL_READ = Rule(
    id="config.I006",
    level=INFO,
    title="EMAIL_URL is set: its values are the ones checked",
    message="EMAIL_URL {url} is read as env.email_url() and dj_email_url.config() read it",
    hint="settings.py must assign what it yields, e.g. vars().update(env.email_url())",
    explanation=(
        "With django-environ or dj-email-url, settings.py builds every EMAIL_* setting from one "
        "URL: smtp+tls://user:password@host:587 (STARTTLS), smtp+ssl://...:465 (implicit TLS), "
        "submission:// (STARTTLS on 587), smtps:// (STARTTLS, despite the name), with options "
        "such as ?timeout=10. mailcheck reads the URL the same way and checks the result."
    ),
)
EMAIL_URL_UNPARSABLE = Rule(
    id="config.E019",
    level=ERROR,
    title="EMAIL_URL cannot be parsed",
    message="EMAIL_URL cannot be parsed: {why}",
    hint="Write it as smtp+tls://user:password@smtp.example.net:587, percent-encoding the password",
    explanation=(
        "django-environ and dj-email-url parse EMAIL_URL with urllib at start-up; a URL they "
        "cannot parse stops the app before it can send anything."
    ),
)
EMAIL_URL_BROKEN = Rule(
    id="config.E020",
    level=ERROR,
    title="EMAIL_URL has unescaped characters that break it",
    message=(
        "the user or password in EMAIL_URL contains {chars} unescaped, which ends the host part "
        "of a URL: the loaders fail with 'Port could not be cast to integer value'"
    ),
    hint="Percent-encode them in the URL: {encodings}",
    explanation=(
        "In a URL, '/', '?' and '#' end the user:password@host:port part. Unescaped in the "
        "password, they cut the URL short, so the text after ':' is taken for a port number. "
        "Percent-encoding ('/' as %2F, '?' as %3F, '#' as %23) keeps them in the password."
    ),
)
EMAIL_URL_AMBIGUOUS = Rule(
    id="config.W014",
    level=WARNING,
    title="EMAIL_URL has characters that loaders read differently",
    message="the {part} in EMAIL_URL contains {chars}: {why}",
    hint="Percent-encode them so every loader reads the same value: {encodings}",
    explanation=(
        "django-environ up to 0.8.1 decodes the user and password with unquote_plus, which "
        "turns '+' into a space (0.9.0 and later keep the '+'). A literal space or '@' works "
        "with Python's urlparse, which splits at the last '@', but not with every URL parser. "
        "Percent-encoded, the value is the same for all of them."
    ),
)
EMAIL_URL_SCHEME = Rule(
    id="config.E021",
    level=ERROR,
    title="EMAIL_URL's scheme is not one the loaders know",
    message="EMAIL_URL's scheme {scheme!r} is not one django-environ or dj-email-url know",
    hint="Use smtp+tls:// (STARTTLS, port 587) or smtp+ssl:// (implicit TLS, port 465)",
    explanation=(
        "django-environ raises ImproperlyConfigured for an unknown scheme; dj-email-url leaves "
        "EMAIL_BACKEND unset. Known: smtp, smtps, smtp+tls, smtp+ssl, submission, submit, and "
        "the console, file, memory and dummy backends (consolemail, filemail... in "
        "django-environ)."
    ),
)
EMAIL_URL_DISAGREES = Rule(
    id="config.W015",
    level=WARNING,
    title="EMAIL_URL and an EMAIL_* variable disagree",
    message=(
        "{name} is set to {variable} but EMAIL_URL yields {from_url}; the URL loaders use "
        "EMAIL_URL's"
    ),
    hint="Remove {name} (or make it agree), so there is one source",
    explanation=(
        "With env.email_url() or dj_email_url.config(), settings.py takes every EMAIL_* value "
        "from the URL and the separate variables are ignored, unless settings.py reads them too, "
        "in which case the last assignment wins. Two sources that disagree are a trap."
    ),
)
EMAIL_URL_ONE_LOADER = Rule(
    id="config.W016",
    level=WARNING,
    title="Part of EMAIL_URL is understood by only one of the URL loaders",
    message="{note}",
    hint="Check which loader settings.py uses; {fix}",
    explanation=(
        "django-environ (env.email_url()) knows smtp, smtps, smtp+tls, smtp+ssl and "
        "consolemail/filemail/memorymail/dummymail; dj-email-url knows smtp, smtps, "
        "submission, submit and console/file/memory/dummy, and reads ?ssl=, ?tls=, ?timeout=, "
        "?_default_from_email= and ?_server_email=, which django-environ ignores. A URL written "
        "for one loader silently means something else to the other."
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
NO_ENV_FILE = Rule(
    id="config.I005",
    level=INFO,
    title="No env file: only the process environment is checked",
    message="no env file at {path}: checking the process environment only",
    hint="Pass --env-file PATH (or set MAILCHECK_ENV_FILE) if the settings live elsewhere",
    explanation=(
        "mailcheck reads ./.env by default, like load_dotenv(). In CI the settings usually come "
        "from the environment instead, which is fine."
    ),
)


# --- Interpretation ---------------------------------------------------------------------------


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
    match = _NAME_ADDR.fullmatch(text)
    address = match.group(1).strip() if match else text
    return address if _ADDRESS.fullmatch(address) else None


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
        name for name in PLACEHOLDER_SETTINGS if is_placeholder(settings.get(name) or "")
    )
    timeout_raw = settings.get("EMAIL_TIMEOUT")
    return MailConfig(
        settings=settings,
        backend=(settings.get("EMAIL_BACKEND") or SMTP_BACKEND).strip(),
        host=host,
        port=parse_port(settings.get("EMAIL_PORT")),
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
    )


# --- Checks: the env file itself --------------------------------------------------------------


def check_env_file(config: MailConfig) -> list[Finding]:
    settings = config.settings
    env_file = settings.env_file
    if env_file is None:
        if settings.django is not None:  # the settings came from Django, not from a file
            return []
        return [NO_ENV_FILE.finding(str(settings.env_file_path), path=settings.env_file_path)]
    findings: list[Finding] = []
    path = str(env_file.path)
    seen: dict[str, list[int]] = {}
    for binding in env_file.bindings:
        if binding.error:
            findings += _check_unparsable(binding, path)
            continue
        if binding.key is None:
            continue
        seen.setdefault(binding.key, []).append(binding.line)
        findings += _check_binding_value(binding.key, binding.value, binding.original, binding.line)
    for name, lines in seen.items():
        if name in READ_SETTINGS and len(lines) > 1:
            findings.append(
                DUPLICATE_KEY.finding(
                    name,
                    name=name,
                    lines=", ".join(map(str, lines)),
                    last=lines[-1],
                    evidence={"lines": lines},
                )
            )
    return findings


def _check_unparsable(binding: EnvBinding, path: str) -> list[Finding]:
    """A skipped statement: one bad line, or a quote that ran over the following lines."""
    key = _ASSIGNMENT.match(binding.original)
    name = key.group(1) if key else None
    rest = binding.original.partition("\n")[2]
    if name and _ASSIGNMENT.search(rest):
        return _swallowed(name, rest, binding.original, binding.line, lost=True)
    return [
        UNPARSABLE_LINE.finding(
            f"{path}:{binding.line}",
            line=binding.line,
            key=f"it sets {name}" if name else "it sets nothing",
            evidence={"line": binding.line, "sets": name},
        )
    ]


def _swallowed(name: str, text: str, original: str, line: int, *, lost: bool) -> list[Finding]:
    swallowed = _ASSIGNMENT.findall(text)
    if not swallowed:
        return []
    end = line + original.rstrip("\r\n").count("\n")
    names = [*swallowed, name] if lost else swallowed
    described = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    verb = "are" if len(names) > 1 else "is"
    return [
        QUOTE_SWALLOWS.finding(
            name,
            name=name,
            line=line,
            end=end,
            swallowed=described,
            verb=verb,
            evidence={"line": line, "closing_line": end, "swallowed": swallowed, "lost": lost},
        )
    ]


def _check_binding_value(name: str, value: str | None, original: str, line: int) -> list[Finding]:
    after_equals = original.split("=", 1)[1] if "=" in original else ""
    stripped = after_equals.lstrip(" \t")
    if stripped[:1] in ("'", '"') and value is not None and "\n" in value:
        return _swallowed(name, value, original, line, lost=False)
    if name not in READ_SETTINGS or stripped[:1] in ("'", '"'):
        return []
    first_line = stripped.split("\n", 1)[0]
    if re.search(r"\s#", first_line) and not first_line.startswith("#"):
        shown = "" if name in SECRET_SETTINGS else f": the value read is {value!r}"
        return [COMMENT_CUT.finding(name, name=name, line=line, shown=shown)]
    return []


def check_shadowing(config: MailConfig) -> list[Finding]:
    findings = []
    for shadow in config.settings.shadowed:
        secret = shadow.name in SECRET_SETTINGS
        evidence = (
            {
                "environment": describe_secret(shadow.environment_value),
                "file": describe_secret(shadow.file_value),
            }
            if secret
            else {"environment": shadow.environment_value, "file": shadow.file_value}
        )
        findings.append(
            SHADOWED.finding(
                shadow.name,
                name=shadow.name,
                file=config.settings.env_file_path,
                line=shadow.file_line,
                evidence=evidence,
            )
        )
    return findings


# --- Checks: the settings ---------------------------------------------------------------------


def check_email_url(config: MailConfig) -> list[Finding]:
    url = config.email_url
    if url is None:
        return []
    raw = config.settings.get(URL_SETTING) or ""
    findings = [EMAIL_URL_READ.finding(URL_SETTING, url=repr(mask_password(raw)))]
    if url.broken:
        findings.append(
            EMAIL_URL_BROKEN.finding(
                URL_SETTING,
                chars=", ".join(f"'{c}'" for c in url.broken),
                encodings=encoded(url.broken),
            )
        )
    elif url.error:
        findings.append(EMAIL_URL_UNPARSABLE.finding(URL_SETTING, why=url.error))
    elif not url.known_scheme:
        findings.append(EMAIL_URL_SCHEME.finding(URL_SETTING, scheme=url.scheme))
    for note, fix in url.one_loader:
        findings.append(EMAIL_URL_ONE_LOADER.finding(URL_SETTING, note=note, fix=fix))
    for part, characters in url.ambiguous.items():
        reasons = []
        if "+" in characters:
            reasons.append("django-environ up to 0.8.1 reads '+' as a space")
        if set(characters) - {"+"}:
            reasons.append("not every URL parser reads a literal '@' or space as urllib does")
        findings.append(
            EMAIL_URL_AMBIGUOUS.finding(
                URL_SETTING,
                part=part,
                chars=", ".join(f"'{c}'" for c in characters),
                why="; ".join(reasons),
                encodings=encoded(characters),
            )
        )
    for name, variable, from_url in config.url_conflicts:
        secret = name in SECRET_SETTINGS
        findings.append(
            EMAIL_URL_DISAGREES.finding(
                name,
                name=name,
                variable=describe_secret(variable) if secret else repr(variable),
                from_url=describe_secret(from_url) if secret else repr(from_url),
            )
        )
    return findings


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
        return [TLS_AND_SSL.finding("EMAIL_USE_SSL")]
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


CHECKS: tuple[Callable[[MailConfig], list[Finding]], ...] = (
    check_env_file,
    check_shadowing,
    check_email_url,
    check_shapes,
    check_backend,
    check_host,
    check_values,
    check_placeholders,
    check_mode,
    check_credentials,
    check_addresses,
    check_provider,
)
SMTP_ONLY_CHECKS = frozenset(
    {check_host, check_values, check_mode, check_credentials, check_provider}
)


class ConfigResult(NamedTuple):
    config: MailConfig
    findings: list[Finding]
    checks: tuple[tuple[str, list[Finding]], ...] = ()
    """Each check that ran (by name, e.g. 'backend') with its findings, for JUnit reports."""


def analyse(settings: MailSettings) -> ConfigResult:
    config = interpret(settings)
    skip_smtp = backend_kind(config.backend) == "api"
    findings: list[Finding] = []
    ran: list[tuple[str, list[Finding]]] = []
    for check in CHECKS:
        if skip_smtp and check in SMTP_ONLY_CHECKS:
            continue
        found = check(config)
        ran.append((check.__name__.removeprefix("check_"), found))
        findings += found
    return ConfigResult(config, findings, tuple(ran))


def settings_rows(config: MailConfig) -> list[dict[str, str]]:
    """The settings table for -v and --json: the password only as set/length."""
    rows = []
    for name in READ_SETTINGS:
        setting = config.settings.values[name]
        if name == URL_SETTING and setting.value is None:
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
