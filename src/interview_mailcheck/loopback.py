"""Real SMTP servers on loopback, for the tests and for `mailcheck demo`.

Built on aiosmtpd (the server) and trustme (a throwaway CA), from the `demo` or `test` extra.
A `LoopbackSMTP` speaks STARTTLS, implicit TLS or plain SMTP, accepts the credentials it is
given and answers others with a reply text of the caller's choice (Gmail's exact 535 by
default), and keeps every message it accepted.
"""

from __future__ import annotations

import logging
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

GMAIL_BAD_CREDENTIALS = (
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials x1-20020a170902 - gsmtp"
)
GENERIC_BAD_CREDENTIALS = "535 5.7.8 Authentication credentials invalid"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    login: str | None


@dataclass
class _Handler:
    queue_id: str
    messages: list[Received] = field(default_factory=list)
    reject_sender: str = ""
    reject_recipient: str = ""
    reject_data: str = ""
    """A refusal after DATA (a quota, a From the account may not use)."""
    verified: frozenset[str] = frozenset()
    """Like Amazon SES in its sandbox: when set, a message to anyone else is refused after DATA
    with SES's reply."""
    ehlo_needs_dot: bool = False
    """Like Google's smtp-relay: a 421 to an EHLO name that is not fully qualified (no dot, or
    an address literal)."""

    async def handle_EHLO(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        literal = hostname.startswith("[") or hostname.replace(".", "").isdigit()
        if self.ehlo_needs_dot and (literal or "." not in hostname):
            return ["421 4.7.0 Try again later, closing connection. (EHLO)"]
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self.reject_sender:
            return self.reject_sender
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self.reject_recipient:
            return self.reject_recipient
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.reject_data:
            return self.reject_data
        unverified = [a for a in envelope.rcpt_tos if self.verified and a not in self.verified]
        if unverified:
            return (
                "554 Message rejected: Email address is not verified. The following identities "
                f"failed the check in region EU-WEST-1: {', '.join(unverified)}"
            )
        data = envelope.original_content or b""
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self.messages.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(data), login)
        )
        return f"250 2.0.0 OK queued as {self.queue_id}"


class LoopbackSMTP:
    """An SMTP server on 127.0.0.1 for one test or one demo, started and stopped as a context."""

    def __init__(
        self,
        mode: Literal["starttls", "ssl", "plain"] = "starttls",
        *,
        users: dict[str, str] | None = None,
        bad_credentials_reply: str | Callable[[str, str], str] = GMAIL_BAD_CREDENTIALS,
        certificate_names: tuple[str, ...] = ("localhost", "127.0.0.1"),
        ca: Any = None,
        reject_sender: str = "",
        reject_recipient: str = "",
        reject_data: str = "",
        verified: frozenset[str] = frozenset(),
        ehlo_needs_dot: bool = False,
        auth_over_plaintext: bool = False,
        spaces_ignored: bool = False,
    ) -> None:
        import trustme

        self.mode = mode
        self.users = dict(users or {})
        self.bad_credentials_reply = bad_credentials_reply
        self.ca = ca or trustme.CA()
        self.certificate_names = certificate_names
        self.handler = _Handler(
            "MC" + format(id(self) % 0xFFFFFF, "06X"),
            [],
            reject_sender,
            reject_recipient,
            reject_data,
            verified,
            ehlo_needs_dot,
        )
        self.login_attempts: list[str] = []
        self.auth_over_plaintext = auth_over_plaintext
        self.spaces_ignored = spaces_ignored
        """Like Gmail, accept an App Password with the spaces Google shows in it."""
        self.port = 0
        self._controller: Controller | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="mailcheck-loopback-")
        self._lock = threading.Lock()

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def ca_file(self) -> str:
        """A PEM file of the CA that signed the server's certificate (for SSL_CERT_FILE)."""
        path = Path(self._folder.name) / "ca.pem"
        if not path.exists():
            self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*self.certificate_names).configure_cert(context)
        return context

    def _authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = data.login.decode("utf-8", "replace")
        password = data.password.decode("utf-8", "replace")
        if self.spaces_ignored:
            password = "".join(password.split())
        with self._lock:
            self.login_attempts.append(user)
        if self.users.get(user) == password:
            return AuthResult(success=True, auth_data=data)
        reply = self.bad_credentials_reply
        if callable(reply):  # a relay that echoes what it was sent (some do)
            reply = reply(user, password)
        return AuthResult(success=False, handled=False, message=reply)

    def start(self) -> LoopbackSMTP:
        # aiosmtpd logs a deprecation notice on every AUTH; keep the demo's output clean.
        logging.getLogger("mail.log").propagate = False
        logging.getLogger("mail.log").addHandler(logging.NullHandler())
        self.port = free_port()
        settings: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "server_hostname": "mx.loopback.test",
            "ident": "mailcheck loopback ESMTP",
        }
        if self.users:
            # aiosmtpd sees TLS only when it came through STARTTLS, so over implicit TLS (or
            # plain text, when asked) it must not insist on TLS before AUTH; and it only
            # requires AUTH where it also requires TLS.
            requires_tls = self.mode == "starttls" or (
                self.mode == "plain" and not self.auth_over_plaintext
            )
            settings.update(
                authenticator=self._authenticate,
                auth_require_tls=requires_tls,
                auth_required=requires_tls,
            )
        if self.mode == "starttls":
            settings.update(tls_context=self._server_context(), require_starttls=True)
        elif self.mode == "ssl":
            settings["ssl_context"] = self._server_context()
        controller = Controller(self.handler, **settings)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._folder.cleanup()

    def __enter__(self) -> LoopbackSMTP:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
