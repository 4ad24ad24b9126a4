"""The IMAP client (adapters/imap.py) against real servers on loopback: Dovecot, and the loopback
server of `mailcheck demo` (each test runs against both, so the loopback server is shown to
behave like Dovecot for what the client uses). TLS and STARTTLS with verified certificates,
logins, folders with and without SPECIAL-USE, finding the test message by its token, its
header and Authentication-Results, deleting it, and a transcript without the password."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import trustme
from support import peers
from support.imap import PASSWORD, USER, StartDovecot
from support.imap_peers import (
    TOKEN_HEADER,
    MailServer,
    invitation,
)

from interview_mailcheck import authresults, mailboxes, secrets
from interview_mailcheck.adapters.imap import ImapClient, ImapProblem, tls_context
from interview_mailcheck.loopback_imap import LoopbackIMAP

pytest_plugins = ["support.imap_fixtures", "support.imap_servers"]

TIMEOUT = 5.0


def client_for(
    server: MailServer, security: str = "tls", *, host: str = "localhost", **options: float
) -> ImapClient:
    port = server.tls_port if security == "tls" else server.plain_port
    return ImapClient(
        host,
        port,
        security=security,  # type: ignore[arg-type]
        context=server.ssl_context(),
        timeout=options.get("timeout", TIMEOUT),
        budget=options.get("budget", 30.0),
    )


def logged_in(server: MailServer, security: str = "tls") -> ImapClient:
    client = client_for(server, security)
    client.connect()
    client.login(USER, PASSWORD)
    return client


@pytest.fixture
def session(imap_server: MailServer) -> Iterator[ImapClient]:
    client = logged_in(imap_server)
    yield client
    client.logout()


def assert_no_password(client: ImapClient, password: str = PASSWORD) -> None:
    text = client.transcript.text()
    forms = {
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{USER}\0{password}".encode()).decode(),
        base64.b64encode(f"\0{USER}\0{password}".encode()).decode().rstrip("="),
        base64.b64encode(f"{USER}\0{USER}\0{password}".encode()).decode(),
    }
    for form in forms:
        assert form not in text, form
    assert text  # there is a transcript to search


# --- Connecting, TLS and STARTTLS ------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_implicit_tls_verifies_the_certificate_and_logs_in(
    imap_server: MailServer, host: str
) -> None:
    client = client_for(imap_server, host=host)
    greeting = client.connect()
    assert greeting.startswith("OK") or "ready" in greeting.lower()
    assert client.tls is not None and client.tls.version in ("TLSv1.2", "TLSv1.3")
    assert client.tls.certificate is not None
    assert {"localhost", "127.0.0.1"} <= set(client.tls.certificate.names)
    assert "IMAP4REV1" in client.capabilities()
    client.login(USER, PASSWORD)
    assert {"UIDPLUS", "SPECIAL-USE"} <= client.capabilities()  # after login, asked again
    client.logout()
    lines = client.transcript.lines
    assert lines[1].who == "*" and lines[1].text.startswith("TLS established")
    assert any(line.who == "C" and " LOGIN " in line.text for line in lines)


def test_starttls_on_the_plain_port(imap_server: MailServer) -> None:
    client = logged_in(imap_server, "starttls")
    assert client.tls is not None
    texts = [line.text for line in client.transcript.lines]
    starttls = next(i for i, text in enumerate(texts) if text.endswith(" STARTTLS"))
    established = next(i for i, text in enumerate(texts) if text.startswith("TLS established"))
    login = next(i for i, text in enumerate(texts) if " LOGIN " in text)
    assert starttls < established < login
    assert "STARTTLS" not in client.capabilities()  # the capabilities after TLS
    assert [f.name for f in client.folders()]
    client.logout()


def test_wrong_password_is_login_refused_with_the_servers_text(imap_server: MailServer) -> None:
    client = client_for(imap_server)
    client.connect()
    with pytest.raises(ImapProblem) as refused:
        client.login(USER, "not-the-password")
    assert refused.value.kind == "login_refused"
    assert refused.value.reply is not None
    assert "[AUTHENTICATIONFAILED]" in refused.value.reply
    client.logout()
    assert_no_password(client, "not-the-password")


def test_certificate_from_an_unknown_ca_is_refused(imap_server: MailServer) -> None:
    other = ssl.create_default_context()
    trustme.CA().configure_trust(other)
    for security, port in (("tls", imap_server.tls_port), ("starttls", imap_server.plain_port)):
        client = ImapClient("localhost", port, security=security, context=other, timeout=TIMEOUT)  # type: ignore[arg-type]
        with pytest.raises(ImapProblem) as refused:
            client.connect()
        assert refused.value.kind == "certificate"
        assert refused.value.data["reason"] in ("unknown_issuer", "self_signed")
        assert "certificate" in refused.value.detail


def test_the_system_trust_store_alone_refuses_the_test_ca(imap_server: MailServer) -> None:
    client = ImapClient(
        "localhost", imap_server.tls_port, context=tls_context(None, False), timeout=TIMEOUT
    )
    with pytest.raises(ImapProblem) as refused:
        client.connect()
    assert refused.value.kind == "certificate"


def test_tls_context_with_the_ca_file_is_accepted(start_dovecot: StartDovecot) -> None:
    server = start_dovecot()
    client = ImapClient(
        "localhost", server.tls_port, context=tls_context(server.ca_file(), False), timeout=5
    )
    client.connect()
    client.login(USER, PASSWORD)
    client.logout()
    assert client.tls is not None


def test_hostname_not_in_the_certificate(start_dovecot: StartDovecot) -> None:
    """The certificate names localhost only: 127.0.0.1 is not in it."""
    server = start_dovecot(certificate_names=("localhost",))
    client = ImapClient("127.0.0.1", server.tls_port, context=server.ssl_context(), timeout=5)
    with pytest.raises(ImapProblem) as refused:
        client.connect()
    assert refused.value.kind == "certificate"
    assert refused.value.data["reason"] == "hostname_mismatch"


def test_a_plain_port_spoken_to_with_implicit_tls(imap_server: MailServer) -> None:
    client = ImapClient(
        "localhost", imap_server.plain_port, context=imap_server.ssl_context(), timeout=TIMEOUT
    )
    with pytest.raises(ImapProblem) as failed:
        client.connect()
    assert failed.value.kind == "tls_failed"
    assert failed.value.data["plaintext_peer"] is True


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening
        started = time.monotonic()
        with pytest.raises(ImapProblem) as refused:
            ImapClient("127.0.0.1", port, timeout=2).connect()
    assert refused.value.kind == "refused"
    assert time.monotonic() - started < 1


def test_connect_timeout_is_told_apart() -> None:
    listener, filler, port = peers.listening_but_full()
    try:
        started = time.monotonic()
        with pytest.raises(ImapProblem) as timed_out:
            ImapClient("127.0.0.1", port, timeout=0.5, budget=5).connect()
        elapsed = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    assert timed_out.value.kind == "connect_timeout"
    assert 0.4 < elapsed < 1.5


def test_a_host_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo answers as for an unknown name (no query leaves the machine)."""

    def unknown(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(ImapProblem) as unknown_host:
        ImapClient("imap.example.invalid", timeout=2).connect()
    assert unknown_host.value.kind == "no_such_host"
    assert "imap.example.invalid" in unknown_host.value.detail


# --- Folders ---------------------------------------------------------------------------------


def test_folders_with_special_use(session: ImapClient, imap_server: MailServer) -> None:
    folders = {folder.name: folder for folder in session.folders()}
    assert set(folders) == {"INBOX", "Junk", "Sent", "Trash", "All Mail"}
    assert folders["Junk"].special_use == ("\\Junk",)
    assert folders["All Mail"].special_use == ("\\All",)
    assert folders["INBOX"].special_use == ()
    spam = mailboxes.spam_folder(folders.values())
    assert spam is not None and spam.name == imap_server.junk == "Junk"
    order = [f.name for f in mailboxes.search_order(folders.values())]
    assert order == ["INBOX", "Junk", "All Mail"]


def test_folders_without_special_use_go_by_name(imap_server_named: MailServer) -> None:
    client = logged_in(imap_server_named)
    try:
        assert "SPECIAL-USE" not in client.capabilities() or imap_server_named.name == "dovecot"
        folders = client.folders()
    finally:
        client.logout()
    assert {f.name for f in folders} == {"INBOX", "Spam", "Sent", "Trash", "Archive"}
    assert all(not folder.special_use for folder in folders)
    spam = mailboxes.spam_folder(folders)
    assert spam is not None and spam.name == imap_server_named.junk == "Spam"
    assert mailboxes.all_mail_folder(folders) is None


def test_custom_folder_names_on_dovecot(start_dovecot: StartDovecot) -> None:
    from support.imap import Folder as DovecotFolder

    server = start_dovecot(
        special_use=False, folders=[DovecotFolder("Junk E-mail"), DovecotFolder("Archive/2024")]
    )
    client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=5)
    client.connect()
    client.login(USER, PASSWORD)
    folders = client.folders()
    client.logout()
    names = {f.name for f in folders}
    assert {"Junk E-mail", "Archive/2024", "INBOX"} <= names
    spam = mailboxes.spam_folder(folders)
    assert spam is not None and spam.name == "Junk E-mail"


