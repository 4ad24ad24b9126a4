"""The loopback IMAP server of `mailcheck demo` (loopback_imap.py) on its own: the standard
library's imaplib as a second client, LOGINDISABLED before STARTTLS, literals, limits, one
connection never holding up another, stop(); and SmtpToImap, which delivers what LoopbackSMTP
accepts into its folders with the Authentication-Results the demo wants. (The IMAP client's
tests in test_imap_client.py run against this server as well as against Dovecot.)"""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import socket
import ssl
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.imap import PASSWORD, USER
from support.imap_peers import TOKEN_HEADER, invitation

from interview_mailcheck import authresults, mailboxes
from interview_mailcheck.adapters.imap import ImapClient
from interview_mailcheck.loopback import LoopbackSMTP
from interview_mailcheck.loopback_imap import (
    Delivery,
    LoopbackIMAP,
    SmtpToImap,
    demo_router,
    in_turn,
    wait_for_delivery,
)

SENDER = "recruiter@example.com"
SENDER_PASSWORD = "smtp-app-password"


@pytest.fixture
def server() -> LoopbackIMAP:
    with LoopbackIMAP({USER: PASSWORD}) as started:
        yield started  # type: ignore[misc]


def raw(server: LoopbackIMAP, *, tls: bool = True, timeout: float = 5) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.tls_port if tls else server.plain_port))
    sock.settimeout(timeout)
    if tls:
        return server.ssl_context().wrap_socket(sock, server_hostname="localhost")
    return sock


def read_until(sock: socket.socket, ending: bytes) -> bytes:
    data = b""
    while ending not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# --- The standard library's imaplib as a client --------------------------------------------


def test_imaplib_round_trip(server: LoopbackIMAP) -> None:
    token = uuid.uuid4().hex
    server.deliver(USER, "Junk", invitation(token))
    client = imaplib.IMAP4_SSL("localhost", server.tls_port, ssl_context=server.ssl_context())
    try:
        assert client.login(USER, PASSWORD)[0] == "OK"
        status, listed = client.list()
        assert status == "OK" and b'(\\HasNoChildren \\Junk) "/" "Junk"' in listed
        assert client.select('"Junk"')[0] == "OK"
        status, found = client.uid("SEARCH", "HEADER", TOKEN_HEADER, token)
        assert status == "OK" and found == [b"1"]
        status, fetched = client.uid("FETCH", "1", "(BODY.PEEK[HEADER] FLAGS RFC822.SIZE)")
        assert status == "OK"
        first = fetched[0]
        assert isinstance(first, tuple) and token.encode() in first[1]
        assert b"Please confirm" not in first[1]
        assert client.uid("STORE", "1", "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert client.expunge() == ("OK", [b"1"])
    finally:
        client.logout()
    assert server.messages(USER) == []


def test_plain_port_needs_starttls_before_login(server: LoopbackIMAP) -> None:
    client = imaplib.IMAP4("127.0.0.1", server.plain_port)
    try:
        assert "LOGINDISABLED" in client.capabilities and "STARTTLS" in client.capabilities
        with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
            client.login(USER, PASSWORD)
        client.starttls(server.ssl_context())
        assert "LOGINDISABLED" not in client.capabilities
        assert client.login(USER, PASSWORD)[0] == "OK"
    finally:
        client.logout()
    assert server.login_attempts == [USER]  # the refused LOGIN never reached the check


def test_wrong_password_is_dovecots_answer(server: LoopbackIMAP) -> None:
    client = imaplib.IMAP4_SSL("localhost", server.tls_port, ssl_context=server.ssl_context())
    with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\] Authentication"):
        client.login(USER, "wrong")
    client.logout()


def test_login_with_literals(server: LoopbackIMAP) -> None:
    sock = raw(server)
    read_until(sock, b"\r\n")
    user, password = USER.encode(), PASSWORD.encode()
    sock.sendall(b"a1 LOGIN {%d}\r\n" % len(user))
    assert read_until(sock, b"\r\n").startswith(b"+")
    sock.sendall(user + b" {%d+}\r\n" % len(password) + password + b"\r\n")
    assert b"a1 OK" in read_until(sock, b"a1 ")
    sock.sendall(b"a2 LOGOUT\r\n")
    assert b"* BYE" in read_until(sock, b"a2 OK")
    sock.close()


