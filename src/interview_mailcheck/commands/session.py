"""`mailcheck session ID` and `mailcheck sessions`: the app's own rows, read-only.

Load the project (adapters/django.py), read the interviews in one query per command, run
checks/session.py over each, and build the report. No .env is needed.

The candidates' domains (checks/candidate_address.py) are looked up through one `DnsClient` per
run, made here, so one deadline bounds every lookup however many domains there are; each
distinct domain is asked once. `--no-dns` leaves the client out and the offline checks run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interview_mailcheck.adapters.pyproject import read_tool_table
from interview_mailcheck.checks.candidate_address import CandidateDomains
from interview_mailcheck.checks.database import database_findings
from interview_mailcheck.checks.session import (
    NOT_FOUND,
    READ_FROM_A_COPY,
    InterviewChecks,
    Listing,
    check_link_status,
    check_link_template,
    check_record,
)
from interview_mailcheck.errors import DatabaseRefused
from interview_mailcheck.findings import Finding
from interview_mailcheck.interviews import (
    DataLayout,
    InterviewRecord,
    build_link,
    resolve_layout,
    settings_module,
)
from interview_mailcheck.report import CheckRun, Recorder, Report, Section
from interview_mailcheck.values import LIST_LIMIT, When, resolve_timeout

if TYPE_CHECKING:
    from interview_mailcheck.adapters.dns import DnsClient
    from interview_mailcheck.dnsdata import Nameserver

IST = timezone(timedelta(hours=5, minutes=30), "IST")
"""India Standard Time: UTC+05:30 all year (Asia/Kolkata has no daylight saving)."""
TIME_FORMAT = "%a %d %b %Y, %H:%M %Z"


@dataclass(frozen=True)
class ProjectOptions:
    """Where the project is and how its data is laid out, as given on the command line."""

    settings: str | None = None
    pythonpath: Path | None = None
    interview_model: str | None = None
    session_model: str | None = None
    fields: tuple[str, ...] = ()
    link_template: str | None = None


@dataclass(frozen=True)
class DomainLookups:
    """How the candidates' domains are looked up: --nameserver, --timeout, --no-dns."""

    nameservers: tuple[Nameserver, ...] = ()
    """The nameservers to ask; the system's when empty."""
    timeout: float | None = None
    """--timeout; else the app's EMAIL_TIMEOUT, else the default."""
    skipped: str = ""
    """Why no domain is looked up ('--no-dns'); '' when they are."""


NO_DNS = DomainLookups(skipped="--no-dns")
DOMAINS_RUN = "candidate domains (DNS)"
"""The recorded check that holds session.I002, or says why no domain was looked up."""


def candidate_domains(
    lookups: DomainLookups, project: Any
) -> tuple[CandidateDomains, DnsClient | None]:
    """The run's domain checks and the one DNS client they ask (None under --no-dns).

    Made once the project is loaded: the client's deadline starts when it is made.
    """
    if lookups.skipped:
        return CandidateDomains(None, lookups.skipped), None
    from interview_mailcheck.adapters.dns import DnsClient

    timeout = resolve_timeout(lookups.timeout, getattr(project, "email_timeout", None))
    client = DnsClient(list(lookups.nameservers), timeout)
    return CandidateDomains(client.lookup), client


def domains_run(
    domains: CandidateDomains,
    client: DnsClient | None,
    context: Mapping[str, Any] | None = None,
) -> CheckRun:
    if client is None:
        return CheckRun(DOMAINS_RUN, skipped=f"not looked up ({domains.not_looked_up})")
    return CheckRun(DOMAINS_RUN, domains.unchecked(context))


def domains_section(domains: CandidateDomains) -> Section:
    return Section("candidate_domains", "Candidate domains", domains.rows())


def dns_headline(client: DnsClient | None) -> str:
    if client is None:
        return ""
    return f"; candidate domains asked of {client.describe()}, timeout {client.timeout:g} s"


