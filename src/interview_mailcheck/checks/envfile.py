"""The env file itself: lines python-dotenv skips or cuts, quotes that swallow settings, keys
defined twice, and values the process environment hides (`mailcheck config`)."""

from __future__ import annotations

import re

from interview_mailcheck.findings import Finding, Level, Rule
from interview_mailcheck.mailconfig import (
    MailConfig,
)
from interview_mailcheck.registry import check
from interview_mailcheck.secrets import describe_secret
from interview_mailcheck.settings import (
    READ_SETTINGS,
    SECRET_SETTINGS,
    EnvBinding,
)

ERROR, WARNING, INFO = Level.ERROR, Level.WARNING, Level.INFO

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=", re.MULTILINE)

SHADOWED = Rule(
    id="config.W009",
    level=WARNING,
    title="The environment overrides a different value in the env file",
    message=(
        "{name} is set in the environment and differs from {file} line {line}: "
        "the app uses the environment's"
    ),
    hint="Unset {name} in the environment (or make both agree) so the file is the one source",
    explanation=(
        "load_dotenv() never overrides a variable that is already set in the process "
        "environment. A stale export in the shell, a container ENV line or a CI variable then "
        "silently wins over the .env file you are editing."
    ),
)

DUPLICATE_KEY = Rule(
    id="config.W010",
    level=WARNING,
    title="A setting is defined more than once in the env file",
    message="{name} is defined on lines {lines}: the last one (line {last}) wins",
    hint="Keep one definition of {name}",
    explanation="python-dotenv keeps the last definition; the earlier ones are dead and mislead.",
)

COMMENT_CUT = Rule(
    id="config.W011",
    level=WARNING,
    title="An unquoted value is cut at ' #'",
    message="{name} on line {line}: everything from ' #' on is read as a comment{shown}",
    hint='Quote the value ({name}="...") if the # belongs to it, or move the comment up a line',
    explanation=(
        "python-dotenv treats whitespace followed by # in an unquoted value as the start of a "
        "comment, so 'abcd #efg' is read as 'abcd'. Quote values that contain ' #'."
    ),
)

UNPARSABLE_LINE = Rule(
    id="config.W012",
    level=WARNING,
    title="A line of the env file cannot be parsed",
    message="line {line} cannot be parsed (an unclosed quote?); python-dotenv skips it",
    hint="Close the quote or fix the line; {key}",
    explanation=(
        "python-dotenv skips a statement it cannot parse, most often a value whose opening quote "
        "is never closed. The setting on that line is then missing."
    ),
)

QUOTE_SWALLOWS = Rule(
    id="config.W013",
    level=WARNING,
    title="A quoted value runs over several lines and swallows other settings",
    message=(
        "the quote opened for {name} on line {line} runs to line {end}: {swallowed} {verb} not set"
    ),
    hint="Close the quote on line {line}",
    explanation=(
        "A quoted value may span lines, so an opening quote without its closing quote runs to "
        "the next quote character in the file: the settings in between become part of the value "
        "and are not set at all."
    ),
)

NO_ENV_FILE = Rule(
    id="config.I005",
    level=INFO,
    title="No env file: only the process environment is checked",
    message="no env file at {path}: checking the process environment only",
    hint="Pass --env-file PATH (or set MAILCHECK_ENV_FILE) if the settings live elsewhere",
    explanation=(
        "mailcheck reads ./.env by default, like load_dotenv(). In CI the settings usually come "
        "from the environment instead, which is fine."
    ),
)


def check_env_file(config: MailConfig) -> list[Finding]:
    settings = config.settings
    env_file = settings.env_file
    if env_file is None:
        if settings.django is not None:  # the settings came from Django, not from a file
            return []
        return [NO_ENV_FILE.finding(str(settings.env_file_path), path=settings.env_file_path)]
    findings: list[Finding] = []
    path = str(env_file.path)
    seen: dict[str, list[int]] = {}
    for binding in env_file.bindings:
        if binding.error:
            findings += _check_unparsable(binding, path)
            continue
        if binding.key is None:
            continue
        seen.setdefault(binding.key, []).append(binding.line)
        findings += _check_binding_value(binding.key, binding.value, binding.original, binding.line)
    for name, lines in seen.items():
        if name in READ_SETTINGS and len(lines) > 1:
            findings.append(
                DUPLICATE_KEY.finding(
                    name,
                    name=name,
                    lines=", ".join(map(str, lines)),
                    last=lines[-1],
                    evidence={"lines": lines},
                )
            )
    return findings


def _check_unparsable(binding: EnvBinding, path: str) -> list[Finding]:
    """A skipped statement: one bad line, or a quote that ran over the following lines."""
    key = _ASSIGNMENT.match(binding.original)
    name = key.group(1) if key else None
    rest = binding.original.partition("\n")[2]
    if name and _ASSIGNMENT.search(rest):
        return _swallowed(name, rest, binding.original, binding.line, lost=True)
    return [
        UNPARSABLE_LINE.finding(
            f"{path}:{binding.line}",
            line=binding.line,
            key=f"it sets {name}" if name else "it sets nothing",
            evidence={"line": binding.line, "sets": name},
        )
    ]


def _swallowed(name: str, text: str, original: str, line: int, *, lost: bool) -> list[Finding]:
    swallowed = _ASSIGNMENT.findall(text)
    if not swallowed:
        return []
    end = line + original.rstrip("\r\n").count("\n")
    names = [*swallowed, name] if lost else swallowed
    described = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    verb = "are" if len(names) > 1 else "is"
    return [
        QUOTE_SWALLOWS.finding(
            name,
            name=name,
            line=line,
            end=end,
            swallowed=described,
            verb=verb,
            evidence={"line": line, "closing_line": end, "swallowed": swallowed, "lost": lost},
        )
    ]


def _check_binding_value(name: str, value: str | None, original: str, line: int) -> list[Finding]:
    after_equals = original.split("=", 1)[1] if "=" in original else ""
    stripped = after_equals.lstrip(" \t")
    if stripped[:1] in ("'", '"') and value is not None and "\n" in value:
        return _swallowed(name, value, original, line, lost=False)
    if name not in READ_SETTINGS or stripped[:1] in ("'", '"'):
        return []
    first_line = stripped.split("\n", 1)[0]
    if re.search(r"\s#", first_line) and not first_line.startswith("#"):
        shown = "" if name in SECRET_SETTINGS else f": the value read is {value!r}"
        return [COMMENT_CUT.finding(name, name=name, line=line, shown=shown)]
    return []


def check_shadowing(config: MailConfig) -> list[Finding]:
    findings = []
    for shadow in config.settings.shadowed:
        secret = shadow.name in SECRET_SETTINGS
        evidence = (
            {
                "environment": describe_secret(shadow.environment_value),
                "file": describe_secret(shadow.file_value),
            }
            if secret
            else {"environment": shadow.environment_value, "file": shadow.file_value}
        )
        findings.append(
            SHADOWED.finding(
                shadow.name,
                name=shadow.name,
                file=config.settings.env_file_path,
                line=shadow.file_line,
                evidence=evidence,
            )
        )
    return findings


CHECKS = (
    check(
        "config",
        "env_file",
        "env-file",
        rules=(DUPLICATE_KEY, COMMENT_CUT, UNPARSABLE_LINE, QUOTE_SWALLOWS, NO_ENV_FILE),
        function=check_env_file,
    ),
    check("config", "shadowing", "env-file", rules=(SHADOWED,), function=check_shadowing),
)
