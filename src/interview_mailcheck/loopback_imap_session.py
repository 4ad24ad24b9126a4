"""One connection of the loopback IMAP server (see loopback_imap.py): the commands a confirm
round uses, answered as Dovecot answers them."""

from __future__ import annotations

import base64
import binascii
import re
import socket
import ssl
from typing import TYPE_CHECKING

from interview_mailcheck.authresults import header_fields
from interview_mailcheck.loopback_imap_store import (
    AUTH_FAILED,
    FLAGS,
    Argument,
    MailStore,
    StoredMessage,
    _Bad,
    _BadTagged,
    _Connection,
    _Mailbox,
    _quote,
    _read_command,
    _sequence_set,
)
from interview_mailcheck.mailboxes import decode_utf7, encode_utf7

if TYPE_CHECKING:
    from interview_mailcheck.loopback_imap import LoopbackIMAP


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
