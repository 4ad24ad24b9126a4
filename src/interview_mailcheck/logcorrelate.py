"""From the app's log events to interviews: the correlation behind `mailcheck logs`.

`correlate(events)` ties the events `logscan.read_events` reads to interviews (the rules are
spelled out on `Correlator`) and yields each interview once it is settled, with every line it
was given, and each line that belongs to no interview (`Loose`). It judges nothing: what an
interview's lines mean is checks/logs.py's.

Memory stays flat whatever the size of the log: only the most recent `OPEN_WINDOW` interviews
wait for more lines.
"""

from __future__ import annotations

import itertools
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import unquote

from interview_mailcheck.logscan import Created, Event, Failed, MailError, NotSent, Sent

OPEN_WINDOW = 10_000
"""Interviews still open to later lines. An interview is judged once this many newer ones have
appeared (the app logs a booking's email within the same request, seconds later) or at the end."""

IN_FLIGHT = 16
"""A guessed outcome may move only to one of the interviews created this recently (requests
that can be in flight at the same time)."""


@dataclass(slots=True)
class Interview:
    serial: int
    first_line: int
    interview_id: str | None = None
    session_key: str | None = None
    stamp: str | None = None
    created_line: int | None = None
    email: str | None = None
    link: str | None = None
    sent_line: int | None = None
    failed_line: int | None = None
    error: MailError | None = None
    not_sent: NotSent | None = None
    alternatives: tuple[Interview, ...] = ()
    """When its failure or '[EMAIL NOT SENT]' was only guessed (those lines name no
    interview): the other recent interviews that were waiting then, most recent first."""


@dataclass(frozen=True, slots=True)
class Loose:
    """A line that belongs to no interview: a mail error no failure line claimed, or an
    '[EMAIL NOT SENT]' before any session was created."""

    event: MailError | NotSent


