"""The Dovecot fixture itself, driven with the standard library's imaplib: TLS and STARTTLS with
verified certificates, logins, SPECIAL-USE folders (and a server without them), delivery,
search, expunge, start failures and stopping."""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from support import imap
from support.imap import PASSWORD, USER, Dovecot, DovecotError, StartDovecot

pytest_plugins = ["support.imap_fixtures"]  # dovecot, dovecot_no_special_use, start_dovecot

TOKEN_HEADER = "X-Mailcheck-Token"
AUTH_RESULTS = "mx.example.test; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com"
LIST_LINE = re.compile(rb'^\((?P<attributes>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')


def invitation(token: str, subject: str = "Your interview on Tuesday") -> bytes:
    message = EmailMessage()
    message["From"] = "Hiring <jobs@example.com>"
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = f"<{token}@example.com>"
    message["Authentication-Results"] = AUTH_RESULTS
    message[TOKEN_HEADER] = token
    message.set_content("Please confirm the time.\n")
    return message.as_bytes()


@contextlib.contextmanager
def logged_in(
    server: Dovecot, user: str = USER, password: str = PASSWORD
) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4_SSL("localhost", server.tls_port, ssl_context=server.ssl_context())
    try:
        client.login(user, password)
        yield client
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def folders(lines: list[bytes | tuple[bytes, bytes] | None]) -> dict[str, set[str]]:
    """LIST's untagged replies as {folder name: its attributes}."""
    found: dict[str, set[str]] = {}
    for line in lines:
        assert isinstance(line, bytes), line
        match = LIST_LINE.match(line)
        assert match, line
        name = match["name"].decode()
        found[name.strip('"')] = set(match["attributes"].decode().split())
    return found


def special_use_list(client: imaplib.IMAP4) -> dict[str, set[str]]:
    """`LIST (SPECIAL-USE) "" *` (RFC 6154): only the folders that have an attribute."""
    status, _ = client.xatom("LIST", "(SPECIAL-USE)", '""', "*")
    assert status == "OK"
    _, lines = client.response("LIST")
    return folders([line for line in lines if line is not None])


def search_token(client: imaplib.IMAP4, folder: str, token: str) -> list[bytes]:
    status, _ = client.select(f'"{folder}"')
    assert status == "OK", folder
    status, data = client.search(None, "HEADER", TOKEN_HEADER, token)
    assert status == "OK"
    return data[0].split()


def live_processes_naming(text: str) -> list[str]:
    """The command lines in /proc that contain `text`, of processes that are not zombies
    (Dovecot's processes name their instance, mailcheck-test-<folder name>, in their title)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in command and state not in ("Z", "X"):
            found.append(command)
    return found


# --- TLS, STARTTLS and logins ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_login_over_implicit_tls_verifies_the_certificate(dovecot: Dovecot, host: str) -> None:
    context = dovecot.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    client = imaplib.IMAP4_SSL(host, dovecot.tls_port, ssl_context=context)
    try:
        assert isinstance(client.sock, ssl.SSLSocket)
        names = {value for _, value in client.sock.getpeercert()["subjectAltName"]}
        assert {"localhost", "127.0.0.1"} <= names
        assert client.login(USER, PASSWORD) == ("OK", [b"Logged in"])
    finally:
        client.logout()


def test_implicit_tls_fails_against_the_system_trust_store(dovecot: Dovecot) -> None:
    """The certificate is the throwaway CA's: a client that trusts only the usual roots refuses
    it, so the test above verified against the fixture's CA and nothing else."""
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL("localhost", dovecot.tls_port, ssl_context=ssl.create_default_context())


def test_login_over_starttls_on_the_plain_port(dovecot: Dovecot) -> None:
    client = imaplib.IMAP4("127.0.0.1", dovecot.plain_port)
    try:
        assert not isinstance(client.sock, ssl.SSLSocket)
        assert "STARTTLS" in client.capabilities
        status, _ = client.starttls(dovecot.ssl_context())
        assert status == "OK"
        assert isinstance(client.sock, ssl.SSLSocket)
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert client.login(USER, PASSWORD)[0] == "OK"
    finally:
        client.logout()
    assert re.search(r"imap-login: Info: Login: user=<recipient@example.test>.*, TLS,",
                     dovecot.log_path.read_text())  # fmt: skip


