"""The secrets of one run, masked where text enters mailcheck's output.

mailcheck runs in CI next to the production SMTP password. Every string that enters a finding,
its evidence, a transcript line, a section row or an error message passes through
`current().mask` as it is built, so no renderer ever holds a secret. The renderers and every
other sink (stderr, files written) mask once more as a last guard, which is why the forms a
sink's own encoding produces (JSON, XML, GitHub's escapes, percent-encoding) are known too.

The object is filled before any of the user's code runs (a settings module), from the env file,
the process environment and EMAIL_URL (`commands.prepare`), then from what Django resolves.
Masking after rendering alone is not enough: escaping (JSON), wrapping (a terminal) and encoding
(base64 AUTH payloads) all change the bytes a late scrub would look for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"
MIN_LENGTH = 4
"""Shorter values are not masked: a 3-letter secret would blank out ordinary words."""


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _xml(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#09;")
    )


def _github(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def encoded_forms(value: str) -> set[str]:
    """`value` and every form of it that a client sends, a server echoes or a sink writes."""
    import json
    from urllib.parse import quote, quote_plus

    forms = {value}
    for encode in (
        lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
        lambda v: json.dumps(v)[1:-1],
        lambda v: repr(v)[1:-1],
        lambda v: repr(v.encode("utf-8"))[2:-1],  # an SMTP reply as bytes, in a log line
        _xml,
        _github,
        lambda v: _github(v).replace(":", "%3A").replace(",", "%2C"),
        lambda v: quote(v, safe=""),
        quote,
        quote_plus,
        _b64,
        lambda v: _b64(v).rstrip("="),
    ):
        forms.add(encode(value))
    from interview_mailcheck.inert import escape_controls

    forms.add(escape_controls(value))
    return forms


def variants(value: str) -> set[str]:
    """The secret as written, trimmed, and without spaces: Google shows an App Password as
    'abcd efgh ijkl mnop' and accepts it with or without the spaces."""
    found = {value, value.strip(), "".join(value.split())}
    return {variant for variant in found if len(variant) >= MIN_LENGTH}


class Secrets:
    """The secret values of one run and every form in which they are masked."""

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return bool(self._forms)

    def add(self, value: object) -> None:
        """Remember a secret (a password, an API key, a token); non-strings are ignored."""
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            return
        new: set[str] = set()
        for variant in variants(value):
            new |= encoded_forms(variant)
        self._extend(new)

    def add_login(self, user: str, password: str) -> None:
        """The payloads a client sends to log in: AUTH PLAIN (with and without an
        authorisation identity), and user:password pairs as HTTP and URLs carry them."""
        self.add(password)
        if len(password) < MIN_LENGTH:
            return
        new: set[str] = set()
        for variant in variants(password):
            for payload in (
                f"\0{user}\0{variant}",
                f"{user}\0{user}\0{variant}",
                f"{user}:{variant}",
            ):
                new |= {_b64(payload), _b64(payload).rstrip("=")}
        self._extend(new)

    def add_all(self, values: Iterable[object]) -> None:
        for value in values:
            self.add(value)

    def _extend(self, forms: set[str]) -> None:
        forms = {form for form in forms if len(form) >= MIN_LENGTH} - self._forms
        if forms:
            self._forms |= forms
            self._pattern = None

    def forms(self) -> frozenset[str]:
        return frozenset(self._forms)

    def mask(self, text: str) -> str:
        """`text` with every form of every secret replaced by the mask."""
        if not self._forms or not text:
            return text
        if self._pattern is None:
            # Longest first, so that a secret containing another is masked whole.
            ordered = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return self._pattern.sub(MASK, text)

    def mask_any(self, value: Any) -> Any:
        """A JSON-like value (str, list, tuple, mapping) with every string in it masked."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {self.mask_any(key): self.mask_any(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.mask_any(item) for item in value)
        return value


_current = Secrets()


def current() -> Secrets:
    """The secrets of this run."""
    return _current


def reset() -> Secrets:
    """Start from no secrets (each test does; a run starts empty anyway)."""
    global _current
    _current = Secrets()
    return _current


def mask(text: str) -> str:
    return _current.mask(text)


def describe_secret(value: object) -> str:
    """How a secret is shown to people: whether it is set and its length, never its value."""
    if value is None:
        return "not set"
    if not isinstance(value, str):
        return f"set (a {type(value).__name__}, not a string)"
    if value == "":
        return "set but empty"
    return f"set ({len(value)} characters)"


SECRET_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASS|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|AUTH_KEY)$",
    re.IGNORECASE,
)
"""Environment variables that hold a secret by their name (SMTP_PASSWORD, DATABASE_PASSWORD...)."""
URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(.*)@[^@]*$", re.DOTALL)
"""The user:password of scheme://user:password@host (EMAIL_URL, DATABASE_URL): everything up
to the last '@', as urllib reads it, even where an unescaped '/' breaks the URL."""


def from_environment(environ: Mapping[str, str]) -> list[str]:
    """The values of the environment that are secrets: by their variable's name, or the
    password inside a URL. A value that is only a switch or a number is not one."""
    found: list[str] = []
    for name, value in environ.items():
        if SECRET_NAME.search(name) and not _trivial(value):
            found.append(value)
        match = URL_USERINFO.match(value.strip())
        if match and ":" in match[1]:
            from urllib.parse import unquote

            password = match[1].split(":", 1)[1]
            found += [password, unquote(password)]
    return found


def _trivial(value: str) -> bool:
    word = value.strip().lower()
    return word in ("", "true", "false", "yes", "no", "on", "off", "none", "null") or (
        word.isdigit() and len(word) < 6
    )
