"""YAML nodes to typed values, the way Compose's YAML library (go-yaml) types them.

adapters/compose.py reads a compose file as PyYAML events and turns them into `Node`s (nothing
constructed); this module builds values from those nodes: aliases expanded (bounded: a billion
laughs is refused), merge keys applied (10-fragments.md, "Compose follows the rule outlined by
YAML merge type"), duplicate keys refused, `!reset` and `!override` recorded (13-merge.md), and
scalars typed as go-yaml types them, not as PyYAML would (YAML 1.1: `yes` is a boolean, `0755`
an octal, `1:20` a sexagesimal 80): a YAML 1.2 core schema with Go's number syntax (`0755` and
`0o755` are octal, `1_000` is 1000, `1.0` is written "1", `1e6` "1e+06" as Go's fmt prints a
float64), as compose-spec/compose-go's loader reads them (read for its behaviour, not copied).

Pure: no PyYAML here, no file read.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from interview_mailcheck.compose_interpolation import Ref
from interview_mailcheck.errors import InputError

MAX_DEPTH = 100
"""Nesting levels of YAML collections, counted after aliases are expanded. Compose files use ~8."""

MAX_ALIAS_NODES = 200_000
"""Nodes that aliases may add beyond those written in the file: a billion laughs stops here."""


@dataclass(eq=False)
class Node:
    """A YAML node as written: aliases point at their anchored node, nothing is typed yet."""

    kind: Literal["scalar", "seq", "map", "alias"]
    line: int
    tag: str | None = None
    anchor: str | None = None
    value: str = ""
    plain: bool = True
    children: list[Node] = field(default_factory=list)
    target: Node | None = None


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    anchor: str | None = None

    def __str__(self) -> str:
        anchor = f" (via *{self.anchor})" if self.anchor else ""
        return f"{self.file} line {self.line}{anchor}"


ScalarKind = Literal["str", "int", "float", "bool", "null", "timestamp"]


@dataclass(frozen=True)
class Scalar:
    value: str | int | float | bool | None
    kind: ScalarKind
    loc: Loc
    refs: tuple[Ref, ...] = ()


@dataclass(frozen=True)
class Map:
    items: dict[str, Value]
    key_locs: dict[str, Loc]
    loc: Loc


@dataclass(frozen=True)
class Seq:
    items: tuple[Value, ...]
    loc: Loc


Value = Scalar | Map | Seq

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


def resolve_plain(text: str) -> tuple[ScalarKind, str | int | float | bool | None]:
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


ResetPath = tuple[str, ...]


class Builder:
    """Nodes to typed values: aliases expanded (bounded), merge keys applied, duplicate keys
    refused, `!reset` nodes dropped and their paths (and `!override` ones) recorded."""

    def __init__(self, display: str, written_nodes: int) -> None:
        self.display = display
        self.visits = 0
        self.limit = written_nodes + MAX_ALIAS_NODES
        self.cleared: list[ResetPath] = []

    def build(
        self, node: Node, path: ResetPath | None, depth: int, anchor: str | None
    ) -> Value | None:
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
        loc = Loc(self.display, node.line, anchor)
        if node.kind == "scalar":
            return self.scalar(node, loc)
        if node.kind == "seq":
            items = (self.build(child, None, depth + 1, anchor) for child in node.children)
            return Seq(tuple(item for item in items if item is not None), loc)
        return self.mapping(node, path, depth, anchor, loc)

    def scalar(self, node: Node, loc: Loc) -> Scalar:
        tag = _short_tag(node.tag)
        text = node.value
        if tag == "!!str" or (tag in ("", "!") and not node.plain):
            return Scalar(text, "str", loc)
        if tag == "!!binary":
            try:
                decoded = base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise InputError(f"{loc}: !!binary value is not base64 of UTF-8 text") from None
            return Scalar(decoded, "str", loc)
        if tag not in ("", "!!bool", "!!int", "!!float", "!!null", "!!timestamp"):
            return Scalar(text, "str", loc)  # go-yaml keeps an unknown tag's text as a string
        kind, value = resolve_plain(text)
        if tag and tag != "!!" + kind:
            if tag == "!!float" and kind == "int":
                assert isinstance(value, int)
                return Scalar(float(value), "float", loc)
            raise InputError(f"{loc}: cannot construct this !!{kind} as a {tag}")
        return Scalar(value, kind, loc)

    def mapping(
        self, node: Node, path: ResetPath | None, depth: int, anchor: str | None, loc: Loc
    ) -> Map:
        items: dict[str, Value] = {}
        key_locs: dict[str, Loc] = {}
        seen: dict[str, int] = {}
        merges: list[Node] = []
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
            key = self.scalar(key_node, Loc(self.display, key_node.line, anchor))
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
        return Map(items, key_locs, loc)

    def merge_sources(
        self, node: Node, path: ResetPath | None, depth: int, anchor: str | None
    ) -> list[Map]:
        """The mappings a `<<` key merges, first one first (earlier ones win)."""
        nodes = [node]
        target = node.target if node.kind == "alias" else node
        if target is not None and target.kind == "seq":
            nodes = target.children
        sources: list[Map] = []
        for item in nodes:
            resolved = item.target if item.kind == "alias" else item
            if resolved is None or resolved.kind != "map":
                raise InputError(
                    f"{self.display} line {item.line}: map merge requires map or sequence of maps"
                    " as the value"
                )
            built = self.build(item, path, depth, anchor)
            if isinstance(built, Map):
                sources.append(built)
        return sources
