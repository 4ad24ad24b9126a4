"""`mailcheck config --compose FILE`: each service's mail settings as Compose sets them, judged,
then compared with the reference service.

The compose projects are folders under tests/fixtures/compose/ (copied to tmp_path, their
`dot.env` as the project's `.env`, as in tests/test_compose.py) or files written here; the CLI
runs in-process. Findings are compared whole, with the service each is about.
"""

from __future__ import annotations

import html
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import FIXTURES, Run, RunCli

COMPOSE = FIXTURES / "compose"


def project(case: str, tmp_path: Path) -> Path:
    target = tmp_path / case
    shutil.copytree(COMPOSE / case, target)
    if (target / "dot.env").exists():
        (target / "dot.env").rename(target / ".env")
    return target / "docker-compose.yml"


def with_services(result: Run) -> list[str]:
    """Each finding whole, with the service it is about: `<id> <level> [<service>] ...`."""
    return [
        f"{f['id']} {f['level']} [{f.get('service', '')}] {f['subject']}: {f['message']}"
        for f in result.json()["findings"]
    ]


MAIL_SERVICES = [
    "compose.W001 warning [worker] docker-compose.yml: docker-compose.yml line 16: the"
    ' "WORKER_SMTP_PASSWORD" variable is not set; Compose substitutes an empty string',
    "compose.I001 info [] db: db has no mail settings (EMAIL_* or EMAIL_URL), so it is not checked",
    "config.I002 info [web] EMAIL_BACKEND: EMAIL_BACKEND is not set: Django's default SMTP"
    " backend is used",
    "config.I002 info [worker] EMAIL_BACKEND: EMAIL_BACKEND is not set: Django's default SMTP"
    " backend is used",
    "config.E010 error [worker] EMAIL_HOST_PASSWORD: EMAIL_HOST_USER is set but"
    " EMAIL_HOST_PASSWORD is empty",
    "compare.E001 error [worker] EMAIL_HOST_PASSWORD: EMAIL_HOST_PASSWORD differs (lengths 16"
    " and 0) between service web (./.env line 1 via ${SMTP_PASSWORD} (docker-compose.yml line 9,"
    " service web environment)) and service worker (docker-compose.yml line 16, service worker"
    " environment, interpolating ${WORKER_SMTP_PASSWORD} (unset))",
    "compare.E001 error [worker] EMAIL_TIMEOUT: EMAIL_TIMEOUT is '10' in service web"
    " (./mail.env line 4) but '30' in service worker (./worker.env line 1)",
]


