"""SMTP over real sockets: the only module that imports smtplib, ssl and socket.

`SmtpClient` is the implementation of `smtp_session.SmtpSession`: one SMTP session, a step at
a time. Every read and write is bounded by a
per-step timeout and by one deadline for the whole session, so a silent, trickling or endless
peer ends in an `SmtpProblem`, never a hang. Library exceptions (socket, ssl, smtplib) are
translated here into `SmtpProblem` with a `kind` the check layer understands. A transcript
records both sides of the dialogue with credentials masked.
"""

from __future__ import annotations

import contextlib
import errno
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from interview_mailcheck import secrets
from interview_mailcheck.adapters.tls import (
    certificate_info,
    decode_der,
    django_context,
    tls_context,
    tls_problem,
    unverified_context,
)
from interview_mailcheck.smtp_session import (
    CertificateInfo,
    Reply,
    SmtpProblem,
    TlsInfo,
    Transcript,
)
from interview_mailcheck.values import QUICK_WAIT

MAX_LINE = 2048
"""RFC 5321 allows 512 octets per reply line; be generous, but not endless."""
MAX_REPLY_LINES = 256
AUTH_SUCCEEDED = 235


class Deadline:
    """A per-step timeout inside one budget for the whole session."""

    def __init__(self, step_timeout: float, budget: float) -> None:
        self.step_timeout = step_timeout
        self.ends = time.monotonic() + budget

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def step(self) -> float:
        remaining = self.remaining()
        if remaining <= 0:
            raise SmtpProblem("timeout", "the time allowed for the whole test ran out")
        return min(self.step_timeout, remaining)


# --- The SMTP dialogue ---------------------------------------------------------------------


class _BoundedSMTP(smtplib.SMTP):
    """smtplib's dialogue logic (EHLO parsing, STARTTLS, AUTH mechanisms, DATA quoting) over
    reads and writes that obey the deadline and feed the transcript."""

    def __init__(self, transcript: Transcript, deadline: Deadline, local_hostname: str) -> None:
        super().__init__(local_hostname=local_hostname)
        self._transcript = transcript
        self._deadline = deadline
        self._buffer = b""
        self._buffer_sock: object = None
        self._body_next = False
        self._received_any = False
        self._replied = False

    def send(self, s: str | bytes) -> None:  # type: ignore[override]
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        if self.sock is None:
            raise SmtpProblem("disconnected", "the connection is already closed")
        if self._body_next:
            self._body_next = False
            self._transcript.note(f"(message: {len(data)} bytes)")
        else:
            for line in data.decode("utf-8", "replace").split("\r\n"):
                if line:
                    self._transcript.client(line)
        try:
            self.sock.settimeout(self._deadline.step())
            self.sock.sendall(data)
        except TimeoutError:
            raise SmtpProblem("timeout", "the server stopped reading (write timed out)") from None
        except OSError as error:
            raise SmtpProblem(
                "disconnected", f"the connection broke while writing: {error}"
            ) from None

    def _readline(self) -> bytes:
        if self._buffer_sock is not self.sock:
            self._buffer, self._buffer_sock = b"", self.sock
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                if len(line) > MAX_LINE:
                    raise _too_long()
                return line
            if len(self._buffer) > MAX_LINE:
                raise _too_long()
            if self.sock is None:
                raise SmtpProblem("disconnected", "the connection is already closed")
            try:
                self.sock.settimeout(self._deadline.step())
                chunk = self.sock.recv(4096)
            except TimeoutError:
                if not self._received_any:
                    raise SmtpProblem("silent", "the server sent nothing at all") from None
                raise SmtpProblem(
                    "timeout", "the server sent nothing more (read timed out)"
                ) from None
            except ssl.SSLError as error:
                raise SmtpProblem("tls_failed", f"TLS error while reading: {error}") from None
            except OSError as error:
                raise SmtpProblem("disconnected", f"the connection broke: {error}") from None
            if not chunk:
                raise SmtpProblem("disconnected", "the server closed the connection")
            self._buffer += chunk
            self._received_any = True

    def getreply(self) -> tuple[int, bytes]:
        code: int | None = None
        texts: list[bytes] = []
        while True:
            raw = self._readline().rstrip(b"\r\n")
            head, separator = raw[:3], raw[3:4]
            if not (head.isdigit() and separator in (b" ", b"-", b"")):
                shown = raw[:80].decode("utf-8", "replace")
                self._transcript.note(f"not an SMTP reply: {shown!r}")
                raise SmtpProblem(
                    "not_smtp", f"the server sent something that is not SMTP: {shown!r}"
                )
            line_code = int(head)
            if not 200 <= line_code <= 599:
                self._transcript.note(f"not an SMTP reply code: {head.decode()}")
                kind = "protocol" if code is not None or self._replied else "not_smtp"
                raise SmtpProblem(
                    kind,
                    f"the server answered with the code {line_code}, which is no SMTP reply "
                    "code (they run from 200 to 599)",
                )
            if code is not None and line_code != code:
                raise SmtpProblem("protocol", "the server mixed reply codes within one reply")
            code = line_code
            self._transcript.server(code, raw.decode("utf-8", "replace"))
            texts.append(raw[4:])
            if separator != b"-":
                break
            if len(texts) >= MAX_REPLY_LINES:
                raise SmtpProblem(
                    "protocol", f"the server sent a reply of over {MAX_REPLY_LINES} lines"
                )
        if code == 354:
            self._body_next = True
        self._replied = True
        return code, b"\n".join(texts)


