"""The command line end to end: exit codes, input errors, output streams, settings sources."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENV_FIXTURES, RunCli
from support.terminal import run_on_terminal

GOOD = ENV_FIXTURES / "good_gmail_587.env"


def test_version(run_cli: RunCli) -> None:
    from interview_mailcheck import __version__

    result = run_cli("--version")
    assert (result.exit_code, result.stdout) == (0, f"mailcheck {__version__}\n")


def test_unknown_option_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("config", "--no-such-option")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "mailcheck: error: no such option: --no-such-option (see `mailcheck config --help`)\n"
    )


def test_missing_env_file_names_the_path(run_cli: RunCli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / ".env"
    result = run_cli("config", "--env-file", missing)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"mailcheck: error: env file not found: {missing}\n"


def test_env_file_that_is_a_directory(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("config", "--env-file", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"mailcheck: error: env file is a directory, not a file: {tmp_path}\n"


def test_env_file_that_is_not_utf8(run_cli: RunCli, tmp_path: Path) -> None:
    env_file = tmp_path / "latin1.env"
    env_file.write_bytes(
        "EMAIL_HOST=smtp.gmail.com\nDEFAULT_FROM_EMAIL=José <j@x.io>\n".encode("latin-1")
    )
    result = run_cli("config", "--env-file", env_file)
    assert result.exit_code == 2
    assert "not valid UTF-8" in result.stderr and str(env_file) in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_env_file(run_cli: RunCli, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EMAIL_HOST=x\n")
    env_file.chmod(0)
    result = run_cli("config", "--env-file", env_file)
    assert result.exit_code == 2
    assert "permission denied" in result.stderr


def test_mailcheck_env_file_variable_is_the_default(run_cli: RunCli) -> None:
    result = run_cli("config", "--json", env={"MAILCHECK_ENV_FILE": str(GOOD)})
    assert (result.exit_code, result.ids()) == (0, [])


def test_mailcheck_env_file_variable_must_exist(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("config", env={"MAILCHECK_ENV_FILE": str(tmp_path / "gone.env")})
    assert result.exit_code == 2
    assert "env file not found" in result.stderr


def test_dot_env_in_the_current_folder_is_read(run_cli: RunCli, clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(GOOD.read_text())
    result = run_cli("config", "--json")
    assert (result.exit_code, result.ids()) == (0, [])
    assert "line" in result.json()["settings"][1]["source"]


def test_without_env_file_the_environment_is_checked(run_cli: RunCli) -> None:
    env = {
        "EMAIL_HOST": "smtp.gmail.com",
        "EMAIL_PORT": "465",
        "EMAIL_USE_SSL": "true",
        "EMAIL_HOST_USER": "hiring.team@gmail.com",
        "EMAIL_HOST_PASSWORD": "abcd efgh ijkl mnop",
        "DEFAULT_FROM_EMAIL": "hiring.team@gmail.com",
        "EMAIL_TIMEOUT": "10",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    result = run_cli("config", "--json", env=env)
    assert result.exit_code == 0
    assert result.ids() == ["config.I005"]
    assert {row["source"] for row in result.json()["settings"] if row["name"] in env} == {
        "environment"
    }


def test_environment_wins_over_the_file_and_is_reported(run_cli: RunCli) -> None:
    result = run_cli("config", "--env-file", GOOD, "--json", env={"EMAIL_PORT": "465"})
    findings = result.json()["findings"]
    shadow = next(f for f in findings if f["id"] == "config.W009")
    assert shadow["subject"] == "EMAIL_PORT"
    assert shadow["evidence"] == {"environment": "465", "file": "587"}
    assert f"{GOOD} line 6" in shadow["message"]
    # The app sees 465 with STARTTLS: the environment's value is the one judged.
    assert "config.E007" in result.ids()
    assert result.exit_code == 1


def test_same_value_in_environment_and_file_is_not_reported(run_cli: RunCli) -> None:
    result = run_cli("config", "--env-file", GOOD, "--json", env={"EMAIL_PORT": "587"})
    assert (result.exit_code, result.ids()) == (0, [])


def test_strict_fails_on_warnings(run_cli: RunCli) -> None:
    path = ENV_FIXTURES / "gmail_account_password.env"
    assert run_cli("config", "--env-file", path).exit_code == 0
    strict = run_cli("config", "--env-file", path, "--strict", "--json")
    assert strict.exit_code == 1
    assert strict.json()["ok"] is False and strict.json()["strict"] is True


def test_infos_never_fail_even_under_strict(run_cli: RunCli) -> None:
    result = run_cli("config", "--env-file", ENV_FIXTURES / "timeout_unset.env", "--strict")
    assert result.exit_code == 0


def test_json_document_shape(run_cli: RunCli) -> None:
    result = run_cli("config", "--env-file", ENV_FIXTURES / "console_backend.env", "--json")
    document = result.json()
    assert document["schema_version"] == 1
    assert document["command"] == "config"
    assert document["ok"] is False
    assert document["summary"] == {"errors": 1, "warnings": 0, "infos": 0}
    assert document["findings"] == [
        {
            "id": "config.E001",
            "level": "error",
            "message": (
                "EMAIL_BACKEND is the console backend, which prints each message to the "
                "console: no invitation leaves the app"
            ),
            "hint": "Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend",
            "subject": "EMAIL_BACKEND",
            "evidence": {},
        }
    ]
    assert [row["name"] for row in document["settings"]][:2] == ["EMAIL_BACKEND", "EMAIL_HOST"]
    assert result.stderr == ""


def test_verbose_text_shows_settings_and_evidence(run_cli: RunCli) -> None:
    quiet = run_cli("config", "--env-file", ENV_FIXTURES / "duplicate_key.env")
    verbose = run_cli("config", "--env-file", ENV_FIXTURES / "duplicate_key.env", "-v")
    assert "Settings (what the app sees)" not in quiet.stdout
    assert "Settings (what the app sees)" in verbose.stdout
    # Evidence of errors and warnings is always shown; -v adds it for infos too.
    assert "lines: 6; 7" in verbose.stdout and "lines: 6; 7" in quiet.stdout
    assert "set (16 characters)" in verbose.stdout


def test_internal_error_is_one_line_and_exit_3(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*arguments: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("interview_mailcheck.commands.config.analyse", explode)
    result = run_cli("config", "--env-file", GOOD)
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "mailcheck: internal error (ZeroDivisionError): this is a bug in mailcheck; please "
        "report it at https://github.com/interview-mailcheck/interview-mailcheck/issues "
        "(run again with --debug for the traceback)"
    ]
    with_debug = run_cli("config", "--env-file", GOOD, "--debug")
    assert with_debug.exit_code == 3
    assert "Traceback (most recent call last)" in with_debug.stderr


def _subprocess(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "MAILCHECK_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "interview_mailcheck", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
    )


def test_python_dash_m_json_is_one_document_on_stdout(tmp_path: Path) -> None:
    """`mailcheck config --json | jq` works: stdout is exactly one JSON document."""
    completed = _subprocess(
        "config", "--env-file", str(ENV_FIXTURES / "placeholders.env"), "--json", cwd=tmp_path
    )
    assert completed.returncode == 1
    document = json.loads(completed.stdout)
    assert document["summary"]["errors"] == 4
    assert completed.stderr == ""


def test_plain_text_when_piped_and_no_traceback_on_bad_input(tmp_path: Path) -> None:
    completed = _subprocess("config", "--env-file", str(tmp_path / "missing.env"), cwd=tmp_path)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    ok = _subprocess("config", "--env-file", str(GOOD), cwd=tmp_path)
    assert ok.returncode == 0
    assert "\x1b[" not in ok.stdout
    assert ok.stdout.rstrip().splitlines()[-1].startswith("✓ OK")


def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    """Run under a real pseudo-terminal: colour by default, none with NO_COLOR."""

    def run_on_tty(env: dict[str, str]) -> str:
        return run_on_terminal(["config", "--env-file", str(GOOD)], 100, env, tmp_path)

    assert "\x1b[" in run_on_tty({})
    plain = run_on_tty({"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "✓ OK" in plain


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_env_file_with_a_read_error(run_cli: RunCli) -> None:
    """Reading /proc/self/mem from offset 0 fails with EIO: a real I/O error, root or not."""
    result = run_cli("config", "--env-file", "/proc/self/mem")
    assert result.exit_code == 2
    assert result.stderr.startswith("mailcheck: error: env file cannot be read: /proc/self/mem")


def test_every_command_help_ends_with_an_example(run_cli: RunCli) -> None:
    import typer.main

    from interview_mailcheck.cli import app

    names = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"config", "send-test", "dns", "doctor", "explain", "checks"} <= set(names)
    for name in names:
        result = run_cli(name, "--help")
        assert result.exit_code == 0
        assert "Example: mailcheck " in result.stdout, name


def test_shell_completion_script_and_protocol(tmp_path: Path) -> None:
    """The script Typer installs, and the completion it answers (as bash would ask)."""
    # Typer finds the shell by walking up the process tree (shellingham): from bash, as a user.
    script = subprocess.run(
        ["bash", "-c", f"{shlex.quote(sys.executable)} -m interview_mailcheck --show-completion"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert script.returncode == 0 and "_MAILCHECK_COMPLETE=complete_bash" in script.stdout
    completed = subprocess.run(
        [sys.executable, "-c", "from interview_mailcheck.cli import main; main()"],
        env={
            **os.environ,
            "_MAILCHECK_COMPLETE": "complete_bash",
            "COMP_WORDS": "mailcheck send-test --lo",
            "COMP_CWORD": "2",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.stdout.split() == ["--login-only"]


def test_the_slim_app_for_one_command_behaves_like_the_whole_app(run_cli: RunCli) -> None:
    """main() builds only the command being run (start-up time); nothing else may differ."""
    import typer.main
    from typer.testing import CliRunner

    from interview_mailcheck.cli import app, app_for

    runner = CliRunner()
    for name in sorted(typer.main.get_command(app).commands):  # type: ignore[attr-defined]
        slim = app_for(["mailcheck", name])
        assert slim is not app
        for args in ([name, "--help"], [name, "--no-such-option"]):
            whole = runner.invoke(app, args, prog_name="mailcheck")
            alone = runner.invoke(slim, args, prog_name="mailcheck")
            assert (alone.exit_code, alone.stdout, alone.stderr) == (
                whole.exit_code,
                whole.stdout,
                whole.stderr,
            )
    assert app_for(["mailcheck", "--version"]) is app
    assert app_for(["mailcheck"]) is app
    assert app_for(["mailcheck", "no-such-command"]) is app
