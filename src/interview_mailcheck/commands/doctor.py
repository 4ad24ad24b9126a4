"""`mailcheck doctor`: every check that applies, in one report, for a laptop or a CI job.

Sections run in order, fast ones first (Homebrew's doctor does the same): config, dns,
send-test (login only unless --send), and with --settings the app's Django settings and a
sessions audit of upcoming interviews. A section that cannot run because of an earlier one is
reported as skipped with the reason, never dropped. Each finding carries its section.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interview_mailcheck.adapters.dns import Nameserver
from interview_mailcheck.checks.config import (
    ConfigResult,
    analyse,
    backend_kind,
    describe_target,
    settings_rows,
)
from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.report import Report, Section
from interview_mailcheck.settings import load_settings


@dataclass
class Case:
    """One check of a section, as a JUnit test case."""

    name: str
    findings: list[Finding] = field(default_factory=list)
    skipped: str = ""


@dataclass
class SectionResult:
    name: str
    status: str = "ok"
    """ok, warning, failed or skipped."""
    duration_ms: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    reason: str = ""
    """Why the section was skipped."""

    def row(self) -> dict[str, Any]:
        levels = [finding.level for finding in self.findings]
        return {
            "section": self.name,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "errors": levels.count(Level.ERROR),
            "warnings": levels.count(Level.WARNING),
            "infos": levels.count(Level.INFO),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DoctorOptions:
    env_file: Path | None = None
    settings_module: str | None = None
    pythonpath: Path | None = None
    send: bool = False
    to: str | None = None
    timeout: float | None = None
    nameservers: Sequence[Nameserver] = ()
    cafile: str | None = None
    strict: bool = False


@dataclass
class DoctorRun:
    sections: list[SectionResult] = field(default_factory=list)
    extra_sections: list[Section] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


def _timed(name: str, run: Callable[[SectionResult], None]) -> SectionResult:
    result = SectionResult(name)
    started = time.perf_counter()
    run(result)
    result.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    if result.status != "skipped":
        levels = {finding.level for finding in result.findings}
        result.status = (
            "failed" if Level.ERROR in levels else "warning" if Level.WARNING in levels else "ok"
        )
    result.findings = [
        finding._replace(context={"section": name, **finding.context})
        for finding in result.findings
    ]
    return result


def _skip(result: SectionResult, reason: str) -> None:
    result.status, result.reason = "skipped", reason


def doctor(options: DoctorOptions) -> tuple[Report, DoctorRun]:
    nameservers = list(options.nameservers)
    run = DoctorRun()
    if options.settings_module:
        # What the app really runs with: Django's resolved settings (compared with the .env).
        from interview_mailcheck.commands.config import analyse_django

        config_result, config_findings = analyse_django(
            options.env_file, options.settings_module, options.pythonpath
        )
    else:
        config_result = analyse(load_settings(options.env_file))
        config_findings = list(config_result.findings)
    config_result = config_result._replace(findings=config_findings)
    state: dict[str, Any] = {}

    def config_section(result: SectionResult) -> None:
        result.findings = list(config_findings)
        result.cases = [Case(name, list(found)) for name, found in config_result.checks]

    def dns_section(result: SectionResult) -> None:
        from interview_mailcheck.adapters.dns import DnsClient
        from interview_mailcheck.checks.dns import HOST_NO_ADDRESS, target_for
        from interview_mailcheck.commands.dns import build_report
        from interview_mailcheck.values import resolve_timeout

        target = target_for(config_result.config)
        if target.empty:
            _skip(result, f"nothing to look up: {target.domain_source} and {target.host_note}")
            return
        timeout = resolve_timeout(options.timeout, config_result.config.timeout)
        client = DnsClient(nameservers, timeout)
        ran: list[str] = []
        report = build_report(config_result.config, client, ran=ran)
        result.findings = report.findings
        run.extra_sections += [s._replace(key="dns_records") for s in report.sections]
        parts: dict[str, list[Finding]] = {name: [] for name in ran}
        for finding in report.findings:
            parts.setdefault(str(finding.context.get("part", "dns")), []).append(finding)
        result.cases = [Case(name, found) for name, found in parts.items()]
        state["host_unresolvable"] = any(
            finding.id == HOST_NO_ADDRESS.id for finding in report.findings
        )

    def send_section(result: SectionResult) -> None:
        reason = _send_blocker(config_result, state, options)
        if reason:
            _skip(result, reason)
            return
        from interview_mailcheck.checks.smtp import SendTestOptions, preflight, walk

        smtp_options = SendTestOptions(
            to=options.to,
            login_only=not options.send,
            timeout=options.timeout,
            cafile=options.cafile,
        )
        missing = preflight(config_result.config, smtp_options)
        if missing is not None:
            result.findings = [missing]
            result.cases = [Case("recipient", [missing])]
            return
        outcome = walk(config_result.config, smtp_options)
        result.findings = outcome.findings
        run.extra_sections.append(Section("steps", "SMTP steps", outcome.steps))
        by_step: dict[str, list[Finding]] = {}
        for finding in outcome.findings:
            by_step.setdefault(str(finding.context.get("step")), []).append(finding)
        result.cases = [
            Case(
                step["step"],
                by_step.get(step["step"], []),
                "not reached" if step["status"] == "skipped" else "",
            )
            for step in outcome.steps
        ]

    def django_section(result: SectionResult) -> None:
        if not options.settings_module:
            _skip(result, "no --settings: pass the app's settings module to check its data")
            return
        from interview_mailcheck.commands.session import ProjectOptions, sessions_report
        from interview_mailcheck.values import parse_when

        project = ProjectOptions(options.settings_module, options.pythonpath)
        report = sessions_report(
            project, since=parse_when("now", end_of_day=False), until=None, limit=None, strict=False
        )
        result.findings = report.findings
        run.counters.update(report.counters)
        by_interview: dict[str, list[Finding]] = {}
        for finding in report.findings:
            key = finding.context.get("interview_id")
            name = f"interview {key}" if key else "link template"
            by_interview.setdefault(name, []).append(finding)
        checked = report.counters.get("checked", 0)
        result.cases = [Case(name, found) for name, found in by_interview.items()] or [
            Case(f"upcoming interviews ({checked} checked)")
        ]

    for name, section in (
        ("config", config_section),
        ("dns", dns_section),
        ("send-test", send_section),
        ("django", django_section),
    ):
        run.sections.append(_timed(name, section))
    for result in run.sections:
        if result.status == "skipped":
            result.cases = [Case(result.name, [], result.reason)]
    findings = [finding for result in run.sections for finding in result.findings]
    report = Report(
        command="doctor",
        findings=findings,
        headline=f"{describe_target(config_result.config)}; {_sections_line(run)}",
        sections=[
            Section("sections", "Sections", [result.row() for result in run.sections], True),
            Section("settings", "Settings (what the app sees)", _settings_rows(config_result)),
            *run.extra_sections,
        ],
        strict=options.strict,
        verdict="Invitation emails are ready to go out: every section passed.",
        counters=run.counters,
    )
    return report, run


def _send_blocker(
    config_result: ConfigResult, state: dict[str, Any], options: DoctorOptions
) -> str:
    config = config_result.config
    if backend_kind(config.backend) == "api":
        return f"EMAIL_BACKEND {config.backend} sends through an HTTP API, not SMTP"
    if any(finding.level == Level.ERROR for finding in config_result.findings):
        return "the configuration has errors (see the config section)"
    if state.get("host_unresolvable"):
        return f"EMAIL_HOST {config.host} has no address (see the dns section)"
    return ""


def _settings_rows(result: ConfigResult) -> list[dict[str, str]]:
    if result.config.settings.django is not None:
        from interview_mailcheck.checks.django import settings_rows as django_rows

        return django_rows(result.config.settings)
    return settings_rows(result.config)


def _sections_line(run: DoctorRun) -> str:
    return ", ".join(f"{result.name} {result.status}" for result in run.sections)
