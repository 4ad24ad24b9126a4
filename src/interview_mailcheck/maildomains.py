"""The big mailbox providers' domains and how candidates mistype them, as data; and the rule
that finds a near miss offline: `likely_typo(domain)`.

A domain is taken for a typo of a provider's when one of three things holds, tried in order:

1. it is in `MISSPELLINGS`, the table of well-known misspellings (gmial.com, hotmial.com...);
2. it is a provider's name with a top-level domain that does not exist in place of `com`
   (gmail.con, yahoo.cmo, aol.comm: `NOT_TLDS`), or, for a name of five letters or more, with
   one of the real country codes that `com` is mistyped as (gmail.co, yahoo.cm: `CC_TYPOS`);
3. its name is exactly one edit from a provider's name of five letters or more, under the
   same suffix: one letter inserted, deleted, replaced, or two neighbours swapped (the
   Damerau-Levenshtein distance, optimal string alignment), the first letter kept
   (gnail.com, yahooo.co.in, hotmial.co.uk).

The guard against flagging a real domain: `REAL_DOMAINS` (ymail.com, email.com, gmx.de,
mail.ru...) and the providers' own domains are never flagged; the edit rule leaves out short
names (aol, gmx, live, mail, zoho have many real neighbours: ao.com, gm.com, love.com, zoo.com)
and edits of the first letter (ymail, email, cloud and mail are all real and all one first-letter
edit from gmail or icloud); and a near miss of two providers at once is not a typo of either.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

PROVIDER_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.in",
    "yahoo.co.uk",
    "yahoo.in",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "outlook.in",
    "live.com",
    "icloud.com",
    "aol.com",
    "protonmail.com",
    "proton.me",
    "zoho.com",
    "yandex.com",
    "mail.com",
    "gmx.com",
    "rediffmail.com",
)
"""The domains a near miss is compared with: the big providers and common country variants."""

REAL_DOMAINS: frozenset[str] = frozenset(
    {
        *PROVIDER_DOMAINS,
        # Real mailbox domains one edit (or one TLD) away from a provider's: never typos.
        "ymail.com",
        "rocketmail.com",
        "email.com",
        "cloud.com",
        "me.com",
        "mac.com",
        "msn.com",
        "pm.me",
        "zohomail.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "mail.ru",
        "mail.de",
        "web.de",
        "yandex.ru",
        "protonmail.ch",
        "hotmail.de",
        "hotmail.it",
        "hotmail.es",
        "live.co.uk",
        "live.in",
        "live.fr",
        "outlook.fr",
        "outlook.de",
        "yahoo.co.id",
        "yahoo.co.jp",
        "yahoo.fr",
        "yahoo.de",
        "yahoo.ca",
        "rediff.com",
    }
)
"""Domains that are real: never reported as a typo, whatever rule would match them."""

MISSPELLINGS: Mapping[str, str] = MappingProxyType(
    {
        # Gmail
        "gmial.com": "gmail.com",
        "gmal.com": "gmail.com",
        "gmai.com": "gmail.com",
        "gmil.com": "gmail.com",
        "gamil.com": "gmail.com",
        "gmali.com": "gmail.com",
        "gnail.com": "gmail.com",
        "gmaill.com": "gmail.com",
        "gmaiil.com": "gmail.com",
        "gmsil.com": "gmail.com",
        "gmaik.com": "gmail.com",
        "mgail.com": "gmail.com",
        "gmail.con": "gmail.com",
        "gmail.co": "gmail.com",
        "gmail.cm": "gmail.com",
        "gmail.om": "gmail.com",
        "gmail.comm": "gmail.com",
        "gmail.cmo": "gmail.com",
        "googlemail.con": "googlemail.com",
        "googlmail.com": "googlemail.com",
        "googelmail.com": "googlemail.com",
        # Microsoft
        "hotmial.com": "hotmail.com",
        "hotmal.com": "hotmail.com",
        "hotmai.com": "hotmail.com",
        "hotmil.com": "hotmail.com",
        "hotamil.com": "hotmail.com",
        "homail.com": "hotmail.com",
        "htomail.com": "hotmail.com",
        "hotmaill.com": "hotmail.com",
        "hotmail.con": "hotmail.com",
        "hotmail.co": "hotmail.com",
        "hotmial.co.uk": "hotmail.co.uk",
        "outlok.com": "outlook.com",
        "outllok.com": "outlook.com",
        "outloo.com": "outlook.com",
        "otlook.com": "outlook.com",
        "outlook.con": "outlook.com",
        "outlook.co": "outlook.com",
        "live.con": "live.com",
        # Yahoo
        "yaho.com": "yahoo.com",
        "yahooo.com": "yahoo.com",
        "yhoo.com": "yahoo.com",
        "yaoo.com": "yahoo.com",
        "yahho.com": "yahoo.com",
        "yahoo.con": "yahoo.com",
        "yahoo.cm": "yahoo.com",
        "yahoo.co": "yahoo.com",
        "yaho.co.in": "yahoo.co.in",
        "yahoo.co.inn": "yahoo.co.in",
        # Apple
        "iclod.com": "icloud.com",
        "icoud.com": "icloud.com",
        "icluod.com": "icloud.com",
        "iclould.com": "icloud.com",
        "icloud.con": "icloud.com",
        # Others
        "aol.con": "aol.com",
        "aoll.com": "aol.com",
        "protonmial.com": "protonmail.com",
        "protonmai.com": "protonmail.com",
        "protonmail.con": "protonmail.com",
        "proton.m": "proton.me",
        "zoho.con": "zoho.com",
        "yandex.con": "yandex.com",
        "yandx.com": "yandex.com",
        "gmx.con": "gmx.com",
        "mail.con": "mail.com",
        "redifmail.com": "rediffmail.com",
        "rediffmial.com": "rediffmail.com",
        "rediffmail.con": "rediffmail.com",
    }
)
"""Well-known misspellings of the providers' domains, each with the domain meant."""

