"""`mailcheck dns`: load the settings, look up the sending domain and EMAIL_HOST, build the report.

`dns_report` is the command; `build_report` does the work for settings already loaded and a
client already made, so `doctor` can reuse both (and share the client's deadline).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from interview_mailcheck.adapters.dns import DnsClient, Failure, Nameserver
from interview_mailcheck.checks.config import MailConfig, interpret
from interview_mailcheck.checks.dns import DnsTarget, check_dns, target_for
from interview_mailcheck.errors import InputError
from interview_mailcheck.report import Report, Section
from interview_mailcheck.settings import load_settings
from interview_mailcheck.values import resolve_timeout


def dns_report(
    env_file: Path | None,
    *,
    domain: str | None = None,
    nameservers: Sequence[Nameserver] = (),
    timeout: float | None = None,
    strict: bool = False,
) -> Report:
    """The report of `mailcheck dns`; raises InputError for a bad option or env file."""
    config = interpret(load_settings(env_file))
    client = DnsClient(list(nameservers), resolve_timeout(timeout, config.timeout))
    return build_report(config, client, domain=domain, strict=strict)


def build_report(
    config: MailConfig,
    client: DnsClient,
    *,
    domain: str | None = None,
    strict: bool = False,
    ran: list[str] | None = None,
) -> Report:
    target = target_for(config, domain)
    if target.empty:
        raise InputError(
            f"nothing to look up: {target.domain_source} and {target.host_note}; "
            "pass --domain or set them (see `mailcheck config`)"
        )
    findings = check_dns(target, client.lookup, ran)
    return Report(
        command="dns",
        findings=findings,
        headline=headline(target, client),
        sections=[Section("records", "Records read", record_rows(client))],
        strict=strict,
    )


def headline(target: DnsTarget, client: DnsClient) -> str:
    if target.domain is not None:
        domain = f"sending domain {target.domain} (from {target.domain_source})"
    else:
        domain = f"no sending domain ({target.domain_source}; pass --domain)"
    if target.host is not None:
        provider = f" ({target.provider.name})" if target.provider else ""
        host = f"EMAIL_HOST {target.host}{provider}"
    elif target.host_invalid:
        host = f"EMAIL_HOST {target.raw_host!r}"
    else:
        host = f"EMAIL_HOST not looked up ({target.host_note})"
    return f"{domain}; {host}; nameserver {client.describe()}, timeout {client.timeout:g} s"


def record_rows(client: DnsClient) -> list[dict[str, str]]:
    """One row per record read, in the order asked; failures and empty answers say so."""
    rows: list[dict[str, str]] = []
    for entry in client.history:
        if isinstance(entry, Failure):
            rows.append({"query": entry.query, "answer": f"not answered: {entry.reason}"})
            continue
        shown = entry.shown()
        for record in shown if isinstance(shown, list) else [shown]:
            rows.append({"query": entry.query, "answer": record})
    return rows
