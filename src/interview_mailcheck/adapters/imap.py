"""IMAP over real sockets: the only module that imports imaplib (with socket and ssl).

`ImapClient` reads the candidate's mailbox for `send-test --confirm`: connect (implicit TLS, or
plain text then STARTTLS; the certificate verified with the caller's `ssl.SSLContext`), log in,
list the folders with their SPECIAL-USE attributes, find the test message by a header, fetch
its header, delete it, log out.

imaplib does the IMAP dialogue (tags, untagged responses, literals); its reads and writes are
replaced (`_BoundedIMAP`) by ones that obey a per-operation timeout and one deadline for the
whole session and feed the transcript, so a silent, trickling or endless server ends in an
`ImapProblem`, never a hang. Every exception imaplib, ssl or socket raise is translated into an
`ImapProblem` with a `kind` the check layer maps to a finding:

    no_such_host, resolve_failed, refused, connect_timeout, connect_failed,
    tls_failed, certificate (data["reason"]), starttls_refused, not_imap,
    login_refused (reply: the server's text), credentials_not_ascii,
    no_such_folder, no_such_message, command_failed (reply), timeout, disconnected, protocol

The transcript records both sides with the password masked (`a1 LOGIN "user" ********`), and
every literal (a message header, a folder name) summarised as its size.
"""

from __future__ import annotations

import contextlib
import errno
import imaplib
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from interview_mailcheck import secrets
from interview_mailcheck.adapters.tls import certificate_info, decode_der, tls_context
from interview_mailcheck.mailboxes import Folder, decode_utf7, encode_utf7
from interview_mailcheck.smtp_session import TlsInfo, TranscriptLine

__all__ = [
    "DEFAULT_PORTS",
    "Deletion",
    "Found",
    "ImapClient",
    "ImapProblem",
    "ImapTranscript",
    "Security",
    "tls_context",
]

Security = Literal["tls", "starttls"]
DEFAULT_PORTS: dict[str, int] = {"tls": 993, "starttls": 143}
MAX_LINE = 64 * 1024
"""A response line (CAPABILITY, LIST, SEARCH) longer than this is not a server's answer."""
MAX_LITERAL = 4 * 1024 * 1024
"""The largest literal read: a message header, generously."""
MAX_UNTAGGED = 20_000
"""Untagged responses to one command beyond this: the server is flooding."""
LOGOUT_WAIT = 1.0
"""Seconds the LOGOUT at the end may take: a server that answers at all answers it at once."""
_SESSION_OVER = frozenset({"timeout", "disconnected", "protocol", "tls_failed"})
"""Problems after which the session cannot go on (a LOGOUT would only wait)."""
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
_LITERAL_MARK = re.compile(rb"\{(\d+)\+?\}\r?\n?$")


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


# --- imaplib over bounded reads and writes ------------------------------------------------


