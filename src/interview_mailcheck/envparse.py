"""The `.env` grammar of python-dotenv's parser (dotenv/parser.py, 1.x), in one pass over the text.

python-dotenv's `parse_stream` reads each binding as a sequence of regular expressions through a
`Reader` object that recounts the newlines of every token it reads; a 30,000-line file then
takes most of a second. This is the same grammar, the same regular expressions tried in the
same order at the same places (so the same values, the same errors, the same line numbers),
with the position kept in a local variable and the lines counted once a binding.
`tests/test_envparse.py` holds the two equal on generated files.

    [whitespace] [export ] KEY | 'KEY' [whitespace] [= VALUE] [comment] end of line

A statement that does not parse is skipped to the end of its line and marked as an error, as
python-dotenv does.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import NamedTuple

_FLAGS = re.UNICODE
_newline = re.compile(r"(\r\n|\n|\r)", _FLAGS)
_multiline_whitespace = re.compile(r"\s*", _FLAGS | re.MULTILINE)
_whitespace = re.compile(r"[^\S\r\n]*", _FLAGS)
_export = re.compile(r"(?:export[^\S\r\n]+)?", _FLAGS)
_single_quoted_key = re.compile(r"'([^']+)'", _FLAGS)
_unquoted_key = re.compile(r"([^=\#\s]+)", _FLAGS)
_equal_sign = re.compile(r"(=[^\S\r\n]*)", _FLAGS)
_single_quoted_value = re.compile(r"'((?:\\.|[^'\\])*)'", _FLAGS | re.DOTALL)
_double_quoted_value = re.compile(r'"((?:\\.|[^"\\])*)"', _FLAGS | re.DOTALL)
_unquoted_value = re.compile(r"([^\r\n]*)", _FLAGS)
_comment = re.compile(r"(?:[^\S\r\n]*#[^\r\n]*)?", _FLAGS)
_end_of_line = re.compile(r"[^\S\r\n]*(?:\r\n|\n|\r|$)", _FLAGS)
_rest_of_line = re.compile(r"[^\r\n]*(?:\r|\n|\r\n)?", _FLAGS)
_double_quote_escapes = re.compile(r"\\[\\'\"abfnrtv]", _FLAGS)
_single_quote_escapes = re.compile(r"\\[\\']", _FLAGS)
_inline_comment = re.compile(r"\s+#.*")


class Statement(NamedTuple):
    """One binding as python-dotenv's Binding has it: the key (None for a blank line or a
    comment), the value (None without '='), the statement's text and first line, and whether it
    failed to parse."""

    key: str | None
    value: str | None
    original: str
    line: int
    error: bool


class _Unparsable(Exception):
    """python-dotenv's reader raised at `at`, where it stood (it skips the rest of the line
    from there, not from the statement's start)."""

    def __init__(self, at: int) -> None:
        super().__init__(at)
        self.at = at


def _decode(match: re.Match[str]) -> str:
    return codecs.decode(match.group(0), "unicode-escape")


def _match(pattern: re.Pattern[str], text: str, at: int) -> re.Match[str]:
    found = pattern.match(text, at)
    if found is None:
        raise _Unparsable(at)
    return found


def _binding(text: str, at: int) -> tuple[str | None, str | None, int]:
    """Parse the binding that starts at `at`: (key, value, where it ends); _Unparsable when
    python-dotenv's reader would raise."""
    at = _match(_multiline_whitespace, text, at).end()
    if at >= len(text):
        return None, None, at
    at = _match(_export, text, at).end()
    char = text[at : at + 1]
    key: str | None
    if char == "#":
        key = None
    else:
        found = _match(_single_quoted_key if char == "'" else _unquoted_key, text, at)
        key, at = found.group(1), found.end()
    at = _match(_whitespace, text, at).end()
    value: str | None = None
    if text[at : at + 1] == "=":
        equal = _match(_equal_sign, text, at)
        at = equal.end()
        char = text[at : at + 1]
        if len(equal.group(1)) > 1 and char == "#":
            value = ""
        elif char == "'":
            found = _match(_single_quoted_value, text, at)
            value, at = _single_quote_escapes.sub(_decode, found.group(1)), found.end()
        elif char == '"':
            found = _match(_double_quoted_value, text, at)
            value, at = _double_quote_escapes.sub(_decode, found.group(1)), found.end()
        elif char in ("", "\n", "\r"):
            value = ""
        else:
            found = _match(_unquoted_value, text, at)
            value, at = _inline_comment.sub("", found.group(1)).rstrip(), found.end()
    at = _match(_comment, text, at).end()
    at = _match(_end_of_line, text, at).end()
    return key, value, at


def parse(text: str) -> Iterator[Statement]:
    """Every statement of an env file's text, as python-dotenv's `parse_stream` gives them."""
    text = text.removeprefix("\ufeff")
    at, line, size = 0, 1, len(text)
    while at < size:
        try:
            key, value, end = _binding(text, at)
            error = False
        except _Unparsable as failed:
            key, value, error = None, None, True
            end = _rest_of_line.match(text, failed.at).end()  # type: ignore[union-attr]
        original = text[at:end]
        yield Statement(key, value, original, line, error)
        if "\n" in original or "\r" in original:
            line += len(_newline.findall(original))
        at = end
