"""The project's promises about itself: README, .ci/run and .env.example stay in step."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import RunCli

from interview_mailcheck.catalog import all_rules
from interview_mailcheck.settings import MAIL_SETTINGS, OPTIONAL_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    """The shell lines of the README's set-up section."""
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_readme_has_the_two_set_up_commands() -> None:
    install_and_run, install_and_test = readme_commands()
    assert "[demo]" in install_and_run and install_and_run.endswith("mailcheck demo")
    assert "pytest" in install_and_test and "[test]" in install_and_test


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()
    assert "set -euo pipefail" in ci


def test_readme_lists_every_finding_id() -> None:
    missing = [rule.id for rule in all_rules() if f"`{rule.id}`" not in README]
    assert missing == []


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in MAIL_SETTINGS:
        # the settings few projects set are shown commented out, with why to leave them so
        written = rf"^# {name}=" if name in OPTIONAL_SETTINGS else rf"^{name}="
        assert re.search(written, text, re.MULTILINE), name


def test_env_example_shows_the_placeholder_errors(run_cli: RunCli) -> None:
    result = run_cli("config", "--env-file", ROOT / ".env.example", "--json")
    assert result.exit_code == 1
    placeholders = [f["subject"] for f in result.json()["findings"] if f["id"] == "config.E012"]
    assert placeholders == [
        "EMAIL_HOST_USER",
        "EMAIL_HOST_PASSWORD",
        "DEFAULT_FROM_EMAIL",
        "SERVER_EMAIL",
    ]
    assert result.ids() == ["config.E012"] * 4


def test_readme_lists_every_recognised_reply() -> None:
    from interview_mailcheck.providers import REPLIES

    missing = [
        rule.fragment for rule in REPLIES if rule.fragment and f"`{rule.fragment}`" not in README
    ]
    assert missing == []