# --- Finding, reading and deleting the test message --------------------------------------------


@pytest.mark.parametrize("where", ["INBOX", "junk"])
def test_find_by_token_read_headers_and_delete(imap_server: MailServer, where: str) -> None:
    folder = "INBOX" if where == "INBOX" else imap_server.junk
    token = uuid.uuid4().hex
    imap_server.put(invitation(uuid.uuid4().hex, "Another message"), folder)
    imap_server.put(invitation(token), folder)
    imap_server.put(invitation(uuid.uuid4().hex, "Yet another"), "INBOX")
    client = logged_in(imap_server)
    try:
        folders = client.folders()
        chosen = next(f for f in folders if f.name == folder)
        other = next(f for f in mailboxes.search_order(folders) if f.name != folder)
        assert client.find(other, TOKEN_HEADER, token) == []
        [uid] = client.find(chosen, TOKEN_HEADER, token)
        header = client.headers(chosen, uid)
        assert authresults.header_values(header, TOKEN_HEADER) == [token]
        [subject] = authresults.header_values(header, "Subject")
        assert token in subject
        assert b"Please confirm" not in header  # the header only
        results = authresults.from_header(header)
        assert results is not None and results.authserv_id == "mx.example.test"
        assert results.summary() == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
        assert authresults.header_values(header, "From") == ["Hiring <jobs@example.com>"]
        deletion = client.delete(chosen, uid)
        assert deletion.expunged
        assert client.find(chosen, TOKEN_HEADER, token) == []
    finally:
        client.logout()
    remaining = imap_server.tokens()
    assert len(remaining) == 2
    assert token not in {found for _, found in remaining}
    assert_no_password(client)