def open_project(options: ProjectOptions) -> tuple[Any, DataLayout]:
    """The layout (pyproject.toml, then options) and a reader over the set-up project."""
    from interview_mailcheck.adapters.django import InterviewReader, load_project

    folder = options.pythonpath or Path.cwd()
    tool = read_tool_table(folder)
    module = settings_module(options.settings, tool)
    layout = resolve_layout(
        tool,
        interview_model=options.interview_model,
        session_model=options.session_model,
        fields=options.fields,
        link_template=options.link_template,
    )
    project = load_project(module, folder)
    return InterviewReader(project, layout), layout


def session_report(
    interview_id: str,
    options: ProjectOptions,
    *,
    check_link: bool,
    strict: bool,
    dns: DomainLookups = NO_DNS,
) -> Report:
    reader, layout = open_project(options)
    headline = f"interview {interview_id} {read_from(reader)}"
    try:
        with reader.read_only(dns.timeout):
            record = reader.one(interview_id)
    except DatabaseRefused as refused:
        return refused_report("session", refused, headline, strict)
    how_read = read_note(reader)
    if record is None:
        missing = NOT_FOUND.finding(
            layout.interview_model, model=layout.interview_model, interview_id=interview_id
        )
        runs = [CheckRun("interview", [missing]), *how_read]
        return Report("session", runs, headline=headline, strict=strict)
    recorder = Recorder()
    recorder.runs += how_read
    recorder.run("interview", lambda: check_record(record, layout))
    domains, client = candidate_domains(dns, reader.project)
    context = {"interview_id": record.interview_id}
    addresses = InterviewChecks(layout).addresses(record)
    recorder.run("candidate address", lambda: domains.check_interview(addresses, context))
    recorder.runs.append(domains_run(domains, client, context))
    link = build_link(layout.link_template, record)
    status_text = None
    if check_link and link:
        from interview_mailcheck.adapters.http import fetch

        status = fetch(link)
        status_text = status.describe()
        recorder.run("link", lambda: check_link_status(link, status.status, status.reason))
    recorder.run("link template", lambda: check_link_template(layout.link_template))
    rows = invitation_rows(record, layout, reader.project, link, status_text, check_link)
    return Report(
        "session",
        recorder.runs,
        headline=headline + dns_headline(client),
        sections=[
            Section("interview", "The interview and its invitation", rows, True),
            domains_section(domains),
        ],
        strict=strict,
    )


def sessions_report(
    options: ProjectOptions,
    *,
    since: When | None,
    until: When | None,
    limit: int | None,
    strict: bool,
    dns: DomainLookups = NO_DNS,
    max_listed: int = LIST_LIMIT,
) -> Report:
    """Every interview (or a window): one streamed query, the same checks, findings tagged.

    Each candidate domain is judged when the first interview using it is read, so its
    findings sit with that interview's others and the rows are never held. Of each finding
    id the first `max_listed` (0: all) are kept, the others counted (`Listing`), so memory
    stays flat whatever the mix of findings.
    """
    reader, layout = open_project(options)
    recorder = Recorder()
    recorder.run("link template", lambda: check_link_template(layout.link_template))
    listing = Listing(max_listed)
    try:
        with reader.read_only(dns.timeout):
            rows = reader.many(
                since.moment if since else None, until.moment if until else None, limit
            )
            domains, client = candidate_domains(dns, reader.project)
            checks = InterviewChecks(layout, domains)
            interviews = by_interview(listing(checks.audit(rows, reader.display_id)))
    except DatabaseRefused as refused:
        headline = f"interviews {read_from(reader)}"
        return refused_report("sessions", refused, headline, strict, {"checked": 0})
    checked = checks.checked
    recorder.runs += interviews or [CheckRun(f"interviews ({checked} checked)")]
    if listing.unlisted:
        recorder.runs.append(CheckRun("findings not listed", listing.notes()))
    recorder.runs.append(domains_run(domains, client))
    recorder.runs += read_note(reader)
    window = "".join(
        (
            f" from {since.text}" if since else "",
            f" until {until.text}" if until else "",
            f" (at most {limit})" if limit is not None else "",
        )
    )
    noun = "interview" if checked == 1 else "interviews"
    return Report(
        "sessions",
        recorder.runs,
        headline=f"{checked} {noun}{window} {read_from(reader)}{dns_headline(client)}",
        sections=[domains_section(domains)],
        strict=strict,
        counters={"checked": checked},
        unlisted=dict(listing.unlisted_levels),
    )


