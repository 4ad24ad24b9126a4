"""IMAP servers on loopback for the IMAP client's tests: the real ones behind one interface,
and raw peers that follow a script, for what no real server will do.

`MailServer` is one interface to Dovecot (support.imap) and to the loopback IMAP server of
`mailcheck demo`, for the fixtures of support.imap_servers.

`ImapPeer` answers each command line with what a function returns: bytes to send (anything
at all), or None to hang up. It speaks implicit TLS with a trustme certificate (or plain text,
for the greeting tests of a STARTTLS client) and records every line it was sent.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import trustme

from support.imap import USER
from support.peers import RawPeer

TOKEN_HEADER = "X-Mailcheck-Token"
AUTH_RESULTS = (
    "mx.example.test; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; "
    "dmarc=pass header.from=example.com"
)


def invitation(token: str, subject: str = "Your interview on Tuesday") -> bytes:
    """A test message as send-test will send it: the token in a header and in the Subject."""
    message = EmailMessage()
    message["From"] = "Hiring <jobs@example.com>"
    message["To"] = USER
    message["Subject"] = f"{subject} [{token}]"
    message["Message-ID"] = f"<{token}@example.com>"
    message["Authentication-Results"] = AUTH_RESULTS
    message[TOKEN_HEADER] = token
    message.set_content("Please confirm the time.\n")
    return message.as_bytes()


# --- One interface to both real servers -----------------------------------------------------------


class MailServer(Protocol):
    name: str
    tls_port: int
    plain_port: int
    ca: Any

    @property
    def junk(self) -> str: ...

    def ssl_context(self) -> ssl.SSLContext: ...

    def put(self, message: bytes, folder: str = "INBOX") -> None: ...

    def tokens(self) -> list[tuple[str, str | None]]:
        """(folder, X-Mailcheck-Token) of every message of USER."""
        ...


@dataclass
class _DovecotServer:
    server: Any
    name: str = "dovecot"

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.server, attribute)

    @property
    def tls_port(self) -> int:
        return int(self.server.tls_port)

    @property
    def plain_port(self) -> int:
        return int(self.server.plain_port)

    @property
    def ca(self) -> Any:
        return self.server.ca

    @property
    def junk(self) -> str:
        return str(self.server.junk)

    def ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext = self.server.ssl_context()
        return context

    def put(self, message: bytes, folder: str = "INBOX") -> None:
        self.server.deliver(USER, message, folder=folder)

    def tokens(self) -> list[tuple[str, str | None]]:
        return [(m.folder, m.header(TOKEN_HEADER)) for m in self.server.messages(USER)]


@dataclass
class _LoopbackServer:
    server: Any
    name: str = "loopback"

    @property
    def tls_port(self) -> int:
        return int(self.server.tls_port)

    @property
    def plain_port(self) -> int:
        return int(self.server.plain_port)

    @property
    def ca(self) -> Any:
        return self.server.ca

    @property
    def junk(self) -> str:
        return str(self.server.junk)

    def ssl_context(self) -> ssl.SSLContext:
        context: ssl.SSLContext = self.server.ssl_context()
        return context

    def put(self, message: bytes, folder: str = "INBOX") -> None:
        self.server.deliver(USER, folder, message)

    def tokens(self) -> list[tuple[str, str | None]]:
        return [(m.folder, m.header(TOKEN_HEADER)) for m in self.server.messages(USER)]


# --- Scripted raw peers ---------------------------------------------------------------------------

GREETING = b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS SPECIAL-USE] hostile.test ready\r\n"
Answer = Callable[[bytes, bytes, bytes], "bytes | None"]
"""(tag, verb in upper case, the whole line) -> what to send, or None to hang up."""


def ordinary(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
    """What a plain, well-behaved server answers to the commands of a confirm round."""
    if verb == b"CAPABILITY":
        return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN UIDPLUS SPECIAL-USE\r\n" + tag + b" OK done\r\n"
    if verb == b"LOGOUT":
        return b"* BYE bye\r\n" + tag + b" OK done\r\n"
    if verb in (b"SELECT", b"EXAMINE"):
        return b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag + b" OK [READ-WRITE] done\r\n"
    if verb == b"LIST":
        return b'* LIST (\\HasNoChildren) "/" INBOX\r\n' + tag + b" OK done\r\n"
    if verb == b"UID":
        return b"* SEARCH 1\r\n" + tag + b" OK done\r\n"
    return tag + b" OK done\r\n"


def answering(overrides: dict[bytes, Answer]) -> Answer:
    """`ordinary`, except for the verbs in `overrides`."""

    def answer(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        chosen = overrides.get(verb)
        return (chosen or ordinary)(tag, verb, line)

    return answer


class ImapPeer(RawPeer):
    """A raw IMAP peer on 127.0.0.1 that greets with `greeting` (None: says nothing) and
    answers each line with `answer`."""

    def __init__(
        self,
        answer: Answer = ordinary,
        *,
        greeting: bytes | None = GREETING,
        tls: bool = True,
        ca: trustme.CA | None = None,
        handshake: bool = True,
    ) -> None:
        self.ca = ca or trustme.CA()
        self.answer = answer
        self.greeting = greeting
        self.tls = tls
        self.handshake = handshake
        self.lines: list[bytes] = []
        self._secured: dict[int, socket.socket] = {}
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("localhost", "127.0.0.1").configure_cert(self._server_context)
        super().__init__(self._behave)

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def _behave(self, client: socket.socket, peer: RawPeer) -> None:
        sock: socket.socket = client
        try:
            self._converse(client, peer)
        finally:
            # The TLS socket took over the connection: closing `client` alone would not end it.
            sock = self._secured.pop(id(client), client)
            sock.close()

    def _converse(self, client: socket.socket, peer: RawPeer) -> None:
        sock: socket.socket = client
        if self.tls:
            if not self.handshake:
                peer.wait(30)
                return
            client.settimeout(5)
            sock = self._server_context.wrap_socket(client, server_side=True)
            self._secured[id(client)] = sock
        if self.greeting is None:
            peer.wait(30)
            return
        sock.sendall(self.greeting)
        while not peer.stopped.is_set():
            line = peer.read_line(sock)
            if not line:
                return
            self.lines.append(line)
            words = line.split(b" ", 2)
            tag = words[0]
            verb = words[1].strip().upper() if len(words) > 1 else b""
            reply = self.answer(tag, verb, line)
            if reply is None:
                return
            ending = next((end for end in (HANG, CLOSE) if reply.endswith(end)), b"")
            reply = reply[: len(reply) - len(ending)]
            if reply:
                sock.sendall(reply)
            if ending == HANG:
                peer.wait(30)
                return
            if ending == CLOSE:
                return


HANG = b"<hang>"
"""At the end of an answer: send what comes before it, then nothing more, the connection kept
open until the peer stops."""
CLOSE = b"<close>"
"""At the end of an answer: send what comes before it, then hang up."""


def hang(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
    return HANG
