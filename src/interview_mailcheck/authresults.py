"""Authentication-Results header fields (RFC 8601), read from a message's header (pure, no I/O).

    mx.google.com;
        dkim=pass header.i=@example.com header.s=s1 header.b=AbC;
        spf=pass (google.com: domain of a@example.com designates 192.0.2.1 as permitted
            sender) smtp.mailfrom=a@example.com;
        dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com

is the authserv-id (who checked), then one `method=result` per check with an optional
`reason="..."` and `ptype.property=value` properties; comments in parentheses may stand almost
anywhere, and `none` alone says that nothing was checked. The parser is lenient, as real
headers require: Microsoft 365 writes no authserv-id and properties such as `action=none`,
ARC-Authentication-Results starts with `i=1;`. Whatever the text, `parse` returns a result and
never raises; what it cannot read is skipped up to the next `;`.

A message collects one header per server that checked it, newest on top. The receiving server's
is the first one, or better the one with the authserv-id that server is known to use (an
earlier hop, or the sender, may have written any header it liked): see `select`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HEADER = "Authentication-Results"
RESULTS = (
    "pass",
    "fail",
    "softfail",
    "neutral",
    "none",
    "temperror",
    "permerror",
    "policy",
    "hardfail",  # RFC 5451's name for SPF fail, still seen
    "discard",
    "nxdomain",
    "signed",
    "unknown",
)
"""The results the registry and common practice know; others are kept as they are written."""
MAX_LENGTH = 64 * 1024
"""Text beyond this is ignored: a header field is never this long, a hostile one may be."""

_KEYWORD = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")
_METHOD_START = re.compile(r"[A-Za-z0-9_-]+\s*(?:/\s*[0-9]+\s*)?=")
_VALUE_END = frozenset(' \t\r\n;()"')


@dataclass(frozen=True)
class MethodResult:
    """One `method=result` with its reason and properties."""

    method: str
    """Lower case: spf, dkim, dmarc, arc, iprev, auth, bimi, compauth..."""
    result: str
    """Lower case: pass, fail, softfail, neutral, none, temperror, permerror, policy..."""
    version: str | None = None
    reason: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    """(`ptype.property` in lower case, value) in order: ("header.from", "example.com")."""
    comments: tuple[str, ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of a property, e.g. `get("header.d")`."""
        wanted = name.lower()
        for key, value in self.properties:
            if key == wanted:
                return value
        return None

    @property
    def comment(self) -> str:
        return " ".join(self.comments)