def test_plain_port_requires_starttls_from_a_remote_address(dovecot: Dovecot) -> None:
    """Dovecot trusts a connection from its own address: from 127.0.0.2 it acts as for a remote
    client, announcing LOGINDISABLED and refusing LOGIN until STARTTLS."""
    with socket.socket() as raw:
        raw.settimeout(5)
        raw.bind(("127.0.0.2", 0))
        raw.connect(("127.0.0.1", dovecot.plain_port))
        reader = raw.makefile("rb")
        greeting = reader.readline()
        assert b"STARTTLS" in greeting and b"LOGINDISABLED" in greeting
        raw.sendall(f"a1 LOGIN {USER} {PASSWORD}\r\n".encode())
        reply = b""
        while not reply.startswith(b"a1 "):
            reply = reader.readline()
        assert reply.startswith((b"a1 NO", b"a1 BAD"))
    assert "Login: user=<recipient" not in dovecot.log_path.read_text()


def test_wrong_password_is_refused_within_a_second(dovecot: Dovecot) -> None:
    """Dovecot's 2 s failure delay and growing penalty are off (unless failure_delay=True); it
    still answers a failure on its next 500 ms tick."""
    started = time.monotonic()
    for _ in range(2):  # the second is not slower: no penalty builds up
        client = imaplib.IMAP4_SSL("localhost", dovecot.tls_port, ssl_context=dovecot.ssl_context())
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.login(USER, "not-the-password")
        client.logout()
    assert time.monotonic() - started < 2.0
    assert "Password mismatch" in dovecot.log_path.read_text()


def test_unknown_user_is_refused(dovecot: Dovecot) -> None:
    client = imaplib.IMAP4_SSL("localhost", dovecot.tls_port, ssl_context=dovecot.ssl_context())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("stranger@example.test", PASSWORD)
    client.logout()
    assert "unknown user" in dovecot.log_path.read_text()


def test_each_user_has_their_own_password_and_mailbox(start_dovecot: StartDovecot) -> None:
    server = start_dovecot({"a@example.test": "alpha", "b@example.test": "bravo"})
    server.deliver("a@example.test", invitation("for-a"))
    with logged_in(server, "b@example.test", "bravo") as client:
        assert search_token(client, "INBOX", "for-a") == []
    with logged_in(server, "a@example.test", "alpha") as client:
        assert len(search_token(client, "INBOX", "for-a")) == 1
    client = imaplib.IMAP4_SSL("localhost", server.tls_port, ssl_context=server.ssl_context())
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        client.login("a@example.test", "bravo")
    client.logout()


# --- Folders -----------------------------------------------------------------------------------


def test_list_shows_the_special_use_attributes(dovecot: Dovecot) -> None:
    with logged_in(dovecot) as client:
        assert "SPECIAL-USE" in client.capability()[1][0].decode().split()
        status, lines = client.list()
        assert status == "OK"
        listed = folders(lines)
        special = special_use_list(client)
    assert set(listed) == {"INBOX", "Junk", "Sent", "Trash", "All Mail"}
    assert "\\Junk" in listed["Junk"] and "\\All" in listed["All Mail"]
    assert "\\Sent" in listed["Sent"] and "\\Trash" in listed["Trash"]
    assert special == {
        "Junk": {"\\Junk"},
        "Sent": {"\\Sent"},
        "Trash": {"\\Trash"},
        "All Mail": {"\\All"},
    }
    assert dovecot.junk == "Junk"


def test_without_special_use_the_spam_folder_has_only_its_name(
    dovecot_no_special_use: Dovecot,
) -> None:
    with logged_in(dovecot_no_special_use) as client:
        status, lines = client.list()
        assert status == "OK"
        listed = folders(lines)
        special = special_use_list(client)
    assert set(listed) == {"INBOX", "Spam", "Sent", "Trash", "Archive"}
    use_flags = {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}
    assert all(not attributes & use_flags for attributes in listed.values()), listed
    assert special == {}
    assert dovecot_no_special_use.junk == "Spam"


