"""One JSON document per run (schema documented in the README).

json.dumps escapes the C0 control characters; DEL and the C1 controls (which some terminals
obey as CSI and friends) are escaped here too, so `--json` on a terminal is inert as well.
"""

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


_C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def dumps(document: Any) -> str:
    """The document as JSON text with every control character escaped."""
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    return text.translate(_C1_ESCAPES) + "\n"


def render(report: Report, options: RenderOptions) -> str:
    return dumps(report_to_dict(report))