def test_unknown_and_malformed_commands_are_bad(server: LoopbackIMAP) -> None:
    sock = raw(server)
    read_until(sock, b"\r\n")
    for line, tag in (
        (b"a1 FROB\r\n", b"a1 BAD"),
        (b"a2 LIST\r\n", b"a2 BAD"),
        (b"a3 SELECT INBOX\r\n", b"a3 BAD"),  # before login
        (b'a4 LOGIN "unclosed\r\n', b"a4 BAD"),
        (b"lonely\r\n", b"lonely BAD"),  # a tag without a command
    ):
        sock.sendall(line)
        assert tag in read_until(sock, tag), line
    sock.sendall(b"a5 NOOP\r\n")
    assert b"a5 OK" in read_until(sock, b"a5 OK")
    sock.close()


# --- Limits and concurrency -------------------------------------------------------------------


def test_a_silent_connection_does_not_hold_up_another(server: LoopbackIMAP) -> None:
    silent = socket.create_connection(("127.0.0.1", server.tls_port))  # no TLS handshake
    half = raw(server)
    half.sendall(b"a1 LOGIN {10}\r\n")  # a literal that never comes
    started = time.monotonic()
    client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=2)
    client.connect()
    client.login(USER, PASSWORD)
    assert [f.name for f in client.folders()]
    client.logout()
    assert time.monotonic() - started < 1.0
    silent.close()
    half.close()


def test_a_line_over_the_limit_ends_the_connection(server: LoopbackIMAP) -> None:
    sock = raw(server)
    read_until(sock, b"\r\n")
    with pytest.raises(OSError):
        for _ in range(100):
            sock.sendall(b"x" * 65536)
    sock.close()
    other = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=2)
    other.connect()
    other.logout()


def test_an_idle_connection_is_closed() -> None:
    with LoopbackIMAP({USER: PASSWORD}, idle_timeout=0.3) as server:
        sock = raw(server)
        read_until(sock, b"\r\n")
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server
        assert time.monotonic() - started < 2


def test_stop_closes_every_connection_at_once() -> None:
    server = LoopbackIMAP({USER: PASSWORD}).start()
    sock = raw(server)
    read_until(sock, b"\r\n")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.5
    with pytest.raises((OSError, ssl.SSLError)):
        sock.sendall(b"a1 NOOP\r\n")
        if not sock.recv(100):
            raise OSError("closed")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.tls_port), timeout=1).close()


_COMMAND = st.lists(
    st.sampled_from(
        [
            b"a1 ",
            b"UID ",
            b"SEARCH ",
            b"FETCH ",
            b"STORE ",
            b"LIST ",
            b"SELECT ",
            b"HEADER ",
            b"1:* ",
            b"4294967295 ",
            b"(",
            b")",
            b'"',
            b"\\",
            b"{3}\r\nabc",
            b"{2+}\r\nxy",
            b"[",
            b"]",
            b"INBOX ",
            b"*",
            b"%",
            b"\xff",
        ]
    ),
    max_size=20,
).map(b"".join)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=st.lists(_COMMAND, min_size=1, max_size=4))
def test_generated_commands_never_break_the_server(
    server: LoopbackIMAP, lines: list[bytes]
) -> None:
    """Whatever a logged-in client sends, the server answers or hangs up that one connection,
    and goes on serving the next."""
    sock = raw(server, timeout=0.5)
    try:
        read_until(sock, b"\r\n")
        sock.sendall(f'z0 LOGIN "{USER}" "{PASSWORD}"\r\nz1 SELECT INBOX\r\n'.encode())
        read_until(sock, b"z1 ")
        for line in lines:
            sock.sendall(line + b"\r\n")
        sock.sendall(b"zz NOOP\r\n")
        # Waiting for a literal, or hung up: both are that connection's business.
        with contextlib.suppress(OSError):
            read_until(sock, b"zz OK")
    except OSError:
        pass
    finally:
        sock.close()
    check = imaplib.IMAP4_SSL("localhost", server.tls_port, ssl_context=server.ssl_context())
    assert check.login(USER, PASSWORD)[0] == "OK"
    check.logout()


# --- From LoopbackSMTP into the mailbox ---------------------------------------------------


def send(smtp: LoopbackSMTP, context: ssl.SSLContext, token: str) -> None:
    with smtplib.SMTP("localhost", smtp.port, timeout=5) as client:
        client.starttls(context=context)
        client.login(SENDER, SENDER_PASSWORD)
        client.sendmail(SENDER, [USER], invitation(token))


