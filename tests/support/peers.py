"""Raw TCP peers on loopback that misbehave on purpose, for what aiosmtpd will not do.

Each connection runs a behaviour function in its own thread; everything the client sends is
recorded, so a test can prove what did (or did not) reach the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

Behaviour = Callable[[socket.socket, "RawPeer"], None]


class RawPeer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received = bytearray()
        self.connections = 0
        self.stopped = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port: int = self._listener.getsockname()[1]
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._clients.append(client)
            threading.Thread(target=self._run, args=(client,), daemon=True).start()

    def _run(self, client: socket.socket) -> None:
        try:
            self.behaviour(client, self)
        except OSError:
            pass
        finally:
            client.close()

    def read_line(self, client: socket.socket, timeout: float = 5.0) -> bytes:
        """Read one line from the client, recording it."""
        client.settimeout(timeout)
        line = bytearray()
        while not line.endswith(b"\n"):
            chunk = client.recv(1)
            if not chunk:
                break
            line += chunk
        with self._lock:
            self.received += line
        return bytes(line)

    def wait(self, seconds: float) -> None:
        self.stopped.wait(seconds)

    def __enter__(self) -> RawPeer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stopped.set()
        self._listener.close()
        with self._lock:
            for client in self._clients:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
                client.close()


# --- Behaviours -------------------------------------------------------------------------------


def garbage_banner(client: socket.socket, peer: RawPeer) -> None:
    client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    peer.wait(1)


def silent(client: socket.socket, peer: RawPeer) -> None:
    peer.wait(30)


def hang_up_after_ehlo(client: socket.socket, peer: RawPeer) -> None:
    client.sendall(b"220 flaky.test ESMTP\r\n")
    peer.read_line(client)


def endless_reply(client: socket.socket, peer: RawPeer) -> None:
    """A banner whose continuation lines never end."""
    while not peer.stopped.is_set():
        client.sendall(b"220-still greeting you\r\n" * 50)
        time.sleep(0.001)


def endless_line(client: socket.socket, peer: RawPeer) -> None:
    """A banner line that never ends."""
    client.sendall(b"220 ")
    while not peer.stopped.is_set():
        client.sendall(b"x" * 1024)
        time.sleep(0.001)


def trickle(client: socket.socket, peer: RawPeer) -> None:
    """One byte at a time, each well inside the timeout, never finishing the greeting."""
    client.sendall(b"220-")
    while not peer.stopped.is_set():
        client.sendall(b"z")
        peer.wait(0.05)


def no_starttls_but_auth(client: socket.socket, peer: RawPeer) -> None:
    """A plain server that offers AUTH but not STARTTLS, and records everything it is sent."""
    client.sendall(b"220 plain.test ESMTP\r\n")
    while not peer.stopped.is_set():
        line = peer.read_line(client)
        if not line:
            return
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb in (b"EHLO", b"HELO"):
            client.sendall(b"250-plain.test\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n")
        elif verb == b"QUIT":
            client.sendall(b"221 bye\r\n")
            return
        elif verb == b"AUTH":
            client.sendall(b"235 2.7.0 accepted\r\n")
        else:
            client.sendall(b"250 OK\r\n")


def listening_but_full() -> tuple[socket.socket, socket.socket, int]:
    """A port whose accept queue is full, so a new connection times out (as behind a firewall).

    Returns the listening socket, the connection that fills the queue, and the port.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=2)
    return listener, filler, port


def _dialogue(
    client: socket.socket, peer: RawPeer, answer: Callable[[bytes], bytes | None]
) -> None:
    """Greet, then answer each line with `answer(line)`; None ends the session."""
    client.sendall(b"220 hostile.test ESMTP\r\n")
    while not peer.stopped.is_set():
        line = peer.read_line(client)
        if not line:
            return
        reply = answer(line)
        if reply is None:
            return
        client.sendall(reply)


def _ehlo_or(other: Callable[[bytes, bytes], bytes | None], features: bytes) -> Answer:
    def answer(line: bytes) -> bytes | None:
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb in (b"EHLO", b"HELO"):
            return b"250-hostile.test\r\n" + features + b"250 HELP\r\n"
        if verb == b"QUIT":
            return b"221 bye\r\n"
        return other(verb, line)

    return answer


Answer = Callable[[bytes], "bytes | None"]


def starttls_then_plain(client: socket.socket, peer: RawPeer) -> None:
    """Offers STARTTLS, answers 220 to it, then keeps talking plain SMTP."""

    def other(verb: bytes, line: bytes) -> bytes | None:
        if verb == b"STARTTLS":
            return b"220 2.0.0 Ready to start TLS\r\n250 still plain text\r\n"
        return b"250 OK\r\n"

    _dialogue(client, peer, _ehlo_or(other, b"250-STARTTLS\r\n"))


def greeting_code(code: bytes) -> Behaviour:
    """Greets with a reply code outside 2xx-5xx, e.g. b'999'."""

    def behaviour(client: socket.socket, peer: RawPeer) -> None:
        client.sendall(code + b" hostile.test greets oddly\r\n")
        peer.read_line(client)

    return behaviour


def auth_answers(reply: bytes, mechanisms: bytes = b"PLAIN LOGIN") -> Behaviour:
    """A plain server offering AUTH that answers every AUTH line with `reply` (b'503 ...', or a
    challenge b'334 notbase64'), and records what it is sent."""

    def behaviour(client: socket.socket, peer: RawPeer) -> None:
        def other(verb: bytes, line: bytes) -> bytes | None:
            if verb == b"AUTH" or verb.startswith(b"*") or verb == b"":
                return reply
            return b"250 OK\r\n"

        _dialogue(client, peer, _ehlo_or(other, b"250-AUTH " + mechanisms + b"\r\n"))

    return behaviour


def after_greeting(answers: Callable[[int], bytes]) -> Behaviour:
    """Answers the n-th line it receives with `answers(n)` (for property tests of replies)."""

    def behaviour(client: socket.socket, peer: RawPeer) -> None:
        count = 0

        def answer(line: bytes) -> bytes | None:
            nonlocal count
            count += 1
            return answers(count)

        _dialogue(client, peer, answer)

    return behaviour


def busy_then_ready(busy: int, refusal: bytes | None) -> Behaviour:
    """The first `busy` connections are refused at the greeting with `refusal` (None: the
    connection is dropped at once); later ones get a plain server that offers AUTH, takes any
    login and any message."""

    def behaviour(client: socket.socket, peer: RawPeer) -> None:
        if peer.connections <= busy:
            if refusal is not None:
                client.sendall(refusal)
            return
        reading_data = False

        def answer(line: bytes) -> bytes | None:
            nonlocal reading_data
            if reading_data:
                if line.rstrip(b"\r\n") == b".":
                    reading_data = False
                    return b"250 2.0.0 queued as BUSY1\r\n"
                return b""
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                return b"250-ready.test\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
            if verb == b"AUTH":
                return b"235 2.7.0 Authentication successful\r\n"
            if verb == b"DATA":
                reading_data = True
                return b"354 go ahead\r\n"
            if verb == b"QUIT":
                client.sendall(b"221 bye\r\n")
                return None
            return b"250 OK\r\n"

        _dialogue(client, peer, answer)

    return behaviour
