"""One JSON document per run (schema documented in the README)."""

from __future__ import annotations

import json
from typing import Any

from interview_mailcheck.findings import Finding
from interview_mailcheck.render import RenderOptions
from interview_mailcheck.report import SCHEMA_VERSION, Report


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "level": finding.level.label,
        "message": finding.message,
        "hint": finding.hint,
        "subject": finding.subject,
        "evidence": dict(finding.evidence),
        **finding.context,
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "command": report.command,
        "ok": report.ok,
        "strict": report.strict,
        "summary": report.summary(),
        "findings": [finding_to_dict(finding) for finding in report.findings],
    }
    for section in report.sections:
        document[section.key] = section.rows
    return document


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"
