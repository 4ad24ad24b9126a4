"""IMAP response data read into Python values (pure, no I/O): atoms, quoted strings, literals
and parenthesised lists (RFC 3501 section 4), the LIST responses as Folders, FETCH attributes,
and quoting a value to send. Anything unreadable raises _Unreadable, which the client turns
into ImapProblem("protocol")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from interview_mailcheck.imap_session import ImapProblem
from interview_mailcheck.mailboxes import Folder, decode_utf7


class _Literal(bytes):
    """A literal's bytes, told apart from an atom."""


class _Quoted(bytes):
    """A quoted string's bytes (unescaped), told apart from an atom."""


Item = Any
"""bytes (an atom), _Quoted, _Literal, or a list of items."""


class _Unreadable(Exception):
    pass


def _segments(group: Sequence[bytes | tuple[bytes, bytes]]) -> list[bytes]:
    """One response as imaplib hands it over ((text ending in {N}, literal) pairs, then the
    rest of the line) as text and _Literal pieces in order."""
    pieces: list[bytes] = []
    for part in group:
        if isinstance(part, tuple):
            text, literal = part
            mark = re.search(rb"\{\d+\}$", text)
            pieces.append(text[: mark.start()] if mark else text)
            pieces.append(_Literal(literal))
        else:
            pieces.append(part)
    return pieces


def _grouped(data: Iterable[Any]) -> Iterator[list[bytes | tuple[bytes, bytes]]]:
    """imaplib's untagged data split per response: each ends with a bytes item."""
    group: list[bytes | tuple[bytes, bytes]] = []
    for part in data:
        if part is None:
            continue
        if isinstance(part, tuple):
            if len(part) != 2 or not all(isinstance(piece, bytes) for piece in part):
                raise _Unreadable("an unexpected response part")
            group.append((part[0], part[1]))
        elif isinstance(part, bytes):
            group.append(part)
            yield group
            group = []
        else:
            raise _Unreadable("an unexpected response part")
    if group:
        yield group


_ATOM_END = frozenset(b' ()"{\r\n')


def parse_items(pieces: Sequence[bytes]) -> list[Item]:
    """IMAP data (atoms, quoted strings, literals, parenthesised lists) as nested lists."""
    root: list[Item] = []
    stack: list[list[Item]] = [root]
    for piece in pieces:
        if isinstance(piece, _Literal):
            stack[-1].append(piece)
            continue
        at = 0
        while at < len(piece):
            byte = piece[at]
            if byte in b" \r\n\t":
                at += 1
            elif byte == ord("("):
                child: list[Item] = []
                stack[-1].append(child)
                stack.append(child)
                at += 1
            elif byte == ord(")"):
                if len(stack) == 1:
                    raise _Unreadable("a ')' without its '('")
                stack.pop()
                at += 1
            elif byte == ord('"'):
                at += 1
                out = bytearray()
                while True:
                    if at >= len(piece):
                        raise _Unreadable("a quoted string without its closing quote")
                    current = piece[at]
                    if current == ord("\\") and at + 1 < len(piece):
                        out.append(piece[at + 1])
                        at += 2
                    elif current == ord('"'):
                        at += 1
                        break
                    else:
                        out.append(current)
                        at += 1
                stack[-1].append(_Quoted(bytes(out)))
            else:
                start = at
                depth = 0
                while at < len(piece):
                    current = piece[at]
                    if current == ord("["):
                        depth += 1
                    elif current == ord("]"):
                        depth = max(0, depth - 1)
                    elif depth == 0 and current in _ATOM_END:
                        break
                    at += 1
                if at == start:  # a stray '{' or similar
                    raise _Unreadable(f"unexpected {chr(byte)!r}")
                stack[-1].append(bytes(piece[start:at]))
    if len(stack) != 1:
        raise _Unreadable("a '(' without its ')'")
    return root


def _string(item: Item) -> bytes | None:
    """An astring or nstring: atom, quoted or literal; None for NIL."""
    if isinstance(item, (_Quoted, _Literal)):
        return bytes(item)
    if isinstance(item, bytes):
        return None if item.upper() == b"NIL" else item
    raise _Unreadable("a list where a string was expected")


def parse_list_response(data: Iterable[Any], *, utf8: bool = False) -> list[Folder]:
    """The folders of LIST's untagged responses: `(attributes) delimiter name [extended]`."""
    folders: list[Folder] = []
    for group in _grouped(data):
        items = parse_items(_segments(group))
        if len(items) < 3 or not isinstance(items[0], list):
            raise _Unreadable("a LIST response without attributes, delimiter and name")
        attributes = []
        for attribute in items[0]:
            if isinstance(attribute, list) or not isinstance(attribute, bytes):
                raise _Unreadable("a LIST attribute that is not an atom")
            attributes.append(bytes(attribute).decode("ascii", "replace"))
        delimiter_raw = _string(items[1])
        delimiter = delimiter_raw.decode("utf-8", "replace") if delimiter_raw else None
        name_raw = _string(items[2])
        if name_raw is None:
            raise _Unreadable("a LIST response with NIL for a name")
        wire = name_raw.decode("utf-8" if utf8 else "ascii", "replace")
        name = wire if utf8 else decode_utf7(wire)
        if name.upper() == "INBOX":
            name = "INBOX"
        folders.append(Folder(name, frozenset(attributes), delimiter, wire))
    return folders


def _fetch_attributes(items: list[Item]) -> dict[str, Item]:
    """`seq (KEY value KEY value ...)` (imaplib drops the word FETCH) as {KEY: value}."""
    if len(items) < 2 or not isinstance(items[1], list):
        raise _Unreadable("a FETCH response without its list of attributes")
    pairs = items[1]
    found: dict[str, Item] = {}
    for index in range(0, len(pairs) - 1, 2):
        key = pairs[index]
        if not isinstance(key, bytes) or isinstance(key, (_Quoted, _Literal)):
            raise _Unreadable("a FETCH attribute name that is not an atom")
        found[bytes(key).decode("ascii", "replace").upper()] = pairs[index + 1]
    return found


def _astring(value: str) -> str:
    """`value` as an IMAP quoted string; ImapProblem if it cannot be one (not ASCII, CR/LF)."""
    if not all(0x20 <= ord(character) <= 0x7E for character in value):
        raise ImapProblem("protocol", f"{value[:40]!r} cannot be sent as an IMAP quoted string")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quotable(value: str) -> bool:
    return all(0x20 <= ord(character) <= 0x7E for character in value)