NOT_TLDS: frozenset[str] = frozenset(
    {"con", "cmo", "ocm", "cim", "cpm", "vom", "xom", "coom", "comm", "clm", "c0m", "cpom"}
)
"""Ways `com` is mistyped that are no top-level domain at all: such a domain cannot exist."""

CC_TYPOS: frozenset[str] = frozenset({"co", "cm", "om"})
"""Country codes (Colombia, Cameroon, Oman) that `com` is often mistyped as."""

MIN_EDIT_NAME = 5
"""The shortest provider name the edit rule compares with (gmail, yahoo, proton...)."""


def _split(domain: str) -> tuple[str, str]:
    name, _, suffix = domain.partition(".")
    return name, suffix


def _names_by_suffix() -> dict[str, tuple[str, ...]]:
    """The provider names the edit rule compares with, by suffix: {'com': ('gmail', ...)}."""
    found: dict[str, list[str]] = {}
    for provider in PROVIDER_DOMAINS:
        name, suffix = _split(provider)
        if len(name) >= MIN_EDIT_NAME:
            found.setdefault(suffix, []).append(name)
    return {suffix: tuple(names) for suffix, names in found.items()}


_BY_SUFFIX = _names_by_suffix()
_COM_NAMES = frozenset(_split(d)[0] for d in PROVIDER_DOMAINS if _split(d)[1] == "com")
"""The providers' names under com, whose com may be mistyped (aol, gmail, zoho...)."""


def one_edit_apart(typed: str, meant: str) -> bool:
    """Whether `typed` is `meant` with exactly one letter inserted, deleted or replaced, or
    two neighbouring letters swapped (optimal string alignment distance 1)."""
    if typed == meant:
        return False
    short, long = (typed, meant) if len(typed) <= len(meant) else (meant, typed)
    if len(long) - len(short) > 1:
        return False
    start = 0
    while start < len(short) and short[start] == long[start]:
        start += 1
    if len(short) != len(long):
        return short[start:] == long[start + 1 :]
    if short[start + 1 :] == long[start + 1 :]:
        return True  # one letter replaced
    return (
        start + 1 < len(short)
        and short[start] == long[start + 1]
        and short[start + 1] == long[start]
        and short[start + 2 :] == long[start + 2 :]
    )


class Typo(NamedTuple):
    meant: str
    """The provider's domain the typed one is probably a misspelling of."""
    why: str
    """Which rule said so, for the evidence."""


def likely_typo(domain: str) -> Typo | None:
    """The provider domain `domain` is probably a misspelling of, and why; or None.

    `domain` as typed in the address (any case, a final dot allowed). Pure and offline.
    """
    typed = domain.strip().lower().rstrip(".")
    if typed in REAL_DOMAINS:
        return None
    meant = MISSPELLINGS.get(typed)
    if meant is not None:
        return Typo(meant, f"a well-known misspelling of {meant}")
    name, suffix = _split(typed)
    if not name or not suffix:
        return None
    if name in _COM_NAMES:
        if suffix in NOT_TLDS:
            return Typo(f"{name}.com", f".{suffix} is not a top-level domain")
        if suffix in CC_TYPOS and len(name) >= MIN_EDIT_NAME:
            return Typo(f"{name}.com", f".{suffix} is a country code often typed for .com")
    near = [
        provider
        for provider in _BY_SUFFIX.get(suffix, ())
        if provider[0] == name[0] and one_edit_apart(name, provider)
    ]
    if len(near) != 1:
        return None
    meant = f"{near[0]}.{suffix}"
    return Typo(meant, f"one edit away from {meant}")
