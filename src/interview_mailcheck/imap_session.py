"""The IMAP session's own values (pure, no I/O): ImapProblem and its kinds, the transcript
with the password masked, the deadline that bounds every read and write, and what a search or
a delete found. The dialogue itself is adapters/imap.py's."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from interview_mailcheck import secrets
from interview_mailcheck.mailboxes import Folder
from interview_mailcheck.smtp_session import TranscriptLine

SHOWN_LINE = 2000
"""Characters of one line kept in the transcript."""


class ImapProblem(Exception):
    """An IMAP step failed. `kind` names how (see the module); `reply` is the server's text
    when it answered, `data` holds details (the certificate's verify reason...)."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        reply: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        detail = secrets.mask(detail)
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.reply = secrets.mask(reply) if reply is not None else None
        self.data = data or {}

    def __repr__(self) -> str:
        return f"ImapProblem({self.kind!r}, {self.detail!r})"


# --- Transcript and deadline ---------------------------------------------------------------


_LOGIN = re.compile(r"^(\S+ LOGIN) (\"(?:[^\"\\]|\\.)*\"|\S+)(?: .*)?$", re.IGNORECASE)
_AUTHENTICATE = re.compile(r"^(\S+ AUTHENTICATE \S+)(?: .*)?$", re.IGNORECASE)


@dataclass
class ImapTranscript:
    """Both sides of the dialogue: 'C' client, 'S' server, '*' a note from mailcheck. The
    password is never kept: LOGIN's and AUTHENTICATE's arguments are masked, and every line
    passes through `secrets.mask` too; literals are shown as their size only."""

    started: float = field(default_factory=time.perf_counter)
    lines: list[TranscriptLine] = field(default_factory=list)
    _in_auth: bool = False

    def _add(self, who: str, text: str) -> None:
        at = (time.perf_counter() - self.started) * 1000
        if len(text) > SHOWN_LINE:
            text = text[:SHOWN_LINE] + f"... ({len(text)} characters)"
        self.lines.append(TranscriptLine(round(at, 1), who, secrets.mask(text)))

    def note(self, text: str) -> None:
        self._add("*", text)

    def client(self, line: str) -> None:
        if self._in_auth:
            self._add("C", secrets.MASK)
            return
        login = _LOGIN.match(line)
        if login:
            line = f"{login.group(1)} {login.group(2)} {secrets.MASK}"
        else:
            authenticate = _AUTHENTICATE.match(line)
            if authenticate:
                self._in_auth = True
                extra = f" {secrets.MASK}" if len(line) > len(authenticate.group(1)) else ""
                line = authenticate.group(1) + extra
        self._add("C", line)

    def client_literal(self, size: int) -> None:
        self._add("C", f"({size} bytes)")

    def server(self, line: str) -> None:
        if not line.startswith("+"):
            self._in_auth = False
        self._add("S", line)

    def server_literal(self, size: int) -> None:
        self._add("S", f"({size} bytes)")

    def text(self) -> str:
        return "\n".join(f"{line.who}: {line.text}" for line in self.lines)


class Deadline:
    """A per-operation timeout inside one budget for the whole session."""

    def __init__(self, step_timeout: float, budget: float) -> None:
        self.step_timeout = step_timeout
        self.ends = time.monotonic() + budget
        self._step_ends = min(self.ends, time.monotonic() + step_timeout)
        self.what = "the server"

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def begin(self, what: str, seconds: float | None = None) -> None:
        """Start an operation: it may take the step timeout (or `seconds`), within the budget."""
        self.what = what
        self._step_ends = min(self.ends, time.monotonic() + (seconds or self.step_timeout))

    def wait(self) -> float:
        """Seconds the next read or write may take; an ImapProblem once none are left."""
        now = time.monotonic()
        if now >= self.ends:
            raise ImapProblem(
                "timeout",
                f"the time allowed for the whole session ran out ({self.what})",
                data={"during": self.what, "overall": True},
            )
        left = self._step_ends - now
        if left <= 0:
            raise ImapProblem(
                "timeout",
                f"the server did not answer within {self.step_timeout:g} s ({self.what})",
                data={"during": self.what, "overall": False},
            )
        return left


# --- Results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """Where a message was found, and when."""

    folder: Folder
    uid: int
    seconds: float
    """From `since` (the caller's clock, time.monotonic) to the search that found it."""
    searches: int


@dataclass(frozen=True)
class Deletion:
    folder: str
    uid: int
    expunged: bool
    """False: the message is flagged \\Deleted but still there (see `detail`)."""
    detail: str = ""
