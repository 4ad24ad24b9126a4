"""Values every command reads the same way: timeouts, ports, counts and moments in time.

One definition each, used by the command-line options (options.py), the settings checks
(EMAIL_TIMEOUT, EMAIL_PORT) and the log reader (a line's timestamp). A value outside its bounds
is refused where it is read, with a message naming it, so no later step meets an infinite
timeout or a date Python cannot convert.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from interview_mailcheck.errors import InputError

DEFAULT_TIMEOUT = 10.0
"""Seconds mailcheck waits for any one answer from a server when neither --timeout nor
EMAIL_TIMEOUT says otherwise (an SMTP reply, a DNS answer, an IMAP response)."""
QUICK_WAIT = 1.0
"""Seconds a quick exchange may take: a diagnosis probe (does the port speak TLS? what does it
greet with?), the QUIT after a failure. A server that answers at all answers these at once."""
CONFIRM_TIMEOUT = 60.0
"""Seconds `send-test --confirm` looks for its message in the mailbox: providers deliver within
seconds; a minute covers a slow queue without holding a CI job long."""
MAX_TIMEOUT = 600.0
"""Ten minutes: longer than any server takes to answer, short enough for a CI job."""
TIMEOUT_RANGE = f"a number of seconds above 0 and at most {MAX_TIMEOUT:g}"
PORT_RANGE = "a whole number from 1 to 65535"
LIST_LIMIT = 1000
"""How many a report lists before it only counts the rest: interviews for `logs --limit`,
findings of each id for `sessions --max-listed` (0 lists all). Counts stay exact either way."""


def timeout_problem(value: float) -> str:
    """Why `value` is not a usable timeout ('' when it is)."""
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        return f"must be {TIMEOUT_RANGE}"
    return ""


def parse_timeout(text: str) -> float | None:
    """A timeout written as text (EMAIL_TIMEOUT, --timeout); None when it is not a usable one."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if timeout_problem(value) else value


def resolve_timeout(option: float | None, configured: float | None) -> float:
    """--timeout, else EMAIL_TIMEOUT, else the default: what every network check waits."""
    return option or configured or DEFAULT_TIMEOUT


def parse_port(text: str) -> int | None:
    try:
        port = int(text.strip())
    except ValueError:
        return None
    return port if 1 <= port <= 65535 else None


# --- Moments --------------------------------------------------------------------------------

EARLIEST = datetime.min + timedelta(days=2)
LATEST = datetime.max - timedelta(days=2)
"""Moments are kept two days inside what datetime can hold, so that moving one to any time zone
(at most a day away) or to the end of its day never overflows."""
MOMENT_FORMS = (
    "YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', ISO 8601 (2024-11-26T14:00:00+01:00), today or now"
)

_MOMENT = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6})\d*)?)?)?"
    r"\s?(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


class When(NamedTuple):
    text: str
    """As given, for headlines."""
    moment: datetime
    """Naive means wall-clock time (the app's TIME_ZONE, or the log's own clock)."""


class MomentError(InputError):
    """A text that is not a moment mailcheck can use; the message says why."""


def zone(text: str) -> timezone | None:
    """'Z', '+05:30', '-0800' as a fixed offset; None for an offset of a day or more."""
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4])
    if hours > 23 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def moment_from(groups: dict[str, str | None], month: int) -> datetime | None:
    """The datetime of a matched timestamp, or None when it is not a real, usable one (a 30th
    of February, an offset of +99:00, a year 1 that no time zone can hold)."""
    fraction = groups.get("f") or ""
    try:
        moment = datetime(
            int(groups["y"] or 0),
            month,
            int(groups["d"] or 0),
            int(groups.get("h") or 0),
            int(groups.get("mi") or 0),
            int(groups.get("s") or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
    except ValueError:
        return None
    offset = groups.get("tz")
    if offset:
        tz = zone(offset)
        if tz is None:
            return None
        moment = moment.replace(tzinfo=tz)
    return moment if representable(moment) else None


def representable(moment: datetime) -> bool:
    """Within EARLIEST..LATEST, in UTC as well when it carries a zone."""
    try:
        utc = moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    except (OverflowError, ValueError):
        return False
    return EARLIEST <= utc <= LATEST and EARLIEST <= moment.replace(tzinfo=None) <= LATEST


def parse_when(text: str, *, end_of_day: bool = False) -> When:
    """`now`, `today`, a date (the whole day: its start, or with `end_of_day` its end), or a
    date and time with an optional zone. Raises MomentError naming the text."""
    value = text.strip()
    lowered = value.lower()
    if lowered == "now":
        return When(value, datetime.now(timezone.utc))
    if lowered == "today":
        return When(value, datetime.combine(date.today(), time.max if end_of_day else time.min))
    match = _MOMENT.fullmatch(value)
    if match is None:
        raise MomentError(f"{text!r} is not a date or time: use {MOMENT_FORMS}")
    moment = moment_from(match.groupdict(), int(match["mo"]))
    if moment is None:
        if match["tz"] and zone(match["tz"]) is None:
            raise MomentError(
                f"{text!r}: the offset {match['tz']} is a day or more (at most ±23:59)"
            )
        raise MomentError(
            f"{text!r} is not a real date and time that mailcheck can compare "
            "(a day that does not exist, or a year outside 0001-9999 in UTC)"
        )
    if end_of_day and match["h"] is None:
        moment = datetime.combine(moment.date(), time.max, moment.tzinfo)
    return When(value, moment)


def at_or_after(moment: datetime, since: datetime) -> bool:
    """Compare in UTC when both carry a zone; otherwise as wall-clock times."""
    if (moment.tzinfo is None) != (since.tzinfo is None):
        moment, since = moment.replace(tzinfo=None), since.replace(tzinfo=None)
    return moment >= since