def test_find_by_folder_name_as_text(session: ImapClient, imap_server: MailServer) -> None:
    token = uuid.uuid4().hex
    imap_server.put(invitation(token), "Junk")
    assert len(session.find("Junk", TOKEN_HEADER, token)) == 1
    assert session.find("inbox", TOKEN_HEADER, token) == []


def test_fetching_a_missing_message(session: ImapClient) -> None:
    with pytest.raises(ImapProblem) as missing:
        session.headers("INBOX", 4242)
    assert missing.value.kind == "no_such_message"


def test_a_folder_that_does_not_exist(session: ImapClient) -> None:
    with pytest.raises(ImapProblem) as missing:
        session.find("No Such Folder", TOKEN_HEADER, "x")
    assert missing.value.kind == "no_such_folder"
    assert missing.value.reply and "No Such Folder" in missing.value.reply
    assert session.find("INBOX", TOKEN_HEADER, "x") == []  # the session goes on


def test_wait_for_a_message_that_arrives_later(imap_server: MailServer) -> None:
    token = uuid.uuid4().hex
    client = logged_in(imap_server)
    order = mailboxes.search_order(client.folders())
    sent = time.monotonic()
    timer = threading.Timer(0.6, imap_server.put, args=(invitation(token), imap_server.junk))
    timer.start()
    try:
        found = client.wait_for(order, TOKEN_HEADER, token, within=5, every=0.1, since=sent)
    finally:
        timer.join()
        client.logout()
    assert found is not None
    assert found.folder.name == imap_server.junk
    assert 0.6 <= found.seconds < 2.5
    assert found.searches > len(order)


def test_wait_for_gives_up_after_within(session: ImapClient) -> None:
    started = time.monotonic()
    found = session.wait_for(["INBOX"], TOKEN_HEADER, "never-sent", within=0.5, every=0.1)
    assert found is None
    assert 0.45 < time.monotonic() - started < 1.5


