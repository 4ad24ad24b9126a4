"""Each service's container environment, computed from a compose file the way Docker Compose does.

The only module that imports PyYAML, and only its parser: the file is read as a stream of YAML
events and every node is built here, so no YAML tag is ever constructed or executed, the nesting
and the alias expansion are bounded (a billion-laughs file is refused in well under a second),
and scalars are typed the way Compose's YAML library (go-yaml) types them, not the way PyYAML
would (YAML 1.1: `yes` is a boolean, `0755` an octal, `1:20` a sexagesimal 80).

What it follows, from the Compose Specification (compose-spec/compose-spec):

- 05-services.md, environment: "environment can use either an array or a map. Any boolean
  values; true, false, yes, no, should be enclosed in quotes ..." and "Environment variables can
  be declared by a single key (no value to equals sign). In this case Compose relies on you to
  resolve the value. If the value is not resolved, the variable is unset and is removed from the
  service container environment." Such a key is looked up in the shell environment, then the
  project's `.env` (None here when neither has it). "When both env_file and environment are set
  for a service, values set by environment have precedence."
- 05-services.md, env_file: "The files in the list are processed from the top down. For the
  same variable specified in two env files, the value from the last file in the list stands."
  "Relative path are resolved from the Compose file's parent folder." "Environment variables
  declared in the environment section override these values. This holds true even if those
  values are empty or undefined." `required: false`: "when ... the .env file is missing, Compose
  silently ignores the entry" (a warning here). `format: raw`: "without any attempt from Compose
  to parse the value for interpolation".
- 05-services.md, Env_file format: "Lines beginning with # are processed as comments",
  "Unquoted and double-quoted (") values have Interpolation applied", "Inline comments for
  unquoted values must be preceded with a space", "Single-quoted (') values are used
  literally", "Quotes can be escaped with \\", "Common shell escape sequences including \\n,
  \\r, \\t, and \\\\ are supported in double-quoted values", "`VAL` may be omitted, in such cases
  the variable value is an empty string. `=VAL` may be omitted, in such cases the variable is
  unset."
- 12-interpolation.md: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
  `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nesting ("${VARIABLE:-${FOO:-default}}"), `$$` for
  a literal `$`; "If Compose can't resolve a substituted variable and no default value is
  defined, it displays a warning and substitutes the variable with an empty string";
  "Interpolation applies only to YAML values, not to keys" (the list form `- KEY=$V` is one
  value, so there the key is interpolated too); "interpolation is applied before a merge".
- 10-fragments.md and 11-extension.md: anchors and aliases, YAML merge keys (`<<: *env`,
  "Compose follows the rule outlined by YAML merge type"), "Anchor resolution takes place before
  variables interpolation", top-level `x-` fields ("Compose ignores any fields that start with
  x-") as the usual home of those anchors.
- 05-services.md, extends: "Mappings: Keys in mappings of the main service definition override
  keys in mappings of the referenced service definition" (environment is one of them), env_file
  in list syntax is a sequence: "Items are combined together into a new sequence ... the
  referenced items coming first"; "Circular references with extends are not supported".
- 13-merge.md: `!reset` and `!override`, as they act within one file (on the service an
  `extends:` copies, and on an earlier YAML document of the same file).

Where the specification is silent, Compose's reference loader (compose-spec/compose-go, read
for its behaviour, not copied) decided: a YAML 1.2 core schema with go-yaml's number syntax
(`0755` and `0o755` are octal, `1_000` is 1000, `1.0` is written "1", `1e6` "1e+06" as Go's
fmt prints a float64); duplicate keys are an error; a value in an env file interpolates from the
shell and `.env` first, then from the service's `environment:`, then from the lines above it; a
repeated env_file path keeps the first one's place; `KEY` alone on an env file's last line with
no newline after it is not read as a key (a warning here); the raw format is `docker run
--env-file`'s (no quotes, no comments after a value, no interpolation).

Docker Compose itself is not run here (no engine, no binary): the reading was checked against
those sections and against the test cases of compose-go's loader, dotenv and template packages,
restated in tests/test_compose.py.

Not supported (each is a warning or is left out, never guessed): `include:` (warned), several
compose files merged with `-f` (one file; its YAML documents are merged as Compose merges
files), `profiles` (every service is read), the image's own ENV lines, `COMPOSE_*` variables,
`PWD` added by Compose when the shell has none, remote (git, OCI) `extends.file`.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml  # type: ignore[import-untyped, unused-ignore]

from interview_mailcheck.errors import InputError, unreadable

MAX_FILE_SIZE = 4 << 20
"""4 MiB, for a compose file and for each env file. Real ones are a few kilobytes."""

MAX_DEPTH = 100
"""Nesting levels of YAML collections, counted after aliases are expanded. Compose files use ~8."""

MAX_ALIAS_NODES = 200_000
"""Nodes that aliases may add beyond those written in the file: a billion laughs stops here."""

MAX_EXTENDS_FILES = 32
"""Other compose files that `extends: {file: ...}` may bring in, all chains together."""

MAX_INTERPOLATION_DEPTH = 50
"""`${A:-${B:-...}}` nesting levels."""

SHELL = "shell environment"

TOP_LEVEL_KEYS = frozenset(
    {
        "version",
        "name",
        "include",
        "services",
        "models",
        "networks",
        "volumes",
        "secrets",
        "configs",
    }
)


@dataclass(frozen=True)
class ServiceEnvironment:
    """One service's container environment as Compose sets it."""

    name: str
    values: dict[str, str | None]
    """Variable -> value; None for a variable declared without a value that nothing resolved
    (Compose removes it from the container's environment, even one the image sets)."""
    origins: dict[str, str]
    """Variable -> where its value came from, e.g. './worker.env line 3'."""
    env_files: tuple[Path, ...] = ()
    """The env files read for this service, in the order Compose reads them (missing optional
    ones left out)."""


