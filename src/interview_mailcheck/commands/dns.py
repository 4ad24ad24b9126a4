"""`mailcheck dns`: load the settings, look up the sending domain and EMAIL_HOST, build the report.

`dns_report` is the command; `build_report` does the work for a target and a client already
made, so `doctor` can reuse both (and share the client's deadline).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from interview_mailcheck.adapters.dns import DnsClient
from interview_mailcheck.checks.dns import DnsTarget, check_dns, target_for
from interview_mailcheck.commands.config import analyse_settings
from interview_mailcheck.dnsdata import Failure, Nameserver
from interview_mailcheck.errors import InputError
from interview_mailcheck.mailconfig import MailConfig
from interview_mailcheck.report import Recorder, Report, Section
from interview_mailcheck.values import resolve_timeout


def dns_report(
    env_file: Path | None,
    *,
    domain: str | None = None,
    nameservers: Sequence[Nameserver] = (),
    timeout: float | None = None,
    strict: bool = False,
    settings_module: str | None = None,
    pythonpath: Path | None = None,
    mailer: str | None = None,
) -> Report:
    """The report of `mailcheck dns`; raises InputError for a bad option or env file."""
    config = analyse_settings(env_file, settings_module, pythonpath, mailer).config
    target = target_for(config, domain)
    if target.empty:
        raise InputError(
            f"nothing to look up: {target.domain_source} and {target.host_note}; "
            "pass --domain or set them (see `mailcheck config`)"
        )
    client = dns_client(config, nameservers, timeout)
    return build_report(target, client, strict=strict)


def dns_client(
    config: MailConfig, nameservers: Sequence[Nameserver], timeout: float | None
) -> DnsClient:
    return DnsClient(list(nameservers), resolve_timeout(timeout, config.timeout))


def build_report(target: DnsTarget, client: DnsClient, *, strict: bool = False) -> Report:
    recorder = Recorder()
    check_dns(target, client.lookup, recorder)
    return Report(
        "dns",
        recorder.runs,
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