class _BoundedIMAP(imaplib.IMAP4):
    """imaplib's dialogue over a socket connected (and perhaps secured) already, with reads
    and writes that obey the deadline and feed the transcript."""

    def __init__(
        self,
        sock: socket.socket,
        host: str,
        port: int,
        transcript: ImapTranscript,
        deadline: Deadline,
    ) -> None:
        self._raw = sock
        self._transcript = transcript
        self._deadline = deadline
        self._buffer = b""
        self._literal_to_send = 0
        self._received_any = False
        super().__init__(host, port)

    # The four methods imaplib documents as overridable: open, read, readline, send, shutdown.

    def open(self, host: str = "", port: int = 143, timeout: float | None = None) -> None:
        self.host = host
        self.port = port
        self.sock = self._raw

    def nothing_buffered(self) -> None:
        """Before the STARTTLS handshake: anything the server sent in plain text after its OK
        would be read as if it came over TLS (a known injection), so it is refused."""
        if self._buffer:
            raise ImapProblem(
                "protocol",
                "the server sent more in plain text after accepting STARTTLS "
                f"({len(self._buffer)} bytes)",
            )

    def replace_socket(self, sock: socket.socket) -> None:
        """After STARTTLS: the secured socket."""
        self.nothing_buffered()
        self.sock = sock
        self._raw = sock

    def _fill(self) -> None:
        wait = self._deadline.wait()
        try:
            self.sock.settimeout(wait)
            chunk = self.sock.recv(65536)
        except TimeoutError:
            if self._deadline.remaining() <= 0:
                self._deadline.wait()  # raises the overall timeout
            what = self._deadline.what
            detail = (
                f"the server sent nothing within {self._deadline.step_timeout:g} s ({what})"
                if not self._received_any
                else f"the server stopped answering ({what})"
            )
            raise ImapProblem("timeout", detail, data={"during": what}) from None
        except ssl.SSLError as error:
            raise ImapProblem("tls_failed", f"TLS error while reading: {error}") from None
        except OSError as error:
            raise ImapProblem(
                "disconnected", f"the connection broke: {error.strerror or error}"
            ) from None
        if not chunk:
            raise ImapProblem(
                "disconnected",
                "the server closed the connection"
                + ("" if self._received_any else " without a greeting"),
                data={"during": self._deadline.what, "greeted": self._received_any},
            )
        self._received_any = True
        self._buffer += chunk

    def readline(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                if len(line) > MAX_LINE:
                    raise _too_long()
                self._transcript.server(line.rstrip(b"\r\n").decode("utf-8", "replace"))
                return line
            if len(self._buffer) > MAX_LINE:
                raise _too_long()
            self._fill()

    def read(self, size: int) -> bytes:
        if size > MAX_LITERAL:
            raise ImapProblem(
                "protocol", f"the server announced a literal of {size} bytes (too large)"
            )
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        self._transcript.server_literal(size)
        return data

    def send(self, data: Any) -> None:
        payload = bytes(data)
        if self._literal_to_send > 0:
            self._literal_to_send = max(0, self._literal_to_send - len(payload))
            self._transcript.client_literal(len(payload))
        else:
            text = payload.decode("utf-8", "replace")
            for line in text.split("\r\n"):
                if line:
                    self._transcript.client(line)
            mark = _LITERAL_MARK.search(payload)
            if mark:
                self._literal_to_send = int(mark.group(1))
        try:
            self.sock.settimeout(self._deadline.wait())
            self.sock.sendall(payload)
        except TimeoutError:
            raise ImapProblem(
                "timeout", f"the server stopped reading ({self._deadline.what})"
            ) from None
        except ssl.SSLError as error:
            raise ImapProblem("tls_failed", f"TLS error while writing: {error}") from None
        except OSError as error:
            raise ImapProblem(
                "disconnected", f"the connection broke while writing: {error.strerror or error}"
            ) from None

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


def _too_long() -> ImapProblem:
    return ImapProblem("protocol", f"the server sent a line longer than {MAX_LINE} bytes")


# --- Reading responses ---------------------------------------------------------------------


class _Literal(bytes):
    """A literal's bytes, told apart from an atom."""


class _Quoted(bytes):
    """A quoted string's bytes (unescaped), told apart from an atom."""


Item = Any
"""bytes (an atom), _Quoted, _Literal, or a list of items."""


class _Unreadable(Exception):
    pass


def _segments(group: Sequence[bytes | tuple[bytes, bytes]]) -> list[bytes]:
    """One response as imaplib hands it over ((text ending in {N}, literal) pairs, then the
    rest of the line) as text and _Literal pieces in order."""
    pieces: list[bytes] = []
    for part in group:
        if isinstance(part, tuple):
            text, literal = part
            mark = re.search(rb"\{\d+\}$", text)
            pieces.append(text[: mark.start()] if mark else text)
            pieces.append(_Literal(literal))
        else:
            pieces.append(part)
    return pieces


def _grouped(data: Iterable[Any]) -> Iterator[list[bytes | tuple[bytes, bytes]]]:
    """imaplib's untagged data split per response: each ends with a bytes item."""
    group: list[bytes | tuple[bytes, bytes]] = []
    for part in data:
        if part is None:
            continue
        if isinstance(part, tuple):
            if len(part) != 2 or not all(isinstance(piece, bytes) for piece in part):
                raise _Unreadable("an unexpected response part")
            group.append((part[0], part[1]))
        elif isinstance(part, bytes):
            group.append(part)
            yield group
            group = []
        else:
            raise _Unreadable("an unexpected response part")
    if group:
        yield group


_ATOM_END = frozenset(b' ()"{\r\n')


def parse_items(pieces: Sequence[bytes]) -> list[Item]:
    """IMAP data (atoms, quoted strings, literals, parenthesised lists) as nested lists."""
    root: list[Item] = []
    stack: list[list[Item]] = [root]
    for piece in pieces:
        if isinstance(piece, _Literal):
            stack[-1].append(piece)
            continue
        at = 0
        while at < len(piece):
            byte = piece[at]
            if byte in b" \r\n\t":
                at += 1
            elif byte == ord("("):
                child: list[Item] = []
                stack[-1].append(child)
                stack.append(child)
                at += 1
            elif byte == ord(")"):
                if len(stack) == 1:
                    raise _Unreadable("a ')' without its '('")
                stack.pop()
                at += 1
            elif byte == ord('"'):
                at += 1
                out = bytearray()
                while True:
                    if at >= len(piece):
                        raise _Unreadable("a quoted string without its closing quote")
                    current = piece[at]
                    if current == ord("\\") and at + 1 < len(piece):
                        out.append(piece[at + 1])
                        at += 2
                    elif current == ord('"'):
                        at += 1
                        break
                    else:
                        out.append(current)
                        at += 1
                stack[-1].append(_Quoted(bytes(out)))
            else:
                start = at
                depth = 0
                while at < len(piece):
                    current = piece[at]
                    if current == ord("["):
                        depth += 1
                    elif current == ord("]"):
                        depth = max(0, depth - 1)
                    elif depth == 0 and current in _ATOM_END:
                        break
                    at += 1
                if at == start:  # a stray '{' or similar
                    raise _Unreadable(f"unexpected {chr(byte)!r}")
                stack[-1].append(bytes(piece[start:at]))
    if len(stack) != 1:
        raise _Unreadable("a '(' without its ')'")
    return root


def _string(item: Item) -> bytes | None:
    """An astring or nstring: atom, quoted or literal; None for NIL."""
    if isinstance(item, (_Quoted, _Literal)):
        return bytes(item)
    if isinstance(item, bytes):
        return None if item.upper() == b"NIL" else item
    raise _Unreadable("a list where a string was expected")


def parse_list_response(data: Iterable[Any], *, utf8: bool = False) -> list[Folder]:
    """The folders of LIST's untagged responses: `(attributes) delimiter name [extended]`."""
    folders: list[Folder] = []
    for group in _grouped(data):
        items = parse_items(_segments(group))
        if len(items) < 3 or not isinstance(items[0], list):
            raise _Unreadable("a LIST response without attributes, delimiter and name")
        attributes = []
        for attribute in items[0]:
            if isinstance(attribute, list) or not isinstance(attribute, bytes):
                raise _Unreadable("a LIST attribute that is not an atom")
            attributes.append(bytes(attribute).decode("ascii", "replace"))
        delimiter_raw = _string(items[1])
        delimiter = delimiter_raw.decode("utf-8", "replace") if delimiter_raw else None
        name_raw = _string(items[2])
        if name_raw is None:
            raise _Unreadable("a LIST response with NIL for a name")
        wire = name_raw.decode("utf-8" if utf8 else "ascii", "replace")
        name = wire if utf8 else decode_utf7(wire)
        if name.upper() == "INBOX":
            name = "INBOX"
        folders.append(Folder(name, frozenset(attributes), delimiter, wire))
    return folders


def _fetch_attributes(items: list[Item]) -> dict[str, Item]:
    """`seq (KEY value KEY value ...)` (imaplib drops the word FETCH) as {KEY: value}."""
    if len(items) < 2 or not isinstance(items[1], list):
        raise _Unreadable("a FETCH response without its list of attributes")
    pairs = items[1]
    found: dict[str, Item] = {}
    for index in range(0, len(pairs) - 1, 2):
        key = pairs[index]
        if not isinstance(key, bytes) or isinstance(key, (_Quoted, _Literal)):
            raise _Unreadable("a FETCH attribute name that is not an atom")
        found[bytes(key).decode("ascii", "replace").upper()] = pairs[index + 1]
    return found


def _astring(value: str) -> str:
    """`value` as an IMAP quoted string; ImapProblem if it cannot be one (not ASCII, CR/LF)."""
    if not all(0x20 <= ord(character) <= 0x7E for character in value):
        raise ImapProblem("protocol", f"{value[:40]!r} cannot be sent as an IMAP quoted string")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quotable(value: str) -> bool:
    return all(0x20 <= ord(character) <= 0x7E for character in value)


# --- Certificates ------------------------------------------------------------------------------


_VERIFY_REASONS = {
    18: "self_signed",
    19: "self_signed",
    20: "unknown_issuer",
    21: "unknown_issuer",
    2: "unknown_issuer",
    10: "expired",
    9: "not_yet_valid",
    62: "hostname_mismatch",
    64: "hostname_mismatch",  # X509_V_ERR_IP_ADDRESS_MISMATCH: connected by an IP address
}
_PLAINTEXT_REASONS = {
    "WRONG_VERSION_NUMBER",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
}


def _tls_problem(error: ssl.SSLError) -> ImapProblem:
    if isinstance(error, ssl.SSLCertVerificationError):
        code = getattr(error, "verify_code", 0) or 0
        message = getattr(error, "verify_message", "") or str(error)
        reason = _VERIFY_REASONS.get(code, "other")
        if reason == "other" and ("hostname" in message.lower() or "mismatch" in message.lower()):
            reason = "hostname_mismatch"
        return ImapProblem(
            "certificate",
            f"the server's certificate was not accepted: {message}",
            data={"reason": reason, "verify_code": code},
        )
    reason = (getattr(error, "reason", "") or "").upper()
    plaintext = reason in _PLAINTEXT_REASONS
    detail = (
        "the port did not answer TLS (it may expect STARTTLS, port 143)"
        if plaintext
        else f"the TLS handshake failed: {error}"
    )
    return ImapProblem("tls_failed", detail, data={"plaintext_peer": plaintext})


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


# --- The client ----------------------------------------------------------------------------


class ImapClient:
    """One IMAP session, a step at a time: connect, login, folders, find, headers, delete,
    logout. Every step raises ImapProblem and nothing else."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = "tls",
        context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        budget: float = 120.0,
    ) -> None:
        if security not in DEFAULT_PORTS:
            raise ValueError(f"security must be 'tls' or 'starttls', not {security!r}")
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security: Security = security
        self.context = context if context is not None else tls_context(None, False)
        self.timeout = timeout
        self.deadline = Deadline(timeout, budget)
        self.transcript = ImapTranscript()
        self.address = ""
        self.tls: TlsInfo | None = None
        self.greeting = ""
        self._imap: _BoundedIMAP | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._selected: tuple[str, bool] | None = None
        self._broken = False
        """After a timeout or an unreadable answer the dialogue is out of step: no LOGOUT."""

    # --- Guarding every step ------------------------------------------------------------------

    @contextlib.contextmanager
    def _step(self, what: str, seconds: float | None = None) -> Iterator[None]:
        """Bound the step and translate whatever imaplib, ssl or socket raise."""
        self.deadline.begin(what, seconds)
        try:
            yield
        except ImapProblem as problem:
            if problem.kind in _SESSION_OVER:
                self._broken = True
            raise
        except imaplib.IMAP4.readonly as error:
            raise ImapProblem(
                "command_failed", f"the folder is read-only ({what})", reply=_text(error)
            ) from None
        except imaplib.IMAP4.abort as error:
            text = _text(error)
            if "BYE" in text.upper() or self._bye() is not None:
                raise ImapProblem(
                    "disconnected",
                    f"the server ended the session ({what})",
                    reply=self._bye() or text,
                ) from None
            raise ImapProblem("protocol", f"unreadable answer ({what}): {text}") from None
        except imaplib.IMAP4.error as error:
            text = _text(error)
            if "command error: BAD" in text:
                raise ImapProblem(
                    "command_failed", f"the server rejected the command ({what})", reply=text
                ) from None
            raise ImapProblem("protocol", f"unexpected answer ({what}): {text}") from None
        except _Unreadable as error:
            raise ImapProblem("protocol", f"unreadable answer ({what}): {error}") from None
        except ssl.SSLError as error:
            raise _tls_problem(error) from None
        except TimeoutError:
            raise ImapProblem("timeout", f"the server stopped answering ({what})") from None
        except OSError as error:
            raise ImapProblem("disconnected", f"the connection broke ({what}): {error}") from None
        except Exception as error:  # imaplib reading what a hostile server sent
            raise ImapProblem(
                "protocol", f"unreadable answer ({what}): {type(error).__name__}: {error}"
            ) from None

    def _bye(self) -> str | None:
        imap = self._imap
        if imap is None:
            return None
        bye = imap.untagged_responses.get("BYE")
        if bye:
            last = bye[-1]
            return last.decode("utf-8", "replace") if isinstance(last, bytes) else None
        return None

    def _session(self) -> _BoundedIMAP:
        if self._imap is None:
            raise ImapProblem("disconnected", "not connected (connect first)")
        return self._imap

    # --- Connecting ------------------------------------------------------------------------

    def _resolve(self) -> list[tuple[int, str]]:
        outcome: dict[str, Any] = {}

        def lookup() -> None:
            try:
                outcome["infos"] = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as error:
                outcome["error"] = error

        self.deadline.begin(f"looking up {self.host}")
        worker = threading.Thread(target=lookup, daemon=True)
        worker.start()
        worker.join(self.deadline.wait())
        if worker.is_alive():
            raise ImapProblem("timeout", f"looking up {self.host} took longer than the timeout")
        error = outcome.get("error")
        if error is not None:
            code = getattr(error, "errno", None)
            if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                raise ImapProblem("no_such_host", f"{self.host} does not resolve: {error}")
            raise ImapProblem("resolve_failed", f"looking up {self.host} failed: {error}")
        seen: list[tuple[int, str]] = []
        for family, _, _, _, sockaddr in outcome.get("infos", []):
            entry = (int(family), str(sockaddr[0]))
            if entry not in seen:
                seen.append(entry)
        if not seen:
            raise ImapProblem("no_such_host", f"{self.host} has no address")
        return seen

    def _connect_socket(self, addresses: list[tuple[int, str]]) -> socket.socket:
        outcomes: list[str] = []
        kinds: list[str] = []
        for family, address in addresses:
            self.deadline.begin(f"connecting to {address} port {self.port}")
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.deadline.wait())
                sock.connect((address, self.port))
            except ConnectionRefusedError:
                kinds.append("refused")
                outcomes.append(f"{address}: refused")
            except TimeoutError:
                kinds.append("connect_timeout")
                outcomes.append(f"{address}: timed out")
            except ImapProblem:
                sock.close()
                raise
            except OSError as error:
                kinds.append("connect_failed")
                unreachable = error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)
                outcomes.append(f"{address}: {'unreachable: ' if unreachable else ''}{error}")
            else:
                self.address = address
                self.transcript.note(f"connected to {address} port {self.port}")
                return sock
            sock.close()
        kind = "connect_timeout" if "connect_timeout" in kinds else kinds[0]
        raise ImapProblem(kind, "; ".join(outcomes), data={"attempts": outcomes})

    def _handshake(self, sock: socket.socket) -> ssl.SSLSocket:
        self.deadline.begin("the TLS handshake")
        try:
            sock.settimeout(self.deadline.wait())
            secured = self.context.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            raise ImapProblem(
                "timeout", "the server did not answer the TLS handshake", data={"during": "tls"}
            ) from None
        except ssl.SSLError as error:
            raise _tls_problem(error) from None
        except OSError as error:
            raise ImapProblem(
                "disconnected", f"the connection broke during the TLS handshake: {error}"
            ) from None
        self.tls = self._tls_info(secured)
        return secured

    def _tls_info(self, sock: ssl.SSLSocket) -> TlsInfo:
        cipher = sock.cipher()
        peer = sock.getpeercert()
        certificate = certificate_info(peer) if peer else None
        if certificate is None:
            der = sock.getpeercert(binary_form=True)
            certificate = decode_der(der) if der else None
        info = TlsInfo(sock.version() or "?", cipher[0] if cipher else "?", certificate)
        self.transcript.note(f"TLS established: {info.version}, {info.cipher}")
        return info

    def connect(self) -> str:
        """Resolve, connect, secure (implicit TLS or STARTTLS) and read the greeting and the
        capabilities. Returns the greeting."""
        sock = self._connect_socket(self._resolve())
        try:
            if self.security == "tls":
                sock = self._handshake(sock)
            self._greet(sock)
            if self.security == "starttls":
                self._starttls()
        except BaseException:
            self.close()
            with contextlib.suppress(OSError):
                sock.close()
            raise
        return self.greeting

    def _greet(self, sock: socket.socket) -> None:
        self.deadline.begin("waiting for the greeting")
        try:
            imap = _BoundedIMAP(sock, self.host, self.port, self.transcript, self.deadline)
        except ImapProblem:
            raise
        except (imaplib.IMAP4.error, _Unreadable, ValueError, TypeError, UnicodeError) as error:
            first = next((line.text for line in self.transcript.lines if line.who == "S"), "")
            if first.upper().startswith("* BYE"):
                raise ImapProblem(
                    "disconnected", "the server refused the session in its greeting", reply=first
                ) from None
            raise ImapProblem(
                "not_imap",
                f"the server does not speak IMAP: {first[:120]!r}"
                if first
                else f"the server does not speak IMAP ({_text(error)})",
                reply=first or None,
            ) from None
        except Exception as error:
            raise ImapProblem(
                "not_imap", f"the server does not speak IMAP ({type(error).__name__})"
            ) from None
        self._imap = imap
        welcome = imap.welcome
        self.greeting = welcome.decode("utf-8", "replace") if isinstance(welcome, bytes) else ""
        self._capabilities = frozenset(capability.upper() for capability in imap.capabilities)

    def _starttls(self) -> None:
        imap = self._session()
        if "STARTTLS" not in self._capabilities:
            raise ImapProblem("starttls_refused", "the server does not offer STARTTLS")
        with self._step("STARTTLS"):
            status, data = imap.xatom("STARTTLS")
        if status != "OK":
            raise ImapProblem(
                "starttls_refused", "the server refused STARTTLS", reply=_reply_text(data)
            )
        imap.nothing_buffered()
        secured = self._handshake(imap.sock)
        imap.replace_socket(secured)
        self._refresh_capabilities(from_response=False)

    def _refresh_capabilities(self, *, from_response: bool) -> None:
        """The capabilities after TLS or login (they may change, RFC 3501 6.2.1 and 6.2.3):
        from the tagged OK's [CAPABILITY ...] when the server sent it, else by asking."""
        imap = self._session()
        with self._step("CAPABILITY"):
            data: list[Any] = [None]
            if from_response:
                _, data = imap.response("CAPABILITY")
            if not data or data[-1] is None:
                status, data = imap.capability()
                if status != "OK":
                    raise ImapProblem("protocol", "the server refused CAPABILITY")
            last = data[-1] if data else None
            if not isinstance(last, bytes):
                raise ImapProblem("protocol", "the server sent no CAPABILITY")
            self._capabilities = frozenset(last.decode("ascii", "replace").upper().split())
            imap.capabilities = tuple(sorted(self._capabilities))

    def capabilities(self) -> frozenset[str]:
        """What the server announced last (upper case): IMAP4REV1, SPECIAL-USE, UIDPLUS..."""
        return self._capabilities

    # --- Login -------------------------------------------------------------------------------

    def login(self, user: str, password: str) -> str:
        """LOGIN (AUTHENTICATE PLAIN when the user name or password is not printable ASCII).
        Returns the server's text. ImapProblem 'login_refused' carries the server's reply."""
        imap = self._session()
        secrets.current().add_login(user, password)
        if imap.state == "AUTH":
            return "PREAUTH"
        plain = not (_quotable(user) and _quotable(password))
        if "LOGINDISABLED" in self._capabilities:
            if "AUTH=PLAIN" not in self._capabilities:
                raise ImapProblem(
                    "login_refused",
                    "the server does not allow LOGIN here (LOGINDISABLED)",
                    data={"logindisabled": True},
                )
            plain = True
        if plain and "AUTH=PLAIN" not in self._capabilities:
            raise ImapProblem(
                "credentials_not_ascii",
                "the user name or password is not printable ASCII, and the server does not "
                "offer AUTHENTICATE PLAIN to send it in UTF-8",
            )
        data: Any
        with self._step("LOGIN"):
            if plain:
                payload = f"\0{user}\0{password}".encode()
                try:
                    status, data = imap.authenticate("PLAIN", lambda _challenge: payload)
                except imaplib.IMAP4.error as error:
                    raise ImapProblem(
                        "login_refused", "the server refused the login", reply=_text(error)
                    ) from None
            else:
                status, data = imap.xatom("LOGIN", _astring(user), _astring(password))
        reply = _reply_text(data)
        if status != "OK":
            raise ImapProblem("login_refused", "the server refused the login", reply=reply)
        imap.state = "AUTH"
        self._refresh_capabilities(from_response=True)
        return reply

    # --- Folders -------------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        """Every folder with its attributes: `LIST "" "*"`, and when the server announces
        SPECIAL-USE also `LIST (SPECIAL-USE) "" "*"`, whose attributes are added."""
        imap = self._session()
        with self._step("LIST"):
            status, data = imap.xatom("LIST", '""', '"*"')
            _, lines = imap.response("LIST")
            if status != "OK":
                raise ImapProblem(
                    "command_failed", "the server refused LIST", reply=_reply_text(data)
                )
            folders = parse_list_response(lines)
        if "SPECIAL-USE" in self._capabilities:
            try:
                with self._step("LIST (SPECIAL-USE)"):
                    status, _ = imap.xatom("LIST", "(SPECIAL-USE)", '""', '"*"')
                    _, lines = imap.response("LIST")
                    special = parse_list_response(lines) if status == "OK" else []
            except ImapProblem as problem:
                if problem.kind != "command_failed":
                    raise
                special = []
            extra = {folder.mailbox: folder.attributes for folder in special}
            folders = [
                Folder(
                    f.name, f.attributes | extra.get(f.mailbox, frozenset()), f.delimiter, f.wire
                )
                for f in folders
            ]
            known = {folder.mailbox for folder in folders}
            folders += [folder for folder in special if folder.mailbox not in known]
        return folders

    def _mailbox(self, folder: Folder | str) -> str:
        if isinstance(folder, Folder):
            return folder.mailbox
        return "INBOX" if folder.upper() == "INBOX" else encode_utf7(folder)

    def _select(self, folder: Folder | str, *, writable: bool, again: bool = True) -> None:
        """SELECT (writable) or EXAMINE `folder`; with `again` false, nothing when it is open
        already in a mode that will do."""
        imap = self._session()
        mailbox = self._mailbox(folder)
        if not again and self._selected is not None:
            open_name, open_writable = self._selected
            if open_name == mailbox and (open_writable or not writable):
                return
        if not _quotable(mailbox):
            raise ImapProblem("no_such_folder", f"the folder name {mailbox!r} cannot be sent")
        verb = "SELECT" if writable else "EXAMINE"
        with self._step(f"{verb} {mailbox}"):
            status, data = imap.select(_astring(mailbox), readonly=not writable)
        if status != "OK":
            self._selected = None
            raise ImapProblem(
                "no_such_folder",
                f"the server cannot open the folder {decode_utf7(mailbox)!r}",
                reply=_reply_text(data),
            )
        self._selected = (mailbox, writable)

    # --- Messages ------------------------------------------------------------------------------

    def find(self, folder: Folder | str, header: str, value: str) -> list[int]:
        """UIDs of the messages in `folder` with a `header` field containing `value`
        (EXAMINE, then UID SEARCH HEADER)."""
        if not _quotable(header) or not _quotable(value) or not header.strip():
            raise ImapProblem("protocol", "the header and value must be printable ASCII")
        self._select(folder, writable=False)
        return self._search("HEADER", _astring(header), _astring(value))

    def _search(self, *criteria: str) -> list[int]:
        imap = self._session()
        with self._step("UID SEARCH"):
            status, data = imap.uid("SEARCH", *criteria)
            if status != "OK":
                raise ImapProblem(
                    "command_failed", "the server refused the search", reply=_reply_text(data)
                )
            found: list[int] = []
            for part in data:
                if part is None:
                    continue
                if not isinstance(part, bytes):
                    raise _Unreadable("a SEARCH response with a literal")
                for word in part.split():
                    if not word.isdigit() or len(word) > 10:
                        raise _Unreadable(f"a SEARCH result that is not a UID: {word[:20]!r}")
                    found.append(int(word))
            return sorted(set(found))

    def headers(self, folder: Folder | str, uid: int) -> bytes:
        """The header of message `uid` (UID FETCH uid (BODY.PEEK[HEADER]); not marked seen)."""
        self._select(folder, writable=False, again=False)
        imap = self._session()
        with self._step("UID FETCH"):
            status, data = imap.uid("FETCH", str(int(uid)), "(BODY.PEEK[HEADER])")
            if status != "OK":
                raise ImapProblem(
                    "command_failed", "the server refused the fetch", reply=_reply_text(data)
                )
            for group in _grouped(data):
                items = parse_items(_segments(group))
                attributes = _fetch_attributes(items)
                seen_uid = attributes.get("UID")
                if isinstance(seen_uid, bytes) and seen_uid.isdigit() and int(seen_uid) != uid:
                    continue
                value = attributes.get("BODY[HEADER]")
                if value is None:
                    continue
                header = _string(value)
                return header or b""
        raise ImapProblem("no_such_message", f"message {uid} is not in the folder")

    def delete(self, folder: Folder | str, uid: int) -> Deletion:
        """Flag message `uid` \\Deleted and expunge it: UID EXPUNGE with UIDPLUS; without it
        EXPUNGE, but only when no other message of the folder is flagged \\Deleted (EXPUNGE
        would remove those too); otherwise the message stays, flagged."""
        self._select(folder, writable=True)
        imap = self._session()
        name = folder.name if isinstance(folder, Folder) else folder
        with self._step("UID STORE"):
            status, data = imap.uid("STORE", str(int(uid)), "+FLAGS", "(\\Deleted)")
        if status != "OK":
            raise ImapProblem(
                "command_failed", "the server refused to flag the message", reply=_reply_text(data)
            )
        if "UIDPLUS" in self._capabilities:
            with self._step("UID EXPUNGE"):
                status, data = imap.uid("EXPUNGE", str(int(uid)))
        else:
            others = [found for found in self._search("DELETED") if found != uid]
            if others:
                return Deletion(
                    name,
                    uid,
                    False,
                    f"left flagged \\Deleted: the server has no UIDPLUS, and EXPUNGE would also "
                    f"remove {len(others)} other message(s) flagged for deletion",
                )
            with self._step("EXPUNGE"):
                status, data = imap.expunge()
        if status != "OK":
            raise ImapProblem(
                "command_failed", "the server refused to expunge", reply=_reply_text(data)
            )
        return Deletion(name, uid, True)

    def noop(self) -> None:
        imap = self._session()
        with self._step("NOOP"):
            imap.noop()

    def wait_for(
        self,
        folders: Sequence[Folder | str],
        header: str,
        value: str,
        *,
        within: float,
        every: float = 2.0,
        since: float | None = None,
    ) -> Found | None:
        """Search `folders` in order, again every `every` seconds, until a message with
        `header` containing `value` turns up or `within` seconds (and the budget) run out."""
        started = time.monotonic() if since is None else since
        ends = min(time.monotonic() + within, self.deadline.ends - 1.0)
        searches = 0
        while True:
            for folder in folders:
                searches += 1
                uids = self.find(folder, header, value)
                if uids:
                    chosen = folder if isinstance(folder, Folder) else Folder(folder)
                    seconds = round(time.monotonic() - started, 1)
                    self.transcript.note(f"found in {chosen.name} after {seconds:g} s")
                    return Found(chosen, uids[-1], seconds, searches)
            left = ends - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(every, left))

    # --- The end ----------------------------------------------------------------------------

    def logout(self) -> None:
        """LOGOUT (waiting at most LOGOUT_WAIT for the answer), then close. Never raises."""
        imap = self._imap
        try:
            if imap is not None and not self._broken and self.deadline.remaining() > 0:
                wait = min(LOGOUT_WAIT, self.timeout, self.deadline.remaining())
                self.deadline.begin("LOGOUT", wait)
                imap.state = "LOGOUT"
                imap.xatom("LOGOUT")
        except Exception:  # the session is over either way
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection without a word. Never raises."""
        imap, self._imap = self._imap, None
        if imap is not None:
            with contextlib.suppress(Exception):
                imap.shutdown()

    def __enter__(self) -> ImapClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logout()


def _text(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else str(error)
    return text.removeprefix("b'").removesuffix("'") if text.startswith("b'") else text


def _reply_text(data: Any) -> str:
    """The text of a tagged response, as imaplib returns it ([b'...'])."""
    if isinstance(data, (list, tuple)) and data:
        last = data[-1]
        if isinstance(last, bytes):
            return last.decode("utf-8", "replace")
        if isinstance(last, tuple) and last and isinstance(last[0], bytes):
            return last[0].decode("utf-8", "replace")
        return "" if last is None else str(last)
    return ""