def test_demo_round_inbox_then_junk(server: LoopbackIMAP) -> None:
    """As the demo runs it: the first message lands in INBOX with spf, dkim and dmarc
    passing, the second in Junk with dmarc=fail; the client finds each where it landed."""
    with (
        LoopbackSMTP("starttls", users={SENDER: SENDER_PASSWORD}, ca=server.ca) as smtp,
        SmtpToImap(smtp, server, demo_router()) as bridge,
    ):
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        send(smtp, server.ssl_context(), first)
        send(smtp, server.ssl_context(), second)
        assert wait_for_delivery(bridge, 2, timeout=5)
    assert [(user, folder) for user, folder, _ in bridge.delivered] == [
        (USER, "INBOX"),
        (USER, "Junk"),
    ]
    client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=5)
    client.connect()
    client.login(USER, PASSWORD)
    order = mailboxes.search_order(client.folders())
    outcomes = {}
    for token in (first, second):
        found = client.wait_for(order, TOKEN_HEADER, token, within=2, every=0.1)
        assert found is not None
        header = client.headers(found.folder, found.uid)
        results = authresults.from_header(header, authserv_id="mx.loopback.test")
        assert results is not None
        outcomes[token] = (found.folder.name, results.summary())
        assert client.delete(found.folder, found.uid).expunged
    client.logout()
    assert outcomes[first] == ("INBOX", {"spf": "pass", "dkim": "pass", "dmarc": "pass"})
    assert outcomes[second] == ("Junk", {"spf": "softfail", "dkim": "none", "dmarc": "fail"})
    assert server.messages(USER) == []


def test_the_added_header_is_on_top_and_the_message_unchanged(server: LoopbackIMAP) -> None:
    route = in_turn(Delivery("INBOX", "mx.loopback.test;\n  spf=pass smtp.mailfrom=example.com"))
    with (
        LoopbackSMTP("starttls", users={SENDER: SENDER_PASSWORD}, ca=server.ca) as smtp,
        SmtpToImap(smtp, server, route) as bridge,
    ):
        token = uuid.uuid4().hex
        send(smtp, server.ssl_context(), token)
        assert wait_for_delivery(bridge, 1, timeout=5)
        [received] = smtp.messages
    [stored] = server.messages(USER)
    first_field = authresults.header_fields(stored.data)[0]
    assert first_field == (
        "Authentication-Results",
        "mx.loopback.test; spf=pass smtp.mailfrom=example.com",
    )
    assert stored.header(TOKEN_HEADER) == token
    assert stored.data.endswith(received.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def test_messages_received_before_attaching_are_delivered_by_deliver_all(
    server: LoopbackIMAP,
) -> None:
    with LoopbackSMTP("starttls", users={SENDER: SENDER_PASSWORD}, ca=server.ca) as smtp:
        send(smtp, server.ssl_context(), "early")
        bridge = SmtpToImap(smtp, server, in_turn(Delivery("Junk")))
        assert bridge.deliver_all(smtp.messages) == 1
        bridge.attach()
        bridge.detach()  # the handler is as it was: nothing more is delivered
        send(smtp, server.ssl_context(), "late")
        assert len(smtp.messages) == 2
    assert [(m.folder, m.header(TOKEN_HEADER)) for m in server.messages(USER)] == [
        ("Junk", "early")
    ]
    assert authresults.header_values(server.messages(USER)[0].data, "Authentication-Results") == [
        authresults.header_values(invitation("x"), "Authentication-Results")[0]
    ]


def test_a_recipient_who_is_no_user_goes_to_the_default_user_or_nowhere(
    server: LoopbackIMAP,
) -> None:
    from interview_mailcheck.loopback import Received

    message = Received(SENDER, ["someone@else.example"], invitation("t"), SENDER)
    nowhere = SmtpToImap(LoopbackSMTP(), server, in_turn(Delivery("INBOX")))
    assert nowhere.deliver(message) is None
    dropped = SmtpToImap(LoopbackSMTP(), server, lambda received: None, default_user=USER)
    assert dropped.deliver(message) is None
    default = SmtpToImap(LoopbackSMTP(), server, in_turn(Delivery("INBOX")), default_user=USER)
    assert default.deliver(message) == (USER, "INBOX", 1)
    assert len(server.messages(USER)) == 1


def test_delivery_happens_as_the_smtp_server_answers(server: LoopbackIMAP) -> None:
    """The message is in the mailbox by the time DATA is answered (no polling thread)."""
    with (
        LoopbackSMTP("starttls", users={SENDER: SENDER_PASSWORD}, ca=server.ca) as smtp,
        SmtpToImap(smtp, server, demo_router()),
    ):
        send(smtp, server.ssl_context(), "now")  # returns once DATA is answered 250
        assert [m.header(TOKEN_HEADER) for m in server.messages(USER)] == ["now"]
