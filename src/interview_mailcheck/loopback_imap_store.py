"""The loopback IMAP server's mailboxes and its reading of commands (see loopback_imap.py):
users, folders and messages in memory behind one lock; command lines with their literals read
within limits and split into atoms, strings and lists."""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from interview_mailcheck.authresults import header_fields

MAX_LINE = 16 * 1024
MAX_LITERAL = 8 * 1024 * 1024
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
