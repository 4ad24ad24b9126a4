"""adapters/compose.py: the container environment of each service, as Docker Compose computes it.

Each case is a folder under tests/fixtures/compose/, copied to a temporary folder first (its
`dot.env` becomes the project's `.env`: a committed `.env` would be ignored by git and flagged
by secret scanners). Expected values follow the Compose Specification and the test cases of
compose-go, Compose's loader (TestLoadWithEnvironment, its template and dotenv tests).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from interview_mailcheck.adapters.compose import MAX_FILE_SIZE, ComposeProject, read_compose
from interview_mailcheck.compose_yaml import go_format_float
from interview_mailcheck.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "compose"
ERRORS = FIXTURES / "errors"
UNSET = (
    "declared without a value and not set in the shell environment or .env, so Compose leaves"
    " it unset"
)


def project(case: str, tmp_path: Path) -> Path:
    """The case's folder copied into tmp_path, its dot.env as .env; the compose file's path."""
    target = tmp_path / case
    shutil.copytree(FIXTURES / case, target)
    dotenv = target / "dot.env"
    if dotenv.exists():
        dotenv.rename(target / ".env")
    return target / "docker-compose.yml"


def read(case: str, tmp_path: Path, environ: dict[str, str] | None = None) -> ComposeProject:
    return read_compose(project(case, tmp_path), environ or {})


def at(line: int, service: str = "web") -> str:
    return f"docker-compose.yml line {line}, service {service} environment"


# --- environment: --------------------------------------------------------------------------------


def test_environment_as_a_mapping(tmp_path: Path) -> None:
    web = read("environment_mapping", tmp_path, {"MEU": "Shadoks"}).services["web"]
    assert web.values == {
        "FOO": "1",
        "BAR": "2",
        "GA": "2.5",
        "BU": "",
        "ZO": None,
        "MEU": "Shadoks",
        "EMAIL_HOST_PASSWORD": None,
    }
    assert web.origins == {
        "FOO": at(6),
        "BAR": at(7),
        "GA": at(8),
        "BU": at(9),
        "ZO": f"{at(10)}: {UNSET}",
        "MEU": f"shell environment (MEU declared without a value at {at(11)})",
        "EMAIL_HOST_PASSWORD": f"{at(12)}: {UNSET}",
    }
    assert web.env_files == ()


def test_environment_as_a_list(tmp_path: Path) -> None:
    web = read("environment_list", tmp_path, {"MEU": "Shadoks"}).services["web"]
    assert web.values == {
        "FOO": "one again",  # the later entry wins
        "BAR": "2",
        "GA": "2.5",
        "BU": "",
        "ZO": None,
        "MEU": "Shadoks",
        "EMAIL_URL": "smtp://user:pa=ss@smtp.example.com:587",  # cut at the first '='
    }
    assert web.origins["ZO"] == f"{at(10)}: {UNSET}"
    assert web.origins["MEU"] == f"shell environment (MEU declared without a value at {at(11)})"
    assert web.origins["FOO"] == at(13)


def test_yaml_typed_values_become_the_strings_compose_passes(tmp_path: Path) -> None:
    compose = read("typed_values", tmp_path)
    assert compose.services["web"].values == {
        "EMAIL_USE_TLS": "true",
        "EMAIL_USE_SSL": "false",
        "EMAIL_PORT": "587",
        "EMAIL_TIMEOUT": "1.5",
        "RATE": "1",  # Go prints the float64 1.0 as 1
        "VERSION": "1.1",
        "BIG": "1e+06",
        "HUGE": "12345678901234567890",
        "MODE": "493",  # 0755 is octal
        "NOT_OCTAL": "9",  # not an octal integer, so a float
        "HEX": "31",
        "SEPARATED": "1000",
        "DOT": "0.5",
        "NEGATIVE_ZERO": "-0",
        "ANSWER": "yes",  # YAML 1.2: not a boolean
        "SWITCH": "on",
        "SEXAGESIMAL": "1:20",  # YAML 1.2: not 80
        "QUOTED_TRUE": "true",
        "TAGGED": "587",
        "NOTHING": None,
        "TILDE": None,
        "EMPTY": "",
        "SINCE": "2024-01-02",
    }
    assert compose.warnings == [
        "docker-compose.yml line 27: 2024-01-02 is a YAML timestamp: Compose versions differ on"
        " how they pass it (as written, or as '... 00:00:00 +0000 UTC'); quote it"
    ]


def test_yaml_tags_are_text_never_constructed(tmp_path: Path) -> None:
    web = read("yaml_tags", tmp_path).services["web"]
    assert web.values == {
        "EVIL": "touch pwned",
        "CUSTOM": "EMAIL_HOST_PASSWORD",
        "PORT": "587",
        "RATE": "2",
    }
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (-2.5, "-2.5"),
        (100.0, "100"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.1, "1.1"),
        (-0.0, "-0"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_floats_are_written_as_go_prints_them(number: float, text: str) -> None:
    assert go_format_float(number) == text


# --- env_file: -----------------------------------------------------------------------------------


def test_env_file_as_a_string(tmp_path: Path) -> None:
    web = read("env_file_string", tmp_path).services["web"]
    assert web.values == {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587"}
    assert web.origins == {"EMAIL_HOST": "./web.env line 1", "EMAIL_PORT": "./web.env line 2"}
    assert web.env_files == (tmp_path / "env_file_string" / "web.env",)


def test_env_file_as_a_list_the_last_file_stands(tmp_path: Path) -> None:
    web = read("env_file_list", tmp_path).services["web"]
    assert web.values == {"EMAIL_HOST": "b.example.com", "EMAIL_PORT": "25"}
    assert web.origins == {"EMAIL_HOST": "./b.env line 1", "EMAIL_PORT": "./a.env line 2"}
    folder = tmp_path / "env_file_list"
    assert web.env_files == (folder / "a.env", folder / "b.env")


def test_env_file_long_syntax_with_required_false(tmp_path: Path) -> None:
    compose = read("env_file_long_syntax", tmp_path)
    web = compose.services["web"]
    assert web.values == {"EMAIL_HOST": "smtp.example.com"}
    assert web.env_files == (tmp_path / "env_file_long_syntax" / "default.env",)
    assert compose.warnings == [
        "docker-compose.yml line 6: env file ./override.env not found; it is optional"
        " (required: false), so service web starts without it",
        "docker-compose.yml line 8: env file ./local.env not found; it is optional"
        " (required: false), so service web starts without it",
    ]


def test_env_file_required_can_be_interpolated(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        read("env_file_long_syntax", tmp_path, {"LOCAL_ENV_REQUIRED": "true"})
    assert str(raised.value) == (
        "docker-compose.yml line 8: env file ./local.env not found (service web)"
    )


def test_environment_wins_over_env_files_and_a_later_file_over_an_earlier_one(
    tmp_path: Path,
) -> None:
    web = read("precedence", tmp_path).services["web"]
    assert web.values == {
        "EMAIL_HOST": "from-environment",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "first-user",
        # declared without a value in environment: and unset in the shell: unset, even though
        # first.env sets it ("This holds true even if those values are empty or undefined.")
        "EMAIL_HOST_PASSWORD": None,
    }
    assert web.origins == {
        "EMAIL_HOST": f"{at(6)} (overriding ./second.env line 1)",
        "EMAIL_PORT": "./second.env line 2",
        "EMAIL_HOST_USER": "./first.env line 3",
        "EMAIL_HOST_PASSWORD": f"{at(7)}: {UNSET} (overriding ./first.env line 4)",
    }


def test_env_file_format_follows_compose_not_python_dotenv(tmp_path: Path) -> None:
    compose = read("env_file_format", tmp_path, {"SERVER_EMAIL": "ops@example.com"})
    web = compose.services["web"]
    assert web.values == {
        "EMAIL_HOST": "smtp.example.com",  # export is dropped
        "EMAIL_PORT": "587",  # ' #' starts a comment
        "EMAIL_HOST_USER": "user#not-a-comment",
        "EMAIL_HOST_PASSWORD": "p@ss$word",  # single quotes: literal
        "DEFAULT_FROM_EMAIL": "Interviews <no-reply@example.com>",
        "EMAIL_SUBJECT_PREFIX": "[Interviews]\t",  # double quotes: escapes
        "SIGNATURE": "Best,\nThe team",  # a quoted value spans lines
        "EMAIL_USE_TLS": "true",  # KEY: value is read too
        "ESCAPED": "Let's go",
        "JSON": '{"hello": "json"}',
        "EMAIL_URL": "smtp://user#not-a-comment@smtp.example.com:587",
        "EMPTY": "",
        "SERVER_EMAIL": "ops@example.com",  # KEY alone: from the shell
        "DOLLAR": "$HOME",
    }
    assert web.origins["EMAIL_URL"] == (
        "./app.env line 13, interpolating ${EMAIL_HOST_USER} from ./app.env line 4,"
        " ${EMAIL_HOST} from ./app.env line 2, ${EMAIL_PORT} from ./app.env line 3"
    )
    assert web.origins["SIGNATURE"] == "./app.env line 8"
    assert web.origins["SERVER_EMAIL"] == (
        "shell environment (named without a value at ./app.env line 15)"
    )
    assert compose.warnings == [
        "./app.env line 17: 'LAST_LINE_WITHOUT_NEWLINE' has no '=' and is the last line with no"
        " line break after it: Compose does not read it as a variable (end the file with a line"
        " break)"
    ]


def test_env_file_interpolates_from_the_shell_before_earlier_lines(tmp_path: Path) -> None:
    web = read("env_file_format", tmp_path, {"EMAIL_HOST": "smtp.shell.example"}).services["web"]
    assert web.values["EMAIL_HOST"] == "smtp.example.com"  # a line sets it whatever the shell says
    assert web.values["EMAIL_URL"] == "smtp://user#not-a-comment@smtp.shell.example:587"


def test_raw_format_keeps_each_value_as_written(tmp_path: Path) -> None:
    web = read("raw_format", tmp_path, {"SERVER_EMAIL": "ops@example.com"}).services["web"]
    assert web.values == {
        "EMAIL_HOST_PASSWORD": '"p@ss $word" # not a comment',
        "EMAIL_HOST": "smtp.example.com   ",
        "SERVER_EMAIL": "ops@example.com",
    }
    assert web.origins == {
        "EMAIL_HOST_PASSWORD": "./raw.env line 2 (format: raw)",
        "EMAIL_HOST": "./raw.env line 3 (format: raw)",
        "SERVER_EMAIL": "shell environment (named without a value at ./raw.env line 4)",
    }


# --- interpolation -------------------------------------------------------------------------------


def test_interpolation_with_every_operator(tmp_path: Path) -> None:
    environ = {"EMAIL_HOST": "smtp.example.com", "EMPTY": "", "BOTH": "from-shell"}
    compose = read("interpolation", tmp_path, environ)
    web = compose.services["web"]
    assert web.values == {
        "PLAIN": "smtp.example.com",
        "BRACED": "smtp.example.com",
        "DEFAULT_UNSET": "fallback",
        "DEFAULT_EMPTY": "fallback",
        "DEFAULT_UNSET_ONLY": "",
        "DEFAULT_UNSET_DASH": "fallback",
        "ALT_SET": "alternative",
        "ALT_EMPTY": "",
        "ALT_EMPTY_PLUS": "alternative",
        "ALT_UNSET": "",
        "REQUIRED_SET": "smtp.example.com",
        "REQUIRED_EMPTY_OK": "",
        "NESTED": "smtp.example.com",
        "ESCAPED": "$EMAIL_HOST and ${EMAIL_HOST}",
        "MISSING": "",
        "FROM_DOTENV": "from-dotenv",
        "SHELL_WINS": "from-shell",
        "MIXED": "smtp://smtp.example.com:587",
        "LITERAL": "cost $5 and a lone $",
        "FROM_ENV_FILE": "from-dotenv",  # env_file: itself was interpolated (its default)
    }
    assert compose.services["list-form"].values == {"EMAIL_HOST": "smtp.example.com"}
    assert web.origins["SHELL_WINS"] == f"shell environment via ${{BOTH}} ({at(22)})"
    assert web.origins["FROM_DOTENV"] == f"./.env line 1 via ${{DOTENV_ONLY}} ({at(21)})"
    assert web.origins["MIXED"] == (
        f"{at(23)}, interpolating ${{EMAIL_HOST}} from shell environment,"
        " ${EMAIL_PORT:-587} (unset)"
    )
    assert web.origins["ESCAPED"] == at(19)
    assert compose.warnings == [
        'docker-compose.yml line 20: the "NOT_SET_ANYWHERE" variable is not set; Compose'
        " substitutes an empty string"
    ]


def test_env_files_option_replaces_the_project_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project("env_file_option", tmp_path)
    assert read_compose(path, {}).services["web"].values == {"EMAIL_HOST": "from-dotenv"}
    monkeypatch.chdir(path.parent)  # --env-file paths are relative to the current folder
    with_option = read_compose(path, {}, env_files=["alt.env"])
    assert with_option.services["web"].values == {"EMAIL_HOST": "from-alt"}
    assert with_option.services["web"].origins == {
        "EMAIL_HOST": f"./alt.env line 1 via ${{EMAIL_HOST}} ({at(4)})"
    }
    shell = read_compose(path, {"EMAIL_HOST": "from-shell"}, env_files=["alt.env"])
    assert shell.services["web"].values == {"EMAIL_HOST": "from-shell"}


def interpolate(tmp_path: Path, template: str) -> tuple[str | None, list[str]]:
    """`template` as the one value of a compose file; FOO=first and BAR='' in the shell."""
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(f"services:\n  t:\n    environment:\n      V: {json.dumps(template)}\n")
    result = read_compose(compose, {"FOO": "first", "BAR": ""})
    return result.services["t"].values["V"], result.warnings


@pytest.mark.parametrize(
    ("template", "expected"),
    [  # compose-go's template tests
        ("$${foo}", "${foo}"),
        ("foo", "foo"),
        ("a $ string", "a $ string"),
        ("^REGEX$", "^REGEX$"),
        ("$}", "$}"),
        ("$", "$"),
        ("$FOO-bar", "first-bar"),
        ("This ${BAR} var", "This  var"),
        ("This $FOO var", "This first var"),
        ("ok ${missing:-def}", "ok def"),
        ("ok ${missing-def}", "ok def"),
        ("ok ${BAR-def}", "ok "),
        ("ok ${UNSET_VAR:+presence_value}", "ok "),
        ("ok ${FOO+presence_value}", "ok presence_value"),
        ("ok ${BAR+presence_value}", "ok presence_value"),
        ("ok ${BAR:+presence_value}", "ok "),
        ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
        ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
        (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
        (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
        ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
        ("ok ${BAR:-${FOO}}", "ok first"),
        ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
        ("${UNSET_VAR-myerror?msg}", "myerror?msg"),
        ("${FOO?bar-baz}", "first"),
        ("ok ${BAR?err}", "ok "),
        ("ok ${SUBDOMAIN:-redis}.${FOO:?}", "ok redis.first"),
        ("${A:+${A},}B", "B"),
    ],
)
def test_interpolation_reads_templates_as_compose_does(
    tmp_path: Path, template: str, expected: str
) -> None:
    assert interpolate(tmp_path, template) == (expected, [])


def test_a_default_that_is_used_warns_for_what_it_reads(tmp_path: Path) -> None:
    assert interpolate(tmp_path, "${A:-${B}}") == (
        "",
        [
            'docker-compose.yml line 4: the "B" variable is not set; Compose substitutes an'
            " empty string"
        ],
    )


@pytest.mark.parametrize("template", ["${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}"])
def test_invalid_templates_stop_compose(tmp_path: Path, template: str) -> None:
    with pytest.raises(InputError, match="line 4: invalid interpolation format: the"):
        interpolate(tmp_path, template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
            "UNSET_VAR is missing a value: Mandatory Variable Unset",
        ),
        (
            "not ok ${BAR:?Mandatory Variable Empty}",
            "BAR is missing a value: Mandatory Variable Empty",
        ),
        ("not ok ${UNSET_VAR:?}", "UNSET_VAR is missing a value"),
        (
            "not ok ${UNSET_VAR?Mandatory Variable Unset}",
            "UNSET_VAR is missing a value: Mandatory Variable Unset",
        ),
        (
            "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
            "UNSET_VAR is missing a value: Mandatory Variable first",
        ),
    ],
)
def test_required_variables(tmp_path: Path, template: str, message: str) -> None:
    with pytest.raises(InputError) as raised:
        interpolate(tmp_path, template)
    assert str(raised.value) == f"docker-compose.yml line 4: required variable {message}"


def test_x_fields_are_interpolated_too(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("x-unused: ${SMTP_PASSWORD:?}\nservices:\n  web:\n    image: example\n")
    with pytest.raises(InputError) as raised:
        read_compose(compose, {})
    assert str(raised.value) == (
        "docker-compose.yml line 1: required variable SMTP_PASSWORD is missing a value"
    )


# --- sharing settings between services -----------------------------------------------------------


def test_anchors_and_merge_keys_shared_between_web_and_worker(tmp_path: Path) -> None:
    compose = read("anchors", tmp_path, {"EMAIL_HOST_PASSWORD": "s3cret"})
    shared = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_USE_TLS": "true",
        "EMAIL_HOST_USER": "interviews@example.com",
        "DEFAULT_FROM_EMAIL": "Interviews <interviews@example.com>",
    }
    assert compose.services["web"].values == {
        **shared,
        "EMAIL_HOST_PASSWORD": "s3cret",
        "ROLE": "web",
    }
    # The worker merges the same anchor but never names the password: it has none.
    assert compose.services["worker"].values == {**shared, "EMAIL_PORT": "2525", "ROLE": "worker"}
    assert compose.services["worker"].origins == {
        "EMAIL_BACKEND": "docker-compose.yml line 3 (via *mail-env), service worker environment",
        "EMAIL_HOST": "docker-compose.yml line 4 (via *mail-env), service worker environment",
        "EMAIL_PORT": at(25, "worker"),
        "EMAIL_USE_TLS": "docker-compose.yml line 6 (via *mail-env), service worker environment",
        "EMAIL_HOST_USER": "docker-compose.yml line 7 (via *mail-env), service worker environment",
        "DEFAULT_FROM_EMAIL": "./common.env line 1",
        "ROLE": at(26, "worker"),
    }
    assert compose.warnings == []


def test_merge_keys_own_keys_first_then_the_first_mapping_listed(tmp_path: Path) -> None:
    worker = read("merge_order", tmp_path).services["worker"]
    assert worker.values == {
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "465",
        "EMAIL_USE_TLS": "false",
    }


def test_worker_lacks_the_password_the_web_service_has(tmp_path: Path) -> None:
    compose = read("worker_missing_password", tmp_path)
    mail = {"EMAIL_HOST": "smtp.example.com", "EMAIL_HOST_USER": "interviews@example.com"}
    assert compose.services["web"].values == {**mail, "EMAIL_HOST_PASSWORD": "from-dotenv"}
    assert compose.services["web"].origins["EMAIL_HOST_PASSWORD"] == (
        f"./.env line 1 (EMAIL_HOST_PASSWORD declared without a value at {at(7)})"
    )
    # The project's .env is for interpolation: nothing in it reaches a container by itself.
    assert compose.services["worker"].values == mail


def test_extends_in_the_same_file_with_reset_and_override(tmp_path: Path) -> None:
    compose = read("extends_same_file", tmp_path, {"EMAIL_HOST_PASSWORD": "s3cret"})
    base = {
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "interviews@example.com",
    }
    assert compose.services["base"].values == {**base, "DEBUG": "true"}
    assert compose.services["web"].values == {**base, "EMAIL_HOST_PASSWORD": "s3cret"}
    assert compose.services["worker"].values == {
        **base,
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_PORT": "2525",
        "EMAIL_HOST_USER": "worker@example.com",
        "CELERY_CONCURRENCY": "4",
    }
    assert compose.services["worker"].origins == {
        "EMAIL_HOST": at(5, "base"),
        "EMAIL_PORT": at(18, "worker"),
        "EMAIL_HOST_USER": "./worker.env line 2",
        "EMAIL_HOST_PASSWORD": f"shell environment via ${{EMAIL_HOST_PASSWORD}} ({at(11)})",
        "CELERY_CONCURRENCY": "./worker.env line 1",
    }
    folder = tmp_path / "extends_same_file"
    assert compose.services["worker"].env_files == (folder / "base.env", folder / "worker.env")
    # environment: !override replaces the base's environment instead of merging with it.
    assert compose.services["beat"].values == {
        "CELERY_BEAT": "1",
        "EMAIL_HOST_USER": "interviews@example.com",
    }


def test_extends_another_file_resolves_its_paths_from_its_folder(tmp_path: Path) -> None:
    worker = read("extends_other_file", tmp_path).services["worker"]
    assert worker.values == {
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "ROLE": "worker",
    }
    assert worker.origins == {
        "EMAIL_HOST": "./common/services.yml line 5, service mailer environment, interpolating"
        " ${EMAIL_HOST:-smtp.example.com} (unset)",
        "EMAIL_PORT": "./common/mail.env line 1",
        "ROLE": at(7, "worker"),
    }
    assert worker.env_files == (tmp_path / "extends_other_file" / "common" / "mail.env",)


def test_yaml_documents_are_merged_like_compose_files(tmp_path: Path) -> None:
    web = read("multi_document", tmp_path).services["web"]
    assert web.values == {
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "FROM_A": "1",
        "FROM_B": "1",
    }
    assert web.origins["EMAIL_PORT"] == f"{at(13)} (overriding ./a.env line 2)"


def test_a_repeated_env_file_keeps_its_first_place(tmp_path: Path) -> None:
    folder = tmp_path / "repeated"
    folder.mkdir()
    (folder / "a.env").write_text("EMAIL_HOST=a\n")
    (folder / "b.env").write_text("EMAIL_HOST=b\n")
    (folder / "docker-compose.yml").write_text(
        "services:\n  web:\n    env_file: [a.env, b.env, a.env]\n"
    )
    web = read_compose(folder / "docker-compose.yml", {}).services["web"]
    assert web.values == {"EMAIL_HOST": "b"}
    assert web.env_files == (folder / "a.env", folder / "b.env")


# --- errors --------------------------------------------------------------------------------------


ERROR_CASES = {
    "syntax_error.yml": "syntax_error.yml line 5 column 6: YAML syntax error: did not find"
    " expected key",
    "required_unset.yml": "required_unset.yml line 4: required variable SMTP_PASSWORD is missing"
    " a value: set SMTP_PASSWORD in the CI secrets",
    "required_env_file_missing": "docker-compose.yml line 4: env file ./worker.env not found"
    " (service worker)",
    "top_level_list.yml": "top_level_list.yml line 1: the top level is a list, not a mapping"
    " (top-level object must be a mapping)",
    "duplicate_key.yml": "duplicate_key.yml line 6: mapping key 'EMAIL_HOST' already defined at"
    " line 4",
    "non_string_key.yml": "non_string_key.yml line 4: non-string key in"
    " services.dict-env.environment: 1",
    "invalid_template.yml": "invalid_template.yml line 4: invalid interpolation format: the '${'"
    " at character 1 is not followed by a variable name and '}' (write $$ for a literal $)",
    "environment_null.yml": "environment_null.yml line 3: services.web.environment must be a"
    " mapping or a list",
    "extends_cycle": "docker-compose.yml line 3: circular reference with extends: web in"
    " docker-compose.yml -> worker in docker-compose.yml -> web in docker-compose.yml",
    "env_file_key_with_space": "./bad.env line 2: key cannot contain a space",
    "env_file_unterminated": "./bad.env line 2: unterminated quoted value of EMAIL_HOST_PASSWORD"
    ' (its " is never closed)',
    "alias_bomb.yml": "alias_bomb.yml: its aliases expand to more than 200,000 nodes (a YAML"
    " alias bomb?), which no compose file needs",
}


@pytest.mark.parametrize(("case", "message"), ERROR_CASES.items())
def test_what_stops_compose_is_one_line_naming_the_file(case: str, message: str) -> None:
    path = ERRORS / case
    with pytest.raises(InputError) as raised:
        read_compose(path / "docker-compose.yml" if path.is_dir() else path, {})
    assert str(raised.value) == message


def test_an_alias_bomb_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(InputError, match="alias bomb"):
        read_compose(ERRORS / "alias_bomb.yml", {})
    assert time.monotonic() - started < 5


def test_a_deeply_nested_file_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("x-deep: " + "{a: " * 150 + "1" + "}" * 150 + "\nservices: {}\n")
    with pytest.raises(InputError) as raised:
        read_compose(compose, {})
    assert str(raised.value) == (
        "docker-compose.yml line 1: nested deeper than 100 levels, which no compose file is"
    )


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services: {}\n" + "#" * MAX_FILE_SIZE)
    with pytest.raises(InputError) as raised:
        read_compose(compose, {})
    assert str(raised.value) == (
        f"compose file is larger than 4 MiB, which no real compose file is: {compose}"
    )


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_bytes(b"services:\n  web:\n    environment:\n      A: caf\xe9\n")
    with pytest.raises(InputError) as raised:
        read_compose(compose, {})
    assert str(raised.value) == f"compose file is not UTF-8 text (byte 47 is not): {compose}"


def test_a_missing_compose_file_or_a_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        read_compose(tmp_path / "missing.yml", {})
    assert str(raised.value) == f"compose file not found: {tmp_path / 'missing.yml'}"
    with pytest.raises(InputError) as raised:
        read_compose(tmp_path, {})
    assert str(raised.value) == f"compose file is a directory, not a file: {tmp_path}"


def test_an_interpolation_error_in_an_env_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_text("EMAIL_HOST=smtp.example.com\nEMAIL_HOST_PASSWORD=${P:?}\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    env_file: web.env\n")
    with pytest.raises(InputError) as raised:
        read_compose(tmp_path / "docker-compose.yml", {})
    assert str(raised.value) == "./web.env line 2: required variable P is missing a value"


def test_a_broken_project_dotenv_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=1\nBAD KEY=2\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: x:${TAG}\n")
    with pytest.raises(InputError) as raised:
        read_compose(tmp_path / "docker-compose.yml", {})
    assert str(raised.value) == "./.env line 2: key cannot contain a space"


def test_include_is_not_followed_and_says_so(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("include:\n  - other.yml\nservices:\n  web:\n    image: x\n")
    result = read_compose(compose, {})
    assert result.services["web"].values == {}
    assert result.warnings == [
        "docker-compose.yml line 1: include: is not followed; services from included files are"
        " not read"
    ]


def test_each_warning_names_the_services_it_is_about(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAG=${NO_TAG}\n")
    (tmp_path / "worker.env").write_text("EMAIL_HOST=smtp.example.com\nLAST")
    (tmp_path / "docker-compose.yml").write_text(
        "x-mail: &mail\n"
        "  EMAIL_HOST_PASSWORD: ${SMTP_PASSWORD}\n"
        "x-unused: ${UNUSED}\n"
        "services:\n"
        "  web:\n"
        "    environment:\n"
        "      <<: *mail\n"
        "      EMAIL_PORT: ${PORT}\n"
        "  worker:\n"
        "    env_file: [worker.env, {path: local.env, required: false}]\n"
        "    environment: *mail\n"
    )
    compose = read_compose(tmp_path / "docker-compose.yml", {})
    assert compose.warning_services == {
        './.env line 1: the "NO_TAG" variable is not set; Compose substitutes an empty string': (),
        # the x- field itself is interpolated too, as Compose does: about no service
        'docker-compose.yml line 2: the "SMTP_PASSWORD" variable is not set; Compose substitutes'
        " an empty string": (),
        'docker-compose.yml line 3: the "UNUSED" variable is not set; Compose substitutes an'
        " empty string": (),
        'docker-compose.yml line 2 (via *mail): the "SMTP_PASSWORD" variable is not set; Compose'
        " substitutes an empty string": ("web", "worker"),
        'docker-compose.yml line 8: the "PORT" variable is not set; Compose substitutes an empty'
        " string": ("web",),
        "docker-compose.yml line 10: env file ./local.env not found; it is optional (required:"
        " false), so service worker starts without it": ("worker",),
        "./worker.env line 2: 'LAST' has no '=' and is the last line with no line break after"
        " it: Compose does not read it as a variable (end the file with a line break)": ("worker",),
    }
    assert compose.warnings == list(compose.warning_services)


def test_a_value_whose_quote_closes_early_is_never_quoted_back(tmp_path: Path) -> None:
    """The text after the closing quote is the rest of the password: no message repeats it."""
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    env_file: web.env\n")
    (tmp_path / "web.env").write_text('EMAIL_HOST_PASSWORD="Web"Pa55 %w0rd&<x>"\n')
    with pytest.raises(InputError) as raised:
        read_compose(tmp_path / "docker-compose.yml", {})
    assert str(raised.value) == (
        "./web.env line 1: unexpected text after the closing quote of EMAIL_HOST_PASSWORD's"
        " value (a quote inside the value? escape it with \\)"
    )
    (tmp_path / "web.env").write_text("EMAIL_HOST_PASSWORD='Web'Pa55w0rd")  # no line break
    compose = read_compose(tmp_path / "docker-compose.yml", {})
    assert compose.services["web"].values == {"EMAIL_HOST_PASSWORD": "Web"}
    assert compose.warnings == [
        "./web.env line 1: the text after the closing quote of EMAIL_HOST_PASSWORD's value is not"
        " read (a quote inside the value? escape it with \\)"
    ]
    (tmp_path / "web.env").write_text('EMAIL_HOST="smtp.gmail.com" EMAIL_PORT=587\n')
    assert read_compose(tmp_path / "docker-compose.yml", {}).services["web"].values == {
        "EMAIL_HOST": "smtp.gmail.com",  # another statement on the line, as Compose reads it
        "EMAIL_PORT": "587",
    }