def test_custom_folders(start_dovecot: StartDovecot) -> None:
    server = start_dovecot(
        folders=[imap.Folder("Bulk Mail", "\\Junk"), imap.Folder("Archive/2024")]
    )
    with logged_in(server) as client:
        listed = folders(client.list()[1])
    assert "\\Junk" in listed["Bulk Mail"] and "Archive/2024" in listed
    assert server.junk == "Bulk Mail"


# --- Delivery, search, expunge -----------------------------------------------------------------


@pytest.mark.parametrize("folder", ["INBOX", "Junk"])
def test_delivered_message_is_found_by_its_token_in_its_folder(
    dovecot: Dovecot, folder: str
) -> None:
    token = uuid.uuid4().hex
    dovecot.deliver(USER, invitation(uuid.uuid4().hex, "Another message"), folder=folder)
    path = dovecot.deliver(USER, invitation(token), folder=folder)
    assert path.parent.name == "new"
    other = "Junk" if folder == "INBOX" else "INBOX"
    with logged_in(dovecot) as client:
        hits = search_token(client, folder, token)
        assert len(hits) == 1
        status, data = client.fetch(hits[0], "(BODY.PEEK[HEADER.FIELDS (AUTHENTICATION-RESULTS)])")
        assert status == "OK"
        header = data[0]
        assert isinstance(header, tuple)
        assert AUTH_RESULTS.encode() in header[1].replace(b"\r\n ", b" ")
        assert search_token(client, other, token) == []
        assert search_token(client, folder, uuid.uuid4().hex) == []


def test_delivery_into_a_folder_known_only_by_name(dovecot_no_special_use: Dovecot) -> None:
    token = uuid.uuid4().hex
    dovecot_no_special_use.deliver(USER, invitation(token), folder="Spam")
    with logged_in(dovecot_no_special_use) as client:
        assert len(search_token(client, "Spam", token)) == 1
        assert search_token(client, "INBOX", token) == []
    [stored] = dovecot_no_special_use.messages(USER)
    assert (stored.folder, stored.header(TOKEN_HEADER)) == ("Spam", token)


def test_listing_shows_folder_and_headers(dovecot: Dovecot) -> None:
    assert dovecot.messages(USER) == []
    dovecot.deliver(USER, invitation("in-inbox", "First"))
    dovecot.deliver(USER, invitation("in-junk", "Second"), folder="Junk")
    listing = {(m.folder, m.subject, m.header(TOKEN_HEADER)) for m in dovecot.messages(USER)}
    assert listing == {("INBOX", "First", "in-inbox"), ("Junk", "Second", "in-junk")}
    [junk] = dovecot.messages(USER, folder="Junk")
    assert junk.header("Authentication-Results") == AUTH_RESULTS
    assert [m.subject for m in dovecot.messages(USER, folder="inbox")] == ["First"]


def test_expunged_message_is_gone_from_the_listing(dovecot: Dovecot) -> None:
    token = uuid.uuid4().hex
    dovecot.deliver(USER, invitation("keep-me", "Keep"), folder="Junk")
    dovecot.deliver(USER, invitation(token), folder="Junk")
    assert len(dovecot.messages(USER, folder="Junk")) == 2
    with logged_in(dovecot) as client:
        [number] = search_token(client, "Junk", token)
        assert client.store(number, "+FLAGS", "\\Deleted")[0] == "OK"
        flagged = [m for m in dovecot.messages(USER) if m.header(TOKEN_HEADER) == token]
        assert [m.flags for m in flagged] == ["T"]  # Maildir's flag for \Deleted
        status, expunged = client.expunge()
        assert status == "OK" and expunged == [number]
        assert search_token(client, "Junk", token) == []
    remaining = [(m.folder, m.header(TOKEN_HEADER)) for m in dovecot.messages(USER)]
    assert remaining == [("Junk", "keep-me")]


