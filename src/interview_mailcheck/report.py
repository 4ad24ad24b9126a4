"""What a command produces: its findings plus any named sections of detail. Renderers show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from interview_mailcheck.exitcodes import ExitCode
from interview_mailcheck.findings import Finding, Level
from interview_mailcheck.secrets import current as current_secrets

SCHEMA_VERSION = 1


class Section(NamedTuple):
    """Detail rows about the run (settings read, steps walked).

    In JSON under `key`; in text under the heading `title`.
    """

    key: str
    title: str
    rows: list[dict[str, Any]]
    always_shown: bool = False
    """Shown in text output without -v."""


@dataclass(eq=False)
class Report:
    command: str
    findings: list[Finding]
    headline: str = ""
    sections: list[Section] = field(default_factory=list)
    strict: bool = False
    """Under --strict a warning fails the run too."""
    verdict: str = ""
    """The last line's words when the run is ok; the renderer has a default per command."""
    counters: dict[str, int] = field(default_factory=dict)
    """Extra summary counts, e.g. `checked` (interviews examined)."""

    def __post_init__(self) -> None:
        # The findings were masked as they were made (Rule.finding); the headline and the
        # sections' rows are masked here, as they enter the report.
        secrets = current_secrets()
        if secrets:
            self.headline = secrets.mask(self.headline)
            self.verdict = secrets.mask(self.verdict)
            self.sections = [
                section._replace(rows=secrets.mask_any(section.rows)) for section in self.sections
            ]

    def count(self, level: Level) -> int:
        return sum(1 for finding in self.findings if finding.level == level)

    def summary(self) -> dict[str, int]:
        return {
            "errors": self.count(Level.ERROR),
            "warnings": self.count(Level.WARNING),
            "infos": self.count(Level.INFO),
            **self.counters,
        }

    @property
    def fail_level(self) -> Level:
        return Level.WARNING if self.strict else Level.ERROR

    @property
    def ok(self) -> bool:
        return not any(finding.level >= self.fail_level for finding in self.findings)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FINDINGS
