"""IMAP folders as a mailbox lists them, and where the spam folder is among them (pure, no I/O).

A server marks its spam folder with the SPECIAL-USE attribute `\\Junk` (RFC 6154) and the folder
that holds every message with `\\All` (Gmail's "All Mail"). A server without SPECIAL-USE leaves
only the folder's name to go by: Junk, Spam, "Junk E-mail" (Outlook), "Bulk Mail" (Yahoo)...

Folder names travel in modified UTF-7 (RFC 3501 section 5.1.3): `Courrier ind&AOk-sirable` is
"Courrier indésirable". `decode_utf7` and `encode_utf7` convert; a name that is not valid
modified UTF-7 is shown as it was sent.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

JUNK = "\\Junk"
ALL = "\\All"
SPECIAL_USE_ATTRIBUTES = (
    "\\All",
    "\\Archive",
    "\\Drafts",
    "\\Flagged",
    "\\Junk",
    "\\Sent",
    "\\Trash",
    "\\Important",  # RFC 8457
)
NOT_SELECTABLE = ("\\Noselect", "\\NonExistent")

SPAM_NAMES = (
    "Junk",
    "Spam",
    "Junk E-mail",
    "Junk Email",
    "Junk Mail",
    "Bulk Mail",
    "Bulk",
    "Spam Mail",
    "[Gmail]/Spam",
    "[Google Mail]/Spam",
    "Junk-E-Mail",  # Outlook, German
    "Courrier indésirable",  # Outlook, French
    "Correo no deseado",  # Outlook, Spanish
    "Posta indesiderata",  # Outlook, Italian
    "Ongewenste e-mail",  # Outlook, Dutch
    "Skräppost",  # Swedish
    "Lixo Eletrônico",  # Portuguese
    "Spam-Verdacht",
)
"""Names of spam folders on servers without SPECIAL-USE, most common first. Compared without
regard to case, as the whole name or as its last part ("INBOX.Junk", "INBOX/Spam")."""


@dataclass(frozen=True)
class Folder:
    """One folder from LIST: its name, its attributes and its hierarchy delimiter."""

    name: str
    """The name for people: modified UTF-7 decoded; INBOX always as "INBOX"."""
    attributes: frozenset[str] = frozenset()
    """As the server sent them (`\\Junk`, `\\HasNoChildren`...); compare with `has`."""
    delimiter: str | None = "/"
    wire: str = ""
    """The name as the server sent it (modified UTF-7), to send back; `name` when empty."""

    @property
    def mailbox(self) -> str:
        return self.wire or self.name

    def has(self, attribute: str) -> bool:
        wanted = attribute.lower()
        return any(value.lower() == wanted for value in self.attributes)

    @property
    def special_use(self) -> tuple[str, ...]:
        """The SPECIAL-USE attributes of the folder, in their canonical spelling."""
        return tuple(value for value in SPECIAL_USE_ATTRIBUTES if self.has(value))

    @property
    def selectable(self) -> bool:
        return not any(self.has(value) for value in NOT_SELECTABLE)

    @property
    def is_inbox(self) -> bool:
        return self.name.upper() == "INBOX"

    @property
    def leaf(self) -> str:
        """The last part of a hierarchical name: "Junk" for "INBOX.Junk"."""
        if self.delimiter and self.delimiter in self.name:
            return self.name.rsplit(self.delimiter, 1)[1]
        return self.name


def _by_attribute(folders: Iterable[Folder], attribute: str) -> Folder | None:
    for folder in folders:
        if folder.has(attribute) and folder.selectable and not folder.is_inbox:
            return folder
    return None


def spam_folder(folders: Iterable[Folder]) -> Folder | None:
    """The spam folder: the one marked `\\Junk`, else the best-known name (whole name first,
    then the last part of the name, shallower folders first); never INBOX."""
    candidates = [folder for folder in folders if folder.selectable and not folder.is_inbox]
    marked = _by_attribute(candidates, JUNK)
    if marked is not None:
        return marked
    known = [name.casefold() for name in SPAM_NAMES]
    best: tuple[int, int, int] | None = None
    chosen: Folder | None = None
    for index, folder in enumerate(candidates):
        whole, leaf = folder.name.casefold(), folder.leaf.casefold()
        if whole in known:
            rank = (0, known.index(whole), index)
        elif leaf in known:
            depth = folder.name.count(folder.delimiter) if folder.delimiter else 0
            rank = (1 + depth, known.index(leaf), index)
        else:
            continue
        if best is None or rank < best:
            best, chosen = rank, folder
    return chosen


def all_mail_folder(folders: Iterable[Folder]) -> Folder | None:
    """The folder marked `\\All` (every message, as Gmail's "All Mail"), if there is one."""
    return _by_attribute(folders, ALL)


def inbox(folders: Iterable[Folder]) -> Folder:
    for folder in folders:
        if folder.is_inbox:
            return folder
    return Folder("INBOX")


def search_order(folders: Iterable[Folder]) -> list[Folder]:
    """Where to look for a test message, in order: INBOX, the spam folder, then `\\All`."""
    listed = list(folders)
    order = [inbox(listed)]
    for found in (spam_folder(listed), all_mail_folder(listed)):
        if found is not None and found not in order:
            order.append(found)
    return order


# --- Modified UTF-7 (RFC 3501 section 5.1.3) ---------------------------------------------------


def encode_utf7(name: str) -> str:
    """A folder name in modified UTF-7, as IMAP sends it."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be", "surrogatepass")
            encoded = base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending.clear()

    for character in name:
        if 0x20 <= ord(character) <= 0x7E:
            flush()
            out.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return "".join(out)


def decode_utf7(name: str) -> str:
    """A modified UTF-7 folder name for people; returned unchanged if it is not valid."""
    if "&" not in name:
        return name
    out: list[str] = []
    position = 0
    while position < len(name):
        start = name.find("&", position)
        if start < 0:
            out.append(name[position:])
            break
        out.append(name[position:start])
        end = name.find("-", start)
        if end < 0:
            return name
        chunk = name[start + 1 : end]
        if not chunk:
            out.append("&")
        else:
            padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
            try:
                raw = base64.b64decode(padded, validate=True)
                if len(raw) % 2:
                    return name
                out.append(raw.decode("utf-16-be"))
            except (binascii.Error, ValueError):
                return name
        position = end + 1
    return "".join(out)