def test_web_and_worker_are_judged_and_compared(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("config", "--compose", project("mail_services", tmp_path), "--json")
    assert result.exit_code == 1
    assert with_services(result) == MAIL_SERVICES


def test_environment_as_mapping_and_list_env_file_as_string_and_list(
    tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("config", "--compose", project("mail_services", tmp_path), "--json")
    rows = [
        f"{r['service']} {r['name']}={r['value']} <- {r['source']}"
        for r in result.json()["services"]
    ]
    web, worker = "service web environment", "service worker environment"
    assert rows == [
        f"web EMAIL_HOST='smtp.gmail.com' <- docker-compose.yml line 8, {web}, interpolating"
        " ${EMAIL_HOST:-smtp.gmail.com} (unset)",
        "web EMAIL_PORT='587' <- ./mail.env line 1",
        "web EMAIL_USE_TLS='True' <- ./mail.env line 2",
        "web EMAIL_HOST_USER='hiring.team@gmail.com' <- ./mail.env line 3",
        "web EMAIL_HOST_PASSWORD=set (16 characters) <- ./.env line 1 via ${SMTP_PASSWORD}"
        f" (docker-compose.yml line 9, {web})",
        "web DEFAULT_FROM_EMAIL='Hiring Team <hiring.team@gmail.com>' <- docker-compose.yml"
        f" line 10, {web}",
        "web EMAIL_TIMEOUT='10' <- ./mail.env line 4",
        f"worker EMAIL_HOST='smtp.gmail.com' <- docker-compose.yml line 15, {worker},"
        " interpolating ${EMAIL_HOST:-smtp.gmail.com} (unset)",
        "worker EMAIL_PORT='587' <- ./mail.env line 1",
        "worker EMAIL_USE_TLS='True' <- ./mail.env line 2",
        "worker EMAIL_HOST_USER='hiring.team@gmail.com' <- ./mail.env line 3",
        f"worker EMAIL_HOST_PASSWORD=set but empty <- docker-compose.yml line 16, {worker},"
        " interpolating ${WORKER_SMTP_PASSWORD} (unset)",
        "worker DEFAULT_FROM_EMAIL='Hiring Team <hiring.team@gmail.com>' <- docker-compose.yml"
        f" line 17, {worker}",
        "worker EMAIL_TIMEOUT='30' <- ./worker.env line 1",  # the last env file stands
    ]


def test_the_shell_environment_is_what_compose_interpolates(
    tmp_path: Path, run_cli: RunCli
) -> None:
    environ = {"EMAIL_HOST": "smtp.office365.com", "WORKER_SMTP_PASSWORD": "wxyzabcdefghijkl"}
    result = run_cli(
        "config", "--compose", project("mail_services", tmp_path), "--json", env=environ
    )
    assert result.exit_code == 1  # the timeouts still differ
    assert [f for f in with_services(result) if f.startswith("compare.")] == [
        "compare.E001 error [worker] EMAIL_TIMEOUT: EMAIL_TIMEOUT is '10' in service web"
        " (./mail.env line 4) but '30' in service worker (./worker.env line 1)"
    ]
    assert {r["value"] for r in result.json()["services"] if r["name"] == "EMAIL_HOST"} == {
        "'smtp.office365.com'"
    }


def test_text_output_labels_each_finding_with_its_service(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("config", "--compose", project("mail_services", tmp_path))
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "mailcheck config: services of docker-compose.yml: web (the reference; smtp.gmail.com:587"
        " with STARTTLS (Gmail / Google Workspace)), worker (smtp.gmail.com:587 with STARTTLS"
        " (Gmail / Google Workspace)); db without mail settings"
    )
    assert (
        "  ✗ config.E010  EMAIL_HOST_PASSWORD: EMAIL_HOST_USER is set but EMAIL_HOST_PASSWORD is"
        " empty  (service worker)"
    ) in lines
    assert (
        "  ✗ compare.E001  EMAIL_TIMEOUT is '10' in service web (./mail.env line 4) but '30' in"
        " service worker (./worker.env line 1)  (service worker)"
    ) in lines
    assert lines[-1].startswith("✗ FAIL 3 errors, 1 warning, 3 infos.")


def test_a_worker_missing_the_password(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("config", "--compose", project("worker_missing_password", tmp_path), "--json")
    assert result.exit_code == 1
    compared = [f for f in with_services(result) if not f.startswith("config.")]
    assert compared == [
        "compare.E002 error [worker] EMAIL_HOST_PASSWORD: EMAIL_HOST_PASSWORD is set in service"
        " web (./.env line 1 (EMAIL_HOST_PASSWORD declared without a value at docker-compose.yml"
        " line 7, service web environment)) (11 characters), and not in service worker"
    ]
    assert (
        "config.E010 error [worker] EMAIL_HOST_PASSWORD: EMAIL_HOST_USER is set but"
        " EMAIL_HOST_PASSWORD is not set"
    ) in with_services(result)
    assert result.json()["findings"][-1]["hint"] == (
        "Set EMAIL_HOST_PASSWORD in service worker too, to the value service web has"
    )


def test_dollar_dollar_is_a_literal_dollar(tmp_path: Path, run_cli: RunCli) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n"
        "  web:\n"
        "    environment:\n"
        "      EMAIL_HOST: smtp.gmail.com\n"
        '      DEFAULT_FROM_EMAIL: "Hiring $$ Team <hiring.team@gmail.com>"\n'
        "  worker:\n"
        "    environment:\n"
        "      - EMAIL_HOST=smtp.gmail.com\n"
        "      - DEFAULT_FROM_EMAIL=Hiring $ Team <hiring.team@gmail.com>\n"
    )
    result = run_cli("config", "--compose", compose, "--json")
    assert [f for f in with_services(result) if f.startswith("compare.")] == [
        "compare.I001 info [worker] service web and service worker: service web and service"
        " worker agree on every mail setting: the same EMAIL_HOST, DEFAULT_FROM_EMAIL; neither"
        " sets EMAIL_BACKEND, EMAIL_PORT, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_HOST_USER,"
        " EMAIL_HOST_PASSWORD, SERVER_EMAIL, EMAIL_TIMEOUT, EMAIL_URL"
    ]


def test_without_web_the_service_with_most_mail_settings_is_the_reference(
    tmp_path: Path, run_cli: RunCli
) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n"
        "  api:\n"
        "    environment: {EMAIL_HOST: smtp.gmail.com}\n"
        "  mailer:\n"
        "    environment: {EMAIL_HOST: smtp.gmail.com, EMAIL_PORT: 587, EMAIL_USE_TLS: 'True'}\n"
        "  worker:\n"
        "    environment: {EMAIL_HOST: smtp.gmail.com, EMAIL_PORT: 465}\n"
    )
    result = run_cli("config", "--compose", compose, "--json")
    assert [f for f in with_services(result) if f.startswith("compare.")] == [
        "compare.E002 error [api] EMAIL_PORT: EMAIL_PORT is '587' in service mailer"
        " (docker-compose.yml line 5, service mailer environment), and not set in service api",
        "compare.E002 error [api] EMAIL_USE_TLS: EMAIL_USE_TLS is 'True' in service mailer"
        " (docker-compose.yml line 5, service mailer environment), and not set in service api",
        "compare.E001 error [worker] EMAIL_PORT: EMAIL_PORT is '587' in service mailer"
        " (docker-compose.yml line 5, service mailer environment) but '465' in service worker"
        " (docker-compose.yml line 7, service worker environment)",
        "compare.E002 error [worker] EMAIL_USE_TLS: EMAIL_USE_TLS is 'True' in service mailer"
        " (docker-compose.yml line 5, service mailer environment), and not set in service"
        " worker",
    ]
    junit = run_cli("config", "--compose", compose, "--format", "junit").stdout
    run_names = [case.get("name") for case in ET.fromstring(junit).iter("testcase")]
    assert run_names[:3] == ["compose_warnings", "compose_services", "mailer: env_file"]
    assert run_names[-2:] == ["api: compare with mailer", "worker: compare with mailer"]


def test_a_missing_optional_env_file_is_a_warning_naming_the_service(
    tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("config", "--compose", project("env_file_long_syntax", tmp_path), "--json")
    assert [f for f in with_services(result) if f.startswith("compose.")] == [
        "compose.W001 warning [web] docker-compose.yml: docker-compose.yml line 6: env file"
        " ./override.env not found; it is optional (required: false), so service web starts"
        " without it",
        "compose.W001 warning [web] docker-compose.yml: docker-compose.yml line 8: env file"
        " ./local.env not found; it is optional (required: false), so service web starts"
        " without it",
    ]


def test_no_service_with_mail_settings(tmp_path: Path, run_cli: RunCli) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  db:\n    image: postgres:16\n  redis:\n    image: redis\n")
    result = run_cli("config", "--compose", compose, "--json")
    assert result.exit_code == 0
    assert with_services(result) == [
        "compose.W002 warning [] docker-compose.yml: no service of docker-compose.yml sets"
        " EMAIL_* or EMAIL_URL (db, redis): nothing to check"
    ]


def test_env_file_is_the_projects_dotenv(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    compose = project("env_file_option", tmp_path)
    monkeypatch.chdir(compose.parent)
    default = run_cli("config", "--compose", compose, "--json")
    assert [r["value"] for r in default.json()["services"]] == ["'from-dotenv'"]
    replaced = run_cli("config", "--compose", compose, "--env-file", "alt.env", "--json")
    assert [r["value"] for r in replaced.json()["services"]] == ["'from-alt'"]


ERRORS = COMPOSE / "errors"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "syntax_error.yml",
            "syntax_error.yml line 5 column 6: YAML syntax error: did not find expected key",
        ),
        (
            "alias_bomb.yml",
            "alias_bomb.yml: its aliases expand to more than 200,000 nodes (a YAML"
            " alias bomb?), which no compose file needs",
        ),
        (
            "duplicate_key.yml",
            "duplicate_key.yml line 6: mapping key 'EMAIL_HOST' already defined at line 4",
        ),
        (
            "top_level_list.yml",
            "top_level_list.yml line 1: the top level is a list, not a mapping"
            " (top-level object must be a mapping)",
        ),
    ],
)
def test_a_compose_file_that_cannot_be_read_is_one_line(
    run_cli: RunCli, case: str, message: str
) -> None:
    result = run_cli("config", "--compose", ERRORS / case)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"mailcheck: error: {message}\n"


