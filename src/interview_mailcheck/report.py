"""What a command produces: a record of every check that ran, and sections of detail.

Modelled on check-jsonschema's result object. A `Report` holds one `CheckRun` per check that
ran (its name, findings, duration) or was skipped (and why); its findings are theirs, in order.
A composite command (`doctor`) holds the reports of the commands it ran as `parts`, each named
for its section. Renderers (text, json, github, junit) take only the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
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


class CheckRun:
    """One check that ran (or was skipped): what it found, and how long it took.

    A plain class rather than a dataclass (as Report, and Rule in findings.py): every command
    builds these, and `import dataclasses` with the class set-up costs start-up time."""

    __slots__ = ("duration_ms", "findings", "name", "skipped")

    def __init__(
        self,
        name: str,
        findings: list[Finding] | None = None,
        skipped: str = "",
        duration_ms: float = 0.0,
    ) -> None:
        self.name = name
        self.findings: list[Finding] = [] if findings is None else findings
        self.skipped = skipped
        """Why the check did not run; '' when it ran."""
        self.duration_ms = duration_ms

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.findings, self.skipped, self.duration_ms)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, CheckRun) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        name, findings, skipped, duration_ms = self._key()
        return f"CheckRun({name=!r}, {findings=!r}, {skipped=!r}, {duration_ms=!r})"


class Recorder:
    """Runs checks one after another and records each (check-jsonschema's result object)."""

    def __init__(self) -> None:
        self.runs: list[CheckRun] = []

    def run(self, name: str, check: Callable[[], Iterable[Finding]]) -> list[Finding]:
        """Run `check`, record it under `name` with its duration; its findings."""
        started = time.perf_counter()
        findings = list(check())
        self.add(name, findings, (time.perf_counter() - started) * 1000)
        return findings

    def add(self, name: str, findings: list[Finding], duration_ms: float = 0.0) -> CheckRun:
        run = CheckRun(name, findings, duration_ms=round(duration_ms, 1))
        self.runs.append(run)
        return run

    def skip(self, name: str, reason: str) -> None:
        self.runs.append(CheckRun(name, skipped=reason))

    @property
    def findings(self) -> list[Finding]:
        return [finding for run in self.runs for finding in run.findings]


class Report:
    """What one command found: its check runs, its sections of detail, and its parts."""

    def __init__(
        self,
        command: str,
        runs: list[CheckRun] | None = None,
        headline: str = "",
        sections: list[Section] | None = None,
        strict: bool = False,
        verdict: str = "",
        counters: dict[str, int] | None = None,
        parts: list[Report] | None = None,
        name: str = "",
        skipped: str = "",
        duration_ms: float = 0.0,
        unlisted: dict[Level, int] | None = None,
    ) -> None:
        self.command = command
        self.runs: list[CheckRun] = [] if runs is None else runs
        self.strict = strict
        """Under --strict a warning fails the run too."""
        self.counters: dict[str, int] = {} if counters is None else counters
        """Extra summary counts, e.g. `checked` (interviews examined)."""
        self.parts: list[Report] = [] if parts is None else parts
        """The reports a composite command ran (doctor's sections), in order."""
        self.name = name or command
        """The part's name in a composite report ('send-test'); the command's by default."""
        self.skipped = skipped
        """Why a part did not run at all."""
        self.duration_ms = duration_ms
        self.unlisted: dict[Level, int] = {} if unlisted is None else unlisted
        """Findings counted but left out of `runs`, by level (`sessions --max-listed`): in the
        summary's counts, never in the listed findings."""
        # The findings were masked as they were made (Rule.finding); the headline, the verdict
        # and the sections' rows are masked here, as they enter the report.
        secrets = current_secrets()
        sections = [] if sections is None else sections
        if secrets:
            headline = secrets.mask(headline)
            verdict = secrets.mask(verdict)
            sections = [
                section._replace(rows=secrets.mask_any(section.rows)) for section in sections
            ]
        self.headline = headline
        self.verdict = verdict
        """The last line's words when the run is ok; the renderer has a default per command."""
        self.sections: list[Section] = sections

    def __repr__(self) -> str:
        return f"Report(command={self.command!r}, name={self.name!r}, status={self.status!r})"

    @property
    def findings(self) -> list[Finding]:
        """The findings of every check, then of every part (each marked with its section)."""
        return list(self.iter_findings())

    def iter_findings(self) -> Iterator[Finding]:
        for run in self.runs:
            yield from run.findings
        for part in self.parts:
            for finding in part.iter_findings():
                yield finding._replace(context={"section": part.name, **finding.context})

    def all_unlisted(self) -> dict[Level, int]:
        """The findings left out of the list, by level, this report's and its parts'."""
        counts = dict(self.unlisted)
        for part in self.parts:
            for level, count in part.all_unlisted().items():
                counts[level] = counts.get(level, 0) + count
        return counts

    def level_counts(self) -> dict[Level, int]:
        """How many findings of each level, listed or not (`unlisted`)."""
        counts = {Level.ERROR: 0, Level.WARNING: 0, Level.INFO: 0}
        for finding in self.iter_findings():
            counts[finding.level] += 1
        for level, count in self.all_unlisted().items():
            counts[level] += count
        return counts

    def count(self, level: Level) -> int:
        """Every finding of `level`, listed or not."""
        return self.level_counts()[level]

    def summary(self) -> dict[str, int]:
        counts = self.level_counts()
        return {
            "errors": counts[Level.ERROR],
            "warnings": counts[Level.WARNING],
            "infos": counts[Level.INFO],
            **self.counters,
        }

    @property
    def status(self) -> str:
        """ok, warning, failed or skipped (a part that did not run)."""
        if self.skipped:
            return "skipped"
        levels = {finding.level for finding in self.iter_findings()}
        return "failed" if Level.ERROR in levels else "warning" if Level.WARNING in levels else "ok"

    @property
    def fail_level(self) -> Level:
        return Level.WARNING if self.strict else Level.ERROR

    @property
    def ok(self) -> bool:
        return not any(finding.level >= self.fail_level for finding in self.iter_findings())

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FINDINGS


def one_run(name: str, findings: list[Finding]) -> list[CheckRun]:
    """The runs of a command whose checks are one whole."""
    return [CheckRun(name, findings)]