def read_from(reader: Any) -> str:
    """Where the headlines say the interviews were read: the database and the settings."""
    return f"in {reader.database} (read-only), settings {reader.project.settings_module}"


def refused_report(
    command: str,
    refused: DatabaseRefused,
    headline: str,
    strict: bool,
    counters: dict[str, int] | None = None,
) -> Report:
    """The report of a run the database would not serve: its finding (checks/database.py),
    or, for a refusal that names nothing mailcheck knows, the one-line input error (exit 2)."""
    findings = database_findings(refused)
    if not findings:
        raise refused
    runs = [CheckRun("database", findings)]
    return Report(command, runs, headline=headline, strict=strict, counters=counters or {})


def read_note(reader: Any) -> list[CheckRun]:
    """session.I001 when the database was read from a private copy, not in place."""
    note = reader.read_only_note
    return (
        [CheckRun("read", [READ_FROM_A_COPY.finding(reader.database, note=note)])] if note else []
    )


def by_interview(findings: Iterable[Finding]) -> list[CheckRun]:
    """One recorded check per interview with findings (the audit yields them together)."""
    runs: list[CheckRun] = []
    for finding in findings:
        name = f"interview {finding.context.get('interview_id')}"
        if not runs or runs[-1].name != name:
            runs.append(CheckRun(name))
        runs[-1].findings.append(finding)
    return runs


# --- What the invitation would contain ------------------------------------------------------


def _shown(value: object) -> str:
    return "(empty)" if value is None or str(value).strip() == "" else str(value)


def scheduled(value: object, project: Any) -> tuple[str, str]:
    """The interview time in the app's TIME_ZONE and in IST."""
    if value is None:
        return "(not set)", "(not set)"
    if not isinstance(value, datetime):
        return str(value), str(value)
    zone = project.zone or timezone.utc
    aware = value if value.tzinfo else value.replace(tzinfo=zone)
    return aware.astimezone(zone).strftime(TIME_FORMAT), aware.astimezone(IST).strftime(TIME_FORMAT)


def invitation_rows(
    record: InterviewRecord,
    layout: DataLayout,
    project: Any,
    link: str | None,
    link_status: str | None,
    check_link: bool,
) -> list[dict[str, str]]:
    local, ist = scheduled(record.started_at, project)
    if not record.session_key:
        session = "- (no session_key)"
    elif record.session_found:
        session = f"found ({layout.session_model})"
    else:
        session = f"none has this key ({layout.session_model})"
    job = _shown(record.job_title)
    if record.company:
        job = f"{job} at {record.company}"
    rows = [
        ("interview", f"{record.interview_id} ({layout.interview_model})"),
        ("session_key", _shown(record.session_key)),
        ("InterviewSession", session),
        ("candidate", _shown(record.candidate_name)),
        ("candidate email", _shown(record.candidate_email)),
        ("session email", _shown(record.session_email) if record.session_found else "-"),
        ("job", job),
        (f"scheduled ({project.time_zone or 'UTC'})", local),
        ("scheduled (IST)", ist),
        ("coding language", _shown(record.coding_language) if record.session_found else "-"),
        ("link", link or "(none: the interview has no session_key)"),
    ]
    if check_link:
        rows.append(("link status", link_status or "not fetched (no link)"))
    return [{"item": item, "value": value} for item, value in rows]
