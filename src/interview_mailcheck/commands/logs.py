"""`mailcheck logs`: read the app's log, follow each interview, build the report."""

from __future__ import annotations

from interview_mailcheck.adapters.logfile import describe, read_blocks
from interview_mailcheck.checks.logs import DEFAULT_LIMIT, check_log, check_reading
from interview_mailcheck.errors import InputError
from interview_mailcheck.logscan import Tally, parse_since, read_events
from interview_mailcheck.report import Report, Section


def logs_report(
    source: str, *, since: str | None = None, limit: int = DEFAULT_LIMIT, strict: bool = False
) -> Report:
    since_time = None
    if since is not None:
        since_time = parse_since(since)
        if since_time is None:
            raise InputError(
                f"--since {since!r} is not a timestamp: use YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]' "
                "or ISO 8601 such as 2024-11-26T14:00:00+01:00"
            )
    if limit < 0:
        raise InputError(f"--limit {limit} must be 0 (no limit) or more")
    tally = Tally()
    result = check_log(read_events(read_blocks(source), tally, since_time), limit)
    findings = result.findings + check_reading(tally, result, since)
    counts = result.counters
    listed = len(result.rows)
    headline = (
        f"{describe(source)}, {tally.lines:,} lines"
        + (f" ({tally.skipped:,} app lines before {since} skipped)" if tally.skipped else "")
        + f"; {counts['interviews']:,} interview{'' if counts['interviews'] == 1 else 's'}: "
        f"{counts['sent']:,} sent, {counts['failed']:,} failed, {counts['not_sent']:,} not sent, "
        f"{counts['no_email']:,} without an email"
        + (f" (the first {listed:,} listed)" if listed < counts["interviews"] else "")
    )
    return Report(
        command="logs",
        findings=findings,
        headline=headline,
        sections=[Section("interviews", "Interviews", result.rows, always_shown=True)],
        strict=strict,
        counters={
            "lines": tally.lines,
            "interviews": counts["interviews"],
            "sent": counts["sent"],
            "failed": counts["failed"],
            "not_sent": counts["not_sent"],
            "no_email": counts["no_email"],
        },
    )
