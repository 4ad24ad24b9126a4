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

import base64
import binascii
import contextlib
import itertools
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from interview_mailcheck.authresults import header_fields
from interview_mailcheck.mailboxes import decode_utf7, encode_utf7

if TYPE_CHECKING:
    from interview_mailcheck.loopback import LoopbackSMTP, Received

HOST = "127.0.0.1"
MAX_LINE = 16 * 1024
MAX_LITERAL = 8 * 1024 * 1024
IDLE_TIMEOUT = 60.0
"""Seconds a connection may stay silent before the server closes it."""
MAX_CONNECTIONS = 64
FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
AUTH_FAILED = "NO [AUTHENTICATIONFAILED] Authentication failed."


@dataclass(frozen=True)
class FolderSpec:
    name: str
    special_use: str | None = None


SPECIAL_USE_FOLDERS = (
    FolderSpec("Junk", "\\Junk"),
    FolderSpec("Sent", "\\Sent"),
    FolderSpec("Trash", "\\Trash"),
    FolderSpec("All Mail", "\\All"),
)
NAMED_FOLDERS = (FolderSpec("Spam"), FolderSpec("Sent"), FolderSpec("Trash"), FolderSpec("Archive"))
"""The folders of a server without SPECIAL-USE (as the Dovecot fixture's)."""


# --- The store -----------------------------------------------------------------------------------


@dataclass
class StoredMessage:
    uid: int
    data: bytes
    flags: set[str] = field(default_factory=set)

    def header(self) -> bytes:
        """The header section, up to and including the empty line."""
        end = self.data.find(b"\r\n\r\n")
        return self.data if end < 0 else self.data[: end + 4]


@dataclass
class _Mailbox:
    name: str
    special_use: str | None
    uidvalidity: int
    uidnext: int = 1
    messages: list[StoredMessage] = field(default_factory=list)


@dataclass(frozen=True)
class Listed:
    """A message as `messages()` returns it."""

    folder: str
    uid: int
    flags: frozenset[str]
    data: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for field_name, value in header_fields(self.data):
            if field_name.lower() == wanted:
                return value
        return None

    @property
    def subject(self) -> str:
        return self.header("Subject") or ""


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


class MailStore:
    """Users, their folders and messages, shared by every connection (one lock)."""

    def __init__(self, users: dict[str, str], folders: Sequence[FolderSpec]) -> None:
        self.users = dict(users)
        self.lock = threading.RLock()
        validity = itertools.count(int(time.time()))
        self._boxes: dict[str, dict[str, _Mailbox]] = {}
        for user in self.users:
            boxes = {"INBOX": _Mailbox("INBOX", None, next(validity))}
            for spec in folders:
                boxes[spec.name] = _Mailbox(spec.name, spec.special_use, next(validity))
            self._boxes[user] = boxes

    def boxes(self, user: str) -> dict[str, _Mailbox]:
        if user not in self._boxes:
            raise KeyError(f"no such user: {user!r} (users: {', '.join(self.users)})")
        return self._boxes[user]

    def box(self, user: str, name: str) -> _Mailbox | None:
        boxes = self.boxes(user)
        return boxes.get("INBOX" if name.upper() == "INBOX" else name)

    def deliver(self, user: str, folder: str, message: bytes) -> int:
        if not isinstance(message, bytes):
            raise TypeError("message must be bytes")
        with self.lock:
            box = self.box(user, folder)
            if box is None:
                raise KeyError(f"no folder {folder!r} for {user!r}")
            uid = box.uidnext
            box.uidnext += 1
            box.messages.append(StoredMessage(uid, _crlf(message), {"\\Recent"}))
            return uid

    def messages(self, user: str, folder: str | None = None) -> list[Listed]:
        with self.lock:
            found = []
            for box in self.boxes(user).values():
                wanted = (
                    None if folder is None else "INBOX" if folder.upper() == "INBOX" else folder
                )
                if wanted is not None and box.name != wanted:
                    continue
                for message in box.messages:
                    found.append(
                        Listed(box.name, message.uid, frozenset(message.flags), message.data)
                    )
            return found


# --- Reading commands ----------------------------------------------------------------------------


class _Bad(Exception):
    """A command the server cannot read: answered BAD."""


class _Closed(Exception):
    """The client went away, or the connection must end."""


class _Atom(str):
    pass


