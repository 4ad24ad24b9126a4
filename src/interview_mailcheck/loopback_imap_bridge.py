"""From a LoopbackSMTP into a LoopbackIMAP (see loopback_imap.py): each message the SMTP server
accepts is delivered into a folder with the Authentication-Results header a router chooses."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from interview_mailcheck.loopback import LoopbackSMTP, Received


class Mailboxes(Protocol):
    """Where accepted mail is put: a LoopbackIMAP, or (in the tests) a real Dovecot's Maildirs."""

    @property
    def users(self) -> Mapping[str, str]: ...

    def deliver(self, user: str, folder: str, message: bytes) -> object: ...


@dataclass(frozen=True)
class Delivery:
    """Where one accepted message goes, and the Authentication-Results header it gets there
    (None: no header added)."""

    folder: str
    authentication_results: str | None = None
    rewrite_from: str | None = None
    """The From the message gets (as Gmail puts the account's own address in place of one
    that is not a verified Send-As alias); None leaves it."""


Router = Callable[["Received"], "Delivery | None"]
"""Chooses the Delivery of each accepted message; None drops it (as a silent discard)."""


def authentication_results(
    authserv_id: str,
    domain: str,
    *,
    spf: str = "pass",
    dkim: str = "pass",
    dmarc: str = "pass",
) -> str:
    """An Authentication-Results value as a receiving server writes it."""
    return (
        f"{authserv_id}; spf={spf} smtp.mailfrom={domain}; "
        f"dkim={dkim} header.d={domain} header.i=@{domain}; "
        f"dmarc={dmarc} header.from={domain}"
    )


def in_turn(*deliveries: Delivery) -> Router:
    """The first message goes to deliveries[0], the second to deliveries[1]...; the last
    repeats."""
    if not deliveries:
        raise ValueError("in_turn needs at least one delivery")
    counter = itertools.count()

    def route(received: Received) -> Delivery:
        return deliveries[min(next(counter), len(deliveries) - 1)]

    return route


def _replace_from(data: bytes, sender: str) -> bytes:
    """`data` with its From header field (and any folded lines of it) replaced by `sender`."""
    eol = b"\r\n" if b"\r\n" in data else b"\n"
    head, separator, body = data.partition(eol + eol)
    kept: list[bytes] = []
    in_from = False
    for line in head.split(eol):
        folded = line[:1] in (b" ", b"\t")
        in_from = in_from if folded else line.lower().startswith(b"from:")
        if not in_from:
            kept.append(line)
    return eol.join([f"From: {sender}".encode(), *kept]) + separator + body


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip("<> ") or "example.invalid"


def demo_router(authserv_id: str = "mx.loopback.test", junk: str = "Junk") -> Router:
    """For the demo: the first message arrives in INBOX with spf, dkim and dmarc passing; the
    next ones in `junk` with dmarc=fail (DKIM signed by another domain)."""
    counter = itertools.count()

    def route(received: Received) -> Delivery:
        domain = _domain(received.sender)
        if next(counter) == 0:
            return Delivery("INBOX", authentication_results(authserv_id, domain))
        return Delivery(
            junk,
            authentication_results(authserv_id, domain, spf="softfail", dkim="none", dmarc="fail"),
        )

    return route


class SmtpToImap:
    """Delivers what a LoopbackSMTP accepts into a LoopbackIMAP (any `Mailboxes`), without
    changing either.

    `attach()` wraps the SMTP handler's `handle_DATA` on that one instance (aiosmtpd looks the
    hook up for each new connection), so a message lands in the IMAP store as the SMTP server
    answers 250, as an MTA hands it to the mailbox. Messages accepted before `attach` (or
    without it) are delivered with `deliver_all(smtp.messages)`. Each goes to the recipient who
    is a user of the IMAP server, else to `default_user`.
    """

    def __init__(
        self,
        smtp: LoopbackSMTP,
        imap: Mailboxes,
        route: Router,
        *,
        default_user: str | None = None,
    ) -> None:
        self.smtp = smtp
        self.imap = imap
        self.route = route
        self.default_user = default_user
        self.delivered: list[tuple[str, str, object]] = []
        """(user, folder, what `deliver` gave: the UID, the file) of each delivery."""
        self._original: Callable[..., Awaitable[str]] | None = None
        self._lock = threading.Lock()

    def deliver(self, received: Received) -> tuple[str, str, object] | None:
        delivery = self.route(received)
        if delivery is None:
            return None
        users = self.imap.users
        user = next((r for r in received.recipients if r in users), self.default_user)
        if user is None or user not in users:
            return None
        data = received.data
        if delivery.rewrite_from is not None:
            data = _replace_from(data, delivery.rewrite_from)
        if delivery.authentication_results is not None:
            value = " ".join(delivery.authentication_results.split())
            data = f"Authentication-Results: {value}\r\n".encode() + data
        uid = self.imap.deliver(user, delivery.folder, data)
        with self._lock:
            self.delivered.append((user, delivery.folder, uid))
        return user, delivery.folder, uid

    def deliver_all(self, received: Iterable[Received]) -> int:
        return sum(self.deliver(message) is not None for message in received)

    def attach(self) -> SmtpToImap:
        handler = self.smtp.handler
        original = handler.handle_DATA
        self._original = original
        bridge = self

        async def handle_DATA(server: Any, session: Any, envelope: Any) -> str:
            before = len(handler.messages)
            reply = await original(server, session, envelope)
            if reply.startswith("250") and len(handler.messages) > before:
                bridge.deliver(handler.messages[-1])
            return reply

        setattr(handler, "handle_DATA", handle_DATA)  # noqa: B010  (an instance attribute)
        return self

    def detach(self) -> None:
        if self._original is not None:
            with contextlib.suppress(AttributeError):
                delattr(self.smtp.handler, "handle_DATA")
            self._original = None

    def __enter__(self) -> SmtpToImap:
        return self.attach()

    def __exit__(self, *exc_info: object) -> None:
        self.detach()


def wait_for_delivery(bridge: SmtpToImap, count: int, timeout: float) -> bool:
    """Whether `count` messages have been delivered within `timeout` seconds."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if len(bridge.delivered) >= count:
            return True
        time.sleep(0.01)
    return len(bridge.delivered) >= count