class Correlator:
    """Ties the app's lines to interviews, in log order; what is settled goes to `out`.

    - "InterviewSession created for interview ID, session_key: KEY" opens interview ID and
      remembers KEY.
    - "Email sent to EMAIL with interview link: LINK" belongs to the interview whose session_key
      the link carries (its `session_key` query parameter, or a path segment equal to a known
      key). A link with no key goes to the most recent interview still waiting for its email; a
      key never seen opens an interview of unknown id (created before the log starts).
    - "Email sending failed for EMAIL" names no interview: it goes to the most recent interview
      still waiting for its email (the app logs it in the request that created the session),
      else it opens an interview of unknown id.
    - "[EMAIL NOT SENT] ..." goes the same way, to the most recent interview still waiting.
    - When requests interleave, those two guesses can be wrong. If the chosen interview later
      gets its own "Email sent to" line (for a failure: to another address), the guessed line
      moves to the next most recent interview that was waiting then and still is, among the
      last `IN_FLIGHT` created. With none, it stays (the console backend logs both lines).
    - An exception (a traceback's last line, or an SMTP reply) right after a failure line, with
      no other app line between, is that failure's reason; right before one, likewise. Else,
      if it is certainly from sending mail (smtplib's, or a traceback through smtplib), it is a
      failure of the most recent interview still waiting, or a failure of its own.
    """

    def __init__(self) -> None:
        self.out: list[Interview | Loose] = []
        """What is settled, in order: interviews closed, lines that belong to none."""
        self._open: OrderedDict[int, Interview] = OrderedDict()
        self._waiting: OrderedDict[int, Interview] = OrderedDict()
        self._by_key: dict[str, Interview] = {}
        self._serial = 0
        self._failure: Interview | None = None
        """The interview of the last app line, when it was a failure (errors after it are its)."""
        self._held: MailError | None = None
        """An error waiting to see whether a failure line follows."""

    def feed(self, event: Event) -> None:
        if isinstance(event, MailError):
            self._error(event)
            return
        if self._held is not None:
            held, self._held = self._held, None
            if isinstance(event, Failed) and event.error is None:
                event = replace(event, error=held)
            else:
                self._orphan(held)
        self._failure = None
        if isinstance(event, Created):
            self._created(event)
        elif isinstance(event, Sent):
            self._sent(event)
        elif isinstance(event, Failed):
            self._failed(event)
        else:
            self._not_sent(event)

    def finish(self) -> None:
        """The end of the log: every interview still open is closed."""
        if self._held is not None:
            self._orphan(self._held)
            self._held = None
        while self._open:
            self._close(self._open.popitem(last=False)[1])

    # --- events ---

    def _created(self, event: Created) -> None:
        interview = self._new(event.line, event.session_key)
        interview.interview_id = event.interview_id
        interview.created_line = event.line
        interview.stamp = event.stamp
        self._waiting[interview.serial] = interview

    def _sent(self, event: Sent) -> None:
        key = self._key_in(event.link)
        interview = self._by_key.get(key) if key else self._latest_waiting()
        if interview is None:
            interview = self._new(event.line, key)
        elif interview.alternatives:
            if interview.not_sent is not None or interview.email != event.email:
                self._move_guess(interview)
            interview.alternatives = ()
        interview.email, interview.link, interview.sent_line = event.email, event.link, event.line
        interview.stamp = interview.stamp or event.stamp
        self._waiting.pop(interview.serial, None)

    def _failed(self, event: Failed) -> None:
        interview = self._guess() or self._new(event.line, None)
        interview.email = event.email
        interview.failed_line = event.line
        interview.error = event.error
        interview.stamp = interview.stamp or event.stamp
        self._waiting.pop(interview.serial, None)
        self._failure = interview

    def _not_sent(self, event: NotSent) -> None:
        interview = self._guess()
        if interview is None:
            self.out.append(Loose(event))
            return
        interview.not_sent = event
        self._waiting.pop(interview.serial, None)

    def _error(self, error: MailError) -> None:
        if self._failure is not None:
            if self._failure.error is None:
                self._failure.error = error
            return  # a chained exception of the same traceback: the first one is the cause
        if self._held is None:
            self._held = error
        elif error.mail_specific and not self._held.mail_specific:
            self._held = replace(self._held, mail_specific=True)

    def _orphan(self, error: MailError) -> None:
        """An error no failure line claimed."""
        if not error.mail_specific:
            return  # a network error from another client (an API call, a cache): not ours
        interview = self._guess()
        if interview is None:
            self.out.append(Loose(error))
            return
        interview.failed_line = error.line
        interview.error = error
        self._waiting.pop(interview.serial, None)

    # --- bookkeeping ---

    def _new(self, line: int, key: str | None) -> Interview:
        self._serial += 1
        interview = Interview(self._serial, line, session_key=key)
        self._open[interview.serial] = interview
        if key:
            self._by_key[key] = interview
        if len(self._open) > OPEN_WINDOW:
            self._close(self._open.popitem(last=False)[1])
        return interview

    def _guess(self) -> Interview | None:
        """The interview a line that names none belongs to: the most recent still waiting;
        the other recent ones waiting are remembered in case the guess proves wrong."""
        waiting = self._waiting.values()
        interview = next(reversed(waiting), None)
        if interview is not None:
            recent = itertools.takewhile(
                lambda other: self._serial - other.serial < IN_FLIGHT, reversed(waiting)
            )
            interview.alternatives = tuple(itertools.islice(recent, 1, IN_FLIGHT))
        return interview

    def _move_guess(self, wrong: Interview) -> None:
        """A guessed failure or '[EMAIL NOT SENT]' belonged to another interview: the most
        recent one still waiting."""
        for other in wrong.alternatives:
            if self._waiting.get(other.serial) is not other:
                continue
            if wrong.not_sent is not None:
                other.not_sent, wrong.not_sent = wrong.not_sent, None
            else:
                other.email, other.failed_line, other.error = (
                    wrong.email,
                    wrong.failed_line,
                    wrong.error,
                )
                wrong.failed_line, wrong.error = None, None
                if self._failure is wrong:
                    self._failure = other
            # It may be wrong again: the next candidates travel with it.
            other.alternatives = tuple(a for a in wrong.alternatives if a is not other)
            del self._waiting[other.serial]
            return

    def _latest_waiting(self) -> Interview | None:
        return next(reversed(self._waiting.values()), None)

    def _key_in(self, link: str) -> str | None:
        """The session key a link carries: its session_key parameter, else a path segment
        that is a known key. (Regular expressions: urllib.parse would double the run time.)"""
        match = _KEY_PARAMETER.search(link)
        if match:
            key = match[1]
            return unquote(key) if "%" in key else key
        path = link.split("?", 1)[0].split("#", 1)[0]
        for segment in reversed(path.split("/")):
            if segment in self._by_key:
                return segment
        return None

    def _close(self, interview: Interview) -> None:
        self._waiting.pop(interview.serial, None)
        interview.alternatives = ()  # a chain of closed interviews must not stay alive
        if interview.session_key and self._by_key.get(interview.session_key) is interview:
            del self._by_key[interview.session_key]
        self.out.append(interview)


_KEY_PARAMETER = re.compile(r"[?&;](?:session_key|session|key)=([^&#;\s]+)")


def correlate(events: Iterable[Event]) -> Iterator[Interview | Loose]:
    """Every interview the events mention, as each is settled, and the loose lines."""
    correlator = Correlator()
    for event in events:
        correlator.feed(event)
        if correlator.out:
            yield from correlator.out
            correlator.out.clear()
    correlator.finish()
    yield from correlator.out
