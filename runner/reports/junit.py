"""JUnit XML: one test case per target, so CI shows a failed revocation like a failed test.

Shaped after Ant's JUnit output, which Jenkins, GitLab and GitHub reporters all read: a single
``<testsuite>`` root, ``classname`` = federation, ``timestamp`` without a zone (UTC here).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from ._text import one_line, target_name, xml_text


def _seconds(ms: Any) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _attr(value: Any) -> str:
    return xml_text(one_line("" if value is None else str(value)))


def _status(entry: Mapping[str, Any]) -> str:
    status = entry.get("httpStatus")
    if status is not None:
        return f"HTTP {status}"
    history = entry.get("history") or []
    last = history[-1] if history and isinstance(history[-1], Mapping) else {}
    return str(last.get("error") or "no answer")


def _failure(entry: Mapping[str, Any]) -> ET.Element:
    status = _status(entry)
    message = status
    if entry.get("errorCode"):
        message += f" {entry['errorCode']}"
    if entry.get("detail"):
        message += f": {entry['detail']}"
    el = ET.Element("failure", message=_attr(message), type=_attr(status))
    body = [f"status: {status}"]
    body += [f"{k}: {entry[k]}" for k in ("errorCode", "detail") if entry.get(k) is not None]
    body.append(f"attempts: {entry.get('attempts')}")
    body += [
        "history: " + json.dumps(h, separators=(",", ":"), ensure_ascii=False)
        for h in entry.get("history") or []
    ]
    el.text = xml_text("\n".join(body))
    return el


def _skip_message(entry: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    if entry.get("outcome") == "skipped":
        return "skipped: already revoked according to the resumed journal"
    aborted = report.get("aborted")
    if isinstance(aborted, Mapping) and aborted.get("reason"):
        return f"not attempted: the run stopped early ({aborted['reason']})"
    return "not attempted"


def render(report: Mapping[str, Any]) -> str:
    summary: Mapping[str, Any] = report["summary"]
    targets: list[Mapping[str, Any]] = list(report["targets"])
    started = str(report.get("startedAt") or "")
    suite = ET.Element(
        "testsuite",
        name="revoke-runner",
        tests=str(len(targets)),
        failures=str(summary.get("failed", 0)),
        errors="0",
        skipped=str(summary.get("skipped", 0) + summary.get("notAttempted", 0)),
        time=f"{float(report.get('durationSeconds') or 0):.3f}",
        # Ant's format: seconds precision, no zone; the report's times are UTC.
        timestamp=started[:19],
    )
    props = ET.SubElement(suite, "properties")
    plan = report.get("plan") or {}
    aborted = report.get("aborted") or {}
    tool = report.get("tool") or {}
    for name, value in (
        ("baseUrl", report.get("baseUrl")),
        ("dryRun", json.dumps(bool(report.get("dryRun")))),
        ("plan.path", plan.get("path")),
        ("plan.sha256", plan.get("sha256")),
        ("startedAt", report.get("startedAt")),
        ("finishedAt", report.get("finishedAt")),
        ("exitCode", report.get("exitCode")),
        ("aborted.reason", aborted.get("reason")),
        ("aborted.detail", aborted.get("detail")),
        ("tool.version", tool.get("version")),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=_attr(value))

    for entry in targets:
        label = target_name(entry)
        name = str(entry.get("identityProviderId"))
        if label:
            name += f" ({label})"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_attr(entry.get("federationSettingsId")),
            name=_attr(name),
            time=_seconds(entry.get("durationMs")),
        )
        outcome = entry.get("outcome")
        if outcome == "failed":
            case.append(_failure(entry))
        elif outcome in ("skipped", "not_attempted"):
            ET.SubElement(case, "skipped", message=_attr(_skip_message(entry, report)))
        # revoked and would_revoke pass: a dry run that would revoke everything is a green run.

    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, "unicode") + "\n"