@dataclass(frozen=True)
class ComposeProject:
    path: Path
    project_dir: Path
    services: dict[str, ServiceEnvironment]
    warnings: list[str] = field(default_factory=list)
    """What Compose would warn about (unset variables interpolated as empty) and what this
    reading cannot see (missing optional env files, `include:`), one line each."""


# --- YAML: events to nodes ----------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    """A YAML node as written: aliases point at their anchored node, nothing is typed yet."""

    kind: Literal["scalar", "seq", "map", "alias"]
    line: int
    tag: str | None = None
    anchor: str | None = None
    value: str = ""
    plain: bool = True
    children: list[_Node] = field(default_factory=list)
    target: _Node | None = None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _compose_events(text: str, display: str) -> tuple[list[_Node], int]:
    """The file's YAML documents as node trees, and how many nodes were written in all."""
    loader_class: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    loader: Any = loader_class(text)
    documents: list[_Node] = []
    stack: list[_Node] = []
    anchors: dict[str, _Node] = {}
    open_anchors: set[str] = set()
    root: _Node | None = None
    count = 0

    def add(node: _Node) -> None:
        nonlocal root
        if stack:
            stack[-1].children.append(node)
        else:
            root = node

    try:
        while loader.check_event():
            event = loader.get_event()
            line = int(event.start_mark.line) + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.DocumentStartEvent):
                anchors, open_anchors, root, stack = {}, set(), None, []
            elif isinstance(event, yaml.DocumentEndEvent):
                if root is not None:
                    documents.append(root)
            elif isinstance(event, yaml.ScalarEvent):
                count += 1
                node = _Node(
                    "scalar",
                    line,
                    tag=event.tag,
                    anchor=event.anchor,
                    value=str(event.value),
                    plain=not event.style,  # None (PyYAML) or "" (libyaml) for plain
                )
                add(node)
                if node.anchor is not None:
                    anchors[node.anchor] = node
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                count += 1
                kind: Literal["seq", "map"] = (
                    "seq" if isinstance(event, yaml.SequenceStartEvent) else "map"
                )
                node = _Node(kind, line, tag=event.tag, anchor=event.anchor)
                add(node)
                stack.append(node)
                if len(stack) > MAX_DEPTH:
                    raise InputError(
                        f"{display} line {line}: nested deeper than {MAX_DEPTH} levels,"
                        " which no compose file is"
                    )
                if node.anchor is not None:
                    open_anchors.add(node.anchor)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node = stack.pop()
                if node.anchor is not None:
                    open_anchors.discard(node.anchor)
                    anchors[node.anchor] = node
            elif isinstance(event, yaml.AliasEvent):
                count += 1
                name = str(event.anchor)
                if name in open_anchors:
                    raise InputError(
                        f"{display} line {line}: anchor '{name}' value contains itself"
                    )
                if name not in anchors:
                    raise InputError(f"{display} line {line}: unknown anchor '{name}' referenced")
                add(_Node("alias", line, anchor=name, target=anchors[name]))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        raise InputError(f"{display}{where}: YAML syntax error: {_one_line(problem)}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{display}: YAML syntax error: {_one_line(str(error))}") from None
    finally:
        loader.dispose()
    return documents, count


# --- YAML: nodes to typed values, as go-yaml types them ------------------------------------------


@dataclass(frozen=True)
class _Loc:
    file: str
    line: int
    anchor: str | None = None

    def __str__(self) -> str:
        anchor = f" (via *{self.anchor})" if self.anchor else ""
        return f"{self.file} line {self.line}{anchor}"


@dataclass(frozen=True)
class _Ref:
    """One variable an interpolation read, for the origin of the value it went into."""

    expression: str
    name: str
    source: str | None
    """Where its value came from; None when it was not set."""
    whole: bool = False
    """The expression is the whole value ('${SMTP_PASS}')."""


ScalarKind = Literal["str", "int", "float", "bool", "null", "timestamp"]


@dataclass(frozen=True)
class _Scalar:
    value: str | int | float | bool | None
    kind: ScalarKind
    loc: _Loc
    refs: tuple[_Ref, ...] = ()


@dataclass(frozen=True)
class _Map:
    items: dict[str, _Value]
    key_locs: dict[str, _Loc]
    loc: _Loc


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Value, ...]
    loc: _Loc


_Value = _Scalar | _Map | _Seq

