"""mailcheck's one-pass `.env` parser (envparse.py) and interpolation (adapters/envfile.py) against
python-dotenv itself, the library the app's load_dotenv() runs: the same statements (key,
value, text, line, error) and the same values after `${VAR}` expansion, on generated files
with every quoting form, escapes, comments, `export`, blank and broken lines and line ends."""

from __future__ import annotations

import io
import os
from pathlib import Path
from unittest import mock

from dotenv.main import DotEnv
from dotenv.parser import parse_stream
from hypothesis import given, settings
from hypothesis import strategies as st

from interview_mailcheck.adapters.envfile import parse_env_text
from interview_mailcheck.envparse import parse

PIECES = [
    "A", "B", "_", "1", "=", "#", " ", "\t", "\n", "\r", "\r\n", "'", '"', "\\", "$", "{", "}",
    "${A}", "${B:-x y}", "${NOPE}", "${A:-}", "export ", "é", "\\n", "\\t", "\\'", '\\"',
    "  # c", "FOO", "EMAIL_HOST", "\ufeff", "\x00", ":-",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
lines = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["", "export ", "  "]),
            st.sampled_from(["KEY", "'Q K'", "A_1", "EMAIL_PORT", "A"]),
            st.sampled_from(["=", " = ", "= ", ""]),
            st.one_of(
                st.text(alphabet="ab $#{}\\'\"=:-\t", max_size=12),
                st.text(max_size=8).map(lambda t: f"'{t}'"),
                st.text(max_size=8).map(lambda t: f'"{t}"'),
                st.sampled_from(["${A}", "x${B:-d}y", '"${A}-${NOPE:-z}"', "'${A}'", "# c"]),
            ),
            st.sampled_from(["", " # note", "\t#x"]),
        ).map("".join),
        st.sampled_from(["", "# comment", "   ", "=oops", "KEY VALUE", '"unterminated']),
    ),
    max_size=25,
)
files = st.tuples(lines, st.sampled_from(["\n", "\r\n", "\r"])).map(
    lambda parts: parts[1].join(parts[0])
)


def theirs(text: str) -> list[tuple[object, ...]]:
    return [
        (b.key, b.value, b.original.string, b.original.line, b.error)
        for b in parse_stream(io.StringIO(text))
    ]


def ours(text: str) -> list[tuple[object, ...]]:
    return [tuple(statement) for statement in parse(text)]


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_the_same_statements_on_any_text(text: str) -> None:
    assert ours(text) == theirs(text)


@settings(max_examples=1500, deadline=None)
@given(files)
def test_the_same_statements_on_env_like_files(text: str) -> None:
    assert ours(text) == theirs(text)


@settings(max_examples=1500, deadline=None)
@given(files, st.sampled_from([{}, {"A": "from-env"}, {"A": "e", "B": "", "NOPE": "n"}]))
def test_the_same_values_as_load_dotenv(text: str, environ: dict[str, str]) -> None:
    """`${VAR}` as load_dotenv() resolves it (override=False): the environment first, then
    the lines before."""
    with mock.patch.dict(os.environ, environ, clear=True):
        expected = dict(DotEnv(None, stream=io.StringIO(text), override=False).dict())
    got = parse_env_text(Path(".env"), text, environ).values
    assert {k: v for k, v in got.items()} == expected


def test_the_forms_one_by_one() -> None:
    text = (
        "\ufeffPLAIN=value # comment\n"
        "export EXPORTED=1\n"
        "'QUOTED KEY'=x\n"
        "SINGLE='it''s \\' raw ${A}'\n"
        'DOUBLE="tab\\tnew\\nline \\"q\\" ${A}"\n'
        'MULTI="one\ntwo"\n'
        "EMPTY=\n"
        "SPACED= # only a comment\n"
        "HASH=#kept\n"
        "NOVALUE\n"
        "=broken\n"
        "\n"
        "# a comment\n"
        "DEFAULT=${MISSING:-fallback}\n"
    )
    assert ours(text) == theirs(text)
    with mock.patch.dict(os.environ, {"A": "env"}, clear=True):
        expected = dict(DotEnv(None, stream=io.StringIO(text), override=False).dict())
    assert parse_env_text(Path(".env"), text, {"A": "env"}).values == expected
    assert expected["DOUBLE"] == 'tab\tnew\nline "q" env'
    assert expected["DEFAULT"] == "fallback" and expected["NOVALUE"] is None


def test_linear_in_the_file_size() -> None:
    """30,000 statements, each referring to one before it: parsed and resolved in one pass
    (python-dotenv copies every earlier value for each: quadratic). bench/envfile.py times it."""
    text = "".join(f"V{i}=x${{V{i // 2}}}\n" if i else "V0=x\n" for i in range(30_000))
    values = parse_env_text(Path(".env"), text, {}).values
    assert len(values) == 30_000 and values["V1"] == "xx" and values["V3"] == "xxx"
