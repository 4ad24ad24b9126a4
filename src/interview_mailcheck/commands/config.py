"""`mailcheck config`: load the settings, run the offline checks, build the report."""

from __future__ import annotations

from pathlib import Path

from interview_mailcheck.checks.config import analyse, describe_target, settings_rows
from interview_mailcheck.report import Report, Section
from interview_mailcheck.settings import load_settings


def config_report(env_file: Path | None, *, strict: bool) -> Report:
    settings = load_settings(env_file)
    result = analyse(settings)
    source = (
        f"{settings.env_file_path} and the environment"
        if settings.env_file
        else "the environment (no env file)"
    )
    return Report(
        command="config",
        findings=result.findings,
        headline=f"settings from {source}; {describe_target(result.config)}",
        sections=[
            Section("settings", "Settings (what the app sees)", settings_rows(result.config))
        ],
        strict=strict,
    )