Argument = Any
"""_Atom, str (quoted or literal), or a list of arguments."""


class _Connection:
    """Line and literal reads over one socket, bounded."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (OSError, ValueError):
            raise _Closed() from None
        if not chunk:
            raise _Closed()
        self.buffer += chunk

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line, self.buffer = self.buffer[: end + 1], self.buffer[end + 1 :]
                if len(line) > MAX_LINE:
                    raise _Closed()
                return line.rstrip(b"\r\n")
            if len(self.buffer) > MAX_LINE:
                raise _Closed()
            self._fill()

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (OSError, ValueError):
            raise _Closed() from None


def _read_command(connection: _Connection) -> tuple[str, str, list[Argument]] | None:
    """Tag, command (upper case) and arguments; literals ({N} and {N+}) read as they come.
    None for an empty line."""
    line = connection.line()
    if not line.strip():
        return None
    pieces: list[bytes | tuple[str, bytes]] = []
    while True:
        mark = re.search(rb"\{(\d{1,9})(\+?)\}$", line)
        if not mark:
            pieces.append(line)
            break
        size = int(mark.group(1))
        if size > MAX_LITERAL:
            raise _Closed()
        if not mark.group(2):
            connection.send(b"+ OK\r\n")
        pieces.append(line[: mark.start()])
        pieces.append(("literal", connection.exactly(size)))
        line = connection.line()
    tokens = _tokens(pieces)
    if len(tokens) < 2 or not isinstance(tokens[0], _Atom) or not isinstance(tokens[1], _Atom):
        tag = tokens[0] if tokens and isinstance(tokens[0], _Atom) else "*"
        raise _BadTagged(str(tag), "Error in IMAP command received by server.")
    return str(tokens[0]), str(tokens[1]).upper(), tokens[2:]


class _BadTagged(Exception):
    def __init__(self, tag: str, text: str) -> None:
        super().__init__(text)
        self.tag = tag
        self.text = text


def _tokens(pieces: Iterable[bytes | tuple[str, bytes]]) -> list[Argument]:
    root: list[Argument] = []
    stack = [root]
    for piece in pieces:
        if isinstance(piece, tuple):
            stack[-1].append(piece[1].decode("utf-8", "replace"))
            continue
        text = piece.decode("utf-8", "replace")
        at = 0
        while at < len(text):
            character = text[at]
            if character == " ":
                at += 1
            elif character == "(":
                child: list[Argument] = []
                stack[-1].append(child)
                stack.append(child)
                at += 1
            elif character == ")":
                if len(stack) == 1:
                    raise _BadTagged(_first_atom(root), "Unexpected ')'")
                stack.pop()
                at += 1
            elif character == '"':
                at += 1
                out = []
                while at < len(text) and text[at] != '"':
                    if text[at] == "\\" and at + 1 < len(text):
                        at += 1
                    out.append(text[at])
                    at += 1
                if at >= len(text):
                    raise _BadTagged(_first_atom(root), "Missing '\"'")
                at += 1
                stack[-1].append("".join(out))
            else:
                start = at
                depth = 0
                while at < len(text):
                    current = text[at]
                    if current == "[":
                        depth += 1
                    elif current == "]":
                        depth = max(0, depth - 1)
                    elif depth == 0 and current in ' ()"':
                        break
                    at += 1
                stack[-1].append(_Atom(text[start:at]))
    if len(stack) != 1:
        raise _BadTagged(_first_atom(root), "Missing ')'")
    return root


def _first_atom(tokens: list[Argument]) -> str:
    return str(tokens[0]) if tokens and isinstance(tokens[0], _Atom) else "*"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sequence_set(text: str, largest: int) -> set[int]:
    """`1`, `2:4`, `1,3:*` as numbers (`*` is `largest`)."""
    found: set[int] = set()
    for part in text.split(","):
        if not part:
            raise _Bad("empty part in a sequence set")
        bounds = part.split(":")
        if len(bounds) > 2:
            raise _Bad("bad range")
        numbers = []
        for bound in bounds:
            if bound == "*":
                numbers.append(largest)
            elif bound.isdigit() and 0 < int(bound) < 2**32:
                numbers.append(int(bound))
            else:
                raise _Bad(f"bad number {bound!r}")
        low, high = min(numbers), max(numbers)
        # Nothing lies above the largest UID: a range "1:4294967295" costs no more than "1:*".
        found |= set(range(low, min(high, largest) + 1))
        if low > largest:
            found.add(low)
    return found


# --- One session ---------------------------------------------------------------------------------


class _Session:
    def __init__(self, server: LoopbackIMAP, sock: socket.socket, tls: bool) -> None:
        self.server = server
        self.connection = _Connection(sock)
        self.tls = tls
        self.user: str | None = None
        self.selected: str | None = None
        self.readonly = False

    @property
    def store(self) -> MailStore:
        return self.server.store

    def send(self, text: str) -> None:
        self.connection.send(text.encode("utf-8") + b"\r\n")

    def capabilities(self) -> str:
        words = ["IMAP4rev1", "LITERAL+"]
        if self.user is None:
            if not self.tls and self.server.plain_port:
                words.append("STARTTLS")
            if not self.tls and not self.server.plaintext_login:
                words.append("LOGINDISABLED")
            else:
                words.append("AUTH=PLAIN")
        else:
            words += ["UIDPLUS", "UNSELECT", "CHILDREN"] if self.server.uidplus else ["CHILDREN"]
            if self.server.special_use:
                words += ["SPECIAL-USE", "LIST-EXTENDED"]
        return " ".join(words)

    def run(self) -> None:
        self.send(f"* OK [CAPABILITY {self.capabilities()}] mailcheck loopback IMAP ready.")
        while True:
            try:
                command = _read_command(self.connection)
            except _BadTagged as bad:
                self.send(f"{bad.tag} BAD {bad.text}")
                continue
            if command is None:
                continue
            tag, name, arguments = command
            try:
                if not self.dispatch(tag, name, arguments):
                    return
            except _Bad as bad:
                self.send(f"{tag} BAD {bad}")

    def dispatch(self, tag: str, name: str, arguments: list[Argument]) -> bool:
        """Answer one command; False ends the session."""
        if name == "CAPABILITY":
            self.send(f"* CAPABILITY {self.capabilities()}")
            self.send(f"{tag} OK Capability completed.")
        elif name == "NOOP":
            self.send(f"{tag} OK NOOP completed.")
        elif name == "LOGOUT":
            self.send("* BYE Logging out")
            self.send(f"{tag} OK Logout completed.")
            return False
        elif name == "STARTTLS":
            return self.starttls(tag)
        elif name == "LOGIN":
            self.login(tag, arguments)
        elif name == "AUTHENTICATE":
            self.authenticate(tag, arguments)
        elif self.user is None:
            self.send(f"{tag} BAD Please log in first.")
        elif name == "LIST":
            self.list_folders(tag, arguments)
        elif name in ("SELECT", "EXAMINE"):
            self.select(tag, arguments, readonly=name == "EXAMINE")
        elif self.selected is None:
            self.send(f"{tag} BAD No mailbox selected.")
        elif name == "UID":
            if not arguments or not isinstance(arguments[0], str):
                raise _Bad("UID what?")
            verb = arguments[0].upper()
            rest = arguments[1:]
            if verb == "SEARCH":
                self.search(tag, rest)
            elif verb == "FETCH":
                self.fetch(tag, rest)
            elif verb == "STORE":
                self.store_flags(tag, rest)
            elif verb == "EXPUNGE" and self.server.uidplus:
                self.expunge(tag, rest)
            else:
                raise _Bad(f"Unknown UID command {verb}")
        elif name == "EXPUNGE":
            self.expunge(tag, None)
        elif name in ("CLOSE", "UNSELECT"):
            if name == "CLOSE" and not self.readonly:
                self._expunge(None, report=False)
            self.selected = None
            self.send(f"{tag} OK {name.title()} completed.")
        else:
            raise _Bad(f"Unknown command {name}")
        return True

    # --- Before login -------------------------------------------------------------------------

    def starttls(self, tag: str) -> bool:
        if self.tls or self.user is not None:
            raise _Bad("TLS is already active" if self.tls else "Already logged in")
        if self.connection.buffer:
            self.send(f"{tag} BAD Pipelining after STARTTLS is not allowed.")
            return False
        self.send(f"{tag} OK Begin TLS negotiation now.")
        try:
            secured = self.server.server_context().wrap_socket(
                self.connection.sock, server_side=True
            )
        except (OSError, ssl.SSLError):
            return False
        self.connection = _Connection(secured)
        self.tls = True
        self.server._track(secured)
        return True

    def _check_login(self, tag: str, user: str, password: str) -> None:
        with self.store.lock:
            self.server.login_attempts.append(user)
            expected = self.store.users.get(user)
        if expected is not None and expected == password:
            self.user = user
            self.send(f"{tag} OK [CAPABILITY {self.capabilities()}] Logged in")
        else:
            self.send(f"{tag} {AUTH_FAILED}")

    def login(self, tag: str, arguments: list[Argument]) -> None:
        if self.user is not None:
            raise _Bad("Already logged in.")
        if not self.tls and not self.server.plaintext_login:
            self.send(f"{tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed.")
            return
        if len(arguments) != 2 or not all(isinstance(a, str) for a in arguments):
            raise _Bad("LOGIN needs a user and a password.")
        self._check_login(tag, str(arguments[0]), str(arguments[1]))

    def authenticate(self, tag: str, arguments: list[Argument]) -> None:
        if self.user is not None:
            raise _Bad("Already logged in.")
        if not arguments or str(arguments[0]).upper() != "PLAIN":
            self.send(f"{tag} NO Unsupported authentication mechanism.")
            return
        if not self.tls and not self.server.plaintext_login:
            self.send(f"{tag} NO [PRIVACYREQUIRED] Plaintext authentication disallowed.")
            return
        if len(arguments) > 1:
            response = str(arguments[1]).encode("ascii", "replace")
        else:
            self.send("+ ")
            response = self.connection.line()
        if response.strip() == b"*":
            self.send(f"{tag} BAD Authentication aborted.")
            return
        try:
            decoded = base64.b64decode(response, validate=True)
            _, user, password = decoded.split(b"\0")
            self._check_login(tag, user.decode(), password.decode())
        except (binascii.Error, ValueError, UnicodeError):
            self.send(f"{tag} BAD Invalid base64 data in continued response")

    # --- Folders ------------------------------------------------------------------------------

    def list_folders(self, tag: str, arguments: list[Argument]) -> None:
        selection: list[str] = []
        if arguments and isinstance(arguments[0], list):
            selection = [str(option).upper() for option in arguments[0]]
            arguments = arguments[1:]
        if len(arguments) < 2 or isinstance(arguments[1], list):
            raise _Bad("LIST needs a reference and a pattern.")
        reference, pattern = str(arguments[0]), decode_utf7(str(arguments[1]))
        only_special = "SPECIAL-USE" in selection
        matcher = re.compile(
            "".join(
                ".*" if character == "*" else "[^/]*" if character == "%" else re.escape(character)
                for character in reference + pattern
            )
            + r"\Z",
            re.DOTALL,
        )
        assert self.user is not None
        with self.store.lock:
            boxes = list(self.store.boxes(self.user).values())
        for box in boxes:
            special = box.special_use if self.server.special_use else None
            if only_special and not special:
                continue
            name = box.name
            if not (matcher.match(name) or (name == "INBOX" and matcher.match("inbox"))):
                continue
            attributes = [] if only_special else ["\\HasNoChildren"]
            if special:
                attributes.append(special)
            self.send(f'* LIST ({" ".join(attributes)}) "/" {_quote(encode_utf7(name))}')
        self.send(f"{tag} OK List completed.")

    def select(self, tag: str, arguments: list[Argument], *, readonly: bool) -> None:
        if len(arguments) != 1 or not isinstance(arguments[0], str):
            raise _Bad("SELECT needs a mailbox name.")
        assert self.user is not None
        name = decode_utf7(str(arguments[0]))
        self.selected = None
        with self.store.lock:
            box = self.store.box(self.user, name)
            if box is None:
                self.send(f"{tag} NO Mailbox doesn't exist: {name}")
                return
            exists = len(box.messages)
            recent = sum("\\Recent" in message.flags for message in box.messages)
            if not readonly:
                for message in box.messages:
                    message.flags.discard("\\Recent")
            validity, uidnext = box.uidvalidity, box.uidnext
        self.selected = box.name
        self.readonly = readonly
        self.send(f"* FLAGS ({' '.join(FLAGS)})")
        permanent = "" if readonly else " ".join((*FLAGS, "\\*"))
        self.send(f"* OK [PERMANENTFLAGS ({permanent})] Flags permitted.")
        self.send(f"* {exists} EXISTS")
        self.send(f"* {recent} RECENT")
        self.send(f"* OK [UIDVALIDITY {validity}] UIDs valid")
        self.send(f"* OK [UIDNEXT {uidnext}] Predicted next UID")
        mode = "READ-ONLY" if readonly else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {'Examine' if readonly else 'Select'} completed.")

    def _box(self) -> _Mailbox:
        assert self.user is not None and self.selected is not None
        box = self.store.box(self.user, self.selected)
        if box is None:
            raise _Bad("The mailbox is gone.")
        return box

    # --- Messages -----------------------------------------------------------------------------

    def search(self, tag: str, arguments: list[Argument]) -> None:
        if len(arguments) >= 2 and str(arguments[0]).upper() == "CHARSET":
            arguments = arguments[2:]
        with self.store.lock:
            box = self._box()
            largest = box.uidnext - 1
            hits = []
            for message in box.messages:
                if self._matches(message, list(arguments), largest):
                    hits.append(message.uid)
        self.send("* SEARCH" + "".join(f" {uid}" for uid in hits))
        self.send(f"{tag} OK Search completed.")

    def _matches(self, message: StoredMessage, criteria: list[Argument], largest: int) -> bool:
        at = 0
        while at < len(criteria):
            key = criteria[at]
            if isinstance(key, list):
                if not self._matches(message, key, largest):
                    return False
                at += 1
                continue
            word = str(key).upper()
            if word == "ALL":
                at += 1
            elif word in ("DELETED", "UNDELETED", "SEEN", "UNSEEN"):
                flag = "\\Deleted" if "DELETED" in word else "\\Seen"
                has = flag in message.flags
                if has == word.startswith("UN"):
                    return False
                at += 1
            elif word == "HEADER":
                if at + 2 >= len(criteria):
                    raise _Bad("HEADER needs a field name and a string.")
                name, wanted = str(criteria[at + 1]).lower(), str(criteria[at + 2]).lower()
                values = [
                    value.lower()
                    for field_name, value in header_fields(message.header())
                    if field_name.lower() == name
                ]
                if not any(wanted in value for value in values):
                    return False
                at += 3
            elif word == "UID":
                if at + 1 >= len(criteria):
                    raise _Bad("UID needs a set.")
                if message.uid not in _sequence_set(str(criteria[at + 1]), largest):
                    return False
                at += 2
            else:
                raise _Bad(f"Unknown search key {word}")
        return True

    def _messages_in(self, box: _Mailbox, uid_set: str) -> list[tuple[int, StoredMessage]]:
        wanted = _sequence_set(uid_set, max(box.uidnext - 1, 1))
        return [
            (number, message)
            for number, message in enumerate(box.messages, start=1)
            if message.uid in wanted
        ]

    def fetch(self, tag: str, arguments: list[Argument]) -> None:
        if len(arguments) != 2:
            raise _Bad("UID FETCH needs a set and items.")
        items = arguments[1] if isinstance(arguments[1], list) else [arguments[1]]
        names = [str(item).upper() for item in items]
        known = {
            "UID",
            "FLAGS",
            "RFC822.SIZE",
            "BODY.PEEK[HEADER]",
            "BODY[HEADER]",
            "BODY.PEEK[]",
            "BODY[]",
            "RFC822.HEADER",
        }
        for item in names:
            if item not in known:
                raise _Bad(f"Unknown fetch item {item}")
        with self.store.lock:
            box = self._box()
            chosen = self._messages_in(box, str(arguments[0]))
            replies: list[bytes] = []
            for number, message in chosen:
                if not self.readonly and any(n in ("BODY[HEADER]", "BODY[]") for n in names):
                    message.flags.add("\\Seen")
                parts: list[bytes] = [f"UID {message.uid}".encode()]
                for item in names:
                    if item == "UID":
                        continue
                    if item == "FLAGS":
                        parts.append(f"FLAGS ({' '.join(sorted(message.flags))})".encode())
                    elif item == "RFC822.SIZE":
                        parts.append(f"RFC822.SIZE {len(message.data)}".encode())
                    else:
                        whole = item.endswith("[]")
                        data = message.data if whole else message.header()
                        label = (
                            "RFC822.HEADER"
                            if item == "RFC822.HEADER"
                            else ("BODY[]" if whole else "BODY[HEADER]")
                        )
                        parts.append(f"{label} {{{len(data)}}}\r\n".encode() + data)
                replies.append(f"* {number} FETCH (".encode() + b" ".join(parts) + b")\r\n")
        for reply in replies:
            self.connection.send(reply)
        self.send(f"{tag} OK Fetch completed.")

    def store_flags(self, tag: str, arguments: list[Argument]) -> None:
        if len(arguments) != 3:
            raise _Bad("UID STORE needs a set, an action and flags.")
        if self.readonly:
            self.send(f"{tag} NO Mailbox is read-only.")
            return
        action = str(arguments[1]).upper()
        silent = action.endswith(".SILENT")
        action = action.removesuffix(".SILENT")
        if action not in ("FLAGS", "+FLAGS", "-FLAGS"):
            raise _Bad(f"Unknown STORE action {action}")
        flags_argument = arguments[2] if isinstance(arguments[2], list) else [arguments[2]]
        flags = {str(flag) for flag in flags_argument}
        canonical = {flag.lower(): flag for flag in FLAGS}
        flags = {canonical.get(flag.lower(), flag) for flag in flags}
        replies = []
        with self.store.lock:
            box = self._box()
            for number, message in self._messages_in(box, str(arguments[0])):
                if action == "+FLAGS":
                    message.flags |= flags
                elif action == "-FLAGS":
                    message.flags -= flags
                else:
                    message.flags = flags | (message.flags & {"\\Recent"})
                shown = " ".join(sorted(message.flags))
                replies.append(f"* {number} FETCH (UID {message.uid} FLAGS ({shown}))")
        if not silent:
            for reply in replies:
                self.send(reply)
        self.send(f"{tag} OK Store completed.")

    def _expunge(self, uid_set: str | None, *, report: bool) -> None:
        with self.store.lock:
            box = self._box()
            wanted = None if uid_set is None else _sequence_set(uid_set, max(box.uidnext - 1, 1))
            removed: list[int] = []
            kept: list[StoredMessage] = []
            for number, message in enumerate(box.messages, start=1):
                if "\\Deleted" in message.flags and (wanted is None or message.uid in wanted):
                    removed.append(number)
                else:
                    kept.append(message)
            box.messages = kept
        if report:
            # Each EXPUNGE renumbers the messages after it: report from the highest down.
            for number in sorted(removed, reverse=True):
                self.send(f"* {number} EXPUNGE")

    def expunge(self, tag: str, arguments: list[Argument] | None) -> None:
        if self.readonly:
            self.send(f"{tag} NO Mailbox is read-only.")
            return
        uid_set = None
        if arguments is not None:
            if len(arguments) != 1:
                raise _Bad("UID EXPUNGE needs a set.")
            uid_set = str(arguments[0])
        self._expunge(uid_set, report=True)
        self.send(f"{tag} OK Expunge completed.")


# --- The server ----------------------------------------------------------------------------------


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


# --- From LoopbackSMTP into the IMAP store ---------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """Where one accepted message goes, and the Authentication-Results header it gets there
    (None: no header added)."""

    folder: str
    authentication_results: str | None = None


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
    """Delivers what a LoopbackSMTP accepts into a LoopbackIMAP, without changing either.

    `attach()` wraps the SMTP handler's `handle_DATA` on that one instance (aiosmtpd looks the
    hook up for each new connection), so a message lands in the IMAP store as the SMTP server
    answers 250, as an MTA hands it to the mailbox. Messages accepted before `attach` (or
    without it) are delivered with `deliver_all(smtp.messages)`. Each goes to the recipient who
    is a user of the IMAP server, else to `default_user`.
    """

    def __init__(
        self,
        smtp: LoopbackSMTP,
        imap: LoopbackIMAP,
        route: Router,
        *,
        default_user: str | None = None,
    ) -> None:
        self.smtp = smtp
        self.imap = imap
        self.route = route
        self.default_user = default_user
        self.delivered: list[tuple[str, str, int]] = []
        """(user, folder, uid) of each delivery."""
        self._original: Callable[..., Awaitable[str]] | None = None
        self._lock = threading.Lock()

    def deliver(self, received: Received) -> tuple[str, str, int] | None:
        delivery = self.route(received)
        if delivery is None:
            return None
        users = self.imap.store.users
        user = next((r for r in received.recipients if r in users), self.default_user)
        if user is None or user not in users:
            return None
        data = received.data
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