def test_deliver_rejects_what_it_cannot_store(dovecot: Dovecot) -> None:
    with pytest.raises(KeyError, match="no such user"):
        dovecot.deliver("stranger@example.test", b"Subject: x\n\n")
    with pytest.raises(ValueError, match="folder"):
        dovecot.deliver(USER, b"Subject: x\n\n", folder="a.b")
    with pytest.raises(TypeError):
        dovecot.deliver(USER, "Subject: x\n\n")  # type: ignore[arg-type]
    assert dovecot.messages(USER) == []


# --- Start and stop ----------------------------------------------------------------------------


def test_listens_on_127_0_0_1_only_with_its_config_in_its_own_folder(dovecot: Dovecot) -> None:
    for port in (dovecot.tls_port, dovecot.plain_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.2", port), timeout=2).close()
    config = dovecot.config_path.read_text()
    assert dovecot.root is not None
    paths = re.findall(r"(?<![\w.~])/[\w./@-]+", config)
    assert paths and all(Path(path).is_relative_to(dovecot.root) for path in paths), paths
    assert "/etc" not in config


def test_stop_ends_every_process_and_removes_the_folder(start_dovecot: StartDovecot) -> None:
    server = start_dovecot()
    root, master = server.root, server.process
    assert root is not None and master is not None
    with logged_in(server) as client:
        client.select()
        assert any("/imap" in command for command in live_processes_naming(root.name))
        started = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - started
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            client.noop()
    assert stopped_in < 3.0  # milliseconds, or about 1 s when the master waits for a process
    assert master.returncode is not None
    assert live_processes_naming(root.name) == []
    assert not root.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.tls_port), timeout=2).close()
    server.stop()  # a second stop does nothing


def test_a_dovecot_that_cannot_start_raises_with_its_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    imap.require_dovecot()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: Dovecot cannot bind it either
        port = taken.getsockname()[1]
        folders_made: list[str] = []
        real_mkdtemp = imap.tempfile.mkdtemp

        def mkdtemp(**options: str) -> str:
            folders_made.append(real_mkdtemp(**options))
            return folders_made[-1]

        monkeypatch.setattr(imap.tempfile, "mkdtemp", mkdtemp)
        monkeypatch.setattr(imap, "free_ports", lambda count: [port, port + 1][:count])
        with pytest.raises(DovecotError) as failure:
            Dovecot({USER: PASSWORD}).start()
    message = str(failure.value)
    assert "exited with status" in message and "Address already in use" in message
    assert "--- dovecot" in message  # the tail of its output or log
    assert len(folders_made) == 3  # tried again with other ports (here: the same), then gave up
    assert not any(Path(folder).exists() for folder in folders_made)


def test_a_dovecot_that_stays_silent_is_tried_again_then_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stand-in that prints a line and never listens: three tries, two warnings, then an
    error that shows its processes and output; none of them is left running."""
    silent = tmp_path / "dovecot"
    silent.write_text("#!/bin/sh\necho 'stand-in starting'\nwhile :; do sleep 0.1; done\n")
    silent.chmod(0o755)
    monkeypatch.setattr(imap, "dovecot_binary", lambda: str(silent))
    monkeypatch.setattr(imap, "START_TIMEOUT", 0.3)
    with (
        pytest.warns(UserWarning, match="did not answer") as warned,
        pytest.raises(DovecotError) as failure,
    ):
        Dovecot({USER: PASSWORD}).start()
    assert len(warned) == 2
    message = str(failure.value)
    assert failure.value.silent and "did not answer on plain port" in message
    assert f"/bin/sh {silent} -F -c" in message and "stand-in starting" in message
    assert live_processes_naming(str(silent)) == []


def test_missing_dovecot_skips_with_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap, "dovecot_binary", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        imap.require_dovecot()
    assert str(skipped.value) == "needs Dovecot: apt-get install dovecot-imapd"


def test_missing_dovecot_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap, "dovecot_binary", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-imapd"):
        imap.require_dovecot()


def test_users_that_a_passwd_file_cannot_hold_are_refused() -> None:
    for users in ({"a:b": "x"}, {"a": "pass:word"}, {"a": "line\nbreak"}, {"../a": "x"}, {}):
        with pytest.raises(ValueError):
            Dovecot(users)
