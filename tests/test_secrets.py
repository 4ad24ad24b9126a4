"""A sentinel password never appears in any output mode, whatever path the value takes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from conftest import RunCli

SENTINEL = "Sentinel-Pa55word-9f3k"
FORMS = (SENTINEL, base64.b64encode(SENTINEL.encode()).decode())

ENV_FILES = {
    # Gmail: the password is judged (not an App Password) and described by its length.
    "gmail": f"EMAIL_HOST=smtp.gmail.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
    f"EMAIL_HOST_USER=a@gmail.com\nEMAIL_HOST_PASSWORD={SENTINEL}\n",
    # The value is cut at ' #': the message must not show what was read.
    "comment": f"EMAIL_HOST=localhost\nEMAIL_HOST_USER=u\nEMAIL_HOST_PASSWORD={SENTINEL} #tail\n",
    # An unclosed quote: python-dotenv skips the line, whose text holds the password.
    "unclosed": f'EMAIL_HOST=localhost\nEMAIL_HOST_PASSWORD="{SENTINEL}\n',
    # A quote that swallows the password's line into another value.
    "swallowed": f'DEFAULT_FROM_EMAIL="a@b.io\nEMAIL_HOST_PASSWORD={SENTINEL}"\nEMAIL_HOST=x.io\n',
    # Only a password: credentials incomplete.
    "password_only": f"EMAIL_HOST=localhost\nEMAIL_HOST_PASSWORD={SENTINEL}\n",
}
MODES = ([], ["-v"], ["--json"], ["--json", "-v"], ["--strict", "-v"])


def assert_no_secret(*outputs: str) -> None:
    for output in outputs:
        for form in FORMS:
            assert form not in output


@pytest.mark.parametrize("case", sorted(ENV_FILES))
@pytest.mark.parametrize("mode", MODES, ids=" ".join)
def test_password_never_printed(
    case: str, mode: list[str], tmp_path: Path, run_cli: RunCli
) -> None:
    env_file = tmp_path / f"{case}.env"
    env_file.write_text(ENV_FILES[case], encoding="utf-8")
    result = run_cli("config", "--env-file", env_file, *mode)
    assert result.exit_code in (0, 1)
    assert result.stdout  # a report was printed
    assert_no_secret(result.stdout, result.stderr)


def test_password_shown_as_set_with_its_length(tmp_path: Path, run_cli: RunCli) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_FILES["gmail"], encoding="utf-8")
    settings = run_cli("config", "--env-file", env_file, "--json").json()["settings"]
    row = next(row for row in settings if row["name"] == "EMAIL_HOST_PASSWORD")
    assert row["value"] == f"set ({len(SENTINEL)} characters)"


def test_shadowed_password_shows_lengths_only(tmp_path: Path, run_cli: RunCli) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_FILES["gmail"], encoding="utf-8")
    other = "Another-Secret-Value-77"
    result = run_cli(
        "config", "--env-file", env_file, "--json", "-v", env={"EMAIL_HOST_PASSWORD": other}
    )
    shadow = next(f for f in result.json()["findings"] if f["id"] == "config.W009")
    assert shadow["evidence"] == {
        "environment": f"set ({len(other)} characters)",
        "file": f"set ({len(SENTINEL)} characters)",
    }
    assert_no_secret(result.stdout, result.stderr)
    assert other not in result.stdout


def test_internal_error_text_is_scrubbed(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even an exception whose text carries the password is printed masked."""

    def explode(*arguments: object) -> None:
        raise RuntimeError(f"boom with {SENTINEL}")

    monkeypatch.setattr("interview_mailcheck.commands.config.analyse", explode)
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_FILES["gmail"], encoding="utf-8")
    result = run_cli("config", "--env-file", env_file, "--debug")
    assert result.exit_code == 3
    assert "RuntimeError" in result.stderr
    assert_no_secret(result.stdout, result.stderr)