def _too_long() -> SmtpProblem:
    return SmtpProblem("protocol", f"the server sent a line longer than {MAX_LINE} bytes")


def _reply(code: int, message: bytes | str) -> Reply:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return Reply(code, tuple(text.split("\n")))


# --- Certificates ------------------------------------------------------------------------


# --- The client ----------------------------------------------------------------------------


class SmtpClient:
    """One SMTP session, driven a step at a time by the caller (smtp_session.SmtpSession)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        budget: float,
        cafile: str | None = None,
        insecure: bool = False,
        local_hostname: str | None = None,
        client_certificate: tuple[str, str] | None = None,
    ) -> None:
        """`client_certificate` (certfile, keyfile: EMAIL_SSL_CERTFILE, EMAIL_SSL_KEYFILE) makes
        the TLS context the one Django builds then: no CA trusted, `cafile` not read."""
        self.host = host
        self.port = port
        self.local_hostname = local_hostname or django_ehlo_name()
        """The EHLO name: what Django's SMTP backend sends (DNS_NAME, socket.getfqdn())."""
        self.timeout = timeout
        self.deadline = Deadline(timeout, budget)
        self.transcript = Transcript()
        self.context = (
            django_context(*client_certificate, insecure=insecure)
            if client_certificate
            else tls_context(cafile, insecure)
        )
        self.addresses: list[tuple[int, str]] = []
        self.address = ""
        self._smtp: _BoundedSMTP | None = None
        self._sock: socket.socket | None = None

    def remaining(self) -> float:
        return self.deadline.remaining()

    # resolve, connect

    def resolve(self) -> list[str]:
        """The addresses of the host, from the system resolver (/etc/hosts, localhost...)."""
        outcome: dict[str, Any] = {}

        def lookup() -> None:
            try:
                outcome["infos"] = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError, OSError) as error:
                outcome["error"] = error

        worker = threading.Thread(target=lookup, daemon=True)
        worker.start()
        worker.join(self.deadline.step())
        if worker.is_alive():
            raise SmtpProblem("timeout", f"looking up {self.host} took longer than the timeout")
        error = outcome.get("error")
        if error is not None:
            code = getattr(error, "errno", None)
            if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                raise SmtpProblem("no_such_host", f"{self.host} does not resolve: {error}")
            raise SmtpProblem("resolve_failed", f"looking up {self.host} failed: {error}")
        seen: list[tuple[int, str]] = []
        for family, _, _, _, sockaddr in outcome["infos"]:
            entry = (family, str(sockaddr[0]))
            if entry not in seen:
                seen.append(entry)
        self.addresses = seen
        return [address for _, address in seen]

    def connect(self) -> str:
        """Connect to the first address that answers; refused and timed out are told apart."""
        outcomes: list[str] = []
        kinds: list[str] = []
        for family, address in self.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.deadline.step())
                sock.connect((address, self.port))
            except ConnectionRefusedError:
                kinds.append("refused")
                outcomes.append(f"{address}: refused")
            except TimeoutError:
                kinds.append("connect_timeout")
                outcomes.append(f"{address}: timed out")
            except OSError as error:
                unreachable = error.errno in (
                    errno.ENETUNREACH,
                    errno.EHOSTUNREACH,
                    errno.EADDRNOTAVAIL,
                )
                kinds.append("unreachable" if unreachable else "connect_failed")
                outcomes.append(f"{address}: {error.strerror or error}")
            else:
                self._sock = sock
                self.address = address
                self.transcript.note(f"connected to {address} port {self.port}")
                return address
            sock.close()
        kind = (
            "connect_timeout"
            if "connect_timeout" in kinds
            else kinds[0]
            if kinds
            else "connect_failed"
        )
        raise SmtpProblem(kind, "; ".join(outcomes), data={"attempts": outcomes})

    def _session(self) -> _BoundedSMTP:
        if self._smtp is None:
            assert self._sock is not None, "connect() first"
            smtp = _BoundedSMTP(self.transcript, self.deadline, self.local_hostname)
            smtp.sock = self._sock
            smtp._host = self.host  # type: ignore[attr-defined]  # STARTTLS sends it as SNI
            self._smtp = smtp
        return self._smtp

    # TLS

    def _handshake(self, sock: socket.socket) -> ssl.SSLSocket:
        """The TLS handshake on `sock`, within the deadline; failures become SmtpProblems."""
        try:
            sock.settimeout(self.deadline.step())
            return self.context.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            raise SmtpProblem(
                "tls_timeout", "the server did not answer the TLS handshake"
            ) from None
        except ssl.SSLError as error:
            raise tls_problem(error) from None
        except OSError as error:
            raise SmtpProblem(
                "disconnected", f"the connection broke during the TLS handshake: {error}"
            ) from None

    def start_implicit_tls(self) -> TlsInfo:
        assert self._sock is not None, "connect() first"
        self._sock = self._handshake(self._sock)
        return self._tls_info(self._sock)

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

    def greet(self) -> Reply:
        code, message = self._session().getreply()
        return _reply(code, message)

    def ehlo(self) -> Reply:
        """EHLO, and HELO for a server that refuses EHLO with 5xx (an old one); a 421 is the
        server closing the session: nothing more is said."""
        smtp = self._session()
        code, message = smtp.ehlo()
        if code >= 500:
            helo_code, helo_message = smtp.helo()
            if 200 <= helo_code < 300:
                return _reply(helo_code, helo_message)
        return _reply(code, message)

    def offers(self, extension: str) -> bool:
        return self._session().has_extn(extension)

    def starttls(self) -> TlsInfo:
        smtp = self._session()
        code, message = smtp.docmd("STARTTLS")
        if code != 220:
            raise SmtpProblem(
                "starttls_refused", "the server refused STARTTLS", reply=_reply(code, message)
            )
        assert smtp.sock is not None
        try:
            wrapped = self._handshake(smtp.sock)
        except SmtpProblem as problem:
            if problem.kind == "tls_plaintext_peer":
                raise SmtpProblem(
                    "starttls_not_started",
                    "the server answered 220 to STARTTLS, then went on in plain text instead "
                    "of starting TLS",
                    reply=_reply(code, message),
                ) from None
            raise
        smtp.sock = wrapped
        smtp.file = None
        # The server's capabilities before TLS are void (RFC 3207 4.2): ask again.
        smtp.helo_resp = smtp.ehlo_resp = None
        smtp.esmtp_features = {}
        smtp.does_esmtp = False
        self._sock = wrapped
        return self._tls_info(wrapped)

    # login and send

    def login(self, user: str, password: str) -> Reply:
        smtp = self._session()
        secrets.current().add_login(user, password)
        try:
            code, message = smtp.login(user, password)
        except smtplib.SMTPAuthenticationError as error:
            raise SmtpProblem(
                "auth_refused",
                "the server refused the login",
                reply=_reply(error.smtp_code, error.smtp_error),
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise SmtpProblem("auth_not_offered", "the server does not offer AUTH") from None
        except smtplib.SMTPException as error:
            raise SmtpProblem("auth_not_offered", str(error)) from None
        except UnicodeEncodeError:
            raise SmtpProblem(
                "auth_not_ascii", "the user name or password is not ASCII; smtplib cannot send it"
            ) from None
        except SmtpProblem:
            raise
        except Exception as error:  # smtplib reading what the server sent: a bad challenge
            raise SmtpProblem(
                "protocol",
                f"the server's AUTH challenge could not be read ({type(error).__name__}: {error})",
            ) from None
        if code != AUTH_SUCCEEDED:
            # smtplib also returns on 503 (taking it for "already authenticated"): only 235 is
            # a login (RFC 4954), so anything else means the client is not logged in.
            raise SmtpProblem(
                "auth_not_confirmed",
                f"the server answered the login with {code}, not 235",
                reply=_reply(code, message),
            )
        return _reply(code, message)

    def envelope(self, sender: str, recipients: list[str]) -> Reply:
        """MAIL FROM and RCPT TO each recipient, then RSET: what the server would take, with
        nothing sent; the last RCPT reply."""
        reply = self._envelope(sender, recipients)
        self._smtp_call(lambda: self._session().rset())
        return reply

    def send(self, sender: str, recipients: list[str], message: bytes) -> Reply:
        """The envelope, then DATA; the server's reply to the message."""
        self._envelope(sender, recipients)
        try:
            code, text = self._smtp_call(lambda: self._session().data(message))
        except smtplib.SMTPDataError as error:
            raise SmtpProblem(
                "data_refused",
                "the server refused to take the message",
                reply=_reply(error.smtp_code, error.smtp_error),
            ) from None
        if code != 250:
            raise SmtpProblem(
                "data_refused", "the server refused the message", reply=_reply(code, text)
            )
        return _reply(code, text)

    def _envelope(self, sender: str, recipients: list[str]) -> Reply:
        smtp = self._session()
        code, text = self._smtp_call(lambda: smtp.mail(sender))
        if code != 250:
            raise SmtpProblem(
                "sender_refused",
                f"the server refused the sender {sender}",
                reply=_reply(code, text),
            )
        for recipient in recipients:
            code, text = self._smtp_call(lambda recipient=recipient: smtp.rcpt(recipient))  # type: ignore[misc]
            if code not in (250, 251):
                raise SmtpProblem(
                    "recipient_refused",
                    f"the server refused the recipient {recipient}",
                    reply=_reply(code, text),
                    data={"recipient": recipient},
                )
        return _reply(code, text)

    @staticmethod
    def _smtp_call(call: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        """One smtplib command; what it raises on a reply it cannot read is an SmtpProblem."""
        try:
            return call()
        except (SmtpProblem, smtplib.SMTPDataError):
            raise
        except (smtplib.SMTPException, UnicodeEncodeError) as error:
            raise SmtpProblem("protocol", f"the message could not be sent: {error}") from None
        except Exception as error:  # smtplib reading what the server sent
            raise SmtpProblem(
                "protocol", f"the server's reply could not be read ({type(error).__name__})"
            ) from None

    # probes for diagnosis, each on a connection of its own

    def probe_banner(self, wait: float) -> str | None:
        return probe_banner(self.address, self.port, wait)

    def probe_tls(self, wait: float) -> bool:
        return probe_tls(self.address, self.port, self.host, wait)

    def fetch_certificate(self, *, starttls: bool, wait: float) -> CertificateInfo | None:
        return fetch_certificate(self.address, self.port, self.host, starttls, wait)

    def close(self, *, quit: bool = True) -> None:
        """Say QUIT (waiting at most QUICK_WAIT for the answer) unless told not to, then
        close; never raises."""
        smtp, self._smtp = self._smtp, None
        try:
            if quit and smtp is not None and smtp.sock is not None:
                wait = min(QUICK_WAIT, self.deadline.remaining())
                if wait > 0:
                    smtp._deadline = Deadline(wait, wait)
                    smtp.docmd("QUIT")
        except Exception:  # the session is over either way
            pass
        finally:
            for sock in (smtp.sock if smtp else None, self._sock):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()
            self._sock = None


# --- Probes for diagnosis ----------------------------------------------------------------


def django_ehlo_name() -> str:
    """The name Django's SMTP backend sends in EHLO: socket.getfqdn(), cached as DNS_NAME."""
    return socket.getfqdn()


def probe_banner(address: str, port: int, wait: float) -> str | None:
    """The first line the port sends within `wait` seconds, or None if it stays silent."""
    try:
        with socket.create_connection((address, port), timeout=wait) as sock:
            sock.settimeout(wait)
            first = sock.recv(512)
    except OSError:
        return None
    text = first.decode("utf-8", "replace")
    return text.splitlines()[0] if text.strip() else None


def probe_tls(address: str, port: int, host: str, wait: float) -> bool:
    """Does the port answer a TLS handshake (whatever its certificate)?"""
    try:
        with socket.create_connection((address, port), timeout=wait) as sock:
            sock.settimeout(wait)
            unverified_context().wrap_socket(sock, server_hostname=host).close()
            return True
    except ssl.SSLError as error:
        # An alert from a TLS server still proves TLS; plain text does not.
        return tls_problem(error).kind != "tls_plaintext_peer"
    except OSError:
        return False


def fetch_certificate(
    address: str, port: int, host: str, starttls: bool, wait: float
) -> CertificateInfo | None:
    """The server's certificate, fetched WITHOUT verification, for display only."""
    client = SmtpClient(host, port, timeout=wait, budget=wait * 2)
    client.addresses = [(socket.AF_INET6 if ":" in address else socket.AF_INET, address)]
    client.context = unverified_context()
    try:
        client.connect()
        if starttls:
            client.greet()
            client.ehlo()
            client.starttls()
        else:
            client.start_implicit_tls()
        sock = client._sock
        der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        return decode_der(der) if der else None
    except (SmtpProblem, OSError, smtplib.SMTPException):
        return None
    finally:
        client.close()
