"""Text from outside is data, not terminal commands.

Values read from the database, the log, SMTP replies, DNS records, the env file and the
settings module can hold control characters: ESC starts a terminal sequence (a title change,
a screen clear, a fake prompt), BEL rings, CR and backspace overwrite what came before. Before
such text reaches a terminal (or a JUnit file, which XML forbids them in), every C0 and C1
control character and DEL is written visibly, as `ls` and `git` write odd file names:
ESC as \\x1b, CR as \\r, NUL as \\x00.
"""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\x00"}
CONTROLS = frozenset(chr(code) for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)))
_TABLE = {ord(char): _NAMED.get(char, f"\\x{ord(char):02x}") for char in CONTROLS}
_TABLE_KEEP_NEWLINES = {code: text for code, text in _TABLE.items() if code != ord("\n")}


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character written as a visible escape."""
    if text.isprintable():
        return text
    return text.translate(_TABLE_KEEP_NEWLINES if keep_newlines else _TABLE)


def has_controls(text: str) -> bool:
    return any(char in CONTROLS for char in text)