def test_a_missing_or_unreadable_compose_file_is_a_usage_error(
    tmp_path: Path, run_cli: RunCli
) -> None:
    missing = run_cli("config", "--compose", tmp_path / "nope.yml")
    assert (missing.exit_code, missing.stdout) == (2, "")
    assert missing.stderr == f"mailcheck: error: compose file not found: {tmp_path}/nope.yml\n"
    folder = run_cli("config", "--compose", tmp_path)
    assert folder.exit_code == 2
    assert (
        folder.stderr == f"mailcheck: error: compose file is a directory, not a file: {tmp_path}\n"
    )


@pytest.mark.parametrize("other", [("--compare", "worker.env"), ("--settings", "mysite.settings")])
def test_compose_excludes_compare_and_settings(
    tmp_path: Path, run_cli: RunCli, other: tuple[str, str]
) -> None:
    (tmp_path / "worker.env").write_text("EMAIL_HOST=smtp.gmail.com\n")
    result = run_cli("config", "--compose", project("mail_services", tmp_path), *other)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"mailcheck: error: --compose and {other[0]} cannot be used together"
        " (see `mailcheck config --help`)\n"
    )


PASSWORDS = ('Web"Pa55 %w0rd&<x>', "Wörker 'Pä55' %ßword")


def forms(secret: str) -> list[str]:
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=True),
        secret.replace("%", "%25"),
    ]


