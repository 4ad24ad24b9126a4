"""The last line of defence for secrets: every byte mailcheck writes passes through `scrub`.

Checks never put a secret into a finding in the first place; this catches what slips through
(an exception text, a server echoing a credential). Secrets are remembered when settings load.
"""

from __future__ import annotations

import base64

MASK = "********"
_MIN_LENGTH = 4
_secrets: set[str] = set()


def remember(secret: str | None) -> None:
    """Register a secret value; it and its base64 forms are masked in all later output."""
    if not secret or len(secret) < _MIN_LENGTH:
        return
    _secrets.add(secret)
    stripped = secret.strip()
    if len(stripped) >= _MIN_LENGTH:
        _secrets.add(stripped)
    for form in (secret, stripped):
        _secrets.add(base64.b64encode(form.encode("utf-8")).decode("ascii"))


def scrub(text: str) -> str:
    # Longest first, so that a secret containing another is masked whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def describe_secret(value: str | None) -> str:
    """How a secret is shown to people: whether it is set and its length, never its value."""
    if value is None:
        return "not set"
    if value == "":
        return "set but empty"
    return f"set ({len(value)} characters)"


def forget_all() -> None:
    """Tests only: start from an empty set of secrets."""
    _secrets.clear()
