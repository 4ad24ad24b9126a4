"""EMAIL_URL, read the way django-environ (`env.email_url()`) and dj-email-url read it.

Both parse the URL with `urllib.parse.urlparse` and percent-decode the user and password;
django-environ up to 0.8.1 decoded with `unquote_plus`, which turns `+` into a space (fixed
in 0.9.0, verified by running both versions). Characters that end the authority part of a URL
(`/`, `?`, `#`) break the URL when they appear unescaped in the user or password: both loaders
then fail at start-up with "Port could not be cast to integer value".
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

SMTP = "django.core.mail.backends.smtp.EmailBackend"
SCHEMES: dict[str, tuple[str, str]] = {
    # scheme: (backend, mode it turns on)
    "smtp": (SMTP, ""),
    "smtps": (SMTP, "tls"),  # both loaders: STARTTLS, despite the name
    "smtp+tls": (SMTP, "tls"),
    "smtp+ssl": (SMTP, "ssl"),
    "submission": (SMTP, "tls"),
    "submit": (SMTP, "tls"),
    "console": ("django.core.mail.backends.console.EmailBackend", ""),
    "consolemail": ("django.core.mail.backends.console.EmailBackend", ""),
    "file": ("django.core.mail.backends.filebased.EmailBackend", ""),
    "filemail": ("django.core.mail.backends.filebased.EmailBackend", ""),
    "memory": ("django.core.mail.backends.locmem.EmailBackend", ""),
    "memorymail": ("django.core.mail.backends.locmem.EmailBackend", ""),
    "dummy": ("django.core.mail.backends.dummy.EmailBackend", ""),
    "dummymail": ("django.core.mail.backends.dummy.EmailBackend", ""),
}
ENVIRON_SCHEMES = frozenset(
    {"smtp", "smtps", "smtp+tls", "smtp+ssl", "consolemail", "filemail", "memorymail", "dummymail"}
)
"""Schemes django-environ knows (it raises ImproperlyConfigured for others)."""
DJ_EMAIL_URL_SCHEMES = frozenset(
    {"smtp", "smtps", "submission", "submit", "console", "file", "memory", "dummy"}
)
"""Schemes dj-email-url knows (for others it sets no backend and no TLS)."""
TRUTHY = frozenset({"1", "y", "yes", "t", "true", "on"})
BREAKING = {"/": "%2F", "?": "%3F", "#": "%23"}
"""Characters that end the authority part when unescaped in the user or password."""
AMBIGUOUS = {"+": "%2B", "@": "%40", " ": "%20"}
"""Characters some loaders or versions read differently; percent-encoding is always safe."""


class EmailUrl(NamedTuple):
    values: dict[str, str]
    """EMAIL_* settings the URL yields, as strings like the other settings."""
    scheme: str
    known_scheme: bool
    broken: tuple[str, ...] = ()
    """Unescaped characters that break the URL, in the user or password (never their values)."""
    ambiguous: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    """Part ('user' or 'password') -> characters read differently by some loaders."""
    error: str = ""
    """Why the URL cannot be parsed at all."""
    one_loader: tuple[tuple[str, str], ...] = ()
    """(what only one of the two loaders understands, how to write it for both)."""


def _userinfo(raw: str) -> str:
    """The text between '://' and the last '@' (where the user and password are written)."""
    rest = raw.split("://", 1)[1] if "://" in raw else raw
    return rest[: rest.rfind("@")] if "@" in rest else ""


def mask_password(raw: str) -> str:
    userinfo = _userinfo(raw)
    if ":" not in userinfo:
        return raw
    user = userinfo.split(":", 1)[0]
    return raw.replace(userinfo, f"{user}:********", 1)


def parse_email_url(raw: str) -> EmailUrl:
    text = raw.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    known = scheme in SCHEMES
    userinfo = _userinfo(text)
    user_raw, _, password_raw = userinfo.partition(":")
    broken = tuple(sorted({c for c in userinfo if c in BREAKING}, key="/?#".index))
    ambiguous: dict[str, tuple[str, ...]] = {}
    for part, value in (("user", user_raw), ("password", password_raw)):
        found = tuple(c for c in AMBIGUOUS if c in value)
        if found:
            ambiguous[part] = found
    if not scheme:
        return EmailUrl({}, "", False, broken, ambiguous, "it has no scheme (smtp://...)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        return EmailUrl({}, scheme, known, broken, ambiguous, f"urlparse fails: {error}")
    values: dict[str, str] = {}
    backend, mode = SCHEMES.get(scheme, (SMTP, ""))
    values["EMAIL_BACKEND"] = backend
    if parts.hostname:
        values["EMAIL_HOST"] = parts.hostname
    if port is not None:
        values["EMAIL_PORT"] = str(port)
    elif scheme in ("submission", "submit"):
        values["EMAIL_PORT"] = "587"
    if parts.username is not None:
        values["EMAIL_HOST_USER"] = unquote(parts.username)
    if parts.password is not None:
        values["EMAIL_HOST_PASSWORD"] = unquote(parts.password)
    values["EMAIL_USE_TLS"] = str(mode == "tls")
    values["EMAIL_USE_SSL"] = str(mode == "ssl")
    query = parse_qs(parts.query)
    if query.get("ssl", [""])[0].lower() in TRUTHY:
        values["EMAIL_USE_SSL"], values["EMAIL_USE_TLS"] = "True", "False"
    elif query.get("tls", [""])[0].lower() in TRUTHY:
        values["EMAIL_USE_SSL"], values["EMAIL_USE_TLS"] = "False", "True"
    if "timeout" in query:
        values["EMAIL_TIMEOUT"] = query["timeout"][0]
    if "_default_from_email" in query:
        values["DEFAULT_FROM_EMAIL"] = query["_default_from_email"][0]
    if "_server_email" in query:
        values["SERVER_EMAIL"] = query["_server_email"][0]
    return EmailUrl(
        values, scheme, known, broken, ambiguous, one_loader=tuple(_one_loader(scheme, query))
    )


def _one_loader(scheme: str, query: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(what only one loader understands, the portable way to write it)."""
    tls_fix = (
        "smtps:// means STARTTLS to both; implicit TLS has no common spelling (smtp+ssl:// for "
        "django-environ, smtp://...?ssl=True for dj-email-url)"
    )
    notes = []
    if scheme in ENVIRON_SCHEMES - DJ_EMAIL_URL_SCHEMES:
        notes.append(
            (
                f"the scheme {scheme}:// is django-environ's; dj-email-url does not know it and "
                "sets neither the backend nor TLS",
                tls_fix,
            )
        )
    elif scheme in DJ_EMAIL_URL_SCHEMES - ENVIRON_SCHEMES:
        notes.append(
            (
                f"the scheme {scheme}:// is dj-email-url's; django-environ refuses it "
                "(ImproperlyConfigured: Invalid email schema)",
                tls_fix,
            )
        )
    options = [
        name
        for name in ("ssl", "tls", "timeout", "_default_from_email", "_server_email")
        if name in query
    ]
    if options:
        notes.append(
            (
                "the options "
                + ", ".join(f"?{name}=" for name in options)
                + " are read by dj-email-url only; django-environ ignores them",
                "with django-environ, use the scheme for TLS (smtp+ssl://, smtp+tls://) and set "
                "EMAIL_TIMEOUT and DEFAULT_FROM_EMAIL as their own variables",
            )
        )
    return notes


def encoded(characters: tuple[str, ...]) -> str:
    """ "'+' as %2B, '/' as %2F" for the characters found."""
    table = {**BREAKING, **AMBIGUOUS}
    return ", ".join(f"'{c}' as {table[c]}" for c in characters)