def test_delete_without_uidplus_spares_other_deleted_messages() -> None:
    """Without UIDPLUS, EXPUNGE removes every message flagged \\Deleted: with another one
    flagged, the test message is left flagged rather than expunging the user's mail."""
    with LoopbackIMAP({USER: PASSWORD}, uidplus=False) as server:
        mine, theirs = uuid.uuid4().hex, uuid.uuid4().hex
        server.deliver(USER, "INBOX", invitation(theirs))
        server.deliver(USER, "INBOX", invitation(mine))
        [their_message, _] = server.messages(USER)
        server.store.boxes(USER)["INBOX"].messages[0].flags.add("\\Deleted")
        client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=5)
        client.connect()
        client.login(USER, PASSWORD)
        assert "UIDPLUS" not in client.capabilities()
        [uid] = client.find("INBOX", TOKEN_HEADER, mine)
        deletion = client.delete("INBOX", uid)
        assert not deletion.expunged and "UIDPLUS" in deletion.detail
        assert len(server.messages(USER)) == 2
        server.store.boxes(USER)["INBOX"].messages[0].flags.discard("\\Deleted")
        assert client.delete("INBOX", uid).expunged
        client.logout()
        assert [m.uid for m in server.messages(USER)] == [their_message.uid]
        assert not any("UID EXPUNGE" in line.text for line in client.transcript.lines)


# --- The transcript and the end of a session ---------------------------------------------------


def test_transcript_masks_the_login_and_summarises_literals(imap_server: MailServer) -> None:
    token = uuid.uuid4().hex
    imap_server.put(invitation(token))
    client = logged_in(imap_server, "starttls")
    [uid] = client.find("INBOX", TOKEN_HEADER, token)
    client.headers("INBOX", uid)
    client.logout()
    texts = [line.text for line in client.transcript.lines]
    [login] = [text for text in texts if " LOGIN " in text]
    assert login.endswith(f' LOGIN "{USER}" {secrets.MASK}')
    assert any(text.endswith(" bytes)") for text in texts)  # the header, by its size only
    assert not any("Please confirm" in text or "Hiring" in text for text in texts)
    assert_no_password(client)
    assert PASSWORD in secrets.current().forms()  # login() registered it for every output


def test_non_ascii_password_goes_by_authenticate_plain_and_stays_masked() -> None:
    password = "pässwörd-ünïcode"
    with LoopbackIMAP({USER: password}) as server:
        client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=5)
        client.connect()
        client.login(USER, password)
        client.logout()
    texts = [line.text for line in client.transcript.lines]
    assert any(text.endswith("AUTHENTICATE PLAIN") for text in texts)
    assert_no_password(client, password)


def test_logout_and_close_never_raise(imap_server: MailServer) -> None:
    client = logged_in(imap_server)
    client.close()
    client.close()
    client.logout()
    with pytest.raises(ImapProblem) as closed:
        client.folders()
    assert closed.value.kind == "disconnected"
    never_connected = ImapClient("localhost", 1)
    never_connected.logout()
    never_connected.close()


def test_a_stopped_dovecot_ends_the_session_as_disconnected(start_dovecot: StartDovecot) -> None:
    server = start_dovecot()
    client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=5)
    client.connect()
    client.login(USER, PASSWORD)
    server.stop()
    with pytest.raises(ImapProblem) as ended:
        client.find("INBOX", TOKEN_HEADER, "x")
    assert ended.value.kind in ("disconnected", "tls_failed")
    client.logout()


def test_a_whole_confirm_round_on_dovecot_is_fast(start_dovecot: StartDovecot) -> None:
    """connect + login + folders + search + headers + delete + logout, over implicit TLS."""
    server = start_dovecot()
    token = uuid.uuid4().hex
    server.deliver(USER, invitation(token), folder="Junk")
    started = time.perf_counter()
    client = ImapClient("localhost", server.tls_port, context=server.ssl_context(), timeout=5)
    client.connect()
    client.login(USER, PASSWORD)
    order = mailboxes.search_order(client.folders())
    found = client.wait_for(order, TOKEN_HEADER, token, within=1)
    assert found is not None and found.folder.name == "Junk"
    client.headers(found.folder, found.uid)
    assert client.delete(found.folder, found.uid).expunged
    client.logout()
    elapsed = time.perf_counter() - started
    print(f"confirm round on Dovecot: {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0
    assert server.messages(USER) == []
