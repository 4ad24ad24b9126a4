"""Compose's variable interpolation (compose-spec 12-interpolation.md), as its template package
reads a value: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
`${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nesting ("${VARIABLE:-${FOO:-default}}"), `$$` for
a literal `$`. "If Compose can't resolve a substituted variable and no default value is
defined, it displays a warning and substitutes the variable with an empty string."

Pure: a value and a lookup in, the value and the variables it read out (for the origin of a
setting: "./.env line 3 via ${SMTP_PASS}"). adapters/compose.py and compose_envfile.py use it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from interview_mailcheck.errors import InputError

MAX_INTERPOLATION_DEPTH = 50
"""`${A:-${B:-...}}` nesting levels."""


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class Warnings:
    """What Compose would warn about, one line each, in order, each once, with the services
    each line is about: those being read when it was added (see `about`)."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}
        """Line -> the services it is about (none for the project's .env, an `x-` field...)."""
        self.service: str | None = None

    def add(self, line: str) -> None:
        services = self.lines.setdefault(one_line(line), [])
        if self.service is not None and self.service not in services:
            services.append(self.service)

    @contextlib.contextmanager
    def about(self, service: str | None) -> Iterator[None]:
        """The lines added inside are about `service`."""
        previous, self.service = self.service, service
        try:
            yield
        finally:
            self.service = previous


@dataclass(frozen=True)
class Ref:
    """One variable an interpolation read, for the origin of the value it went into."""

    expression: str
    name: str
    source: str | None
    """Where its value came from; None when it was not set."""
    whole: bool = False
    """The expression is the whole value ('${SMTP_PASS}')."""


class EnvVar(NamedTuple):
    value: str
    source: str
    """Where the value came from, short: 'shell environment', './.env line 3'."""


Lookup = Callable[[str], EnvVar | None]
_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")


class InterpolationError(Exception):
    pass


class Interpolator:
    """`$VAR`, `${VAR}`, `${VAR:-x}` and the rest, as Compose's template package reads them."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.refs: list[Ref] = []
        self.unset: list[str] = []
        self.work = 0

    def substitute(self, template: str, depth: int = 0) -> str:
        if depth > MAX_INTERPOLATION_DEPTH:
            raise InterpolationError(
                f"interpolation nested deeper than {MAX_INTERPOLATION_DEPTH} levels"
            )
        out: list[str] = []
        i = 0
        while True:
            j = template.find("$", i)
            if j < 0:
                out.append(template[i:])
                return "".join(out)
            out.append(template[i:j])
            following = template[j + 1 : j + 2]
            if following == "$":
                out.append("$")
                i = j + 2
            elif following == "{":
                value, i = self.braced(template, j, depth)
                out.append(value)
            elif (name := _NAME.match(template, j + 1)) is not None:
                out.append(self.direct(name.group(), "$" + name.group()))
                i = name.end()
            else:
                out.append("$")
                i = j + 1

    def invalid(self, template: str, start: int) -> InterpolationError:
        """The value itself is not quoted: it can be a password with a `$` in it."""
        return InterpolationError(
            f"invalid interpolation format: the '${{' at character {start + 1} is not followed by"
            " a variable name and '}' (write $$ for a literal $)"
        )

    def braced(self, template: str, start: int, depth: int) -> tuple[str, int]:
        name_match = _NAME.match(template, start + 2)
        if name_match is None:
            raise self.invalid(template, start)
        name, end = name_match.group(), name_match.end()
        if template[end : end + 1] == "}":
            return self.direct(name, template[start : end + 1]), end + 1
        if template[end : end + 1] == ":" and template[end + 1 : end + 2] in ("-", "+", "?"):
            operator = template[end : end + 2]
        elif template[end : end + 1] in ("-", "+", "?"):
            operator = template[end]
        else:
            raise self.invalid(template, start)
        argument_start = end + len(operator)
        line_end = template.find("\n", argument_start)
        last = template.rfind("}", argument_start, line_end if line_end >= 0 else len(template))
        if last < 0:
            raise self.invalid(template, start)
        close = self.closing_brace(template, start, last)
        argument = template[argument_start:close]
        expression = template[start : close + 1]
        return self.apply(name, operator, argument, expression, depth), close + 1

    def closing_brace(self, template: str, start: int, last: int) -> int:
        """Compose's brace count: '{' counts and skips the character after it; without a
        balanced '}' the expression runs to the last '}' of the line."""
        self.work += last - start
        if self.work > 20 * len(template) + 1_000_000:
            raise InterpolationError("too many nested '${' in one value to interpolate")
        open_braces, i = 0, start
        while i <= last:
            c = template[i]
            if c == "}":
                open_braces -= 1
                if open_braces == 0:
                    return i
            elif c == "{":
                open_braces += 1
                i += 1
            i += 1
        return last

    def direct(self, name: str, expression: str) -> str:
        found = self.lookup(name)
        self.refs.append(Ref(expression, name, found.source if found else None))
        if found is None:
            self.unset.append(name)
            return ""
        return found.value

    def apply(self, name: str, operator: str, argument: str, expression: str, depth: int) -> str:
        found = self.lookup(name)
        self.refs.append(Ref(expression, name, found.source if found else None))
        value = found.value if found is not None else None
        empty = value is None or value == ""
        if operator in (":-", "-"):
            if value is None or (operator == ":-" and empty):
                return self.substitute(argument, depth + 1)
            return value
        if operator in (":+", "+"):
            if value is not None and not (operator == ":+" and empty):
                return self.substitute(argument, depth + 1)
            return value or ""
        if value is None or (operator == ":?" and empty):
            reason = self.substitute(argument, depth + 1)
            suffix = f": {reason}" if reason else ""
            raise InterpolationError(f"required variable {name} is missing a value{suffix}")
        return value


def interpolate(
    template: str, lookup: Lookup, where: str, warnings: Warnings
) -> tuple[str, tuple[Ref, ...]]:
    """`template` interpolated, and the variables it read; `where` names it in messages."""
    if "$" not in template:
        return template, ()
    interpolator = Interpolator(lookup)
    try:
        value = interpolator.substitute(template)
    except InterpolationError as error:
        raise InputError(f"{where}: {error}") from None
    for name in interpolator.unset:
        warnings.add(
            f'{where}: the "{name}" variable is not set; Compose substitutes an empty string'
        )
    refs = tuple(dict.fromkeys(interpolator.refs))
    if len(refs) == 1 and refs[0].expression == template:
        refs = (replace(refs[0], whole=True),)
    return value, refs


def origin_of(where: str, refs: Sequence[Ref]) -> str:
    if not refs:
        return where
    if len(refs) == 1 and refs[0].whole and refs[0].source is not None:
        return f"{refs[0].source} via {refs[0].expression} ({where})"
    parts = [
        f"{ref.expression} from {ref.source}" if ref.source else f"{ref.expression} (unset)"
        for ref in refs
    ]
    return f"{where}, interpolating {', '.join(parts)}"
