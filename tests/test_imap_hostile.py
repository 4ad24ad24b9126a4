"""The IMAP client against servers that misbehave on purpose: raw peers on loopback that stay
silent, trickle, send garbage, hang up mid-command, send endless lines, lie about STARTTLS or
answer LIST, SEARCH and FETCH with nonsense, and hypothesis-generated replies. Each ends in an
ImapProblem (never another exception) within the timeout plus a second."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.imap import PASSWORD, USER
from support.imap_peers import (
    CLOSE,
    GREETING,
    HANG,
    Answer,
    ImapPeer,
    answering,
    hang,
    ordinary,
)
from support.peers import RawPeer

from interview_mailcheck.adapters.imap import ImapClient, ImapProblem

TIMEOUT = 1.0
BOUND = TIMEOUT + 1.0
GENERATED_TIMEOUT = 0.25
"""The generated cases hang often: a short timeout keeps them quick (the bound scales)."""
CA = trustme.CA()
"""One CA for the generated cases (a new one per example would only cost time)."""


def client(peer: ImapPeer, security: str = "tls", **options: float) -> ImapClient:
    return ImapClient(
        "localhost",
        peer.port,
        security=security,  # type: ignore[arg-type]
        context=peer.client_context(),
        timeout=options.get("timeout", TIMEOUT),
        budget=options.get("budget", 10.0),
    )


def problem_of(run: Callable[[], object]) -> tuple[ImapProblem, float]:
    """The ImapProblem `run` raises, and how long it took to."""
    started = time.monotonic()
    with pytest.raises(ImapProblem) as raised:
        run()
    return raised.value, time.monotonic() - started


def round_trip(imap: ImapClient) -> None:
    """What send-test --confirm does, up to the delete."""
    try:
        imap.connect()
        imap.login(USER, PASSWORD)
        folders = imap.folders()
        target = folders[0] if folders else "INBOX"
        for uid in imap.find(target, "X-Mailcheck-Token", "token"):
            imap.headers(target, uid)
            imap.delete(target, uid)
    finally:
        imap.logout()


# --- Before and during the greeting ------------------------------------------------------------


def test_silent_server_ends_within_the_timeout() -> None:
    """Connected, then nothing: no greeting (STARTTLS client, plain text)."""
    with ImapPeer(greeting=None, tls=False) as peer:
        problem, elapsed = problem_of(client(peer, "starttls").connect)
    assert problem.kind == "timeout"
    assert "greeting" in problem.detail
    assert TIMEOUT * 0.9 < elapsed < BOUND


def test_silent_tls_server_ends_within_the_timeout() -> None:
    """Connected, then no TLS handshake (implicit-TLS client)."""
    with ImapPeer(handshake=False) as peer:
        problem, elapsed = problem_of(client(peer).connect)
    assert problem.kind == "timeout"
    assert TIMEOUT * 0.9 < elapsed < BOUND


def test_trickling_greeting_ends_within_the_timeout() -> None:
    """One byte every 50 ms, each well inside the timeout: the operation as a whole is bounded."""

    def trickle(sock: socket.socket, peer: RawPeer) -> None:
        sock.sendall(b"* OK ")
        while not peer.stopped.is_set():
            sock.sendall(b"z")
            peer.wait(0.05)

    with RawPeer(trickle) as peer:
        imap = ImapClient("localhost", peer.port, security="starttls", timeout=TIMEOUT)
        problem, elapsed = problem_of(imap.connect)
    assert problem.kind == "timeout"
    assert elapsed < BOUND


@pytest.mark.parametrize(
    "greeting",
    [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        b"220 smtp.example.test ESMTP ready\r\n",
        b"+OK POP3 server ready\r\n",
        b"\x00\xff\xfe garbage\r\n",
        b"* NO not today\r\n",
        b"a1 OK tagged greeting\r\n",
    ],
)
def test_a_greeting_that_is_not_imap(greeting: bytes) -> None:
    with ImapPeer(greeting=greeting, tls=False) as peer:
        problem, elapsed = problem_of(client(peer, "starttls").connect)
    assert problem.kind == "not_imap", problem
    assert elapsed < BOUND


def test_a_greeting_without_imap4rev1_is_not_imap() -> None:
    def capability(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        return b"* CAPABILITY POP3 SMTP\r\n" + tag + b" OK done\r\n"

    with ImapPeer(answering({b"CAPABILITY": capability}), greeting=b"* OK hi\r\n") as peer:
        problem, _ = problem_of(client(peer).connect)
    assert problem.kind == "not_imap"


def test_a_bye_greeting_is_the_server_refusing() -> None:
    with ImapPeer(greeting=b"* BYE Too many connections from your address\r\n") as peer:
        problem, _ = problem_of(client(peer).connect)
    assert problem.kind == "disconnected"
    assert problem.reply and "Too many connections" in problem.reply


def test_hang_up_after_the_greeting() -> None:
    with ImapPeer(lambda tag, verb, line: None) as peer:
        problem, elapsed = problem_of(client(peer).connect)
    assert problem.kind in ("disconnected", "not_imap")
    assert elapsed < BOUND


def test_a_plain_text_server_on_the_tls_port() -> None:
    with ImapPeer(tls=False) as peer:
        problem, _ = problem_of(client(peer, "tls").connect)
    assert problem.kind == "tls_failed"


# --- STARTTLS --------------------------------------------------------------------------------


def test_starttls_not_offered() -> None:
    with ImapPeer(tls=False, greeting=b"* OK [CAPABILITY IMAP4rev1] no tls here\r\n") as peer:

        def capability(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
            return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"

        peer.answer = answering({b"CAPABILITY": capability})
        problem, _ = problem_of(client(peer, "starttls").connect)
    assert problem.kind == "starttls_refused"
    assert not any(b"LOGIN" in line for line in peer.lines)  # no credentials went out


def _with_starttls(reply: Answer) -> Answer:
    def capability(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        return b"* CAPABILITY IMAP4rev1 STARTTLS\r\n" + tag + b" OK done\r\n"

    return answering({b"CAPABILITY": capability, b"STARTTLS": reply})


def test_starttls_refused() -> None:
    refuse = _with_starttls(lambda tag, verb, line: tag + b" NO [UNAVAILABLE] not now\r\n")
    with ImapPeer(refuse, tls=False) as peer:
        problem, _ = problem_of(client(peer, "starttls").connect)
    assert problem.kind == "starttls_refused"
    assert problem.reply and "not now" in problem.reply


def test_starttls_accepted_then_plain_text() -> None:
    """OK to STARTTLS, then the TLS ClientHello answered in plain text."""
    plain = _with_starttls(lambda tag, verb, line: tag + b" OK go\r\n")
    with ImapPeer(plain, tls=False) as peer:
        problem, elapsed = problem_of(client(peer, "starttls").connect)
    assert problem.kind in ("tls_failed", "timeout")
    assert elapsed < BOUND


def test_data_injected_after_starttls_is_refused() -> None:
    """A reply sent in plain text right behind STARTTLS's OK (RFC 3501 forbids it; a
    man-in-the-middle uses it) must not be taken as coming over TLS."""
    inject = _with_starttls(lambda tag, verb, line: tag + b" OK go\r\n* CAPABILITY FAKE\r\n")
    with ImapPeer(inject, tls=False) as peer:
        problem, _ = problem_of(client(peer, "starttls").connect)
    assert problem.kind == "protocol"
    assert "after accepting STARTTLS" in problem.detail


# --- During the session ---------------------------------------------------------------------------


def _session_with(overrides: dict[bytes, Answer], *, budget: float = 10.0) -> ImapProblem:
    with ImapPeer(answering(overrides)) as peer:
        imap = client(peer, budget=budget)
        problem, elapsed = problem_of(lambda: round_trip(imap))
    assert elapsed < BOUND, (problem, elapsed)
    text = imap.transcript.text()
    assert PASSWORD not in text
    return problem


def test_login_refused_carries_the_servers_text() -> None:
    problem = _session_with(
        {b"LOGIN": lambda tag, verb, line: tag + b" NO [AUTHENTICATIONFAILED] Bad pw.\r\n"}
    )
    assert problem.kind == "login_refused"
    assert problem.reply == "[AUTHENTICATIONFAILED] Bad pw."


def test_login_answered_bad() -> None:
    problem = _session_with({b"LOGIN": lambda tag, verb, line: tag + b" BAD what?\r\n"})
    assert problem.kind in ("command_failed", "login_refused")


def test_a_server_that_closes_mid_command() -> None:
    problem = _session_with({b"LIST": lambda tag, verb, line: b"* LIST (\\HasNoChil" + CLOSE})
    assert problem.kind == "disconnected"


def test_a_server_that_stops_answering_mid_session() -> None:
    problem = _session_with({b"LIST": hang})
    assert problem.kind == "timeout"
    assert "LIST" in problem.detail


def test_an_endless_line() -> None:
    def endless(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        return b"* LIST (" + b"x" * (200 * 1024)

    problem = _session_with({b"LIST": endless})
    assert problem.kind == "protocol"
    assert "longer than" in problem.detail


def test_endless_untagged_responses_end_within_the_timeout() -> None:
    def flood(sock: socket.socket, peer: RawPeer) -> None:
        sock.sendall(b"* OK [CAPABILITY IMAP4rev1] hi\r\n")
        peer.read_line(sock)
        while not peer.stopped.is_set():
            sock.sendall(b"* OK still here\r\n" * 200)
            time.sleep(0.001)

    with RawPeer(flood) as peer:
        imap = ImapClient("localhost", peer.port, security="starttls", timeout=TIMEOUT)
        problem, elapsed = problem_of(imap.connect)
    assert problem.kind == "timeout"
    assert elapsed < BOUND


def test_a_bye_in_the_middle_of_the_session() -> None:
    problem = _session_with({b"LIST": lambda tag, verb, line: b"* BYE Server shutting down\r\n"})
    assert problem.kind == "disconnected"
    assert problem.reply and "shutting down" in problem.reply


def test_an_enormous_literal_is_refused_before_it_is_read() -> None:
    problem = _session_with(
        {b"LIST": lambda tag, verb, line: b'* LIST () "/" {999999999}\r\nINBOX\r\n'}
    )
    assert problem.kind == "protocol"
    assert "literal" in problem.detail


@pytest.mark.parametrize(
    "reply",
    [
        b'* LIST \\HasNoChildren "/" INBOX\r\n',
        b'* LIST (\\HasNoChildren) "/"\r\n',
        b'* LIST (\\HasNoChildren "/" INBOX\r\n',
        b'* LIST (\\HasNoChildren)) "/" INBOX\r\n',
        b'* LIST (\\HasNoChildren) "/" "INBOX\r\n',
        b'* LIST ((nested)) "/" INBOX\r\n',
        b'* LIST (\\HasNoChildren) "/" NIL\r\n',
        b'* LIST (\\HasNoChildren) "/" {5\r\n',
        b"* LIST \r\n",
        b'* LIST (\\Junk) "/" (a list)\r\n',
    ],
)
def test_bad_list_lines(reply: bytes) -> None:
    problem = _session_with({b"LIST": lambda tag, verb, line: reply + tag + b" OK done\r\n"})
    assert problem.kind == "protocol", problem


def test_odd_but_valid_list_lines_are_read() -> None:
    """Quoted names with escapes, literals, NIL and odd delimiters, modified UTF-7, extended
    data after the name (RFC 5258)."""

    def listing(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        return (
            b'* LIST (\\HasNoChildren) "/" "INBOX"\r\n'
            b'* LIST (\\HasNoChildren \\Junk) "." "INBOX.Junk \\"Mail\\""\r\n'
            b"* LIST (\\Noselect) NIL Archive\r\n"
            b'* LIST () "/" {12}\r\nSpam/Bulk\r\n \r\n'
            b'* LIST (\\Sent) "\\\\" "Courrier ind&AOk-sirable" ("CHILDINFO" ("SUBSCRIBED"))\r\n'
            + tag
            + b" OK done\r\n"
        )

    with ImapPeer(answering({b"LIST": listing})) as peer:
        imap = client(peer)
        imap.connect()
        imap.login(USER, PASSWORD)
        folders = imap.folders()
        imap.logout()
    names = {folder.name: folder for folder in folders}
    assert set(names) == {
        "INBOX",
        'INBOX.Junk "Mail"',
        "Archive",
        "Spam/Bulk\r\n ",
        "Courrier indésirable",
    }
    assert names['INBOX.Junk "Mail"'].delimiter == "." and names['INBOX.Junk "Mail"'].has("\\junk")
    assert names["Archive"].delimiter is None and not names["Archive"].selectable
    assert names["Courrier indésirable"].delimiter == "\\"
    assert names["Courrier indésirable"].wire == "Courrier ind&AOk-sirable"
    assert peer.lines.count(b"") == 0
    assert any(b"LIST (SPECIAL-USE)" in line for line in peer.lines)


@pytest.mark.parametrize(
    "reply",
    [
        b"* SEARCH one two\r\n",
        b"* SEARCH 99999999999999999999\r\n",
        b"* SEARCH {3}\r\n123\r\n",
    ],
)
def test_bad_search_results(reply: bytes) -> None:
    problem = _session_with({b"UID": lambda tag, verb, line: reply + tag + b" OK done\r\n"})
    assert problem.kind == "protocol"


def test_a_fetch_without_the_header_is_no_such_message() -> None:
    def uid(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        if b"SEARCH" in line:
            return b"* SEARCH 7\r\n" + tag + b" OK done\r\n"
        if b"FETCH" in line:
            return b"* 1 FETCH (UID 7 FLAGS (\\Seen))\r\n" + tag + b" OK done\r\n"
        return tag + b" OK done\r\n"

    problem = _session_with({b"UID": uid})
    assert problem.kind == "no_such_message"


def test_a_folder_that_cannot_be_opened() -> None:
    problem = _session_with(
        {b"EXAMINE": lambda tag, verb, line: tag + b" NO [NONEXISTENT] Unknown Mailbox\r\n"}
    )
    assert problem.kind == "no_such_folder"
    assert problem.reply and "NONEXISTENT" in problem.reply


def test_a_well_behaved_script_round_trips() -> None:
    """The scripted peer itself is sound: an ordinary server gives no problem at all."""

    def uid(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        if b"FETCH" in line:
            header = b"Subject: hello\r\nX-Mailcheck-Token: token\r\n\r\n"
            return (
                b"* 1 FETCH (UID 1 BODY[HEADER] {%d}\r\n" % len(header)
                + header
                + b")\r\n"
                + tag
                + b" OK done\r\n"
            )
        return ordinary(tag, verb, line)

    with ImapPeer(answering({b"UID": uid})) as peer:
        imap = client(peer)
        round_trip(imap)
    sent = b"".join(peer.lines)
    assert b"UID STORE 1 +FLAGS (\\Deleted)" in sent and b"UID EXPUNGE 1" in sent
    assert PASSWORD.encode() in sent  # it went to the server...
    assert PASSWORD not in imap.transcript.text()  # ...and not into the transcript


# --- Generated replies ------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        b"* ",
        b"a",
        b"OK",
        b"NO",
        b"BAD",
        b"BYE",
        b"LIST",
        b"SEARCH",
        b"FETCH",
        b"CAPABILITY",
        b"IMAP4rev1",
        b"1",
        b"4294967296",
        b" ",
        b"(",
        b")",
        b'"',
        b"\\",
        b"{",
        b"}",
        b"{3}\r\n",
        b"{0}\r\n",
        b"[",
        b"]",
        b"NIL",
        b"BODY[HEADER]",
        b"UID",
        b"+ ",
        b"\r\n",
        b"\n",
        b"\x00",
        b"\xff",
        b"&AOk-",
    ]
)
_REPLIES = st.one_of(
    st.lists(_PIECES, max_size=40).map(b"".join),
    st.binary(max_size=200),
)


def _tagged(body: bytes, ending: int) -> Answer:
    """Send `body` (generated), then perhaps the tagged OK, perhaps hang, perhaps hang up."""

    def answer(tag: bytes, verb: bytes, line: bytes) -> bytes | None:
        if ending == 0:
            return body + tag + b" OK done\r\n"
        if ending == 1:
            return body + HANG
        if ending == 2:
            return body + CLOSE
        return body.replace(b"a ", tag + b" ") + tag + b" NO nope\r\n"

    return answer


_STEPS = [b"CAPABILITY", b"LOGIN", b"LIST", b"EXAMINE", b"UID"]


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    step=st.sampled_from(_STEPS),
    body=_REPLIES,
    ending=st.integers(min_value=0, max_value=3),
)
def test_generated_replies_end_in_an_imap_problem_or_success(
    step: bytes, body: bytes, ending: int
) -> None:
    """Whatever the server answers to one step of the round, the client ends within the
    bound, raising ImapProblem or nothing else."""
    with ImapPeer(answering({step: _tagged(body, ending)}), ca=CA) as peer:
        imap = client(peer, timeout=GENERATED_TIMEOUT, budget=3.0)
        started = time.monotonic()
        try:
            round_trip(imap)
        except ImapProblem as problem:
            assert problem.kind in KINDS, problem
        elapsed = time.monotonic() - started
    assert elapsed < GENERATED_TIMEOUT + 1.0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(greeting=_REPLIES)
def test_generated_greetings(greeting: bytes) -> None:
    with ImapPeer(greeting=greeting, tls=False, ca=CA) as peer:
        imap = ImapClient(
            "localhost",
            peer.port,
            security="starttls",
            context=peer.client_context(),
            timeout=GENERATED_TIMEOUT,
        )
        started = time.monotonic()
        try:
            imap.connect()
        except ImapProblem as problem:
            assert problem.kind in KINDS
        finally:
            imap.logout()
        assert time.monotonic() - started < GENERATED_TIMEOUT + 1.0


KINDS = {
    "no_such_host",
    "resolve_failed",
    "refused",
    "connect_timeout",
    "connect_failed",
    "tls_failed",
    "certificate",
    "starttls_refused",
    "not_imap",
    "login_refused",
    "credentials_not_ascii",
    "no_such_folder",
    "no_such_message",
    "command_failed",
    "timeout",
    "disconnected",
    "protocol",
}


def test_the_peer_context_trusts_only_its_own_ca() -> None:
    with ImapPeer() as peer, ImapPeer() as other:
        imap = ImapClient("localhost", peer.port, context=other.client_context(), timeout=1)
        problem, _ = problem_of(imap.connect)
    assert problem.kind == "certificate"
    assert isinstance(peer.client_context(), ssl.SSLContext)
    assert GREETING.startswith(b"* OK")
