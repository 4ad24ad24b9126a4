"""`mailcheck doctor`: every check that applies, in one report, for a laptop or a CI job.

Doctor runs the commands it is made of, fast ones first (Homebrew's doctor does the same):
config, dns, send-test (the login and the envelope unless --send) and, when the app's settings
module is known,
django (an audit of upcoming interviews, as `sessions --since now`). Their reports become the
parts of doctor's report, one per section; a section that cannot run because of an earlier one,
or that --only/--skip leave out, is a part that says why it was skipped, never dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interview_mailcheck.checks.config import ConfigResult
from interview_mailcheck.checks.dns import target_for
from interview_mailcheck.checks.dns_rules import HOST_NO_ADDRESS
from interview_mailcheck.commands.config import analyse_settings, settings_section
from interview_mailcheck.dnsdata import Nameserver
from interview_mailcheck.mailconfig import describe_target
from interview_mailcheck.report import Report, Section

SECTIONS = ("config", "dns", "send-test", "django")
"""Doctor's sections, in the order they run; --only and --skip name them."""
SECTION_ALIASES = {"smtp": "send-test", "session": "django", "sessions": "django"}
"""Other names a section answers to: the area of its checks (`mailcheck checks`)."""


def section_name(text: str) -> str | None:
    """The section `text` names (a section or one of its aliases), or None."""
    name = text.strip().lower()
    return name if name in SECTIONS else SECTION_ALIASES.get(name)


@dataclass(frozen=True)
class DoctorOptions:
    env_file: Path | None = None
    settings_module: str | None = None
    pythonpath: Path | None = None
    mailer: str | None = None
    """The MAILERS alias walked (Django 6.1); every mailer is checked either way."""
    send: bool = False
    to: tuple[str, ...] = ()
    ehlo: str | None = None
    retries: int = 2
    timeout: float | None = None
    nameservers: Sequence[Nameserver] = ()
    cafile: str | None = None
    strict: bool = False
    only: tuple[str, ...] = ()
    """The sections to run (all when empty)."""
    skip: tuple[str, ...] = ()
    """The sections not to run."""

    def leaves_out(self, section: str) -> str:
        """Why --only or --skip leave `section` out ('' when it runs)."""
        if section in self.skip:
            return f"left out (--skip {section})"
        if self.only and section not in self.only:
            return f"left out (--only {', '.join(self.only)})"
        return ""


def doctor(options: DoctorOptions) -> Report:
    """Run every section that applies; the report's parts are their reports."""
    module = app_settings_module(options.settings_module, options.pythonpath)
    started = time.perf_counter()
    config_result = analyse_settings(options.env_file, module, options.pythonpath, options.mailer)
    analysed_ms = (time.perf_counter() - started) * 1000
    parts: list[Report] = []

    def section(name: str, build: Callable[[], Report]) -> Report:
        reason = options.leaves_out(name)
        started = time.perf_counter()
        part = Report(name, skipped=reason) if reason else build()
        part.name = name
        part.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        parts.append(part)
        return part

    config = section("config", lambda: Report("config", config_result.runs))
    config.duration_ms = round(config.duration_ms + analysed_ms, 1)  # read before the sections
    dns = section("dns", lambda: _dns(config_result, options))
    unresolvable = any(finding.id == HOST_NO_ADDRESS.id for finding in dns.iter_findings())
    section("send-test", lambda: _send_test(config_result, options, unresolvable))
    django = section("django", lambda: _django(module, options))
    return Report(
        "doctor",
        parts=parts,
        headline=f"{describe_target(config_result.config)}; "
        + ", ".join(f"{part.name} {part.status}" for part in parts),
        sections=[
            Section("sections", "Sections", [_row(part) for part in parts], True),
            settings_section(config_result),
            *[
                section._replace(key=key, title=title)
                for part in parts
                for section in part.sections
                for key, title in _SHOWN.get((part.name, section.key), ())
            ],
        ],
        strict=options.strict,
        verdict="Invitation emails are ready to go out: every section passed.",
        counters=dict(django.counters),
    )


_SHOWN: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("dns", "records"): (("dns_records", "Records read"),),
    ("send-test", "steps"): (("steps", "SMTP steps"),),
}
"""The sections of the parts that doctor shows, under their key and title in its report."""


def _row(part: Report) -> dict[str, Any]:
    summary = part.summary()
    return {
        "section": part.name,
        "status": part.status,
        "duration_ms": part.duration_ms,
        "errors": summary["errors"],
        "warnings": summary["warnings"],
        "infos": summary["infos"],
        "reason": part.skipped,
    }


def app_settings_module(option: str | None, pythonpath: Path | None) -> str | None:
    """The app's settings module as session and sessions find it, or None when none is set."""
    from interview_mailcheck.adapters.pyproject import read_tool_table
    from interview_mailcheck.interviews import find_settings_module

    return find_settings_module(option, read_tool_table(pythonpath or Path.cwd()), os.environ)


def _dns(config_result: ConfigResult, options: DoctorOptions) -> Report:
    from interview_mailcheck.commands.dns import build_report, dns_client

    target = target_for(config_result.config)
    if target.empty:
        return Report(
            "dns",
            skipped=f"nothing to look up: {target.domain_source} and {target.host_note}",
        )
    client = dns_client(config_result.config, options.nameservers, options.timeout)
    return build_report(target, client)


def _send_test(config_result: ConfigResult, options: DoctorOptions, unresolvable: bool) -> Report:
    from interview_mailcheck.checks.smtp import SendTestOptions
    from interview_mailcheck.commands.send_test import smtp_part

    smtp_options = SendTestOptions(
        to=options.to,
        envelope=not options.send,
        timeout=options.timeout,
        cafile=options.cafile,
        ehlo=options.ehlo,
        retries=options.retries,
        # The account itself is doctor's recipient by default: say so only when asked.
        warn_self_only=bool(options.to) or options.send,
    )
    runs, sections, skipped = smtp_part(config_result, smtp_options, host_unresolvable=unresolvable)
    if skipped:
        return Report("send-test", skipped=skipped)
    return Report("send-test", runs, sections=sections)


def _django(module: str | None, options: DoctorOptions) -> Report:
    if module is None:
        return Report(
            "django",
            skipped="no --settings: pass the app's settings module to check its data",
        )
    from interview_mailcheck.commands.session import (
        DomainLookups,
        ProjectOptions,
        sessions_report,
    )
    from interview_mailcheck.values import parse_when

    project = ProjectOptions(module, options.pythonpath)
    # The candidates' domains are checked offline here (a misspelt provider domain); their
    # DNS lookups are `mailcheck sessions`' own, not part of the preflight.
    offline = DomainLookups(skipped="in doctor: `mailcheck sessions` looks them up")
    return sessions_report(
        project,
        since=parse_when("now"),
        until=None,
        limit=None,
        strict=options.strict,
        dns=offline,
    )
