"""Text for people: findings grouped by level, each with its fix, and one verdict line at the end.

The layout is built once as lines of (text, style) segments. Without colour they are joined
as plain text, so rich is imported only when writing to a terminal. Every piece of text that
can come from outside (a subject, a message quoting a server, a table cell, evidence) has its
control characters made visible here (inert.py): a candidate named "Asha\\x1b]0;PWNED\\x07" in
the database cannot retitle the terminal or clear it.
"""

from __future__ import annotations

from typing import Any

from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.inert import escape_controls as inert
from interview_mailcheck.render import RenderOptions
from interview_mailcheck.report import Report

Segment = tuple[str, str]
Line = list[Segment]

_GROUPS: tuple[tuple[Level, str, str, str], ...] = (
    (Level.ERROR, "Errors", "✗", "bold red"),
    (Level.WARNING, "Warnings", "!", "bold yellow"),
    (Level.INFO, "Info", "i", "cyan"),
)
INDENT = "    "


def layout(report: Report, verbose: bool) -> list[Line]:
    lines: list[Line] = []
    if report.headline:
        lines.append([(f"mailcheck {report.command}: ", "bold"), (inert(report.headline), "")])
        lines.append([])
    for section in report.sections:
        if section.always_shown or verbose:
            lines.extend(_section(section.title, section.rows))
            lines.append([])
    unlisted = report.all_unlisted()
    for level, title, mark, style in _GROUPS:
        group = [finding for finding in report.findings if finding.level == level]
        if not group:
            continue
        more = unlisted.get(level, 0)
        shown = f"{len(group) + more:,}, {len(group):,} listed" if more else f"{len(group)}"
        lines.append([(f"{title} ({shown})", style)])
        for finding in group:
            lines.extend(_finding(finding, mark, style, verbose))
        lines.append([])
    lines.append(_verdict(report))
    return lines


def _section(title: str, rows: list[dict[str, Any]]) -> list[Line]:
    lines: list[Line] = [[(title, "bold")]]
    if not rows:
        return [*lines, [(INDENT + "(none)", "dim")]]
    keys = list(rows[0])
    widths = {key: max(len(key), *(len(_cell(row.get(key, ""))) for row in rows)) for key in keys}
    header = "  ".join(key.replace("_", " ").ljust(widths[key]) for key in keys)
    lines.append([(INDENT + header.rstrip(), "dim")])
    for row in rows:
        cells = [_cell(row.get(key, "")).ljust(widths[key]) for key in keys]
        first, *rest = cells
        lines.append([(INDENT + first, "bold"), ("  " + "  ".join(rest), "")])
    return lines


def _cell(value: Any) -> str:
    return "-" if value is None else inert(str(value))


def _finding(finding: Finding, mark: str, style: str, verbose: bool) -> list[Line]:
    # A message may quote a reply of several lines: they continue under it, each made inert.
    first, *more = finding.message.split("\n")
    lines: list[Line] = [
        [
            (f"  {mark} ", style),
            (finding.id, style),
            (f"  {inert(finding.subject)}: " if _subject_adds(finding) else "  ", "bold"),
            (inert(first), ""),
            *_context(finding),
        ]
    ]
    lines += [[(INDENT + "  " + inert(line), "")] for line in more]
    if finding.hint:
        lines.append([(INDENT + "fix: ", "green"), (inert(finding.hint), "")])
    if verbose or finding.level > Level.INFO:
        for key, value in finding.evidence.items():
            lines.append([(f"{INDENT}{inert(str(key))}: ", "dim"), (_evidence_text(value), "dim")])
    return lines


def _context(finding: Finding) -> list[Segment]:
    if not finding.context:
        return []
    parts = [
        f"{value:.0f} ms" if key == "duration_ms" else f"{key.replace('_', ' ')} {value}"
        for key, value in finding.context.items()
    ]
    return [(inert(f"  ({', '.join(parts)})"), "dim")]


def _subject_adds(finding: Finding) -> bool:
    """The subject is shown unless the message already starts with it."""
    return bool(finding.subject) and not finding.message.startswith(finding.subject)


def _evidence_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(inert(str(item)) for item in value)
    return "\n".join(inert(line) for line in str(value).split("\n")).replace(
        "\n", "\n" + INDENT + "  "
    )


def _verdict(report: Report) -> Line:
    summary = report.summary()
    counts = (
        f"{_plural(summary['errors'], 'error')}, {_plural(summary['warnings'], 'warning')}, "
        f"{_plural(summary['infos'], 'info')}"
    )
    if not report.ok:
        return [
            ("✗ FAIL ", "bold red"),
            (f"{counts}. Run `mailcheck explain <id>` for the full story of a finding.", ""),
        ]
    if summary["warnings"]:
        return [("✓ OK ", "bold green"), (f"{counts}. No errors; the warnings deserve a look.", "")]
    happy = report.verdict or _HAPPY.get(report.command, _HAPPY_DEFAULT)
    return [("✓ OK ", "bold green"), (f"{counts}. {happy}", "")]


_HAPPY_DEFAULT = "Everything checked is in order."
_HAPPY = {
    "config": "The email settings are ready to send invitations.",
    "session": "This interview's invitation has everything it needs.",
    "sessions": "Every interview checked has what its invitation needs.",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def to_plain(lines: list[Line]) -> str:
    return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)


def to_ansi(lines: list[Line], width: int) -> str:
    import io

    from rich.console import Console
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, highlight=False)
    for line in lines:
        console.print(Text.assemble(*line), soft_wrap=False)
    return buffer.getvalue()


def render(report: Report, options: RenderOptions) -> str:
    lines = layout(report, options.verbose)
    return to_ansi(lines, options.width) if options.color else to_plain(lines)


def render_banner(title: str, command: str, options: RenderOptions) -> str:
    """A heading between the reports of `mailcheck demo`: the part's title and its command."""
    lines: list[Line] = [[("━━ " + inert(title) + " ", "bold magenta")]]
    if command:
        lines.append([("$ " + inert(command), "dim")])
    lines.append([])
    return to_ansi(lines, options.width) if options.color else to_plain(lines)


def render_lines(texts: list[tuple[str, str]], options: RenderOptions) -> str:
    """Lines of (text, style), plain or in colour."""
    lines: list[Line] = [[(inert(text), style)] for text, style in texts]
    return to_ansi(lines, options.width) if options.color else to_plain(lines)
