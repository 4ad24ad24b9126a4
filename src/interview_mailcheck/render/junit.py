"""JUnit XML for CI systems that read it: a test suite per part, a test case per check.

A composite report (doctor) gives a suite per section; any other command one suite, named for
it. Each recorded check is a test case. Errors are <failure>s (warnings too under --strict);
other findings go to the case's <system-out>; a check or section that did not run is
<skipped> with the reason. XML 1.0 cannot carry control characters, and a CI system shows
these texts on a web page or a terminal: they are written visibly escaped (inert.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from interview_mailcheck.findings import Finding
from interview_mailcheck.inert import escape_controls as inert
from interview_mailcheck.render import RenderOptions
from interview_mailcheck.report import CheckRun, Report


def _describe(finding: Finding) -> str:
    lines = [f"{finding.id} ({finding.level.label}) {finding.subject}: {finding.message}"]
    if finding.hint:
        lines.append(f"fix: {finding.hint}")
    lines += [f"{key}: {value}" for key, value in finding.evidence.items()]
    return inert("\n".join(lines), keep_newlines=True)


def _case(suite: ET.Element, classname: str, run: CheckRun, report: Report) -> dict[str, int]:
    element = ET.SubElement(
        suite, "testcase", classname=classname, name=inert(run.name), time=_seconds(run.duration_ms)
    )
    failing = [f for f in run.findings if f.level >= report.fail_level]
    others = [f for f in run.findings if f.level < report.fail_level]
    if run.skipped:
        ET.SubElement(element, "skipped", message=inert(run.skipped))
    elif failing:
        failure = ET.SubElement(
            element, "failure", type=failing[0].id, message=inert(failing[0].message)
        )
        failure.text = "\n\n".join(_describe(f) for f in failing)
    if others:
        ET.SubElement(element, "system-out").text = "\n\n".join(_describe(f) for f in others)
    failed = bool(failing) and not run.skipped
    return {"tests": 1, "failures": int(failed), "skipped": int(bool(run.skipped))}


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


def _suite(root: ET.Element, report: Report, part: Report) -> dict[str, int]:
    suite = ET.SubElement(root, "testsuite", name=part.name, time=_seconds(part.duration_ms))
    if part.skipped:
        runs = [CheckRun(part.name, skipped=part.skipped)]
    else:
        runs = part.runs or [CheckRun(part.name, skipped="nothing to check")]
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    for run in runs:
        for key, value in _case(suite, f"mailcheck.{part.name}", run, report).items():
            counts[key] += value
    for key, value in counts.items():
        suite.set(key, str(value))
    return counts


def render(report: Report, options: RenderOptions) -> str:
    root = ET.Element("testsuites", name=f"mailcheck {report.command}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for part in report.parts or [report]:
        for key, value in _suite(root, report, part).items():
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
