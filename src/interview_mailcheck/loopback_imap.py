"""A small IMAP server on loopback, for `mailcheck demo` and the tests (a fresh machine has no
Dovecot). Pure Python (threads, ssl) with a trustme certificate, from the `demo` or `test` extra.

It speaks what `adapters.imap.ImapClient` uses, as Dovecot does: the greeting, CAPABILITY,
STARTTLS (plain port) or implicit TLS (TLS port), LOGIN and AUTHENTICATE PLAIN, LIST with
SPECIAL-USE attributes (and `LIST (SPECIAL-USE) ...`), SELECT/EXAMINE, UID SEARCH (HEADER, ALL,
DELETED, UNDELETED, UID), UID FETCH (BODY.PEEK[HEADER], BODY[HEADER], BODY.PEEK[], UID, FLAGS,
RFC822.SIZE), UID STORE, EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, NOOP, LOGOUT. The mailboxes live
in memory: `deliver(user, folder, message)` and `messages(user)`.

Like Dovecot on a remote connection, the plain port announces LOGINDISABLED and refuses LOGIN
until STARTTLS. A failed login answers `NO [AUTHENTICATIONFAILED] Authentication failed.`

Each connection runs in its own thread with an idle timeout, a line limit and a literal limit,
so one client cannot hold up another; `stop()` closes every connection.

`SmtpToImap` connects it to a `loopback.LoopbackSMTP` without changing that module: each
message the SMTP server accepts is delivered into a folder of the IMAP store (INBOX, Junk...)
with an Authentication-Results header chosen by a router (`in_turn`, `demo_router`).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from interview_mailcheck.loopback_imap_bridge import (
    Delivery,
    Router,
    SmtpToImap,
    authentication_results,
    demo_router,
    in_turn,
    wait_for_delivery,
)
from interview_mailcheck.loopback_imap_session import _Session
from interview_mailcheck.loopback_imap_store import (
    NAMED_FOLDERS,
    SPECIAL_USE_FOLDERS,
    FolderSpec,
    Listed,
    MailStore,
    StoredMessage,
    _Closed,
)

__all__ = [
    "NAMED_FOLDERS",
    "SPECIAL_USE_FOLDERS",
    "Delivery",
    "FolderSpec",
    "Listed",
    "LoopbackIMAP",
    "MailStore",
    "Router",
    "SmtpToImap",
    "StoredMessage",
    "authentication_results",
    "demo_router",
    "in_turn",
    "wait_for_delivery",
]

HOST = "127.0.0.1"
IDLE_TIMEOUT = 60.0
"""Seconds a connection may stay silent before the server closes it."""
MAX_CONNECTIONS = 64


class LoopbackIMAP:
    """An IMAP server on 127.0.0.1 with an implicit-TLS port (`tls_port`) and a STARTTLS port
    (`plain_port`), for one test or one demo, started and stopped as a context manager."""

    def __init__(
        self,
        users: dict[str, str],
        *,
        special_use: bool = True,
        folders: Sequence[FolderSpec] | None = None,
        ca: Any = None,
        certificate_names: tuple[str, ...] = ("localhost", "127.0.0.1"),
        plain_port: bool = True,
        plaintext_login: bool = False,
        uidplus: bool = True,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        """`folders` replaces the default set (SPECIAL_USE_FOLDERS, or NAMED_FOLDERS when
        `special_use` is false; INBOX is always there). `plaintext_login` lets LOGIN through
        on the plain port before STARTTLS (Dovecot does so for a client on its own address).
        Without `uidplus` the server neither announces nor accepts UID EXPUNGE."""
        import trustme

        if not users:
            raise ValueError("LoopbackIMAP needs at least one user")
        self.special_use = special_use
        chosen = (
            folders
            if folders is not None
            else (SPECIAL_USE_FOLDERS if special_use else NAMED_FOLDERS)
        )
        self.folders = tuple(chosen)
        self.store = MailStore(users, self.folders)
        self.ca = ca or trustme.CA()
        self.certificate_names = certificate_names
        self.plaintext_login = plaintext_login
        self.uidplus = uidplus
        self.idle_timeout = idle_timeout
        self.host = HOST
        self.tls_port = 0
        self.plain_port = 0
        self._want_plain = plain_port
        self.login_attempts: list[str] = []
        self.connections = 0
        self._listeners: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._context: ssl.SSLContext | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="mailcheck-loopback-imap-")

    # --- Certificates -------------------------------------------------------------------------

    def ca_file(self) -> str:
        path = Path(self._folder.name) / "ca.pem"
        if not path.exists():
            self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the server's certificate against `ca` only."""
        return ssl.create_default_context(cafile=self.ca_file())

    def server_context(self) -> ssl.SSLContext:
        if self._context is None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert(*self.certificate_names).configure_cert(context)
            self._context = context
        return self._context

    # --- Mailboxes ----------------------------------------------------------------------------

    @property
    def users(self) -> Mapping[str, str]:
        return self.store.users

    @property
    def junk(self) -> str:
        for spec in self.folders:
            if spec.special_use == "\\Junk":
                return spec.name
        for spec in self.folders:
            if spec.name.lower() in ("junk", "spam"):
                return spec.name
        raise LookupError("this server has no spam folder")

    def deliver(self, user: str, folder: str, message: bytes) -> int:
        """Put `message` into `user`'s `folder` (line ends made CRLF); returns its UID."""
        return self.store.deliver(user, folder, message)

    def messages(self, user: str, folder: str | None = None) -> list[Listed]:
        return self.store.messages(user, folder)

    # --- Running ------------------------------------------------------------------------------

    def _listen(self) -> socket.socket:
        listener = socket.socket()
        listener.bind((self.host, 0))
        listener.listen(16)
        self._listeners.append(listener)
        return listener

    def start(self) -> LoopbackIMAP:
        self.server_context()
        tls = self._listen()
        self.tls_port = int(tls.getsockname()[1])
        self._spawn(self._accept, tls, True)
        if self._want_plain:
            plain = self._listen()
            self.plain_port = int(plain.getsockname()[1])
            self._spawn(self._accept, plain, False)
        return self

    def _spawn(self, target: Callable[..., None], *arguments: Any) -> None:
        thread = threading.Thread(target=target, args=arguments, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._clients.add(sock)

    def _accept(self, listener: socket.socket, tls: bool) -> None:
        listener.settimeout(0.25)  # look at _stopping now and then, whatever accept() does
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                too_many = len(self._clients) >= MAX_CONNECTIONS
                self.connections += 1
            if too_many:
                with contextlib.suppress(OSError):
                    client.settimeout(1.0)
                    client.sendall(b"* BYE Too many connections.\r\n")
                client.close()
                continue
            self._track(client)
            self._spawn(self._serve, client, tls)

    def _serve(self, client: socket.socket, tls: bool) -> None:
        sock = client
        try:
            client.settimeout(self.idle_timeout)
            # Each response goes out in several writes: without this, Nagle's algorithm and
            # the client's delayed ACK hold every second one back for some 40 ms.
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls:
                sock = self.server_context().wrap_socket(client, server_side=True)
                self._track(sock)
            session = _Session(self, sock, tls)
            session.run()
            sock = session.connection.sock
        except (_Closed, OSError, ssl.SSLError, ValueError):
            pass
        finally:
            for each in {client, sock}:
                with contextlib.suppress(OSError):
                    each.close()
                with self._lock:
                    self._clients.discard(each)

    def stop(self) -> None:
        self._stopping.set()
        for listener in self._listeners:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept()
            with contextlib.suppress(OSError):
                listener.close()
        self._listeners.clear()
        with self._lock:
            clients = list(self._clients)
            threads = list(self._threads)
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                client.close()
        for thread in threads:
            thread.join(2.0)
        self._folder.cleanup()

    def __enter__(self) -> LoopbackIMAP:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
