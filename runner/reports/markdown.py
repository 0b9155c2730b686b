"""Markdown made to paste into an incident ticket: what happened, then what failed, then all."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._text import OUTCOME_WORDS, SUMMARY_ROWS, exit_meaning, md_cell, short_sha, target_name


def _code(value: Any) -> str:
    # Ids are hex, so a code span needs no escaping and keeps them copyable; anything else (a
    # hand-edited report) goes through the ordinary escaping.
    text = "" if value is None else str(value)
    if text and re.fullmatch(r"[A-Za-z0-9._-]+", text):
        return f"`{text}`"
    return md_cell(text)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:g}"


def render(report: Mapping[str, Any]) -> str:
    summary: Mapping[str, Any] = report["summary"]
    plan: Mapping[str, Any] = report["plan"]
    settings: Mapping[str, Any] = report["settings"]
    targets: list[Mapping[str, Any]] = list(report["targets"])
    aborted = report.get("aborted")
    dry = bool(report.get("dryRun"))

    counts = ", ".join(
        f"{summary.get(key, 0)} {word}" for key, word in SUMMARY_ROWS if summary.get(key)
    )
    title = "revoke-runner dry run" if dry else "revoke-runner report"
    lines = [f"# {title}: {counts or 'no targets'}", ""]

    rate = f"{settings.get('rate')}/s"
    if settings.get("effectiveRate") != settings.get("rate"):
        rate += f" (lowered to {settings.get('effectiveRate')}/s by the API)"
    if aborted:
        stopped = f"{aborted.get('reason')}"
        if aborted.get("detail"):
            stopped += f": {aborted['detail']}"
    else:
        stopped = None
    facts: list[tuple[str, str]] = [
        ("Outcome", md_cell(f"exit code {report.get('exitCode')}: {exit_meaning(report)}")),
        (
            "Targets",
            md_cell(
                f"{summary.get('total', len(targets))} total: "
                + ", ".join(f"{summary.get(key, 0)} {word}" for key, word in SUMMARY_ROWS)
            ),
        ),
        ("Started", md_cell(report.get("startedAt"))),
        ("Finished", md_cell(report.get("finishedAt"))),
        ("Duration", md_cell(f"{report.get('durationSeconds')} s")),
        ("Base URL", md_cell(report.get("baseUrl"))),
        ("Dry run", "yes" if dry else "no"),
        ("Stopped early", md_cell(stopped) if stopped else "no"),
        (
            "Plan",
            f"{md_cell(plan.get('path'))} (sha256 {_code(short_sha(plan.get('sha256')))})",
        ),
        (
            "Settings",
            md_cell(
                f"concurrency {settings.get('concurrency')}, rate {rate}, "
                f"max attempts {settings.get('maxAttempts')}, timeout {settings.get('timeout')} s, "
                f"API version {settings.get('apiVersion')}"
            ),
        ),
    ]
    tool = report.get("tool")
    if isinstance(tool, Mapping):
        facts.append(("Tool", md_cell(f"{tool.get('name')} {tool.get('version')}")))
    lines += [_row(["", ""]), _row(["---", "---"])]
    lines += [_row([f"**{k}**", v]) for k, v in facts]

    failed = [t for t in targets if t.get("outcome") == "failed"]
    lines += ["", f"## Failed targets ({len(failed)})", ""]
    if failed:
        lines.append(
            _row(["Federation", "IdP", "Label", "HTTP status", "Error code", "Detail", "Attempts"])
        )
        lines.append(_row(["---"] * 5 + ["---", "---:"]))
        for t in failed:
            lines.append(
                _row(
                    [
                        _code(t.get("federationSettingsId")),
                        _code(t.get("identityProviderId")),
                        md_cell(target_name(t)),
                        md_cell(t.get("httpStatus") or _last_error(t)),
                        md_cell(t.get("errorCode")),
                        md_cell(t.get("detail")),
                        md_cell(t.get("attempts")),
                    ]
                )
            )
    else:
        lines.append("None.")

    lines += ["", f"## All targets ({len(targets)})", ""]
    lines.append(
        _row(
            [
                "#",
                "Federation",
                "IdP",
                "Label",
                "Outcome",
                "HTTP status",
                "Error code",
                "Attempts",
                "Duration (ms)",
            ]
        )
    )
    lines.append(_row(["---:", "---", "---", "---", "---", "---", "---", "---:", "---:"]))
    for i, t in enumerate(targets, 1):
        outcome = str(t.get("outcome"))
        word = OUTCOME_WORDS.get(outcome, outcome)
        lines.append(
            _row(
                [
                    str(i),
                    _code(t.get("federationSettingsId")),
                    _code(t.get("identityProviderId")),
                    md_cell(target_name(t)),
                    f"**{word}**" if outcome == "failed" else md_cell(word),
                    md_cell(t.get("httpStatus") or _last_error(t)),
                    md_cell(t.get("errorCode")),
                    md_cell(t.get("attempts")),
                    md_cell(_ms(t.get("durationMs"))),
                ]
            )
        )
    return "\n".join(lines) + "\n"


def _last_error(entry: Mapping[str, Any]) -> str | None:
    """A failed target without a status (timeouts, dropped connections): say why instead."""
    history = entry.get("history") or []
    if history and isinstance(history[-1], Mapping) and history[-1].get("error"):
        return str(history[-1]["error"])
    return None
