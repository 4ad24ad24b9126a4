"""`mailcheck config --compare ENV_FILE`: the web process's env file against the worker's.

Real files in tmp_path, the CLI run in-process; every finding is compared whole (id, level,
subject, message), and the passwords are looked for in every output format.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from conftest import Run, RunCli

WEB = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.gmail.com",
    "EMAIL_PORT": "587",
    "EMAIL_USE_TLS": "True",
    "EMAIL_HOST_USER": "hiring.team@gmail.com",
    "EMAIL_HOST_PASSWORD": "wxyzabcdefghijkl",
    "DEFAULT_FROM_EMAIL": "Hiring Team <hiring.team@gmail.com>",
    "EMAIL_TIMEOUT": "10",
}


def env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}='{value}'\n" for name, value in values.items()))
    return path


def compare(
    run_cli: RunCli, first: Path, second: Path, *args: str, env: dict[str, str] | None = None
) -> Run:
    """`mailcheck config --env-file FIRST --compare SECOND ARGS`."""
    return run_cli("config", "--env-file", first, "--compare", second, *args, env=env)


def test_identical_files_agree(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / "web.env", WEB)
    worker = env_file(tmp_path / "worker.env", WEB)
    result = compare(run_cli, web, worker, "--json")
    assert result.exit_code == 0
    assert result.findings() == [
        f"compare.I001 info {web} and {worker}: {web} and {worker} agree on every mail setting:"
        " the same EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS, EMAIL_HOST_USER,"
        " EMAIL_HOST_PASSWORD, DEFAULT_FROM_EMAIL, EMAIL_TIMEOUT (EMAIL_HOST_PASSWORD compared"
        " without being shown); neither sets EMAIL_USE_SSL, SERVER_EMAIL, EMAIL_URL"
    ]
    text = compare(run_cli, web, worker)
    assert text.stdout.splitlines()[0] == (
        f"mailcheck config: settings from {web} and the environment; smtp.gmail.com:587 with"
        f" STARTTLS (Gmail / Google Workspace); {web} compared with {worker}, file to file"
    )


def test_every_difference_is_reported_with_both_places(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / "web.env", WEB)
    changed = {
        "EMAIL_PORT": "465",
        "EMAIL_USE_TLS": "true",
        "EMAIL_HOST_PASSWORD": "qrstuvwxyzabcdefghi",
        "SERVER_EMAIL": "errors@gmail.com",
    }
    worker_values = {k: v for k, v in (WEB | changed).items() if k != "EMAIL_TIMEOUT"}
    worker = env_file(tmp_path / "worker.env", worker_values)
    result = compare(run_cli, web, worker, "--json")
    assert result.exit_code == 1
    assert result.findings() == [
        f"compare.E001 error EMAIL_PORT: EMAIL_PORT is '587' in {web} line 3 but '465' in"
        f" {worker} line 3",
        f"compare.W001 warning EMAIL_USE_TLS: EMAIL_USE_TLS is 'True' in {web} line 4 and 'true'"
        f" in {worker} line 4: the same switch, written differently",
        f"compare.E001 error EMAIL_HOST_PASSWORD: EMAIL_HOST_PASSWORD differs (lengths 16 and 19)"
        f" between {web} line 6 and {worker} line 6",
        f"compare.E002 error SERVER_EMAIL: SERVER_EMAIL is 'errors@gmail.com' in {worker} line 8,"
        f" and not set in {web}",
        f"compare.E002 error EMAIL_TIMEOUT: EMAIL_TIMEOUT is '10' in {web} line 8, and not set in"
        f" {worker}",
    ]
    hints = [finding["hint"] for finding in result.json()["findings"]]
    assert (
        hints[0] == f"Give EMAIL_PORT one value in both ({web} and {worker}): one of them is wrong"
    )
    assert hints[3] == f"Set SERVER_EMAIL in {web} too, to the value {worker} has"
    assert result.json()["comparison"][2] == {
        "name": "EMAIL_PORT",
        "verdict": "differs",
        "first": f"'587' ({web} line 3)",
        "second": f"'465' ({worker} line 3)",
    }
    assert result.json()["comparison"][5] == {
        "name": "EMAIL_HOST_PASSWORD",
        "verdict": "differs",
        "first": f"set (16 characters) ({web} line 6)",
        "second": f"set (19 characters) ({worker} line 6)",
    }


def test_a_worker_without_the_password(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / ".env", WEB)
    worker = env_file(
        tmp_path / "worker.env", {k: v for k, v in WEB.items() if k != "EMAIL_HOST_PASSWORD"}
    )
    result = run_cli("config", "--compare", worker, "--json")  # the first is ./.env
    assert result.exit_code == 1
    assert result.findings() == [
        f"compare.E002 error EMAIL_HOST_PASSWORD: EMAIL_HOST_PASSWORD is set in {web.name} line 6"
        f" (16 characters), and not in {worker}"
    ]


def test_the_config_checks_still_run_on_the_first_file(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / "web.env", {**WEB, "EMAIL_PORT": "465"})
    worker = env_file(tmp_path / "worker.env", {**WEB, "EMAIL_PORT": "465"})
    result = compare(run_cli, web, worker, "--json")
    assert result.exit_code == 1
    assert result.ids() == ["compare.I001", "config.E007"]


def test_email_url_differs_in_its_parts_without_showing_them(
    tmp_path: Path, run_cli: RunCli
) -> None:
    web = env_file(
        tmp_path / "web.env",
        {"EMAIL_URL": "smtp+tls://hiring.team%40gmail.com:wxyzabcdefghijkl@smtp.gmail.com:587"},
    )
    worker = env_file(
        tmp_path / "worker.env",
        {"EMAIL_URL": "smtp+tls://hiring.team%40gmail.com:qrstuvwxyzabcdef@smtp.gmail.com:25"},
    )
    result = compare(run_cli, web, worker, "--json", "-v")
    assert [f for f in result.findings() if f.startswith("compare.")] == [
        "compare.E001 error EMAIL_URL: EMAIL_URL differs (lengths 70 and 69; in EMAIL_PORT,"
        f" EMAIL_HOST_PASSWORD) between {web} line 1 and {worker} line 1"
    ]
    assert "wxyzabcdefghijkl" not in result.stdout + result.stderr
    assert "qrstuvwxyzabcdef" not in result.stdout + result.stderr


def test_interpolation_in_the_second_file_is_python_dotenvs(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """`${VAR}` resolves from the environment first, then from the lines above, in both files."""
    web = env_file(tmp_path / "web.env", WEB)
    worker = tmp_path / "worker.env"
    worker.write_text(
        "".join(
            f"{k}={v}\n" for k, v in WEB.items() if k not in ("EMAIL_HOST", "DEFAULT_FROM_EMAIL")
        )
        + "EMAIL_HOST=${SMTP_HOST}\n"
        + 'DEFAULT_FROM_EMAIL="Hiring Team <${EMAIL_HOST_USER}>"\n'
    )
    result = compare(run_cli, web, worker, "--json", env={"SMTP_HOST": "smtp.gmail.com"})
    assert result.exit_code == 0
    assert result.ids() == ["compare.I001"]


def test_the_environment_is_laid_over_neither_file(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / "web.env", WEB)
    worker = env_file(tmp_path / "worker.env", {**WEB, "EMAIL_HOST_PASSWORD": "qrstuvwxyzabcdef"})
    # The shell's password would make both sides the same if it were laid over them.
    result = compare(
        run_cli, web, worker, "--json", env={"EMAIL_HOST_PASSWORD": "wxyzabcdefghijkl"}
    )
    assert result.exit_code == 1
    assert result.findings() == [
        "compare.E001 error EMAIL_HOST_PASSWORD: EMAIL_HOST_PASSWORD differs (lengths 16 and 16)"
        f" between {web} line 6 and {worker} line 6",
        "compare.I002 info EMAIL_HOST_PASSWORD: EMAIL_HOST_PASSWORD is set in the environment"
        f" mailcheck runs in: the config checks of {web} use it, the comparison reads the two"
        " files alone",
    ]


PASSWORDS = ('Web"Pa55 %w0rd&<x>', 'Wörker "Pä55" %ßword')


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
    web = env_file(tmp_path / "web.env", {**WEB, "EMAIL_HOST_PASSWORD": PASSWORDS[0]})
    worker = env_file(
        tmp_path / "worker.env", {**WEB, "EMAIL_HOST_PASSWORD": PASSWORDS[0 if same else 1]}
    )
    result = compare(run_cli, web, worker, *output)
    assert result.exit_code == (0 if same else 1)
    shown = "the same" if same else "differs (lengths 18 and 20)"
    assert shown in result.stdout
    for password in PASSWORDS:
        for form in forms(password):
            assert form not in result.stdout and form not in result.stderr, form
    assert "********" not in result.stdout  # not even masked: never written at all


def test_control_characters_in_a_value_are_escaped(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / "web.env", WEB)
    worker = tmp_path / "worker.env"
    worker.write_text(
        (tmp_path / "web.env").read_text().replace("'smtp.gmail.com'", "smtp\x1b]0;PWNED\x07.io")
    )
    result = compare(run_cli, web, worker, "-v")
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert (
        f"EMAIL_HOST is 'smtp.gmail.com' in {web} line 2 but 'smtp\\x1b]0;PWNED\\x07.io' in"
        f" {worker} line 2"
    ) in result.stdout


def test_usage_errors_are_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    web = env_file(tmp_path / "web.env", WEB)
    missing = run_cli("config", "--env-file", web, "--compare", tmp_path / "nope.env")
    assert missing.exit_code == 2
    assert missing.stdout == ""
    assert (
        missing.stderr == f"mailcheck: error: env file (--compare) not found: {tmp_path}/nope.env\n"
    )
    no_first = run_cli("config", "--compare", web)  # no ./.env in the test's folder
    assert no_first.exit_code == 2
    assert no_first.stderr == (
        "mailcheck: error: --compare compares two env files, and the first, .env, is not there:"
        " name it with --env-file\n"
    )
    both = run_cli("config", "--compare", web, "--settings", "mysite.settings")
    assert both.exit_code == 2
    assert both.stderr == (
        "mailcheck: error: --compare and --settings cannot be used together"
        " (see `mailcheck config --help`)\n"
    )
