"""Compose's env file format (compose-spec 05-services.md, Env_file format), parsed from text.

- "Lines beginning with # are processed as comments", "Unquoted and double-quoted (") values
  have Interpolation applied", "Inline comments for unquoted values must be preceded with a
  space", "Single-quoted (') values are used literally", "Quotes can be escaped with \\",
  "Common shell escape sequences including \\n, \\r, \\t, and \\\\ are supported in
  double-quoted values", "`VAL` may be omitted, in such cases the variable value is an empty
  string. `=VAL` may be omitted, in such cases the variable is unset."
- Where the specification is silent, compose-go's dotenv package decided (read for its
  behaviour, not copied): a value interpolates from the shell and `.env` first, then from the
  service's `environment:`, then from the lines above it; `KEY` alone on the last line with no
  newline after it is not read as a key (a warning here).
- `format: raw` is `docker run --env-file`'s: no quotes, no comments after a value, no
  interpolation.

This is Compose's format, not python-dotenv's (adapters/envfile.py reads the app's `.env` as
`load_dotenv()` does). Pure: text in, values with the line each came from out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from interview_mailcheck.compose_interpolation import (
    EnvVar,
    Lookup,
    Ref,
    Warnings,
    interpolate,
    origin_of,
)
from interview_mailcheck.errors import InputError


@dataclass(frozen=True)
class Assigned:
    """A variable's value where it was set, with what it interpolated."""

    value: str | None
    where: str
    refs: tuple[Ref, ...] = ()
    origin_text: str | None = None
    """The whole origin, when it is not `where` with its references."""

    @property
    def origin(self) -> str:
        return (
            self.origin_text if self.origin_text is not None else origin_of(self.where, self.refs)
        )


_SPACES = "\t\v\f\r \x85\xa0"
"""Go's isSpace in Compose's dotenv parser: white space that is not a line break."""
GO_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Go's unicode.IsSpace."""
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-9]{0,3})")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    '"': '"',
    "\\": "\\",
}
"""What Go's strconv.UnquoteChar makes of the escapes Compose's regular expression picks out
(it also picks out `\\c`, which UnquoteChar refuses, so `\\c` stays as written)."""


def _go_rstrip(text: str) -> str:
    end = len(text)
    while end > 0 and text[end - 1] in GO_SPACE:
        end -= 1
    return text[:end]


def _unescape(match: re.Match[str]) -> str:
    text = match.group()
    if text == "\\$":
        return "$$"
    if text.startswith("\\0"):
        octal = text[2:]
        if len(octal) == 3 and all(c in "01234567" for c in octal) and int(octal, 8) <= 255:
            return chr(int(octal, 8))
        return text
    return _ESCAPES.get(text[1], text)


