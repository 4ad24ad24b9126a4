"""imaplib over bounded reads and writes, for adapters/imap.py: every read and write obeys the
session's Deadline and feeds its transcript; TLS failures become ImapProblems."""

from __future__ import annotations

import contextlib
import errno
import imaplib
import re
import socket
import ssl
import threading
from typing import Any

from interview_mailcheck.imap_session import Deadline, ImapProblem, ImapTranscript

MAX_LINE = 64 * 1024
"""A response line (CAPABILITY, LIST, SEARCH) longer than this is not a server's answer."""
MAX_LITERAL = 4 * 1024 * 1024
"""The largest literal read: a message header, generously."""
_LITERAL_MARK = re.compile(rb"\{(\d+)\+?\}\r?\n?$")


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


# --- Resolving and connecting ----------------------------------------------------------------


def resolve(host: str, port: int, deadline: Deadline) -> list[tuple[int, str]]:
    """The addresses of `host` from the system resolver, in a thread bounded by the deadline."""
    outcome: dict[str, Any] = {}

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            outcome["error"] = error

    deadline.begin(f"looking up {host}")
    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(deadline.wait())
    if worker.is_alive():
        raise ImapProblem("timeout", f"looking up {host} took longer than the timeout")
    error = outcome.get("error")
    if error is not None:
        code = getattr(error, "errno", None)
        if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            raise ImapProblem("no_such_host", f"{host} does not resolve: {error}")
        raise ImapProblem("resolve_failed", f"looking up {host} failed: {error}")
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in outcome.get("infos", []):
        entry = (int(family), str(sockaddr[0]))
        if entry not in seen:
            seen.append(entry)
    if not seen:
        raise ImapProblem("no_such_host", f"{host} has no address")
    return seen


def connect_socket(
    addresses: list[tuple[int, str]], port: int, deadline: Deadline
) -> tuple[socket.socket, str]:
    """A TCP connection to the first address that answers; refused and timed out told apart."""
    outcomes: list[str] = []
    kinds: list[str] = []
    for family, address in addresses:
        deadline.begin(f"connecting to {address} port {port}")
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.wait())
            sock.connect((address, port))
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
            return sock, address
        sock.close()
    kind = "connect_timeout" if "connect_timeout" in kinds else kinds[0]
    raise ImapProblem(kind, "; ".join(outcomes), data={"attempts": outcomes})


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
