"""IMAP over real sockets: this module and adapters/imap_wire.py alone import imaplib.

`ImapClient` reads the candidate's mailbox for `send-test --confirm`: connect (implicit TLS, or
plain text then STARTTLS; the certificate verified with the caller's `ssl.SSLContext`), log in,
list the folders with their SPECIAL-USE attributes, find the test message by a header, fetch
its header, delete it, log out.

imaplib does the IMAP dialogue (tags, untagged responses, literals); its reads and writes are
replaced (`_BoundedIMAP`) by ones that obey a per-operation timeout and one deadline for the
whole session and feed the transcript, so a silent, trickling or endless server ends in an
`ImapProblem`, never a hang. Every exception imaplib, ssl or socket raise is translated into an
`ImapProblem` with a `kind` the check layer maps to a finding:

    no_such_host, resolve_failed, refused, connect_timeout, connect_failed,
    tls_failed, certificate (data["reason"]), starttls_refused, not_imap,
    login_refused (reply: the server's text), credentials_not_ascii,
    no_such_folder, no_such_message, command_failed (reply), timeout, disconnected, protocol

The transcript records both sides with the password masked (`a1 LOGIN "user" ********`), and
every literal (a message header, a folder name) summarised as its size.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from interview_mailcheck import secrets
from interview_mailcheck.adapters.imap_wire import (
    _BoundedIMAP,
    _reply_text,
    _text,
    _tls_problem,
    connect_socket,
    resolve,
)
from interview_mailcheck.adapters.tls import certificate_info, decode_der, tls_context
from interview_mailcheck.imap_response import (
    _astring,
    _fetch_attributes,
    _grouped,
    _quotable,
    _segments,
    _string,
    _Unreadable,
    parse_items,
    parse_list_response,
)
from interview_mailcheck.imap_session import (
    Deadline,
    Deletion,
    Found,
    ImapProblem,
    ImapTranscript,
)
from interview_mailcheck.mailboxes import Folder, decode_utf7, encode_utf7
from interview_mailcheck.smtp_session import TlsInfo

__all__ = [
    "DEFAULT_PORTS",
    "Deletion",
    "Found",
    "ImapClient",
    "ImapProblem",
    "ImapTranscript",
    "Security",
    "tls_context",
]

Security = Literal["tls", "starttls"]
DEFAULT_PORTS: dict[str, int] = {"tls": 993, "starttls": 143}
MAX_UNTAGGED = 20_000
"""Untagged responses to one command beyond this: the server is flooding."""
LOGOUT_WAIT = 1.0
"""Seconds the LOGOUT at the end may take: a server that answers at all answers it at once."""
_SESSION_OVER = frozenset({"timeout", "disconnected", "protocol", "tls_failed"})
"""Problems after which the session cannot go on (a LOGOUT would only wait)."""


# --- The client ----------------------------------------------------------------------------


class ImapClient:
    """One IMAP session, a step at a time: connect, login, folders, find, headers, delete,
    logout. Every step raises ImapProblem and nothing else."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = "tls",
        context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        budget: float = 120.0,
    ) -> None:
        if security not in DEFAULT_PORTS:
            raise ValueError(f"security must be 'tls' or 'starttls', not {security!r}")
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.security: Security = security
        self.context = context if context is not None else tls_context(None, False)
        self.timeout = timeout
        self.deadline = Deadline(timeout, budget)
        self.transcript = ImapTranscript()
        self.address = ""
        self.tls: TlsInfo | None = None
        self.greeting = ""
        self._imap: _BoundedIMAP | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._selected: tuple[str, bool] | None = None
        self._broken = False
        """After a timeout or an unreadable answer the dialogue is out of step: no LOGOUT."""

    # --- Guarding every step ------------------------------------------------------------------

    @contextlib.contextmanager
    def _step(self, what: str, seconds: float | None = None) -> Iterator[None]:
        """Bound the step and translate whatever imaplib, ssl or socket raise."""
        self.deadline.begin(what, seconds)
        try:
            yield
        except ImapProblem as problem:
            if problem.kind in _SESSION_OVER:
                self._broken = True
            raise
        except imaplib.IMAP4.readonly as error:
            raise ImapProblem(
                "command_failed", f"the folder is read-only ({what})", reply=_text(error)
            ) from None
        except imaplib.IMAP4.abort as error:
            text = _text(error)
            if "BYE" in text.upper() or self._bye() is not None:
                raise ImapProblem(
                    "disconnected",
                    f"the server ended the session ({what})",
                    reply=self._bye() or text,
                ) from None
            raise ImapProblem("protocol", f"unreadable answer ({what}): {text}") from None
        except imaplib.IMAP4.error as error:
            text = _text(error)
            if "command error: BAD" in text:
                raise ImapProblem(
                    "command_failed", f"the server rejected the command ({what})", reply=text
                ) from None
            raise ImapProblem("protocol", f"unexpected answer ({what}): {text}") from None
        except _Unreadable as error:
            raise ImapProblem("protocol", f"unreadable answer ({what}): {error}") from None
        except ssl.SSLError as error:
            raise _tls_problem(error) from None
        except TimeoutError:
            raise ImapProblem("timeout", f"the server stopped answering ({what})") from None
        except OSError as error:
            raise ImapProblem("disconnected", f"the connection broke ({what}): {error}") from None
        except Exception as error:  # imaplib reading what a hostile server sent
            raise ImapProblem(
                "protocol", f"unreadable answer ({what}): {type(error).__name__}: {error}"
            ) from None

    def _bye(self) -> str | None:
        imap = self._imap
        if imap is None:
            return None
        bye = imap.untagged_responses.get("BYE")
        if bye:
            last = bye[-1]
            return last.decode("utf-8", "replace") if isinstance(last, bytes) else None
        return None

    def _session(self) -> _BoundedIMAP:
        if self._imap is None:
            raise ImapProblem("disconnected", "not connected (connect first)")
        return self._imap

    # --- Connecting ------------------------------------------------------------------------

    def _handshake(self, sock: socket.socket) -> ssl.SSLSocket:
        self.deadline.begin("the TLS handshake")
        try:
            sock.settimeout(self.deadline.wait())
            secured = self.context.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            raise ImapProblem(
                "timeout", "the server did not answer the TLS handshake", data={"during": "tls"}
            ) from None
        except ssl.SSLError as error:
            raise _tls_problem(error) from None
        except OSError as error:
            raise ImapProblem(
                "disconnected", f"the connection broke during the TLS handshake: {error}"
            ) from None
        self.tls = self._tls_info(secured)
        return secured

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

    def connect(self) -> str:
        """Resolve, connect, secure (implicit TLS or STARTTLS) and read the greeting and the
        capabilities. Returns the greeting."""
        sock, self.address = connect_socket(
            resolve(self.host, self.port, self.deadline), self.port, self.deadline
        )
        self.transcript.note(f"connected to {self.address} port {self.port}")
        try:
            if self.security == "tls":
                sock = self._handshake(sock)
            self._greet(sock)
            if self.security == "starttls":
                self._starttls()
        except BaseException:
            self.close()
            with contextlib.suppress(OSError):
                sock.close()
            raise
        return self.greeting

    def _greet(self, sock: socket.socket) -> None:
        self.deadline.begin("waiting for the greeting")
        try:
            imap = _BoundedIMAP(sock, self.host, self.port, self.transcript, self.deadline)
        except ImapProblem:
            raise
        except (imaplib.IMAP4.error, _Unreadable, ValueError, TypeError, UnicodeError) as error:
            first = next((line.text for line in self.transcript.lines if line.who == "S"), "")
            if first.upper().startswith("* BYE"):
                raise ImapProblem(
                    "disconnected", "the server refused the session in its greeting", reply=first
                ) from None
            raise ImapProblem(
                "not_imap",
                f"the server does not speak IMAP: {first[:120]!r}"
                if first
                else f"the server does not speak IMAP ({_text(error)})",
                reply=first or None,
            ) from None
        except Exception as error:
            raise ImapProblem(
                "not_imap", f"the server does not speak IMAP ({type(error).__name__})"
            ) from None
        self._imap = imap
        welcome = imap.welcome
        self.greeting = welcome.decode("utf-8", "replace") if isinstance(welcome, bytes) else ""
        self._capabilities = frozenset(capability.upper() for capability in imap.capabilities)

    def _starttls(self) -> None:
        imap = self._session()
        if "STARTTLS" not in self._capabilities:
            raise ImapProblem("starttls_refused", "the server does not offer STARTTLS")
        with self._step("STARTTLS"):
            status, data = imap.xatom("STARTTLS")
        if status != "OK":
            raise ImapProblem(
                "starttls_refused", "the server refused STARTTLS", reply=_reply_text(data)
            )
        imap.nothing_buffered()
        secured = self._handshake(imap.sock)
        imap.replace_socket(secured)
        self._refresh_capabilities(from_response=False)

    def _refresh_capabilities(self, *, from_response: bool) -> None:
        """The capabilities after TLS or login (they may change, RFC 3501 6.2.1 and 6.2.3):
        from the tagged OK's [CAPABILITY ...] when the server sent it, else by asking."""
        imap = self._session()
        with self._step("CAPABILITY"):
            data: list[Any] = [None]
            if from_response:
                _, data = imap.response("CAPABILITY")
            if not data or data[-1] is None:
                status, data = imap.capability()
                if status != "OK":
                    raise ImapProblem("protocol", "the server refused CAPABILITY")
            last = data[-1] if data else None
            if not isinstance(last, bytes):
                raise ImapProblem("protocol", "the server sent no CAPABILITY")
            self._capabilities = frozenset(last.decode("ascii", "replace").upper().split())
            imap.capabilities = tuple(sorted(self._capabilities))

    def capabilities(self) -> frozenset[str]:
        """What the server announced last (upper case): IMAP4REV1, SPECIAL-USE, UIDPLUS..."""
        return self._capabilities

    # --- Login -------------------------------------------------------------------------------

    def login(self, user: str, password: str) -> str:
        """LOGIN (AUTHENTICATE PLAIN when the user name or password is not printable ASCII).
        Returns the server's text. ImapProblem 'login_refused' carries the server's reply."""
        imap = self._session()
        secrets.current().add_login(user, password)
        if imap.state == "AUTH":
            return "PREAUTH"
        plain = not (_quotable(user) and _quotable(password))
        if "LOGINDISABLED" in self._capabilities:
            if "AUTH=PLAIN" not in self._capabilities:
                raise ImapProblem(
                    "login_refused",
                    "the server does not allow LOGIN here (LOGINDISABLED)",
                    data={"logindisabled": True},
                )
            plain = True
        if plain and "AUTH=PLAIN" not in self._capabilities:
            raise ImapProblem(
                "credentials_not_ascii",
                "the user name or password is not printable ASCII, and the server does not "
                "offer AUTHENTICATE PLAIN to send it in UTF-8",
            )
        data: Any
        with self._step("LOGIN"):
            if plain:
                payload = f"\0{user}\0{password}".encode()
                try:
                    status, data = imap.authenticate("PLAIN", lambda _challenge: payload)
                except imaplib.IMAP4.error as error:
                    raise ImapProblem(
                        "login_refused", "the server refused the login", reply=_text(error)
                    ) from None
            else:
                status, data = imap.xatom("LOGIN", _astring(user), _astring(password))
        reply = _reply_text(data)
        if status != "OK":
            raise ImapProblem("login_refused", "the server refused the login", reply=reply)
        imap.state = "AUTH"
        self._refresh_capabilities(from_response=True)
        return reply

    # --- Folders -------------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        """Every folder with its attributes: `LIST "" "*"`, and when the server announces
        SPECIAL-USE also `LIST (SPECIAL-USE) "" "*"`, whose attributes are added."""
        imap = self._session()
        with self._step("LIST"):
            status, data = imap.xatom("LIST", '""', '"*"')
            _, lines = imap.response("LIST")
            if status != "OK":
                raise ImapProblem(
                    "command_failed", "the server refused LIST", reply=_reply_text(data)
                )
            folders = parse_list_response(lines)
        if "SPECIAL-USE" in self._capabilities:
            try:
                with self._step("LIST (SPECIAL-USE)"):
                    status, _ = imap.xatom("LIST", "(SPECIAL-USE)", '""', '"*"')
                    _, lines = imap.response("LIST")
                    special = parse_list_response(lines) if status == "OK" else []
            except ImapProblem as problem:
                if problem.kind != "command_failed":
                    raise
                special = []
            extra = {folder.mailbox: folder.attributes for folder in special}
            folders = [
                Folder(
                    f.name, f.attributes | extra.get(f.mailbox, frozenset()), f.delimiter, f.wire
                )
                for f in folders
            ]
            known = {folder.mailbox for folder in folders}
            folders += [folder for folder in special if folder.mailbox not in known]
        return folders

    def _mailbox(self, folder: Folder | str) -> str:
        if isinstance(folder, Folder):
            return folder.mailbox
        return "INBOX" if folder.upper() == "INBOX" else encode_utf7(folder)

    def _select(self, folder: Folder | str, *, writable: bool, again: bool = True) -> None:
        """SELECT (writable) or EXAMINE `folder`; with `again` false, nothing when it is open
        already in a mode that will do."""
        imap = self._session()
        mailbox = self._mailbox(folder)
        if not again and self._selected is not None:
            open_name, open_writable = self._selected
            if open_name == mailbox and (open_writable or not writable):
                return
        if not _quotable(mailbox):
            raise ImapProblem("no_such_folder", f"the folder name {mailbox!r} cannot be sent")
        verb = "SELECT" if writable else "EXAMINE"
        with self._step(f"{verb} {mailbox}"):
            status, data = imap.select(_astring(mailbox), readonly=not writable)
        if status != "OK":
            self._selected = None
            raise ImapProblem(
                "no_such_folder",
                f"the server cannot open the folder {decode_utf7(mailbox)!r}",
                reply=_reply_text(data),
            )
        self._selected = (mailbox, writable)

    # --- Messages ------------------------------------------------------------------------------

    def find(self, folder: Folder | str, header: str, value: str) -> list[int]:
        """UIDs of the messages in `folder` with a `header` field containing `value`
        (EXAMINE, then UID SEARCH HEADER)."""
        if not _quotable(header) or not _quotable(value) or not header.strip():
            raise ImapProblem("protocol", "the header and value must be printable ASCII")
        self._select(folder, writable=False)
        return self._search("HEADER", _astring(header), _astring(value))

    def _search(self, *criteria: str) -> list[int]:
        imap = self._session()
        with self._step("UID SEARCH"):
            status, data = imap.uid("SEARCH", *criteria)
            if status != "OK":
                raise ImapProblem(
                    "command_failed", "the server refused the search", reply=_reply_text(data)
                )
            found: list[int] = []
            for part in data:
                if part is None:
                    continue
                if not isinstance(part, bytes):
                    raise _Unreadable("a SEARCH response with a literal")
                for word in part.split():
                    if not word.isdigit() or len(word) > 10:
                        raise _Unreadable(f"a SEARCH result that is not a UID: {word[:20]!r}")
                    found.append(int(word))
            return sorted(set(found))

    def headers(self, folder: Folder | str, uid: int) -> bytes:
        """The header of message `uid` (UID FETCH uid (BODY.PEEK[HEADER]); not marked seen)."""
        self._select(folder, writable=False, again=False)
        imap = self._session()
        with self._step("UID FETCH"):
            status, data = imap.uid("FETCH", str(int(uid)), "(BODY.PEEK[HEADER])")
            if status != "OK":
                raise ImapProblem(
                    "command_failed", "the server refused the fetch", reply=_reply_text(data)
                )
            for group in _grouped(data):
                items = parse_items(_segments(group))
                attributes = _fetch_attributes(items)
                seen_uid = attributes.get("UID")
                if isinstance(seen_uid, bytes) and seen_uid.isdigit() and int(seen_uid) != uid:
                    continue
                value = attributes.get("BODY[HEADER]")
                if value is None:
                    continue
                header = _string(value)
                return header or b""
        raise ImapProblem("no_such_message", f"message {uid} is not in the folder")

    def delete(self, folder: Folder | str, uid: int) -> Deletion:
        """Flag message `uid` \\Deleted and expunge it: UID EXPUNGE with UIDPLUS; without it
        EXPUNGE, but only when no other message of the folder is flagged \\Deleted (EXPUNGE
        would remove those too); otherwise the message stays, flagged."""
        self._select(folder, writable=True)
        imap = self._session()
        name = folder.name if isinstance(folder, Folder) else folder
        with self._step("UID STORE"):
            status, data = imap.uid("STORE", str(int(uid)), "+FLAGS", "(\\Deleted)")
        if status != "OK":
            raise ImapProblem(
                "command_failed", "the server refused to flag the message", reply=_reply_text(data)
            )
        if "UIDPLUS" in self._capabilities:
            with self._step("UID EXPUNGE"):
                status, data = imap.uid("EXPUNGE", str(int(uid)))
        else:
            others = [found for found in self._search("DELETED") if found != uid]
            if others:
                return Deletion(
                    name,
                    uid,
                    False,
                    f"left flagged \\Deleted: the server has no UIDPLUS, and EXPUNGE would also "
                    f"remove {len(others)} other message(s) flagged for deletion",
                )
            with self._step("EXPUNGE"):
                status, data = imap.expunge()
        if status != "OK":
            raise ImapProblem(
                "command_failed", "the server refused to expunge", reply=_reply_text(data)
            )
        return Deletion(name, uid, True)

    def noop(self) -> None:
        imap = self._session()
        with self._step("NOOP"):
            imap.noop()

    def wait_for(
        self,
        folders: Sequence[Folder | str],
        header: str,
        value: str,
        *,
        within: float,
        every: float = 2.0,
        since: float | None = None,
    ) -> Found | None:
        """Search `folders` in order, again every `every` seconds, until a message with
        `header` containing `value` turns up or `within` seconds (and the budget) run out."""
        started = time.monotonic() if since is None else since
        ends = min(time.monotonic() + within, self.deadline.ends - 1.0)
        searches = 0
        while True:
            for folder in folders:
                searches += 1
                uids = self.find(folder, header, value)
                if uids:
                    chosen = folder if isinstance(folder, Folder) else Folder(folder)
                    seconds = round(time.monotonic() - started, 1)
                    self.transcript.note(f"found in {chosen.name} after {seconds:g} s")
                    return Found(chosen, uids[-1], seconds, searches)
            left = ends - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(every, left))

    # --- The end ----------------------------------------------------------------------------

    def logout(self) -> None:
        """LOGOUT (waiting at most LOGOUT_WAIT for the answer), then close. Never raises."""
        imap = self._imap
        try:
            if imap is not None and not self._broken and self.deadline.remaining() > 0:
                wait = min(LOGOUT_WAIT, self.timeout, self.deadline.remaining())
                self.deadline.begin("LOGOUT", wait)
                imap.state = "LOGOUT"
                imap.xatom("LOGOUT")
        except Exception:  # the session is over either way
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection without a word. Never raises."""
        imap, self._imap = self._imap, None
        if imap is not None:
            with contextlib.suppress(Exception):
                imap.shutdown()

    def __enter__(self) -> ImapClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logout()
