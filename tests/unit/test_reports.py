"""Report renderers: JSON on disk, Markdown, CSV and JUnit, all from the one report dict."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest

from runner.errors import UsageError
from runner.model import (
    Aborted,
    AbortReason,
    Attempt,
    AttemptError,
    Outcome,
    RunRecord,
    Settings,
    Target,
    TargetResult,
)
from runner.reports import (
    ReportFormat,
    load_report,
    parse_formats,
    render,
    report_stem,
    write_report_files,
)
from runner.reports.csv_report import COLUMNS
from runner.reports.json_report import write_atomic

SCHEMA_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "report.schema.json"
T0 = 1_796_313_600.0  # 2026-12-03T16:00:00Z
FED_A = "5d1113b25a115342acc2d1aa"
FED_B = "6e2224c36b226453bdd3e2bb"
AWKWARD = 'pipe | comma, "quote"\nnewline ünïcødé 🔑 *em* `tick` <b> back\\'


def idp(n: int) -> str:
    return f"32b6e34b3d91647abb{n:06x}"


def make_record(*, aborted: Aborted | None = None, dry_run: bool = False) -> RunRecord:
    results = (
        TargetResult(
            Target(FED_A, idp(1), "okta-prod"),
            Outcome.REVOKED,
            204,
            history=(Attempt(T0, 204, ms=41.2),),
            started_at=T0,
            finished_at=T0 + 0.0417,
        ),
        TargetResult(
            Target(FED_A, idp(2), AWKWARD),
            Outcome.FAILED,
            403,
            "USER_UNAUTHORIZED",
            "Current user is not authorized to perform this action.",
            history=(
                Attempt(T0, 503, error_code="SERVICE_UNAVAILABLE", ms=3.0),
                Attempt(T0 + 1, 403, error_code="USER_UNAUTHORIZED", ms=5.5),
            ),
            started_at=T0,
            finished_at=T0 + 1.1,
        ),
        TargetResult(
            Target(FED_B, idp(3), "bell\x07 and esc\x1b[31m"),
            Outcome.FAILED,
            None,
            None,
            "no answer after 2 attempts",
            history=(
                Attempt(T0, error=AttemptError.TIMEOUT),
                Attempt(T0 + 31, error=AttemptError.CONNECTION),
            ),
            started_at=T0,
            finished_at=T0 + 35,
        ),
        TargetResult(Target(FED_B, idp(4), "resumed"), Outcome.SKIPPED),
        TargetResult(Target(FED_B, idp(5)), Outcome.NOT_ATTEMPTED),
        TargetResult(Target(FED_B, idp(6), display_name="Discovered IdP"), Outcome.WOULD_REVOKE),
    )
    return RunRecord(
        plan_path="plans/incident 42.yaml",
        plan_sha256="ab" * 32,
        base_url="https://cloud.mongodb.com",
        dry_run=dry_run,
        settings=Settings(),
        effective_rate=2.0,
        started_at=T0,
        finished_at=T0 + 36.25,
        results=results,
        aborted=aborted,
        tool_version="0.1.0",
    )


@pytest.fixture
def report(tmp_path: Path) -> dict[str, Any]:
    """The report as the ``report`` command sees it: written to disk and loaded back."""
    path = tmp_path / "r.json"
    write_report_files(make_record().to_report(), path)
    return load_report(path)


def schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


# --- formats and dispatch


def test_every_format_renders_and_has_its_own_suffix(report: dict[str, Any]) -> None:
    suffixes = {f: f.suffix for f in ReportFormat}
    assert suffixes == {
        ReportFormat.MD: ".md",
        ReportFormat.CSV: ".csv",
        ReportFormat.JUNIT: ".xml",
    }
    for fmt in ReportFormat:
        text = render(report, fmt)
        assert text.endswith("\n") and FED_A in text


def test_parse_formats() -> None:
    assert parse_formats("md,csv") == [ReportFormat.MD, ReportFormat.CSV]
    assert parse_formats(" JUNIT , md,junit") == [ReportFormat.JUNIT, ReportFormat.MD]
    assert parse_formats(["csv", "md,csv"]) == [ReportFormat.CSV, ReportFormat.MD]
    with pytest.raises(
        UsageError, match=r"unknown report format 'xml'; choose from md, csv, junit"
    ):
        parse_formats("md,xml")
    with pytest.raises(UsageError, match="empty format name"):
        parse_formats("md,")


# --- JSON on disk


def test_files_written_validate_and_round_trip(tmp_path: Path) -> None:
    validator = schema_validator()
    for record in (
        make_record(),
        make_record(aborted=Aborted(AbortReason.UNAUTHORIZED, "401 with a fresh token")),
        make_record(dry_run=True),
    ):
        original = record.to_report()
        out = tmp_path / "run.json"
        written = write_report_files(original, out, parse_formats("md,csv,junit"))
        assert written == [out, tmp_path / "run.md", tmp_path / "run.csv", tmp_path / "run.xml"]
        loaded = load_report(out)
        assert loaded == original
        validator.validate(loaded)
        for fmt in ReportFormat:
            on_disk = (tmp_path / f"run{fmt.suffix}").read_bytes().decode("utf-8")
            assert on_disk == render(loaded, fmt)
    # Nothing temporary left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run.csv",
        "run.json",
        "run.md",
        "run.xml",
    ]


def test_report_stem() -> None:
    assert report_stem("out/run.json") == Path("out/run")
    assert report_stem("RUN.JSON") == Path("RUN")
    assert report_stem("run.report") == Path("run.report")


def test_failed_write_keeps_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "new content with a lone surrogate \ud800")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    write_atomic(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"r\.json: no such report file"),
        ("{not json", r"r\.json:1:2: not a JSON report"),
        ("[1, 2]", r"r\.json: not a revoke-runner report \(no schemaVersion\)"),
        ('{"schemaVersion": 2}', r"r\.json: report schemaVersion 2 is not supported"),
        ('{"schemaVersion": "1"}', r"r\.json: report schemaVersion \"1\" is not supported"),
    ],
)
def test_load_report_says_what_is_wrong_and_where(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_report(path)


def test_load_report_names_missing_keys(tmp_path: Path) -> None:
    report = make_record().to_report()
    del report["summary"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    with pytest.raises(UsageError, match=r"r\.json: incomplete report: missing summary"):
        load_report(path)
    report = make_record().to_report()
    del report["targets"][2]["outcome"]
    path.write_text(json.dumps(report), encoding="utf-8")
    with pytest.raises(UsageError, match=r"r\.json: targets\[2\] is missing outcome"):
        load_report(path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(UsageError, match=r"r\.json: not a JSON report \(not UTF-8"):
        load_report(path)


# --- CSV


def test_csv_rows_are_exactly_the_reports_targets(report: dict[str, Any]) -> None:
    rows = list(csv.reader(io.StringIO(render(report, ReportFormat.CSV), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + len(report["targets"])
    for row, entry in zip(rows[1:], report["targets"], strict=True):
        cells = dict(zip(COLUMNS, row, strict=True))
        assert json.loads(cells.pop("history")) == entry["history"]
        expected = {k: "" if entry[k] is None else str(entry[k]) for k in cells}
        assert cells == expected
    # The awkward label survives unchanged, newline, quotes and all.
    assert rows[2][2] == AWKWARD


# --- JUnit

# Attributes the Ant/Jenkins JUnit schemas allow on each element this renderer writes.
ALLOWED_ATTRS = {
    "testsuite": {"name", "tests", "failures", "errors", "skipped", "time", "timestamp"},
    "properties": set(),
    "property": {"name", "value"},
    "testcase": {"classname", "name", "time"},
    "failure": {"message", "type"},
    "skipped": {"message"},
}


def test_junit_counts_match_the_summary(report: dict[str, Any]) -> None:
    xml = render(report, ReportFormat.JUNIT)
    suites = list(junitparser.JUnitXml.fromstring(xml))
    assert len(suites) == 1
    suite = suites[0]
    summary = report["summary"]
    assert suite.name == "revoke-runner"
    assert suite.tests == summary["total"]
    assert suite.failures == summary["failed"]
    assert suite.errors == 0
    assert suite.skipped == summary["skipped"] + summary["notAttempted"]
    assert suite.time == pytest.approx(report["durationSeconds"])
    cases = list(suite)
    assert len(cases) == summary["total"]
    # junitparser recounting from the cases agrees with the attributes written.
    suite.update_statistics()
    assert (suite.tests, suite.failures, suite.skipped) == (
        summary["total"],
        summary["failed"],
        summary["skipped"] + summary["notAttempted"],
    )

    for case, entry in zip(cases, report["targets"], strict=True):
        assert case.classname == entry["federationSettingsId"]
        assert case.name.startswith(entry["identityProviderId"])
        outcome = entry["outcome"]
        assert case.is_failure == (outcome == "failed")
        assert case.is_skipped == (outcome in ("skipped", "not_attempted"))
        assert case.is_passed == (outcome in ("revoked", "would_revoke"))
        assert case.time == pytest.approx((entry["durationMs"] or 0) / 1000, abs=0.001)

    failure = cases[1].result[0]
    assert failure.type == "HTTP 403"
    assert failure.message.startswith("HTTP 403 USER_UNAUTHORIZED: Current user")
    assert "attempts: 2" in failure.text and "USER_UNAUTHORIZED" in failure.text
    assert cases[1].name == f"{idp(2)} ({AWKWARD})".replace("\n", "\\n")
    timeout = cases[2].result[0]
    assert timeout.type == "connection"
    assert "attempts: 2" in timeout.text
    assert cases[5].name == f"{idp(6)} (Discovered IdP)"


def test_junit_structure_fits_ci_readers(report: dict[str, Any]) -> None:
    xml = render(report, ReportFormat.JUNIT)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuite"
    # Ant's timestamp: seconds, no zone.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", root.attrib["timestamp"])
    children = [c.tag for c in root]
    assert children[0] == "properties" and set(children[1:]) == {"testcase"}
    for el in root.iter():
        assert el.tag in ALLOWED_ATTRS, el.tag
        assert set(el.attrib) <= ALLOWED_ATTRS[el.tag], (el.tag, el.attrib)
    for attr in ("tests", "failures", "errors", "skipped"):
        assert root.attrib[attr].isdigit()
    props = {p.attrib["name"]: p.attrib["value"] for p in root.iter("property")}
    assert props["plan.sha256"] == "ab" * 32 and props["exitCode"] == "1"
    # Control characters that XML 1.0 cannot carry are spelled out rather than breaking parsing.
    assert "bell\\x07 and esc\\x1b[31m" in root[3].attrib["name"]


def test_junit_dry_run_passes() -> None:
    record = make_record(dry_run=True)
    report = record.to_report()
    report["targets"] = [t for t in report["targets"] if t["outcome"] == "would_revoke"]
    report["summary"] = {**report["summary"], "total": 1, "revoked": 0, "failed": 0}
    report["summary"].update(skipped=0, notAttempted=0)
    [suite] = list(junitparser.JUnitXml.fromstring(render(report, ReportFormat.JUNIT)))
    assert (suite.tests, suite.failures, suite.skipped) == (1, 0, 0)
    assert all(c.is_passed for c in suite)


# --- Markdown


def md_tables(text: str) -> dict[str, list[list[str]]]:
    """Heading -> rows of the table under it (header and separator rows dropped)."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("# ")
            tables[heading] = []
        elif line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            tables[heading].append(cells)
    return {h: rows[2:] for h, rows in tables.items()}


