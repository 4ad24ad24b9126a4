"""One process's mail settings against another's: `mailcheck config --compare` and `--compose`.

The web process and the Celery worker send the same invitations, so every mail setting must be
the same in both: where they differ, one of them is wrong, and where one lacks a setting the
other has, it runs with whatever settings.py falls back to. Secrets (EMAIL_HOST_PASSWORD, and
EMAIL_URL, which holds it) are compared without being shown, not even masked: a finding says
only that they are the same or differ, and their lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from interview_mailcheck.email_url import parse_email_url
from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import parse_bool, parse_port, parse_timeout
from interview_mailcheck.registry import check
from interview_mailcheck.secrets import describe_secret
from interview_mailcheck.settings import (
    OPTIONAL_SETTINGS,
    READ_SETTINGS,
    SECRET_SETTINGS,
    URL_SETTING,
    Setting,
)


class Side(NamedTuple):
    """The mail settings of one process: an env file's, or a compose service's."""

    name: str
    """The env file's path as given, or the service's name."""
    settings: Mapping[str, Setting]
    """Every name of READ_SETTINGS -> its Setting (value None when not set)."""
    service: bool = False
    """A compose service, not an env file."""

    @property
    def label(self) -> str:
        return f"service {self.name}" if self.service else self.name

    @property
    def within(self) -> str:
        """'in worker.env', 'for service worker'."""
        return f"for {self.label}" if self.service else f"in {self.label}"

    def place(self, name: str) -> str:
        """Where `name` comes from: 'worker.env line 3', 'service web (./web.env line 1)', or
        the side alone when nothing sets it."""
        origin = self.settings[name].origin
        if not self.service:
            return origin if self.settings[name].value is not None else self.name
        return f"{self.label} ({origin})" if origin and origin != "-" else self.label


DIFFERS = Rule(
    id="compare.E001",
    level=Level.ERROR,
    title="A mail setting differs between the two processes",
    message="{name} {difference}",
    hint="Give {name} one value in both ({first} and {second}): one of them is wrong",
    explanation=(
        "The web process and the worker (a Celery worker, a cron job) send the same "
        "invitations, so they need the same mail settings. When a setting differs, one of the "
        "two sends through another server, from another address or with another password than "
        "you think, and only the invitations that process sends fail. Secrets are compared "
        "without being shown: only whether they are the same, and their lengths."
    ),
)

MISSING = Rule(
    id="compare.E002",
    level=Level.ERROR,
    title="A mail setting is set for one process and not for the other",
    message="{name} {difference}",
    hint="Set {name} in {missing} too, to the value {present} has",
    explanation=(
        "A worker started with its own env file (or a compose service with its own "
        "environment) often lacks what the web process has, most often the password: its "
        "settings.py then falls back to a default (Django's: localhost, port 25, no login), and "
        "the invitations it sends fail while those the web process sends go out."
    ),
)

WRITTEN_DIFFERENTLY = Rule(
    id="compare.W001",
    level=Level.WARNING,
    title="A mail setting means the same in both processes but is written differently",
    message="{name} is {first_value} in {first_place} and {second_value} in {second_place}: {same}",
    hint="Write {name} the same way in both",
    explanation=(
        "'True' and 'true', or '587' and ' 587', mean the same to a settings.py that casts the "
        "value as mailcheck does (true/false/1/0/yes/no/on/off, a number), but not to one that "
        "compares the text (os.getenv('EMAIL_USE_TLS') == 'True'): write them alike."
    ),
)

AGREE = Rule(
    id="compare.I001",
    level=Level.INFO,
    title="Both processes have the same mail settings",
    message="{first} and {second} agree on every mail setting: {agreed}",
    hint="",
    explanation=(
        "Every mail setting either side sets is the same in the other (secrets compared "
        "without being shown). The settings themselves are judged by the config checks."
    ),
)

ENVIRONMENT_LEFT_OUT = Rule(
    id="compare.I002",
    level=Level.INFO,
    title="Mail settings of mailcheck's own environment are left out of --compare",
    message=(
        "{names} {verb} set in the environment mailcheck runs in: the config checks of {first} "
        "use {pronoun}, the comparison reads the two files alone"
    ),
    hint="If both processes are started from this shell, {names} from it applies to both; "
    "otherwise set it in each env file",
    explanation=(
        "load_dotenv() lets a variable already set in the process environment win over the "
        "file, so plain `mailcheck config` lays this shell's environment over the env file. A "
        "worker started elsewhere does not share this shell, so `--compare` compares the two "
        "files as files. `${VAR}` inside a file is still resolved as load_dotenv() would here "
        "(the environment first, then the lines above it)."
    ),
)

_SAME_WHEN = {
    "EMAIL_USE_TLS": ("the same switch", parse_bool),
    "EMAIL_USE_SSL": ("the same switch", parse_bool),
    "EMAIL_PORT": ("the same port", parse_port),
    "EMAIL_TIMEOUT": ("the same number of seconds", parse_timeout),
}


def _same_meaning(name: str, first: str, second: str) -> str:
    """'the same switch' when two different texts mean the same ('True', 'true'), else ''."""
    if name not in _SAME_WHEN:
        return ""
    same, parse = _SAME_WHEN[name]
    meaning = parse(first)
    return same if meaning is not None and meaning == parse(second) else ""


def _shown(name: str, value: str) -> str:
    return describe_secret(value) if name in SECRET_SETTINGS else repr(value)


def _lengths(first: str, second: str) -> str:
    return f"lengths {len(first)} and {len(second)}"


def _url_parts(first: str, second: str) -> str:
    """'; in EMAIL_HOST, EMAIL_HOST_PASSWORD': the settings two EMAIL_URLs give differently."""
    one, other = parse_email_url(first), parse_email_url(second)
    if one.error or other.error:
        return ""
    names = [
        name
        for name in READ_SETTINGS
        if one.values.get(name) != other.values.get(name) and name != URL_SETTING
    ]
    return f"; in {', '.join(names)}" if names else ""


def _compare_one(name: str, first: Side, second: Side) -> list[Finding]:
    a, b = first.settings[name].value, second.settings[name].value
    if a == b:  # the same, or set in neither
        return []
    context = {"service": second.name} if second.service else None
    if a is None or b is None:
        present, missing = (first, second) if b is None else (second, first)
        value = present.settings[name].value
        assert value is not None
        if name in SECRET_SETTINGS:
            length = f"{len(value)} characters" if value else "empty"
            text = f"is set in {present.place(name)} ({length}), and not in {missing.place(name)}"
        else:
            text = f"is {value!r} in {present.place(name)}, and not set in {missing.place(name)}"
        return [
            MISSING.finding(
                name,
                name=name,
                difference=text,
                missing=missing.label,
                present=present.label,
                context=context,
            )
        ]
    if name in SECRET_SETTINGS:
        detail = _lengths(a, b) + (_url_parts(a, b) if name == URL_SETTING else "")
        difference = f"differs ({detail}) between {first.place(name)} and {second.place(name)}"
        return [_differs(name, difference, first, second, context)]
    same = _same_meaning(name, a, b)
    if same:
        return [
            WRITTEN_DIFFERENTLY.finding(
                name,
                name=name,
                first_value=repr(a),
                first_place=first.place(name),
                second_value=repr(b),
                second_place=second.place(name),
                same=f"{same}, written differently",
                context=context,
            )
        ]
    difference = f"is {a!r} in {first.place(name)} but {b!r} in {second.place(name)}"
    return [_differs(name, difference, first, second, context)]


def _differs(
    name: str, difference: str, first: Side, second: Side, context: Mapping[str, str] | None
) -> Finding:
    return DIFFERS.finding(
        name,
        name=name,
        difference=difference,
        first=first.label,
        second=second.label,
        context=context,
    )


def compare_settings(first: Side, second: Side) -> list[Finding]:
    """Every mail setting (READ_SETTINGS) of `second` against `first`, in that order; an info
    that they agree when nothing differs."""
    findings = [finding for name in READ_SETTINGS for finding in _compare_one(name, first, second)]
    if findings:
        return findings
    both = [name for name in READ_SETTINGS if first.settings[name].value is not None]
    neither = [n for n in READ_SETTINGS if n not in both and n not in OPTIONAL_SETTINGS]
    if both:
        hidden = [name for name in both if name in SECRET_SETTINGS]
        agreed = f"the same {', '.join(both)}"
        if hidden:
            agreed += f" ({' and '.join(hidden)} compared without being shown)"
        if neither:
            agreed += f"; neither sets {', '.join(neither)}"
    else:
        agreed = "neither sets any"
    return [
        AGREE.finding(
            f"{first.label} and {second.label}",
            first=first.label,
            second=second.label,
            agreed=agreed,
            context={"service": second.name} if second.service else None,
        )
    ]


def comparison_rows(first: Side, second: Side) -> list[dict[str, str]]:
    """A row per mail setting set on either side: its verdict and both sides (secrets by their
    length only), for -v and --json."""
    rows = []
    for name in READ_SETTINGS:
        a, b = first.settings[name].value, second.settings[name].value
        if a is None and b is None:
            continue
        if a == b:
            verdict = "the same"
        elif a is None or b is None:
            verdict = f"not set {(first if a is None else second).within}"
        elif name not in SECRET_SETTINGS and _same_meaning(name, a, b):
            verdict = "written differently"
        else:
            verdict = "differs"
        rows.append(
            {
                "name": name,
                "verdict": verdict,
                "first": _cell(name, first.settings[name]),
                "second": _cell(name, second.settings[name]),
            }
        )
    return rows


def _cell(name: str, setting: Setting) -> str:
    if setting.value is None:
        return "not set"
    return f"{_shown(name, setting.value)} ({setting.origin})"


def check_environment_left_out(first: str, names: Sequence[str]) -> list[Finding]:
    """An info naming the mail settings set in mailcheck's own environment, which --compare
    leaves out (the config checks of the first file still see them)."""
    if not names:
        return []
    many = len(names) > 1
    return [
        ENVIRONMENT_LEFT_OUT.finding(
            ", ".join(names),
            names=", ".join(names),
            verb="are" if many else "is",
            pronoun="them" if many else "it",
            first=first,
        )
    ]


CHECKS = (
    check(
        "compare",
        "agree",
        rules=(DIFFERS, MISSING, WRITTEN_DIFFERENTLY, AGREE),
        function=compare_settings,
    ),
    check(
        "compare",
        "environment",
        rules=(ENVIRONMENT_LEFT_OUT,),
        function=check_environment_left_out,
    ),
)
