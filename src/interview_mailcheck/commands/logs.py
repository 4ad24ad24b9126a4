"""`mailcheck logs`: read the app's log, follow each interview, build the report."""

from __future__ import annotations

from interview_mailcheck.adapters.logfile import describe
from interview_mailcheck.adapters.logworker import scan
from interview_mailcheck.checks.logs import check_log, check_reading
from interview_mailcheck.logscan import Tally, events_of
from interview_mailcheck.report import CheckRun, Report, Section
from interview_mailcheck.values import LIST_LIMIT, When


def logs_report(
    source: str, *, since: When | None = None, limit: int = LIST_LIMIT, strict: bool = False
) -> Report:
    tally = Tally()
    events = events_of(scan(source, tally), tally, since.moment if since else None)
    result = check_log(events, limit)
    since_text = since.text if since else None
    reading = check_reading(tally, result, since_text)
    counts = result.counters
    listed = len(result.rows)
    headline = (
        f"{describe(source)}, {tally.lines:,} lines"
        + (f" ({tally.skipped:,} app lines before {since_text} skipped)" if tally.skipped else "")
        + f"; {counts['interviews']:,} interview{'' if counts['interviews'] == 1 else 's'}: "
        f"{counts['sent']:,} sent, {counts['failed']:,} failed, {counts['not_sent']:,} not sent, "
        f"{counts['no_email']:,} without an email"
        + (f" (the first {listed:,} listed)" if listed < counts["interviews"] else "")
    )
    return Report(
        "logs",
        [CheckRun("interviews", result.findings), CheckRun("reading", reading)],
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