def md_facts(text: str) -> dict[str, str]:
    """The key/value table under the title."""
    first = next(iter(md_tables(text).values()))
    return {row[0].strip("*"): row[1] for row in first}


def md_unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.replace("<br>", "\n"))


def test_markdown_failures_first_then_all(report: dict[str, Any]) -> None:
    text = render(report, ReportFormat.MD)
    assert text.startswith("# revoke-runner report: 1 revoked, 2 failed, 1 skipped")
    failed_at = text.index("## Failed targets (2)")
    all_at = text.index("## All targets (6)")
    assert failed_at < all_at
    tables = md_tables(text)

    failed = tables["Failed targets (2)"]
    failed_ids = [t["identityProviderId"] for t in report["targets"] if t["outcome"] == "failed"]
    assert [row[1].strip("`") for row in failed] == failed_ids
    assert all(len(row) == 7 for row in failed)
    assert failed[0][2:] == [
        failed[0][2],
        "403",
        "USER\\_UNAUTHORIZED",
        "Current user is not authorized to perform this action.",
        "2",
    ]
    assert md_unescape(failed[0][2]) == AWKWARD
    assert failed[1][3] == "connection"  # no status: the last attempt's error says why

    every = tables["All targets (6)"]
    assert [row[2].strip("`") for row in every] == [
        t["identityProviderId"] for t in report["targets"]
    ]
    assert all(len(row) == 9 for row in every)
    assert [row[4].strip("*") for row in every] == [
        "revoked",
        "failed",
        "failed",
        "skipped",
        "not attempted",
        "would revoke",
    ]
    assert every[5][3] == "Discovered IdP"
    # No table row was broken by a newline from a label.
    assert all(line.endswith("|") for line in text.splitlines() if line.startswith("|"))


