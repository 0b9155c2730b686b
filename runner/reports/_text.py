"""Cell and line helpers shared by the renderers: untrusted text made safe for each medium.

Labels come from the plan and details from whatever answered (Atlas, or a proxy's HTML page), so
any of them may hold newlines, control characters or markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

# XML 1.0 forbids most C0 controls even when escaped, so they are spelled out instead.
_XML_INVALID: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# GitHub-flavoured Markdown backslash-escapes any ASCII punctuation; these are the ones that
# change a table cell's meaning (|), its rendering (emphasis, code, links, HTML) or both.
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|~])")
_NEWLINES: Final = re.compile(r"\r\n|\r|\n")
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def short_sha(sha256: str | None) -> str:
    return (sha256 or "")[:12]


def xml_text(value: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def md_cell(value: Any) -> str:
    """One Markdown table cell: escaped, on one line, ``—`` for a missing value."""
    if value is None or value == "":
        return "—"
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    text = _NEWLINES.sub("<br>", text)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(value: str) -> str:
    """Text for a terminal or log line: no line breaks, no escape sequences."""

    def spell(m: re.Match[str]) -> str:
        ch = m.group()
        if ch == "\n":
            return "\\n"
        if ch == "\t":
            return " "
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"

    return _CONTROL.sub(spell, _NEWLINES.sub("\n", value))


def target_name(entry: Mapping[str, Any]) -> str:
    """The label, else the IdP's display name (discovered IdPs), else empty."""
    label = entry.get("label")
    if label:
        return str(label)
    name = entry.get("displayName")
    return str(name) if name else ""


def exit_meaning(report: Mapping[str, Any]) -> str:
    """What the report's exit code tells an operator, in a few words."""
    code = report.get("exitCode")
    aborted = report.get("aborted")
    if code == 0:
        return "every target revoked, skipped or would be revoked"
    if code == 1:
        return "at least one target failed or was not attempted"
    if code == 2:
        return "nothing was sent"
    if code == 3:
        if isinstance(aborted, Mapping):
            reason = ABORT_REASONS.get(str(aborted.get("reason")), str(aborted.get("reason")))
            return f"stopped early: {reason}"
        return "stopped early"
    return f"unknown exit code {code}"


ABORT_REASONS: Final[Mapping[str, str]] = {
    "interrupted": "interrupted by a signal",
    "unauthorized": "credentials refused (401)",
    "api_version": "API version refused",
}

OUTCOME_WORDS: Final[Mapping[str, str]] = {
    "revoked": "revoked",
    "failed": "failed",
    "skipped": "skipped",
    "not_attempted": "not attempted",
    "would_revoke": "would revoke",
}

# Report summary keys in display order, with their words.
SUMMARY_ROWS: Final = (
    ("revoked", "revoked"),
    ("failed", "failed"),
    ("skipped", "skipped"),
    ("notAttempted", "not attempted"),
    ("wouldRevoke", "would revoke"),
)
