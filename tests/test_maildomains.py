"""The misspelling table and the near-miss rule (maildomains.py): offline, pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interview_mailcheck.maildomains import (
    MISSPELLINGS,
    PROVIDER_DOMAINS,
    REAL_DOMAINS,
    Typo,
    likely_typo,
    one_edit_apart,
)

WELL_KNOWN = {
    "gmial.com": "gmail.com",
    "gmal.com": "gmail.com",
    "gmail.con": "gmail.com",
    "gmail.co": "gmail.com",
    "gamil.com": "gmail.com",
    "gnail.com": "gmail.com",
    "hotmial.com": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "hotmail.con": "hotmail.com",
    "yaho.com": "yahoo.com",
    "yahooo.com": "yahoo.com",
    "yahoo.con": "yahoo.com",
    "outlok.com": "outlook.com",
    "outlook.con": "outlook.com",
    "iclod.com": "icloud.com",
}


@pytest.mark.parametrize(("typed", "meant"), sorted(WELL_KNOWN.items()))
def test_the_well_known_misspellings(typed: str, meant: str) -> None:
    assert likely_typo(typed) == Typo(meant, f"a well-known misspelling of {meant}")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # One edit from a provider's name of five letters or more, the first letter kept.
        ("gmaol.com", Typo("gmail.com", "one edit away from gmail.com")),
        ("gmai1.com", Typo("gmail.com", "one edit away from gmail.com")),
        ("iclooud.com", Typo("icloud.com", "one edit away from icloud.com")),
        ("googlemial.com", Typo("googlemail.com", "one edit away from googlemail.com")),
        ("yahooo.co.in", Typo("yahoo.co.in", "one edit away from yahoo.co.in")),
        ("hotmali.co.uk", Typo("hotmail.co.uk", "one edit away from hotmail.co.uk")),
        ("protn.me", Typo("proton.me", "one edit away from proton.me")),
        ("rediffmal.com", Typo("rediffmail.com", "one edit away from rediffmail.com")),
        # com mistyped: as no top-level domain at all, or as a country code.
        ("outlook.cmo", Typo("outlook.com", ".cmo is not a top-level domain")),
        ("aol.comm", Typo("aol.com", ".comm is not a top-level domain")),
        ("zoho.vom", Typo("zoho.com", ".vom is not a top-level domain")),
        ("hotmail.cm", Typo("hotmail.com", ".cm is a country code often typed for .com")),
        ("yandex.co", Typo("yandex.com", ".co is a country code often typed for .com")),
        # As written in an address: any case, a final dot.
        ("GMIAL.COM", Typo("gmail.com", "a well-known misspelling of gmail.com")),
        ("gmial.com.", Typo("gmail.com", "a well-known misspelling of gmail.com")),
        # A look-alike letter (Cyrillic а) is one edit too.
        ("gm\u0430il.com", Typo("gmail.com", "one edit away from gmail.com")),
    ],
)
def test_near_misses(typed: str, expected: Typo) -> None:
    assert likely_typo(typed) == expected


@pytest.mark.parametrize(
    "domain",
    [
        *PROVIDER_DOMAINS,
        # Real domains one edit (or one letter of the TLD) from a provider's.
        "ymail.com",  # gmail with y: Yahoo's
        "email.com",  # gmail with e
        "mail.com",  # gmail without g
        "cloud.com",  # icloud without i
        "gmx.de",
        "gmx.net",
        "mail.ru",
        "yandex.ru",
        "protonmail.ch",
        "yahoo.co.jp",
        "yahoo.co.id",  # one edit from yahoo.co.in
        "hotmail.de",
        "live.co.uk",
        "pm.me",
        # Short provider names are left to the table: their neighbours are often real.
        "gm.com",
        "ao.com",
        "love.com",
        "zoo.com",
        "gmx.co",
        "aol.co",
        "zoho.cm",
        # Ordinary domains, and a provider's name under another suffix or as a subdomain.
        "acme.example",
        "initech.com",
        "gmail.io",
        "mail.gmail.com",
        "gmailx.io",
        "example.org",
    ],
)
def test_real_domains_are_not_flagged(domain: str) -> None:
    assert likely_typo(domain) is None


def test_the_table_holds_no_real_domain_and_points_at_providers() -> None:
    assert not set(MISSPELLINGS) & REAL_DOMAINS
    assert set(MISSPELLINGS.values()) <= set(PROVIDER_DOMAINS)
    assert set(WELL_KNOWN.items()) <= set(MISSPELLINGS.items())


def osa_distance(a: str, b: str) -> int:
    """The optimal string alignment distance, by the textbook dynamic programme."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


LETTERS = st.text(alphabet="abgilmo", max_size=7)


@given(LETTERS, LETTERS)
def test_one_edit_apart_is_distance_one(a: str, b: str) -> None:
    assert one_edit_apart(a, b) == (osa_distance(a, b) == 1)


@given(st.text(max_size=40))
def test_any_text_gets_an_answer(text: str) -> None:
    typo = likely_typo(text)
    assert typo is None or typo.meant in PROVIDER_DOMAINS
