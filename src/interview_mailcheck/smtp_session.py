"""An SMTP session as the walk sees it: the interface it drives, and the values it gets back.

The walk (checks/smtp.py) drives an `SmtpSession` one step at a time and judges what comes
back; adapters/smtp.py is the one implementation, over smtplib and real sockets. Every failure
of a step is an `SmtpProblem` whose `kind` names how it failed; what that means for the user is
the walk's table (checks/smtp_failures.py), not the adapter's. The transcript of the dialogue
masks the AUTH payloads as they are recorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from interview_mailcheck import secrets


class SmtpProblem(Exception):
    """A step failed. `kind` names how; `reply` is the server's reply when there was one."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        reply: Reply | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.reply = reply
        self.data = data or {}


@dataclass(frozen=True)
class Reply:
    code: int
    lines: tuple[str, ...]
    """The text of each line, without the code."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def quoted(self) -> str:
        """The reply as the server sent it: '535-5.7.8 ...' then '535 5.7.8 ...'."""
        last = len(self.lines) - 1
        return "\n".join(
            f"{self.code}{' ' if i == last else '-'}{line}" for i, line in enumerate(self.lines)
        )


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_after: str
    names: tuple[str, ...]
    """Subject alternative names (DNS and IP), or the common name when there are none."""

    def as_evidence(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "expires": self.not_after,
            "valid_for": list(self.names),
        }


@dataclass(frozen=True)
class TlsInfo:
    version: str
    cipher: str
    certificate: CertificateInfo | None


@dataclass(frozen=True)
class TranscriptLine:
    at_ms: float
    who: str
    """'C' client, 'S' server, '*' a note from mailcheck."""
    text: str


@dataclass
class Transcript:
    """Both sides of the dialogue, with AUTH payloads masked and the message body summarised."""

    started: float = field(default_factory=time.perf_counter)
    lines: list[TranscriptLine] = field(default_factory=list)
    _in_auth: bool = False

    def _add(self, who: str, text: str) -> None:
        at = (time.perf_counter() - self.started) * 1000
        self.lines.append(TranscriptLine(round(at, 1), who, secrets.mask(text)))

    def note(self, text: str) -> None:
        self._add("*", text)

    def client(self, line: str) -> None:
        words = line.split(" ")
        if words[0].upper() == "AUTH":
            self._in_auth = True
            line = " ".join(words[:2]) + (f" {secrets.MASK}" if len(words) > 2 else "")
        elif self._in_auth:
            line = secrets.MASK
        self._add("C", line)

    def server(self, code: int, line: str) -> None:
        if code != 334:
            self._in_auth = False
        self._add("S", line)


class SmtpSession(Protocol):
    """One SMTP session, driven a step at a time; every method raises SmtpProblem on failure."""

    host: str
    port: int
    address: str
    """The address connected to ('' before connect())."""
    local_hostname: str
    """The name sent in EHLO."""
    transcript: Transcript

    def remaining(self) -> float:
        """Seconds left of the whole session's budget."""
        ...

    def resolve(self) -> list[str]: ...

    def connect(self) -> str: ...

    def start_implicit_tls(self) -> TlsInfo: ...

    def greet(self) -> Reply: ...

    def ehlo(self) -> Reply: ...

    def offers(self, extension: str) -> bool: ...

    def starttls(self) -> TlsInfo: ...

    def login(self, user: str, password: str) -> Reply: ...

    def envelope(self, sender: str, recipients: list[str]) -> Reply:
        """MAIL FROM and RCPT TO each recipient, then RSET: nothing is sent."""
        ...

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply: ...

    def close(self, *, quit: bool = True) -> None: ...

    # Probes for the diagnosis of a failure: each opens a connection of its own.

    def probe_banner(self, wait: float) -> str | None:
        """The first line the port sends within `wait`, or None if it stays silent."""
        ...

    def probe_tls(self, wait: float) -> bool:
        """Does the port answer a TLS handshake (whatever its certificate)?"""
        ...

    def fetch_certificate(self, *, starttls: bool, wait: float) -> CertificateInfo | None:
        """The server's certificate, fetched without verification, for display only."""
        ...