_YAML_TAG = "tag:yaml.org,2002:"
_RESOLVE_MAP: dict[str, tuple[ScalarKind, str | int | float | bool | None]] = {
    **{text: ("bool", True) for text in ("true", "True", "TRUE")},
    **{text: ("bool", False) for text in ("false", "False", "FALSE")},
    **{text: ("null", None) for text in ("", "~", "null", "Null", "NULL")},
    **{text: ("float", math.nan) for text in (".nan", ".NaN", ".NAN")},
    **{text: ("float", math.inf) for text in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{text: ("float", -math.inf) for text in ("-.inf", "-.Inf", "-.INF")},
    "-0": ("float", -0.0),
    "-0.0": ("float", -0.0),
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _short_tag(tag: str | None) -> str:
    if not tag:
        return ""
    if tag.startswith(_YAML_TAG):
        return "!!" + tag[len(_YAML_TAG) :]
    return tag


def _go_parse_int(text: str) -> int | None:
    """strconv.ParseInt(text, 0, 64), then ParseUint: the integers go-yaml reads."""
    negative = text[:1] == "-"
    body = text[1:] if text[:1] in ("-", "+") else text
    if not body:
        return None
    base, digits = 10, body
    if body[0] == "0":
        prefix = body[1:2].lower()
        if len(body) >= 3 and prefix in ("b", "o", "x"):
            base, digits = {"b": 2, "o": 8, "x": 16}[prefix], body[2:]
        else:
            base, digits = 8, body[1:]
    if any(c not in _DIGITS[base] for c in digits):
        return None
    number = int(digits, base) if digits else 0
    if negative:
        return -number if number <= 1 << 63 else None
    return number if number < 1 << 64 else None


def _is_timestamp(text: str) -> bool:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return False
    try:
        date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return True


def _resolve_plain(text: str) -> tuple[ScalarKind, str | int | float | bool | None]:
    """The type go-yaml gives an untagged plain scalar (YAML 1.2 core schema, Go numbers)."""
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    hint = text[0]
    if hint == "." and _DOT_FLOAT.fullmatch(text):
        number = float(text)
        if not math.isinf(number):
            return "float", number
    elif hint in "+-0123456789":
        if _is_timestamp(text):
            return "timestamp", text
        plain = text.replace("_", "")
        integer = _go_parse_int(plain)
        if integer is not None:
            return "int", integer
        if _YAML_FLOAT.fullmatch(plain):
            number = float(plain)
            if not math.isinf(number):
                return "float", number
    return "str", text


def go_format_float(number: float) -> str:
    """A float64 as Go's fmt.Sprint writes it (strconv 'g', shortest, %e from 1e+06 and below
    1e-04): how Compose turns `RATE: 1.0` into "1" and `BIG: 1e6` into "1e+06"."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    if number == 0:
        return sign + "0"
    text = repr(abs(number))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    written = whole + fraction
    stripped = written.lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0) - (len(written) - len(stripped))
    digits = stripped.rstrip("0") or "0"
    exp = point - 1
    if exp < -4 or exp >= 6:
        tail = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


_ResetPath = tuple[str, ...]


class _Builder:
    """Nodes to typed values: aliases expanded (bounded), merge keys applied, duplicate keys
    refused, `!reset` nodes dropped and their paths (and `!override` ones) recorded."""

    def __init__(self, display: str, written_nodes: int) -> None:
        self.display = display
        self.visits = 0
        self.limit = written_nodes + MAX_ALIAS_NODES
        self.cleared: list[_ResetPath] = []

    def build(
        self, node: _Node, path: _ResetPath | None, depth: int, anchor: str | None
    ) -> _Value | None:
        self.visits += 1
        if self.visits > self.limit:
            raise InputError(
                f"{self.display}: its aliases expand to more than {MAX_ALIAS_NODES:,} nodes"
                " (a YAML alias bomb?), which no compose file needs"
            )
        if depth > MAX_DEPTH:
            raise InputError(
                f"{self.display} line {node.line}: nested deeper than {MAX_DEPTH} levels once"
                " its aliases are expanded"
            )
        if node.kind == "alias":
            assert node.target is not None
            return self.build(node.target, path, depth, node.anchor)
        if node.tag in ("!reset", "!override"):
            if path is not None:
                self.cleared.append(path)
            if node.tag == "!reset":
                return None
        loc = _Loc(self.display, node.line, anchor)
        if node.kind == "scalar":
            return self.scalar(node, loc)
        if node.kind == "seq":
            items = (self.build(child, None, depth + 1, anchor) for child in node.children)
            return _Seq(tuple(item for item in items if item is not None), loc)
        return self.mapping(node, path, depth, anchor, loc)

    def scalar(self, node: _Node, loc: _Loc) -> _Scalar:
        tag = _short_tag(node.tag)
        text = node.value
        if tag == "!!str" or (tag in ("", "!") and not node.plain):
            return _Scalar(text, "str", loc)
        if tag == "!!binary":
            try:
                decoded = base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise InputError(f"{loc}: !!binary value is not base64 of UTF-8 text") from None
            return _Scalar(decoded, "str", loc)
        if tag not in ("", "!!bool", "!!int", "!!float", "!!null", "!!timestamp"):
            return _Scalar(text, "str", loc)  # go-yaml keeps an unknown tag's text as a string
        kind, value = _resolve_plain(text)
        if tag and tag != "!!" + kind:
            if tag == "!!float" and kind == "int":
                assert isinstance(value, int)
                return _Scalar(float(value), "float", loc)
            raise InputError(f"{loc}: cannot construct this !!{kind} as a {tag}")
        return _Scalar(value, kind, loc)

    def mapping(
        self, node: _Node, path: _ResetPath | None, depth: int, anchor: str | None, loc: _Loc
    ) -> _Map:
        items: dict[str, _Value] = {}
        key_locs: dict[str, _Loc] = {}
        seen: dict[str, int] = {}
        merges: list[_Node] = []
        children = node.children
        for index in range(0, len(children), 2):
            key_node, value_node = children[index], children[index + 1]
            if key_node.kind == "alias" and key_node.target is not None:
                key_node = key_node.target
            if key_node.kind != "scalar":
                raise InputError(f"{self.display} line {key_node.line}: a mapping key must be text")
            text = key_node.value
            if text in seen:
                raise InputError(
                    f"{self.display} line {key_node.line}: mapping key {text!r} already defined"
                    f" at line {seen[text]}"
                )
            seen[text] = key_node.line
            if text == "<<" and key_node.plain and _short_tag(key_node.tag) in ("", "!!merge"):
                merges.append(value_node)
                continue
            key = self.scalar(key_node, _Loc(self.display, key_node.line, anchor))
            if key.kind not in ("str", "timestamp"):
                where = (
                    ".".join(path) if path else "a list item" if path is None else "the top level"
                )
                raise InputError(
                    f"{self.display} line {key_node.line}: non-string key in {where}: {text}"
                )
            name = str(key.value)
            value = self.build(
                value_node, (*path, name) if path is not None else None, depth + 1, anchor
            )
            if value is None:
                continue
            items[name] = value
            key_locs[name] = key.loc
        for merge in merges:
            for source in self.merge_sources(merge, path, depth, anchor):
                for name, value in source.items.items():
                    if name not in items:
                        items[name] = value
                        key_locs[name] = source.key_locs[name]
        return _Map(items, key_locs, loc)

    def merge_sources(
        self, node: _Node, path: _ResetPath | None, depth: int, anchor: str | None
    ) -> list[_Map]:
        """The mappings a `<<` key merges, first one first (earlier ones win)."""
        nodes = [node]
        target = node.target if node.kind == "alias" else node
        if target is not None and target.kind == "seq":
            nodes = target.children
        sources: list[_Map] = []
        for item in nodes:
            resolved = item.target if item.kind == "alias" else item
            if resolved is None or resolved.kind != "map":
                raise InputError(
                    f"{self.display} line {item.line}: map merge requires map or sequence of maps"
                    " as the value"
                )
            built = self.build(item, path, depth, anchor)
            if isinstance(built, _Map):
                sources.append(built)
        return sources


# --- interpolation (12-interpolation.md) ---------------------------------------------------------


class _EnvVar(NamedTuple):
    value: str
    source: str
    """Where the value came from, short: 'shell environment', './.env line 3'."""


_Lookup = Callable[[str], _EnvVar | None]
_NAME = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")


class _InterpolationError(Exception):
    pass


class _Interpolator:
    """`$VAR`, `${VAR}`, `${VAR:-x}` and the rest, as Compose's template package reads them."""

    def __init__(self, lookup: _Lookup) -> None:
        self.lookup = lookup
        self.refs: list[_Ref] = []
        self.unset: list[str] = []
        self.work = 0

    def substitute(self, template: str, depth: int = 0) -> str:
        if depth > MAX_INTERPOLATION_DEPTH:
            raise _InterpolationError(
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

    def invalid(self, template: str, start: int) -> _InterpolationError:
        """The value itself is not quoted: it can be a password with a `$` in it."""
        return _InterpolationError(
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
            raise _InterpolationError("too many nested '${' in one value to interpolate")
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
        self.refs.append(_Ref(expression, name, found.source if found else None))
        if found is None:
            self.unset.append(name)
            return ""
        return found.value

    def apply(self, name: str, operator: str, argument: str, expression: str, depth: int) -> str:
        found = self.lookup(name)
        self.refs.append(_Ref(expression, name, found.source if found else None))
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
            raise _InterpolationError(f"required variable {name} is missing a value{suffix}")
        return value


def _interpolate(
    template: str, lookup: _Lookup, where: str, warnings: _Warnings
) -> tuple[str, tuple[_Ref, ...]]:
    """`template` interpolated, and the variables it read; `where` names it in messages."""
    if "$" not in template:
        return template, ()
    interpolator = _Interpolator(lookup)
    try:
        value = interpolator.substitute(template)
    except _InterpolationError as error:
        raise InputError(f"{where}: {error}") from None
    for name in interpolator.unset:
        warnings.add(
            f'{where}: the "{name}" variable is not set; Compose substitutes an empty string'
        )
    refs = tuple(dict.fromkeys(interpolator.refs))
    if len(refs) == 1 and refs[0].expression == template:
        refs = (replace(refs[0], whole=True),)
    return value, refs


def _interpolate_tree(value: _Value, lookup: _Lookup, warnings: _Warnings) -> _Value:
    """Every string value of a document interpolated; keys are not (12-interpolation.md)."""
    if isinstance(value, _Scalar):
        if value.kind != "str" or not isinstance(value.value, str) or "$" not in value.value:
            return value
        text, refs = _interpolate(value.value, lookup, str(value.loc), warnings)
        return _Scalar(text, "str", value.loc, refs)
    if isinstance(value, _Seq):
        return _Seq(
            tuple(_interpolate_tree(item, lookup, warnings) for item in value.items), value.loc
        )
    items = {key: _interpolate_tree(item, lookup, warnings) for key, item in value.items.items()}
    return _Map(items, value.key_locs, value.loc)


def _origin(where: str, refs: Sequence[_Ref]) -> str:
    if not refs:
        return where
    if len(refs) == 1 and refs[0].whole and refs[0].source is not None:
        return f"{refs[0].source} via {refs[0].expression} ({where})"
    parts = [
        f"{ref.expression} from {ref.source}" if ref.source else f"{ref.expression} (unset)"
        for ref in refs
    ]
    return f"{where}, interpolating {', '.join(parts)}"


class _Warnings:
    def __init__(self) -> None:
        self.lines: dict[str, None] = {}

    def add(self, line: str) -> None:
        self.lines[_one_line(line)] = None


# --- env files (05-services.md, Env_file format) ---------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """A variable's value where it was set, with what it interpolated."""

    value: str | None
    where: str
    refs: tuple[_Ref, ...] = ()
    origin_text: str | None = None
    """The whole origin, when it is not `where` with its references."""

    @property
    def origin(self) -> str:
        return self.origin_text if self.origin_text is not None else _origin(self.where, self.refs)


_SPACES = "\t\v\f\r \x85\xa0"
"""Go's isSpace in Compose's dotenv parser: white space that is not a line break."""
_GO_SPACE = frozenset(
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
    while end > 0 and text[end - 1] in _GO_SPACE:
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


class _DotEnvParser:
    """Compose's env file format, one statement at a time, with the line each one starts on."""

    def __init__(self, text: str, display: str, warnings: _Warnings) -> None:
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
        self, out: dict[str, _Setting], lookup: _Lookup, *, inherit: _Lookup | None = None
    ) -> None:
        """Parse into `out`. `${VAR}` reads `lookup`, then `out` as it stands; a line that is
        only `KEY` reads `inherit` (default: `lookup`)."""
        text, n = self.text, len(self.text)
        inherit = inherit or lookup

        def expand_lookup(name: str) -> _EnvVar | None:
            found = lookup(name)
            if found is not None:
                return found
            earlier = out.get(name)
            if earlier is not None and earlier.value is not None:
                return _EnvVar(earlier.value, earlier.where)
            return None

        pos = 0
        while True:
            while pos < n and text[pos] in _GO_SPACE:
                pos += 1
            if pos >= n:
                return
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
                    raise self.error(  # the name up to that character, never the value after it
                        line, f"unexpected character {c!r} in variable name {text[start:i]!r}"
                    )
                i += 1
            if not separator:
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
                    out[key] = _Setting(
                        found.value,
                        found.source,
                        origin_text=f"{found.source} (named without a value at {where})",
                    )
                pos = value_start
                continue
            quote = text[value_start : value_start + 1]
            if quote in ("'", '"'):
                raw, pos = self.quoted(value_start, line, key)
                if quote == "'":
                    out[key] = _Setting(raw, where)
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
            value, refs = _interpolate(raw, expand_lookup, where, self.warnings)
            out[key] = _Setting(value, where, refs)

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


def _parse_raw_env(text: str, display: str, out: dict[str, _Setting], inherit: _Lookup) -> None:
    """`format: raw`: `docker run --env-file` lines, the value kept exactly as written."""
    for number, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        line = line.lstrip("".join(_GO_SPACE))
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        where = f"{display} line {number}"
        if not key:
            raise InputError(f"{where}: no variable name before the '='")
        if " " in key or "\t" in key:
            raise InputError(f"{where}: variable {key!r} contains whitespaces")
        if equals:
            out[key] = _Setting(value, f"{where} (format: raw)")
            continue
        found = inherit(line)
        if found is not None:
            out[key] = _Setting(
                found.value,
                found.source,
                origin_text=f"{found.source} (named without a value at {where})",
            )


def _read_text(path: Path, kind: str, display: str) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_SIZE + 1)
    except OSError as error:
        raise unreadable(kind, display, error) from None
    if len(data) > MAX_FILE_SIZE:
        raise InputError(
            f"{kind} is larger than {MAX_FILE_SIZE >> 20} MiB, which no real {kind} is: {display}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{kind} is not UTF-8 text (byte {error.start + 1} is not): {display}"
        ) from None


# --- the service model -----------------------------------------------------------------------


@dataclass(frozen=True)
class _EnvEntry:
    key: str
    value: str | None
    loc: _Loc
    refs: tuple[_Ref, ...]
    service: str
    """The service whose `environment:` it was written in."""

    @property
    def where(self) -> str:
        return f"{self.loc}, service {self.service} environment"


@dataclass(frozen=True)
class _Environment:
    form: Literal["mapping", "list"]
    """'list' also once merged (extends, a later document): Compose then holds it as a list."""
    entries: tuple[_EnvEntry, ...]


@dataclass(frozen=True)
class _EnvFileRef:
    key: str
    """What Compose compares to keep one of two entries naming the same file."""
    path: Path
    display: str
    required: bool
    format: str
    loc: _Loc
    service: str


@dataclass(frozen=True)
class _Extends:
    service: str
    file: str | None
    loc: _Loc


@dataclass(frozen=True)
class _Service:
    name: str
    loc: _Loc
    environment: _Environment | None = None
    env_file: tuple[_EnvFileRef, ...] | None = None
    extends: _Extends | None = None


def _unique_env_files(refs: tuple[_EnvFileRef, ...]) -> tuple[_EnvFileRef, ...]:
    """A repeated path keeps the place of its first entry and the settings of its last."""
    kept: dict[str, _EnvFileRef] = {}
    for ref in refs:
        kept[ref.key] = ref
    return tuple(kept.values())


def _merge_services(base: _Service, override: _Service) -> _Service:
    """Compose's merge of two definitions of a service (extends, or a later YAML document):
    environment and env_file become one sequence, base first; other keys, override wins."""
    environment = override.environment or base.environment
    if base.environment is not None and override.environment is not None:
        environment = _Environment("list", base.environment.entries + override.environment.entries)
    env_file = override.env_file if override.env_file is not None else base.env_file
    if base.env_file is not None and override.env_file is not None:
        env_file = _unique_env_files(base.env_file + override.env_file)
    return _Service(
        override.name,
        override.loc,
        environment,
        env_file,
        override.extends if override.extends is not None else base.extends,
    )


def _clear(service: _Service, paths: Sequence[_ResetPath]) -> _Service:
    """`!reset`/`!override` paths of the file being read, applied to a service it extends or
    redefines (13-merge.md): the attribute is dropped before the merge."""
    for path in paths:
        if len(path) < 3 or path[:2] != ("services", service.name):
            continue
        attribute, rest = path[2], path[3:]
        if attribute == "environment" and not rest:
            service = replace(service, environment=None)
        elif attribute == "environment" and len(rest) == 1 and service.environment is not None:
            if service.environment.form == "mapping":  # Compose cannot reset a list item
                entries = tuple(e for e in service.environment.entries if e.key != rest[0])
                service = replace(service, environment=_Environment("mapping", entries))
        elif attribute == "env_file" and not rest:
            service = replace(service, env_file=None)
        elif attribute == "extends" and not rest:
            service = replace(service, extends=None)
    return service


_BOOLEANS = {
    "true": True,
    "false": False,
    "y": True,
    "yes": True,
    "on": True,
    "n": False,
    "no": False,
    "off": False,
}


class _ComposeFile:
    """One compose file read: its documents, interpolated, as services (no `extends` applied)."""

    def __init__(self, reader: _Reader, path: Path, display: str, *, main: bool) -> None:
        self.reader = reader
        self.path = path
        self.display = display
        self.folder = path.parent
        self.main = main
        self.cleared: list[_ResetPath] = []

    def documents(self) -> list[tuple[dict[str, _Service], list[_ResetPath]]]:
        given = self.reader.given if self.main else self.display
        text = _read_text(self.path, "compose file", given)
        roots, written = _compose_events(text, self.display)
        if not roots:
            raise InputError(f"compose file is empty: {self.display}")
        documents = []
        for root in roots:
            builder = _Builder(self.display, written)
            value = builder.build(root, (), 0, None)
            if not isinstance(value, _Map):
                kind = "a list" if isinstance(value, _Seq) else "a single value"
                raise InputError(
                    f"{self.display} line {root.line}: the top level is {kind}, not a mapping"
                    " (top-level object must be a mapping)"
                )
            interpolated = _interpolate_tree(
                value, self.reader.project_lookup, self.reader.warnings
            )
            assert isinstance(interpolated, _Map)
            documents.append((self.services(interpolated), builder.cleared))
        return documents

    def services(self, document: _Map) -> dict[str, _Service]:
        for key, loc in document.key_locs.items():
            if key == "include":
                self.reader.warnings.add(
                    f"{loc}: include: is not followed; services from included files are not read"
                )
            elif key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
                self.reader.warnings.add(
                    f"{loc}: top-level key {key!r} is not in the Compose Specification; Compose"
                    " refuses the file (additional property not allowed)"
                )
        section = document.items.get("services")
        if section is None:
            if "services" in document.items:
                raise InputError(f"{document.key_locs['services']}: services must be a mapping")
            return {}
        if not isinstance(section, _Map):
            raise InputError(f"{section.loc}: services must be a mapping")
        services: dict[str, _Service] = {}
        for name, definition in section.items.items():
            loc = section.key_locs[name]
            if not re.fullmatch(r"[a-zA-Z0-9._-]+", name):
                raise InputError(
                    f"{loc}: service name {name!r} may only have letters, digits, '.', '_', '-'"
                )
            if not isinstance(definition, _Map):
                raise InputError(f"{loc}: services.{name} must be a mapping")
            services[name] = self.service(name, definition, loc)
        return services

    def service(self, name: str, definition: _Map, loc: _Loc) -> _Service:
        environment = definition.items.get("environment")
        env_file = definition.items.get("env_file")
        extends = definition.items.get("extends")
        return _Service(
            name,
            loc,
            self.environment(name, environment) if "environment" in definition.items else None,
            self.env_files(name, env_file) if "env_file" in definition.items else None,
            self.extends(name, extends, definition) if "extends" in definition.items else None,
        )

    def environment(self, service: str, value: _Value | None) -> _Environment:
        entries: list[_EnvEntry] = []
        if isinstance(value, _Map):
            for key, item in value.items.items():
                if not isinstance(item, _Scalar):
                    raise InputError(
                        f"{value.key_locs[key]}: services.{service}.environment.{key} must be a"
                        " string, number, boolean or null"
                    )
                text = self.env_text(item)
                entries.append(_EnvEntry(key, text, value.key_locs[key], item.refs, service))
            return _Environment("mapping", tuple(entries))
        if isinstance(value, _Seq):
            for item in value.items:
                if not isinstance(item, _Scalar) or item.kind not in ("str", "timestamp"):
                    raise InputError(
                        f"{item.loc}: services.{service}.environment items must be strings like"
                        " KEY=value"
                    )
                key, equals, rest = str(item.value).partition("=")
                if key and key[-1] in _GO_SPACE:
                    raise InputError(
                        f"{item.loc}: environment variable {key!r} is declared with a trailing"
                        " space"
                    )
                entries.append(
                    _EnvEntry(key, rest if equals else None, item.loc, item.refs, service)
                )
            return _Environment("list", tuple(entries))
        where = str(value.loc) if value is not None else self.display
        raise InputError(f"{where}: services.{service}.environment must be a mapping or a list")

    def env_text(self, item: _Scalar) -> str | None:
        """A scalar of `environment:` as the string Compose passes (Go's fmt.Sprint)."""
        value = item.value
        if item.kind == "null":
            return None
        if item.kind == "bool":
            return "true" if value else "false"
        if item.kind == "float":
            assert isinstance(value, float)
            return go_format_float(value)
        if item.kind == "timestamp":
            self.reader.warnings.add(
                f"{item.loc}: {value} is a YAML timestamp: Compose versions differ on how they"
                " pass it (as written, or as '... 00:00:00 +0000 UTC'); quote it"
            )
        return str(value)

    def env_files(self, service: str, value: _Value | None) -> tuple[_EnvFileRef, ...]:
        if isinstance(value, _Scalar) and value.kind == "str":
            items: tuple[_Value, ...] = (value,)
        elif isinstance(value, _Seq):
            items = value.items
        else:
            loc = value.loc if value is not None else self.display
            raise InputError(
                f"{loc}: services.{service}.env_file must be a path or a list of paths"
            )
        refs = [self.env_file(service, item) for item in items]
        return _unique_env_files(tuple(refs))

    def env_file(self, service: str, item: _Value) -> _EnvFileRef:
        required, file_format = True, ""
        if isinstance(item, _Scalar) and item.kind == "str":
            written, loc = str(item.value), item.loc
        elif isinstance(item, _Map):
            unknown = set(item.items) - {"path", "required", "format"}
            if unknown:
                raise InputError(
                    f"{item.loc}: services.{service}.env_file: unknown key"
                    f" {sorted(unknown)[0]!r} (path, required, format)"
                )
            path = item.items.get("path")
            if not isinstance(path, _Scalar) or path.kind != "str":
                raise InputError(f"{item.loc}: services.{service}.env_file: path is required")
            written, loc = str(path.value), path.loc
            if "required" in item.items:
                required = self.boolean(item.items["required"], f"services.{service}.env_file")
            file_format_value = item.items.get("format")
            if file_format_value is not None:
                if not isinstance(file_format_value, _Scalar) or file_format_value.kind != "str":
                    raise InputError(f"{file_format_value.loc}: env_file format must be a string")
                file_format = str(file_format_value.value)
        else:
            raise InputError(f"{item.loc}: services.{service}.env_file items must be paths")
        path_text = written
        if path_text.startswith("~"):
            home = self.reader.environ.get("HOME")
            if home:
                path_text = os.path.join(home, path_text[1:].lstrip("/"))
            else:
                self.reader.warnings.add(f"{loc}: cannot expand '~': HOME is not set")
        absolute = Path(os.path.normpath(os.path.join(self.folder, path_text)))
        key = written if self.main else str(absolute)
        return _EnvFileRef(
            key, absolute, self.reader.display(absolute), required, file_format, loc, service
        )

    def boolean(self, value: _Value, where: str) -> bool:
        if isinstance(value, _Scalar) and value.kind == "bool":
            return bool(value.value)
        if isinstance(value, _Scalar) and value.kind == "str":
            text = str(value.value).lower()
            if text in _BOOLEANS:
                if text not in ("true", "false"):
                    self.reader.warnings.add(
                        f"{value.loc}: {value.value!r} for a boolean is not YAML 1.2; use"
                        f" {str(_BOOLEANS[text]).lower()}"
                    )
                return _BOOLEANS[text]
        raise InputError(f"{value.loc}: {where}: required must be true or false")

    def extends(self, service: str, value: _Value | None, definition: _Map) -> _Extends:
        loc = definition.key_locs["extends"]
        if isinstance(value, _Scalar) and value.kind == "str":
            return _Extends(str(value.value), None, loc)
        if isinstance(value, _Map):
            unknown = set(value.items) - {"service", "file"}
            if unknown:
                raise InputError(
                    f"{loc}: services.{service}.extends: unknown key {sorted(unknown)[0]!r}"
                )
            ref = value.items.get("service")
            if not isinstance(ref, _Scalar) or ref.kind != "str":
                raise InputError(f"{loc}: extends.{service}.service is required")
            file = value.items.get("file")
            if file is not None and (not isinstance(file, _Scalar) or file.kind != "str"):
                raise InputError(f"{file.loc}: services.{service}.extends.file must be a path")
            return _Extends(str(ref.value), str(file.value) if file is not None else None, loc)
        raise InputError(f"{loc}: services.{service}.extends must be a service name or a mapping")


class _Reader:
    """One read_compose call: the project environment, the files read, the warnings."""

    def __init__(self, path: Path, environ: Mapping[str, str], given: str) -> None:
        self.path = path
        self.given = given
        """The compose file's path as the caller wrote it, for the errors about reading it."""
        self.project_dir = path.parent
        self.environ = environ
        self.warnings = _Warnings()
        self.project_env: dict[str, _EnvVar] = {}
        self.extends_files: dict[Path, list[tuple[dict[str, _Service], list[_ResetPath]]]] = {}

    def display(self, path: Path) -> str:
        if path == self.path:
            return path.name
        try:
            return "./" + path.relative_to(self.project_dir).as_posix()
        except ValueError:
            return str(path)

    def project_lookup(self, name: str) -> _EnvVar | None:
        return self.project_env.get(name)

    def read_project_environment(self, env_files: Sequence[str | os.PathLike[str]] | None) -> None:
        """The shell environment, then the project's `.env` (or `--env-file` files), for
        interpolation and for variables declared without a value. The shell wins."""
        shell = {name: _EnvVar(value, SHELL) for name, value in self.environ.items()}
        if env_files is None:
            default = self.project_dir / ".env"
            paths = [default] if default.is_file() else []
        else:
            paths = [Path(os.path.abspath(file)) for file in env_files]
        from_files: dict[str, _Setting] = {}

        def before_this_line(name: str) -> _EnvVar | None:
            earlier = from_files.get(name)
            if name in shell or earlier is None or earlier.value is None:
                return shell.get(name)
            return _EnvVar(earlier.value, earlier.where)

        for path in paths:
            display = self.display(path)
            if not path.exists():
                raise InputError(f"couldn't find env file: {display}")
            text = _read_text(path, "env file", display)
            _DotEnvParser(text, display, self.warnings).parse(from_files, before_this_line)
        self.project_env = dict(shell)
        for name, setting in from_files.items():
            if name not in shell and setting.value is not None:
                self.project_env[name] = _EnvVar(setting.value, setting.where)

    def load(self) -> dict[str, _Service]:
        """The main file's services, each document's `extends` applied, documents merged."""
        main = _ComposeFile(self, self.path, self.display(self.path), main=True)
        merged: dict[str, _Service] = {}
        for services, cleared in main.documents():
            for name in list(services):
                self.extend(name, services, main, cleared, ())
            for path in cleared:
                if len(path) == 2 and path[0] == "services":
                    merged.pop(path[1], None)
            for name, service in services.items():
                if name in merged:
                    merged[name] = _merge_services(_clear(merged[name], cleared), service)
                else:
                    merged[name] = service
        return merged

    def extend(
        self,
        name: str,
        services: dict[str, _Service],
        file: _ComposeFile,
        cleared: list[_ResetPath],
        chain: tuple[tuple[Path, str], ...],
    ) -> _Service:
        """`services[name]` with its `extends:` chain merged in (05-services.md, extends)."""
        service = services[name]
        if service.extends is None:
            return service
        link = (file.path, name)
        if link in chain:
            steps = " -> ".join(f"{step} in {self.display(path)}" for path, step in (*chain, link))
            raise InputError(f"{service.extends.loc}: circular reference with extends: {steps}")
        ref = service.extends.service
        if service.extends.file is None:
            base_services, base_file, base_cleared = services, file, cleared
        else:
            base_services, base_file, base_cleared = self.extends_base(service.extends, file)
        if ref not in base_services:
            raise InputError(
                f"{service.extends.loc}: cannot extend service {name!r}: service {ref!r} not"
                f" found in {base_file.display}"
            )
        base = self.extend(ref, base_services, base_file, base_cleared, (*chain, link))
        source = _clear(replace(base, name=name), cleared)
        merged = replace(_merge_services(source, service), extends=None)
        if merged.env_file is not None:
            merged = replace(merged, env_file=_unique_env_files(merged.env_file))
        services[name] = merged
        return merged

    def extends_base(
        self, extends: _Extends, file: _ComposeFile
    ) -> tuple[dict[str, _Service], _ComposeFile, list[_ResetPath]]:
        assert extends.file is not None
        written = extends.file
        if written.startswith("~") and self.environ.get("HOME"):
            written = os.path.join(self.environ["HOME"], written[1:].lstrip("/"))
        path = Path(os.path.normpath(os.path.join(file.folder, written)))
        other = _ComposeFile(self, path, self.display(path), main=False)
        if path not in self.extends_files:
            if len(self.extends_files) >= MAX_EXTENDS_FILES:
                raise InputError(
                    f"{extends.loc}: extends brings in more than {MAX_EXTENDS_FILES} files"
                )
            if not path.is_file():
                raise InputError(f"{extends.loc}: extends file not found: {other.display}")
            self.extends_files[path] = other.documents()
        merged: dict[str, _Service] = {}
        cleared: list[_ResetPath] = []
        for services, document_cleared in self.extends_files[path]:
            for name, service in services.items():
                merged[name] = (
                    _merge_services(_clear(merged[name], document_cleared), service)
                    if name in merged
                    else service
                )
            cleared = document_cleared
        if not merged:
            raise InputError(
                f"{extends.loc}: cannot extend service {extends.service!r}: no services section"
                f" in {other.display}"
            )
        return merged, other, cleared

    def environment(self, service: _Service) -> ServiceEnvironment:
        """WithServicesEnvironmentResolved: `environment:` resolved from the project
        environment, env files read over it in order, then `environment:` laid over them."""
        declared: dict[str, _Setting] = {}
        for entry in service.environment.entries if service.environment else ():
            if entry.value is not None:
                declared[entry.key] = _Setting(entry.value, entry.where, entry.refs)
                continue
            found = self.project_env.get(entry.key)
            if found is not None:
                declared[entry.key] = _Setting(
                    found.value,
                    found.source,
                    origin_text=f"{found.source} ({entry.key} declared without a value at"
                    f" {entry.where})",
                )
            else:
                declared[entry.key] = _Setting(
                    None,
                    entry.where,
                    origin_text=f"{entry.where}: declared without a value and not set in the shell"
                    " environment or .env, so Compose leaves it unset",
                )

        def lookup(name: str) -> _EnvVar | None:
            found = self.project_env.get(name)
            if found is not None:
                return found
            setting = declared.get(name)
            if setting is not None and setting.value is not None:
                return _EnvVar(setting.value, f"service {service.name} environment")
            return None

        environment = {key: s for key, s in declared.items() if s.value is not None}
        from_files: dict[str, str] = {}
        read: list[Path] = []
        for ref in service.env_file or ():
            if not ref.path.exists():
                if ref.required:
                    raise InputError(
                        f"{ref.loc}: env file {ref.display} not found (service {service.name})"
                    )
                self.warnings.add(
                    f"{ref.loc}: env file {ref.display} not found; it is optional"
                    f" (required: false), so service {service.name} starts without it"
                )
                continue
            text = _read_text(ref.path, "env file", ref.display)
            before = dict(environment)
            if ref.format == "raw":
                _parse_raw_env(text, ref.display, environment, lookup)
            elif ref.format == "":
                _DotEnvParser(text, ref.display, self.warnings).parse(environment, lookup)
            else:
                raise InputError(f"{ref.loc}: unsupported env_file format {ref.format!r}")
            read.append(ref.path)
            for key, setting in environment.items():
                if before.get(key) is not setting:
                    from_files[key] = setting.where
        final = {**environment, **declared}
        origins: dict[str, str] = {}
        for key, setting in final.items():
            origin = setting.origin
            if key in declared and key in from_files:
                origin += f" (overriding {from_files[key]})"
            origins[key] = origin
        keys = sorted(final)
        return ServiceEnvironment(
            service.name,
            {key: final[key].value for key in keys},
            {key: origins[key] for key in keys},
            tuple(read),
        )


def read_compose(
    path: str | os.PathLike[str],
    environ: Mapping[str, str],
    *,
    env_files: Sequence[str | os.PathLike[str]] | None = None,
) -> ComposeProject:
    """Every service's container environment as Docker Compose computes it from `path`.

    `environ` is the shell environment Compose would run in. The project's `.env` beside the
    compose file is read for interpolation unless `env_files` is given, as `--env-file` is
    (relative paths from the current folder). Raises InputError, one line naming the file and
    line, for what stops Compose: YAML errors, `${VAR:?msg}` with VAR unset, a missing required
    env file, and for files over MAX_FILE_SIZE or too deep or alias-heavy to be real.
    """
    compose_path = Path(os.path.abspath(path))
    reader = _Reader(compose_path, environ, os.fspath(path))
    if not compose_path.exists():
        raise unreadable("compose file", path, FileNotFoundError(path))
    reader.read_project_environment(env_files)
    services = reader.load()
    if not services:
        reader.warnings.add(f"{reader.display(compose_path)}: no services are defined")
    return ComposeProject(
        compose_path,
        reader.project_dir,
        {name: reader.environment(services[name]) for name in sorted(services)},
        list(reader.warnings.lines),
    )