def test_markdown_summary_facts(report: dict[str, Any]) -> None:
    facts = md_facts(render(report, ReportFormat.MD))
    assert facts["Outcome"].startswith("exit code 1")
    assert facts["Started"] == "2026-12-03T16:00:00.000Z"
    assert facts["Finished"] == "2026-12-03T16:00:36.250Z"
    assert facts["Duration"] == "36.25 s"
    assert facts["Base URL"] == "https://cloud.mongodb.com"
    assert facts["Dry run"] == "no"
    assert facts["Stopped early"] == "no"
    assert facts["Plan"] == f"plans/incident 42.yaml (sha256 `{'ab' * 6}`)"
    assert "rate 5/s (lowered to 2/s by the API)" in facts["Settings"]


def test_markdown_without_failures_and_aborted() -> None:
    record = make_record(aborted=Aborted(AbortReason.INTERRUPTED, "SIGTERM | second"))
    report = record.to_report()
    report["targets"] = [t for t in report["targets"] if t["outcome"] != "failed"]
    text = render(report, ReportFormat.MD)
    assert "## Failed targets (0)\n\nNone.\n" in text
    facts = md_facts(text)
    assert facts["Stopped early"] == "interrupted: SIGTERM \\| second"
    assert facts["Outcome"] == "exit code 3: stopped early: interrupted by a signal"


@pytest.mark.parametrize("empty", [False, True])
def test_streamed_run_report_is_the_same_report_one_line_per_target(
    tmp_path: Path, empty: bool
) -> None:
    import dataclasses

    from runner.reports import write_run_reports

    record = make_record()
    if empty:
        record = dataclasses.replace(record, results=())
    paths = write_run_reports(record, tmp_path / "run.json", [ReportFormat.CSV])
    text = (tmp_path / "run.json").read_text()
    assert json.loads(text) == json.loads(json.dumps(record.to_report()))
    target_lines = [line for line in text.splitlines() if line.startswith("    {")]
    assert len(target_lines) == len(record.results)
    assert [p.name for p in paths] == ["run.json", "run.csv"]