@dataclass(frozen=True)
class AuthResults:
    """One Authentication-Results header field."""

    authserv_id: str
    """Who checked ("mx.google.com"); empty when the header names nobody (Microsoft 365)."""
    results: tuple[MethodResult, ...] = ()
    version: str | None = None
    none: bool = False
    """True for `authserv-id; none`: the server checked nothing."""
    raw: str = ""
    skipped: tuple[str, ...] = field(default=(), compare=False)
    """Parts that could not be read and were passed over."""
    instance: int | None = None
    """The ARC instance (`i=1;`) of an ARC-Authentication-Results field."""

    def all(self, method: str) -> tuple[MethodResult, ...]:
        wanted = method.lower()
        return tuple(result for result in self.results if result.method == wanted)

    def first(self, method: str) -> MethodResult | None:
        found = self.all(method)
        return found[0] if found else None

    def result(self, method: str) -> str | None:
        """The outcome of `method`, or None if the header does not mention it. Several DKIM
        results are several signatures: `pass` if any passed. Several results of another
        method contradict each other: the first that is not `pass` (fail closed)."""
        found = self.all(method)
        if not found:
            return None
        results = [result.result for result in found]
        if method.lower() == "dkim" and "pass" in results:
            return "pass"
        return next((result for result in results if result != "pass"), results[0])

    def passing(self, method: str) -> MethodResult | None:
        """The first `pass` result of `method` (e.g. the DKIM signature that verified)."""
        for result in self.all(method):
            if result.result == "pass":
                return result
        return None

    @property
    def spf(self) -> str | None:
        return self.result("spf")

    @property
    def dkim(self) -> str | None:
        return self.result("dkim")

    @property
    def dmarc(self) -> str | None:
        return self.result("dmarc")

    def summary(self) -> dict[str, str | None]:
        """spf, dkim and dmarc as one small mapping (None: not checked by this server)."""
        return {"spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc}


# --- The parser ------------------------------------------------------------------------------


class _Cursor:
    """Position in the header text, with RFC 5322 CFWS (spaces, folding, comments) skipped
    on request and the comments kept."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.comments: list[str] = []

    def end(self) -> bool:
        return self.at >= len(self.text)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def skip_cfws(self) -> None:
        text = self.text
        while self.at < len(text):
            character = text[self.at]
            if character in " \t\r\n":
                self.at += 1
            elif character == "(":
                self.comments.append(self._comment())
            else:
                return

    def _comment(self) -> str:
        """A comment, nested comments and quoted pairs included; an unclosed one runs to the
        end of the text."""
        text = self.text
        depth = 0
        out: list[str] = []
        while self.at < len(text):
            character = text[self.at]
            self.at += 1
            if character == "\\" and self.at < len(text):
                out.append(text[self.at])
                self.at += 1
                continue
            if character == "(":
                depth += 1
                if depth == 1:
                    continue
            elif character == ")":
                depth -= 1
                if depth == 0:
                    break
            out.append(character)
        return " ".join("".join(out).split())

    def take(self, character: str) -> bool:
        if self.peek() == character:
            self.at += 1
            return True
        return False

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.at)
        if found is None:
            return None
        self.at = found.end()
        return found.group()

    def looking_at(self, pattern: re.Pattern[str]) -> bool:
        return pattern.match(self.text, self.at) is not None

    def value(self) -> str | None:
        """A quoted string or a run of characters up to a space, `;`, `(` or `"`."""
        if self.peek() == '"':
            return self._quoted()
        start = self.at
        text = self.text
        while self.at < len(text) and text[self.at] not in _VALUE_END:
            self.at += 1
        return text[start : self.at] if self.at > start else None

    def _quoted(self) -> str:
        text = self.text
        self.at += 1
        out: list[str] = []
        while self.at < len(text):
            character = text[self.at]
            self.at += 1
            if character == "\\" and self.at < len(text):
                out.append(text[self.at])
                self.at += 1
            elif character == '"':
                break
            elif character in "\r\n":
                continue
            else:
                out.append(character)
        return "".join(out)

    def skip_to_semicolon(self) -> str:
        """Pass over what cannot be read, up to (not past) the next `;` outside quotes and
        comments; returns what was passed over."""
        start = self.at
        text = self.text
        while self.at < len(text):
            character = text[self.at]
            if character == ";":
                break
            if character == '"':
                self._quoted()
            elif character == "(":
                self._comment()
            else:
                self.at += 1
        return " ".join(text[start : self.at].split())


def _comments_since(cursor: _Cursor, mark: int) -> tuple[str, ...]:
    return tuple(comment for comment in cursor.comments[mark:] if comment)


def _resinfo(cursor: _Cursor) -> MethodResult | None:
    """`method[/version] = result [reason=...] [ptype.property=value ...]`, the cursor on the
    method; None (cursor unmoved past the method) when it is not one."""
    mark = len(cursor.comments)
    method = cursor.match(_KEYWORD)
    if method is None:
        return None
    cursor.skip_cfws()
    version = None
    if cursor.take("/"):
        cursor.skip_cfws()
        version = cursor.match(_DIGITS)
        cursor.skip_cfws()
    if not cursor.take("="):
        return None
    cursor.skip_cfws()
    result = cursor.match(_KEYWORD)
    if result is None:
        return None
    reason = None
    properties: list[tuple[str, str]] = []
    while True:
        cursor.skip_cfws()
        if cursor.end() or cursor.peek() == ";":
            break
        before = cursor.at
        key = cursor.match(_KEYWORD)
        if key is None:
            cursor.skip_to_semicolon()
            break
        cursor.skip_cfws()
        if cursor.take("."):
            cursor.skip_cfws()
            name = cursor.match(_KEYWORD)
            if name is None:
                cursor.at = before
                cursor.skip_to_semicolon()
                break
            cursor.skip_cfws()
            key = f"{key}.{name}"
        if not cursor.take("="):
            # A bare word: no property. Pass over it and go on.
            continue
        cursor.skip_cfws()
        value = cursor.value() or ""
        if key.lower() == "reason" and reason is None:
            reason = value
        else:
            properties.append((key.lower(), value))
    return MethodResult(
        method=method.lower(),
        result=result.lower(),
        version=version,
        reason=reason,
        properties=tuple(properties),
        comments=_comments_since(cursor, mark),
    )


def parse(text: str) -> AuthResults:
    """One header field's value (the part after `Authentication-Results:`; the field name
    itself is also accepted). Never raises."""
    raw = text
    body = text[:MAX_LENGTH]
    name = re.match(r"\s*(?:ARC-)?Authentication-Results\s*:", body, re.IGNORECASE)
    if name:
        body = body[name.end() :]
    cursor = _Cursor(body)
    skipped: list[str] = []
    cursor.skip_cfws()
    instance: int | None = None
    arc = re.match(r"i\s*=\s*([0-9]{1,9})\s*;", body[cursor.at :])
    if arc:
        instance = int(arc.group(1))
        cursor.at += arc.end()
        cursor.skip_cfws()
    authserv_id = ""
    version: str | None = None
    if not cursor.looking_at(_METHOD_START):
        authserv_id = cursor.value() or ""
        cursor.skip_cfws()
        if cursor.looking_at(_DIGITS):
            version = cursor.match(_DIGITS)
            cursor.skip_cfws()
        if not cursor.end() and cursor.peek() != ";":
            skipped.append(cursor.skip_to_semicolon())
    results: list[MethodResult] = []
    none = False
    first = not authserv_id
    while not cursor.end():
        cursor.skip_cfws()
        if not first and not cursor.take(";"):
            if cursor.end():
                break
            skipped.append(cursor.skip_to_semicolon())
            continue
        first = False
        cursor.skip_cfws()
        if cursor.end():
            break
        start = cursor.at
        if body[start : start + 4].lower() == "none" and not cursor.looking_at(_METHOD_START):
            cursor.at += 4
            cursor.skip_cfws()
            if cursor.end() or cursor.peek() == ";":
                none = not results
                continue
            cursor.at = start
        result = _resinfo(cursor)
        if result is None:
            cursor.at = start
            passed = cursor.skip_to_semicolon()
            if passed:
                skipped.append(passed)
            elif not cursor.end() and cursor.peek() != ";":
                cursor.at += 1  # never stand still
            continue
        results.append(result)
    return AuthResults(
        authserv_id=authserv_id,
        results=tuple(results),
        version=version,
        none=none and not results,
        raw=raw,
        skipped=tuple(part for part in skipped if part),
        instance=instance,
    )


def select(values: Sequence[str], authserv_id: str | None = None) -> AuthResults | None:
    """The header of the receiving server among a message's Authentication-Results values
    (in the order they appear, newest first): the first whose authserv-id is `authserv_id`
    (compared without regard to case) when it is given, else the first."""
    parsed = [parse(value) for value in values]
    if authserv_id is not None:
        wanted = authserv_id.strip().lower()
        for header in parsed:
            if header.authserv_id.lower() == wanted:
                return header
        return None
    return parsed[0] if parsed else None


# --- Header fields of a message ----------------------------------------------------------------


def header_fields(block: bytes | str) -> list[tuple[str, str]]:
    """The fields of a message header as (name, unfolded value), in order. Reading stops at
    the first empty line; a line that is neither a field nor a continuation is passed over.
    Bytes are read as UTF-8, undecodable bytes replaced."""
    text = block.decode("utf-8", "replace") if isinstance(block, bytes) else block
    fields: list[tuple[str, str]] = []
    for line in re.split(r"\r\n|\n|\r", text):
        if line == "":
            break
        if line[0] in " \t":
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}" if value else line.strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name:
            continue
        fields.append((name, value.strip()))
    return fields


def header_values(block: bytes | str, name: str) -> list[str]:
    """The unfolded values of every field called `name` (without regard to case)."""
    wanted = name.lower()
    return [value for field_name, value in header_fields(block) if field_name.lower() == wanted]


def from_header(block: bytes | str, authserv_id: str | None = None) -> AuthResults | None:
    """The receiving server's Authentication-Results in a message header (see `select`)."""
    return select(header_values(block, HEADER), authserv_id)


def results_of(headers: Iterable[AuthResults], method: str) -> list[str]:
    """Every result of `method` across several headers (for showing each hop's view)."""
    return [result.result for header in headers for result in header.all(method)]