class EnvFileParser:
    """Compose's env file format, one statement at a time, with the line each one starts on."""

    def __init__(self, text: str, display: str, warnings: Warnings) -> None:
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.display = display
        self.warnings = warnings
        self.line = 1
        self.line_pos = 0

    def line_at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.line_pos, pos)
        self.line_pos = pos
        return self.line

    def error(self, line: int, message: str) -> InputError:
        return InputError(f"{self.display} line {line}: {message}")

    def parse(
        self, out: dict[str, Assigned], lookup: Lookup, *, inherit: Lookup | None = None
    ) -> None:
        """Parse into `out`. `${VAR}` reads `lookup`, then `out` as it stands; a line that is
        only `KEY` reads `inherit` (default: `lookup`)."""
        text, n = self.text, len(self.text)
        inherit = inherit or lookup

        def expand_lookup(name: str) -> EnvVar | None:
            found = lookup(name)
            if found is not None:
                return found
            earlier = out.get(name)
            if earlier is not None and earlier.value is not None:
                return EnvVar(earlier.value, earlier.where)
            return None

        pos = 0
        # Where the last quoted value closed, and its key: text after it on the same line is
        # read as a new statement (as Compose does), and can be the rest of a broken value.
        closed: tuple[int, str] | None = None
        while True:
            while pos < n and text[pos] in GO_SPACE:
                pos += 1
            if pos >= n:
                return
            after = closed is not None and "\n" not in text[closed[0] : pos]
            after_key = closed[1] if closed is not None else ""
            closed = None
            if text[pos] == "#":
                newline = text.find("\n", pos)
                if newline < 0:
                    return
                pos = newline
                continue
            line = self.line_at(pos)
            start = pos
            export = _EXPORT.match(text, pos)
            if export is not None:
                start = pos + 6
                while start < n and text[start] in _SPACES:
                    start += 1
            i, separator = start, ""
            while i < n:
                c = text[i]
                if c in "=:\n":
                    separator = c
                    break
                if not (c in _SPACES or c in "_.-[]" or c.isalpha() or c.isnumeric()):
                    if after:  # the rest of a value whose quote closed early: never quoted
                        raise self.error(line, self.after_quote(after_key))
                    raise self.error(  # the name up to that character, never the value after it
                        line, f"unexpected character {c!r} in variable name {text[start:i]!r}"
                    )
                i += 1
            if not separator:
                if after:
                    self.warnings.add(
                        f"{self.display} line {line}: the text after the closing quote of"
                        f" {after_key}'s value is not read (a quote inside the value? escape it"
                        " with \\)"
                    )
                    return
                self.warnings.add(
                    f"{self.display} line {line}: {_go_rstrip(text[start:])!r} has no '=' and is"
                    " the last line with no line break after it: Compose does not read it as a"
                    " variable (end the file with a line break)"
                )
                return
            key = _go_rstrip(text[start:i])
            value_start = i + 1
            while value_start < n and text[value_start] in _SPACES:
                value_start += 1
            if " " in key:
                raise self.error(line, "key cannot contain a space")
            where = f"{self.display} line {line}"
            if separator == "\n":
                found = inherit(key)
                if found is not None:
                    out[key] = Assigned(
                        found.value,
                        found.source,
                        origin_text=f"{found.source} (named without a value at {where})",
                    )
                pos = value_start
                continue
            quote = text[value_start : value_start + 1]
            if quote in ("'", '"'):
                raw, pos = self.quoted(value_start, line, key)
                closed = (pos, key)
                if quote == "'":
                    out[key] = Assigned(raw, where)
                    continue
                raw = _ESCAPE.sub(_unescape, raw)
            else:
                newline = text.find("\n", value_start)
                end = newline if newline >= 0 else n
                raw = text[value_start:end]
                pos = end + 1 if newline >= 0 else n
                comment = raw.find(" #")
                if comment >= 0:
                    raw = raw[:comment]
                raw = _go_rstrip(raw)
            value, refs = interpolate(raw, expand_lookup, where, self.warnings)
            out[key] = Assigned(value, where, refs)

    @staticmethod
    def after_quote(key: str) -> str:
        return (
            f"unexpected text after the closing quote of {key}'s value (a quote inside the value?"
            " escape it with \\)"
        )

    def quoted(self, start: int, line: int, key: str) -> tuple[str, int]:
        """The text between a quote at `start` and the one that closes it; `\\` escapes that
        quote, and stays in front of any other character."""
        text, quote = self.text, self.text[start]
        chars: list[str] = []
        escaped = False
        i = start + 1
        while i < len(text):
            c = text[i]
            if c != quote:
                if not escaped and c == "\\":
                    escaped = True
                elif escaped:
                    escaped = False
                    chars.append("\\" + c)
                else:
                    chars.append(c)
            elif escaped:
                escaped = False
                chars.append(c)
            else:
                return "".join(chars), i + 1
            i += 1
        raise self.error(line, f"unterminated quoted value of {key} (its {quote} is never closed)")


def parse_raw_env_file(text: str, display: str, out: dict[str, Assigned], inherit: Lookup) -> None:
    """`format: raw`: `docker run --env-file` lines, the value kept exactly as written."""
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        line = line.lstrip("".join(GO_SPACE))
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        where = f"{display} line {number}"
        if not key:
            raise InputError(f"{where}: no variable name before the '='")
        if " " in key or "\t" in key:
            raise InputError(f"{where}: variable {key!r} contains whitespaces")
        if equals:
            out[key] = Assigned(value, f"{where} (format: raw)")
            continue
        found = inherit(line)
        if found is not None:
            out[key] = Assigned(
                found.value,
                found.source,
                origin_text=f"{found.source} (named without a value at {where})",
            )
