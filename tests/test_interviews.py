"""The plain parts behind session/sessions: dates for --since/--until, links, records."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from interview_mailcheck.errors import InputError
from interview_mailcheck.interviews import InterviewRecord, build_link, localize
from interview_mailcheck.values import parse_when

NEW_YORK = ZoneInfo("America/New_York")


def record(**values: object) -> InterviewRecord:
    fields = dict.fromkeys(InterviewRecord._fields)
    fields.update(interview_id="42", **values)
    return InterviewRecord(**fields)


def test_a_date_is_the_whole_day() -> None:
    assert parse_when("2030-03-05", end_of_day=False).moment == datetime(2030, 3, 5)
    assert parse_when("2030-03-05", end_of_day=True).moment == datetime.combine(
        date(2030, 3, 5), time.max
    )


def test_today_and_now() -> None:
    assert parse_when("today", end_of_day=False).moment == datetime.combine(date.today(), time.min)
    now = parse_when("NOW", end_of_day=False).moment
    assert now.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - now) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-03-06T16:00+05:30", datetime(2030, 3, 6, 10, 30, tzinfo=timezone.utc)),
        ("2030-03-06T10:30Z", datetime(2030, 3, 6, 10, 30, tzinfo=timezone.utc)),
        ("2030-03-06 10:30", datetime(2030, 3, 6, 10, 30)),
    ],
)
def test_iso_times(text: str, expected: datetime) -> None:
    assert parse_when(text, end_of_day=False).moment == expected
    assert parse_when(text, end_of_day=False).text == text


@pytest.mark.parametrize("text", ["2030-13-01", "tomorrow", "", "5 March"])
def test_not_a_date(text: str) -> None:
    with pytest.raises(InputError, match=repr(text)):
        parse_when(text, end_of_day=False)


def test_localize_as_django_compares() -> None:
    naive = datetime(2030, 3, 4, 9, 30)
    assert localize(naive, NEW_YORK, use_tz=True) == datetime(2030, 3, 4, 9, 30, tzinfo=NEW_YORK)
    aware = datetime(2030, 3, 4, 14, 30, tzinfo=timezone.utc)
    assert localize(aware, NEW_YORK, use_tz=True) is aware
    assert localize(aware, NEW_YORK, use_tz=False) == naive  # 14:30 UTC is 09:30 in New York


def test_link_needs_the_key_it_carries() -> None:
    template = "https://a.example/join?session_key={session_key}&i={interview_id}"
    assert (
        build_link(template, record(session_key="k1"))
        == "https://a.example/join?session_key=k1&i=42"
    )
    assert build_link(template, record(session_key="")) is None
    assert build_link("https://a.example/i/{interview_id}", record()) == "https://a.example/i/42"


def test_session_found_is_a_session_email_even_empty() -> None:
    assert record(session_email="").session_found
    assert not record(session_email=None).session_found


def test_every_alphanumeric_character_is_a_local_part_character() -> None:
    """The audit's short path takes str.isalnum() for ADDRESS's local part: exact only if every
    alphanumeric character is one the pattern allows."""
    import sys

    from interview_mailcheck.checks.session import _bare_local

    alphanumeric = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isalnum())
    assert _bare_local(alphanumeric) is not None