@pytest.mark.parametrize("same", [True, False], ids=["same", "differs"])
@pytest.mark.parametrize(
    "output", [(), ("-v",), ("--json",), ("--format", "github", "-v"), ("--format", "junit")]
)
def test_no_output_shows_a_password(
    tmp_path: Path, run_cli: RunCli, same: bool, output: tuple[str, ...]
) -> None:
    (tmp_path / "web.env").write_text(f"EMAIL_HOST_PASSWORD='{PASSWORDS[0]}'\n")
    worker = f"'{PASSWORDS[0]}'" if same else f'"{PASSWORDS[1]}"'  # each quote kept literal
    (tmp_path / "worker.env").write_text(f"EMAIL_HOST_PASSWORD={worker}\n")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "x-mail: &mail\n"
        "  EMAIL_HOST: smtp.gmail.com\n"
        "  EMAIL_HOST_USER: hiring.team@gmail.com\n"
        "services:\n"
        "  web:\n    env_file: web.env\n    environment: *mail\n"
        "  worker:\n    env_file: [worker.env]\n    environment: *mail\n"
    )
    result = run_cli("config", "--compose", compose, *output)
    assert ("the same" if same else "differs (lengths 18 and 20)") in result.stdout
    for password in PASSWORDS:
        for form in forms(password):
            assert form not in result.stdout and form not in result.stderr, form
    assert "********" not in result.stdout


def test_control_characters_in_a_value_are_escaped(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "worker.env").write_text("EMAIL_HOST=smtp\x1b[2J\r.gmail.com\n")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n"
        "  web:\n    environment: {EMAIL_HOST: smtp.gmail.com}\n"
        "  worker:\n    env_file: worker.env\n"
    )
    result = run_cli("config", "--compose", compose, "-v")
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert (
        "EMAIL_HOST is 'smtp.gmail.com' in service web (docker-compose.yml line 3, service web"
        " environment) but 'smtp\\x1b[2J\\r.gmail.com' in service worker (./worker.env line 1)"
    ) in result.stdout
