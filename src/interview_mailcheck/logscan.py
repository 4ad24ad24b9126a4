"""Reading the app's log: find its lines at C speed, then read each one into an event.

A log can be a gigabyte of request lines, SQL and tracebacks, of which a few percent matter.
The scan works on large byte blocks: a few passes in C over each block look for fixed fragments
that every line of interest contains (`FRAGMENTS`, searched as `_SEARCHES`), and only those
lines are decoded and matched with regular expressions. (Measured on the benchmark's 1 GB log:
each of the four passes takes about 0.45 s, counting the lines 0.36 s, and the whole scan finds
the candidate lines in about 2.9 s, 340 MB/s; seven `bytes.find` passes took 4.5 to 5.9 s, and
`for line in file` with the same `in` tests took 12.9 s.)
Memory holds one block and the lines carried over from the previous one, whatever the size of
the log.

The app's markers are found wherever they sit in the line (after a timestamp, a level, a logger
name) and whatever precedes them: its emoji as written, missing, or mangled by a wrong decoding
(UTF-8 read as Windows-1252 turns "✅" into "âœ…"; read as Mac Roman, into "‚úÖ").
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from interview_mailcheck.values import at_or_after, moment_from

# --- The fragments that find candidate lines -------------------------------------------------

FRAGMENTS: tuple[bytes, ...] = (
    b"InterviewSession created",
    b"Email sen",  # "Email sent to ...", "Email sending failed for ..."
    b"EMAIL NOT SENT",
    b"SMTP",  # smtplib's exceptions, with or without the module name
    b"rro",  # ...Error (ConnectionRefusedError, TimeoutError, SSLError), gaierror, [Errno n]
    b", b",  # an SMTP reply as str(exception): (535, b'5.7.8 Username and Password ...')
)
_SEARCHES = tuple(
    re.compile(pattern).search
    for pattern in (
        rb"E(?:mail sen|MAIL NOT SENT)",
        rb"S(?:MTP|(?<=InterviewS)ession created)",
        rb"rro",
        rb", b",
    )
)
"""`FRAGMENTS` as the scan looks for them, the same lines: one pass over the block per pattern.
A regular expression with a literal first byte runs through a block at 2 to 3 GB/s, faster than
`bytes.find` with a short fragment (1.2 to 1.9 GB/s), and two fragments behind the same first
byte cost one pass. The short fragments stay: the longer words that could replace `rro` and
`, b` (`Error`, `Errno`, `gaierror`, `socket.timeout`, `[SSL: `, an SMTP reply's `(535,`) cost
more passes than they save on candidates."""
TRACEBACK = b"Traceback (most recent call last)"
"""Each traceback is walked to its exception line, noting whether a frame is in smtplib or in
Django's mail package (so `socket.timeout: timed out` at its end is known to be a mail error)."""
MAIL_FRAMES: tuple[bytes, ...] = (b"smtplib.py", b"/django/core/mail/", b"\\django\\core\\mail\\")
MAX_LINE = 64 << 10
"""Longer lines are cut to this many bytes (a line of 1 GB must not be held whole)."""
MAX_TRACEBACK = 1 << 20
"""A traceback longer than this is not followed to its end across blocks."""


@dataclass
class Tally:
    """What the reader noticed on the way, besides the events."""

    lines: int = 0
    """Lines in the log (the last one counts even without a final newline)."""
    stamped: int = 0
    """App lines that carry a timestamp."""
    skipped: int = 0
    """App lines left out by --since."""
    mangled: tuple[str, str, str, int] | None = None
    """The first emoji mangled by a wrong decoding: (as written, meant, decoding, line)."""


Candidate = tuple[int, bytes, bool]
"""(line number, the line without its newline, ends a traceback through smtplib)."""


def candidate_lines(blocks: Iterable[bytes | memoryview], tally: Tally) -> Iterator[Candidate]:
    """Each line that holds one of `FRAGMENTS` or ends a traceback, in order."""
    data = bytearray()  # the lines carried over, then the new block; reused, never shrunk
    used = 0
    lines = 0  # newlines before data[0]
    for block in itertools.chain(blocks, (None,)):
        final = block is None
        if block is None:
            if not used:
                break
            block = b"" if data[used - 1 : used] == b"\n" else b"\n"  # the last line's end
        end = used + len(block)
        if end > len(data):
            data.extend(bytes(end - len(data)))
        data[used:end] = block  # same-size slice assignment: a copy, no reallocation
        last = data.rfind(b"\n", 0, end)
        if last < 0:
            used = min(end, MAX_LINE)
            continue
        found, resume = _scan(data, last + 1, final)
        counted = 0
        for line_start, (line_end, mail) in sorted(found.items()):
            lines += data.count(b"\n", counted, line_start)
            counted = line_start
            yield lines + 1, bytes(data[line_start : min(line_end, line_start + MAX_LINE)]), mail
        lines += data.count(b"\n", counted, resume)
        used = min(end - resume, MAX_LINE) if resume == last + 1 else end - resume
        data[:used] = data[resume : resume + used]
    tally.lines = lines


def _scan(data: bytearray, end: int, final: bool) -> tuple[dict[int, tuple[int, bool]], int]:
    """The lines of data[:end] (whole lines) that hold a fragment or end a traceback, as
    {line start: (line end, ends a traceback through smtplib)}; and where the next scan must
    resume: the start of a traceback whose end is not in data yet, else `end`."""
    found: dict[int, tuple[int, bool]] = {}
    find, rfind = data.find, data.rfind
    for search in _SEARCHES:
        match = search(data, 0, end)
        while match:
            position = match.start()
            line_start = rfind(b"\n", 0, position) + 1
            line_end = find(b"\n", position, end)
            found[line_start] = (line_end, False)
            match = search(data, line_end, end)
    position = find(TRACEBACK, 0, end)
    while position >= 0:
        line_start = rfind(b"\n", 0, position) + 1
        exception = _traceback_end(data, line_start, position - line_start, end)
        if exception is None:
            if not final and end - line_start < MAX_TRACEBACK:
                kept = {start: value for start, value in found.items() if start < line_start}
                return kept, line_start  # read it again with the next block
            position = find(TRACEBACK, position + 1, end)
            continue
        exception_start, exception_end, mail = exception
        previous_mail = found.get(exception_start, (0, False))[1]
        found[exception_start] = (exception_end, mail or previous_mail)
        position = find(TRACEBACK, exception_end, end)
    return found, end


def _traceback_end(
    data: bytearray, start: int, column: int, end: int
) -> tuple[int, int, bool] | None:
    """(start, end, through mail frames) of the line that ends the traceback whose first line
    starts at `start`: the first line not indented past `column`; None when data[:end] ends
    first. `column` is where "Traceback" starts on its line: 0, unless every line carries a
    prefix (as `docker logs -t` and journald write them)."""
    mail = False
    line_start = data.find(b"\n", start, end) + 1
    while 0 < line_start < end:
        line_end = data.find(b"\n", line_start, end)
        if not data.startswith((b" ", b"\t"), line_start + column, line_end):
            return line_start, line_end, mail
        if not mail:
            line = data[line_start:line_end]
            mail = any(frame in line for frame in MAIL_FRAMES)
        line_start = line_end + 1
    return None


# --- Events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    line: int
    stamp: str | None
    interview_id: str
    session_key: str


@dataclass(frozen=True)
class Sent:
    line: int
    stamp: str | None
    email: str
    link: str


@dataclass(frozen=True)
class MailError:
    """An exception (or SMTP reply) read from a log line, not yet explained."""

    line: int
    stamp: str | None
    name: str
    """The exception class as logged ('SMTPAuthenticationError', 'TimeoutError'), or ''."""
    code: int | None
    """The SMTP reply code, when the exception carries one."""
    text: str
    """The reply text, or the exception's message."""
    excerpt: str
    """The part of the line it was read from, for evidence."""
    mail_specific: bool
    """Certainly from sending mail: an smtplib exception, an SMTP reply, or a traceback that
    passed through smtplib. A bare ConnectionRefusedError could come from any client."""


@dataclass(frozen=True)
class Failed:
    line: int
    stamp: str | None
    email: str
    error: MailError | None
    """An error on the failure line itself, if the app put one there."""


@dataclass(frozen=True)
class NotSent:
    line: int
    stamp: str | None
    reason: str
    """What follows '[EMAIL NOT SENT]', e.g. "EMAIL_BACKEND is 'console'"."""


Event = Created | Sent | Failed | NotSent | MailError


# --- Reading the whole log -------------------------------------------------------------------


def read_events(
    blocks: Iterable[bytes | memoryview], tally: Tally, since: datetime | None = None
) -> Iterator[Event]:
    """The app's events in log order; with `since`, only those at or after it."""
    return events_of(candidate_lines(blocks, tally), tally, since)


def events_of(
    candidates: Iterable[Candidate], tally: Tally, since: datetime | None = None
) -> Iterator[Event]:
    """The events of `candidate_lines`' lines (however they were scanned), in log order; with
    `since`, only those at or after it.

    A line without a timestamp (a traceback line) goes with the app line before it.
    """
    keep = True
    for number, raw, mail_traceback in candidates:
        event, prefix = parse_line(number, raw)
        if event is None:
            continue
        if isinstance(event, MailError):
            if mail_traceback and not event.mail_specific:
                event = replace(event, mail_specific=True)
        elif tally.mangled is None:
            mangled = find_mangled(prefix)
            if mangled:
                tally.mangled = (*mangled, number)
        stamp = event.stamp
        if stamp and since is None:
            tally.stamped += 1
        elif stamp and since is not None:
            # A stamp that is no real moment counts as none: the line goes with the one before.
            moment = stamp_time(stamp)
            if moment is not None:
                tally.stamped += 1
                keep = at_or_after(moment, since)
        if keep:
            yield event
        else:
            tally.skipped += 1


# --- Reading one line -----------------------------------------------------------------------------

CREATED_MARK = "InterviewSession created for interview "
SENT_MARK = "Email sent to "
FAILED_MARK = "Email sending failed for "
NOT_SENT_MARK = "[EMAIL NOT SENT]"

_CREATED = re.compile(r"\s*(?P<id>[^\s,;]+)[,;]?\s+session_key:?\s*(?P<key>[^\s,;]+)")
_SENT = re.compile(r"\s*(?P<email>\S+?)[,;:]?\s+with interview link:?\s*(?P<link>\S+)")
_FAILED = re.compile(r"\s*(?P<email>[^\s,;:]+)")
_QUOTES = "'\"<>()[]`"

_EXCEPTION = re.compile(
    r"(?<![\w.])(?P<name>(?:(?:smtplib|ssl|socket|builtins)\.)?"
    r"(?:SMTP[A-Za-z]*|Connection(?:Refused|Reset|Aborted)Error|TimeoutError|"
    r"(?<=socket\.)timeout|SSL[A-Za-z]*Error|gaierror|OSError|BrokenPipeError))"
    r"(?P<sep>: ?|\()(?P<detail>.*)"
)
_EXCEPTION_WORDS = ("SMTP", "Error", "gaierror", "socket.timeout")
"""Each name `_EXCEPTION` matches holds one of these; before it, in the name, only letters and
a module prefix of at most `_MODULE_PREFIX` characters."""
_MODULE_PREFIX = len("builtins.")
_LETTERS = frozenset(string.ascii_letters)


def _find_exception(text: str) -> re.Match[str] | None:
    """`_EXCEPTION.search(text)`, at a fraction of the cost on a line that names no exception or
    names it far in: the search starts just before the first of `_EXCEPTION_WORDS` (run from
    the start, each position costs a try)."""
    first = min((at for at in map(text.find, _EXCEPTION_WORDS) if at >= 0), default=-1)
    if first < 0:
        return None
    while first and text[first - 1] in _LETTERS:
        first -= 1
    return _EXCEPTION.search(text, max(0, first - _MODULE_PREFIX))


_SOURCE_LINE = re.compile(r"\s*(?:raise|except|File|return|def|class|import|from|if|elif)\b")
_REPLY = re.compile(
    r"\(\s*(?P<code>[245]\d\d),\s*b?(?P<q>['\"])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)"
)
_OS_ERROR = re.compile(r"\[(?:Errno|WinError) -?\d+\][^'\"\])}]*|\[SSL: [A-Z_]+\][^'\"\])}]*")
_EXCERPT = 300


def parse_line(number: int, raw: bytes) -> tuple[Event | None, str]:
    """The event a candidate line holds (or None), and the text before the app's marker."""
    text = raw.decode("utf-8", "replace").rstrip("\r")
    at = text.find(CREATED_MARK)
    if at >= 0:
        match = _CREATED.match(text, at + len(CREATED_MARK))
        if match:
            stamp = find_stamp(text, at)
            interview_id, key = _unquote(match["id"]), _unquote(match["key"])
            return Created(number, stamp, interview_id, key), text[:at]
        return None, text[:at]
    at = text.find(SENT_MARK)
    if at >= 0:
        match = _SENT.match(text, at + len(SENT_MARK))
        if match:
            email, link = _unquote(match["email"]), _unquote(match["link"])
            return Sent(number, find_stamp(text, at), email, link), text[:at]
        return None, text[:at]
    at = text.find(FAILED_MARK)
    if at >= 0:
        match = _FAILED.match(text, at + len(FAILED_MARK))
        if match:
            error = parse_error(number, text[match.end() :])
            return Failed(number, find_stamp(text, at), _unquote(match["email"]), error), text[:at]
        return None, text[:at]
    at = text.find(NOT_SENT_MARK)
    if at >= 0:
        reason = text[at + len(NOT_SENT_MARK) :].strip()
        return NotSent(number, find_stamp(text, at), reason), text[:at]
    return parse_error(number, text), ""


def _unquote(value: str) -> str:
    return value.strip(_QUOTES).rstrip(".,;:")


def parse_error(number: int, text: str) -> MailError | None:
    """An smtplib or network exception named in `text`, or an SMTP reply tuple."""
    if _SOURCE_LINE.match(text):
        return None  # a line of source code quoted in a traceback: `raise SMTPException(...)`
    match = _find_exception(text)
    name = ""
    where = text
    start = 0
    if match:
        detail = match["detail"]
        if match["sep"] == "(" and detail[:1] not in "0123456789'\"{[":
            match = None  # a call in quoted code, not an exception's repr
        elif "raise " in text[: match.start()]:
            return None
        else:
            name, where, start = match["name"], text[match.end("name") :], match.start()
    reply = _REPLY.search(where)
    if reply:
        code: int | None = int(reply["code"])
        message = _unescape(reply["text"])
        start = start if match else reply.start()
    else:
        code = None
        if not match:
            os_error = _OS_ERROR.search(text)
            if os_error is None:
                return None
            start, message = os_error.start(), os_error.group().strip()
        else:
            message = match["detail"].strip()
            if match["sep"] == "(" and message.endswith(")"):
                message = message[:-1]  # repr form: Name('message')
            message = message.strip("'\"").strip()
    if not match and code is None and not message:
        return None
    excerpt = text[start : start + _EXCERPT].strip()
    mail_specific = name.rpartition(".")[2].startswith("SMTP") or code is not None
    stamp = find_stamp(text, start)
    return MailError(number, stamp, name, code, message, excerpt, mail_specific)


def _unescape(text: str) -> str:
    for escaped, plain in (("\\r\\n", " "), ("\\n", " "), ("\\'", "'"), ('\\"', '"')):
        text = text.replace(escaped, plain)
    return " ".join(text.split())


# --- Timestamps -----------------------------------------------------------------------------------

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6})\d*)?)?(?:\s?(?P<tz>Z|[+-]\d{2}:?\d{2})\b)?"
)
_CLF = re.compile(
    r"(?P<d>\d{2})/(?P<mon>[A-Z][a-z]{2})/(?P<y>\d{4})[: ](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\s(?P<tz>[+-]\d{4}))?"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def find_stamp(text: str, end: int) -> str | None:
    """The timestamp written in text[:end] (the part before a marker), as written."""
    match = _ISO.search(text, 0, end) or _CLF.search(text, 0, end)
    return match.group() if match else None


def stamp_time(stamp: str) -> datetime | None:
    """A timestamp as find_stamp returns it, read into a datetime (aware when it has a zone);
    None when it is no real moment (a 31st of June, an offset of +99:00): such a line counts
    as one without a timestamp."""
    match = _ISO.fullmatch(stamp)
    if match:
        month = int(match["mo"])
    else:
        match = _CLF.fullmatch(stamp)
        if match is None:
            return None
        month = _MONTHS.get(match["mon"], 0)
    return moment_from(match.groupdict(), month)


# --- Emoji mangled by a wrong decoding --------------------------------------------------------

APP_EMOJI = ("✅", "❌", "⚠", "📧")
"""Emoji the app puts before its markers ("⚠️" is "⚠" and an invisible variation selector)."""
CODECS = {"cp1252": "Windows-1252", "mac_roman": "Mac Roman"}


def _misreadings(emoji: str, codec: str) -> set[str]:
    """`emoji`'s UTF-8 bytes decoded with `codec`. A byte Windows-1252 leaves undefined (0x9D in
    "❌") comes out as its own code point (Windows, browsers), as U+FFFD, or not at all."""
    spellings = [""]
    for byte in emoji.encode("utf-8"):
        char = byte.to_bytes(1, "big").decode(codec, errors="ignore")
        choices = [char] if char else [chr(byte), "\ufffd", ""]
        if char == "\xa0":
            choices.append(" ")  # a no-break space that a later step made a plain one
        spellings = [spelling + choice for spelling in spellings for choice in choices]
    return set(spellings)


MANGLED: tuple[tuple[str, str, str], ...] = tuple(
    sorted(
        (spelling, emoji, label)
        for emoji in APP_EMOJI
        for codec, label in CODECS.items()
        for spelling in _misreadings(emoji, codec)
    )
)
"""(as it appears in the log, the emoji meant, the decoding that mangled it)."""


_MANGLED_FIRST = "".join(sorted({spelling[0] for spelling, _, _ in MANGLED}))
_MANGLED_START = re.compile(f"[{re.escape(_MANGLED_FIRST)}]")
"""A character every spelling in `MANGLED` starts with: most lines have none of them."""


def find_mangled(prefix: str) -> tuple[str, str, str] | None:
    if _MANGLED_START.search(prefix) is None:
        return None
    for mangled in MANGLED:
        if mangled[0] in prefix:
            return mangled
    return None
