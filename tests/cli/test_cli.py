"""The command line as users and cron jobs meet it: every exit code, messages, help.

`main(argv, env=..., stdin=..., stdout=..., stderr=...)` runs in this process against the
simulator served from a thread; nothing is patched."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner import __version__
from runner.cli import main
from runner.simulator import Simulator
from runner.simulator.data import ACME_FED, INITECH_FED, bulk_idp_ids

BULK_FED = "9b5557f69e559786e0a6b5ee"


class Outputs:
    def __init__(self) -> None:
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()

    @property
    def out(self) -> str:
        return self.stdout.getvalue()

    @property
    def err(self) -> str:
        return self.stderr.getvalue()


def cli(argv: list[str], env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, Outputs]:
    o = Outputs()
    code = main(argv, env=env or {}, stdin=io.StringIO(stdin), stdout=o.stdout, stderr=o.stderr)
    return code, o


def plan(tmp_path: Path, body: str) -> str:
    p = tmp_path / "plan.yaml"
    p.write_text(body)
    return str(p)


def bulk_plan(tmp_path: Path, n: int) -> str:
    ids = "".join(f"      - {i}\n" for i in bulk_idp_ids(n))
    return plan(
        tmp_path,
        f"version: 1\ntargets:\n  - federationSettingsId: {BULK_FED}\n"
        f"    identityProviderIds:\n{ids}",
    )


def test_version(capsys: Any) -> None:
    code, _ = cli(["--version"])  # argparse prints it on the process's stdout
    assert code == 0 and __version__ in capsys.readouterr().out


@pytest.mark.parametrize("command", ["validate", "run", "report"])
def test_every_command_has_help_with_examples(command: str, capsys: Any) -> None:
    code, _ = cli([command, "--help"])
    assert code == 0
    text = capsys.readouterr().out
    assert "example" in text and f"revoke-runner {command}" in text


def test_unknown_option_is_a_one_line_usage_error() -> None:
    code, o = cli(["run", "p.yaml", "--concurency", "3"])
    assert code == 2
    assert "--concurency" in o.err and "--help" in o.err and len(o.err.splitlines()) == 1


def test_validate_prints_a_summary(tmp_path: Path) -> None:
    code, o = cli(["validate", bulk_plan(tmp_path, 3)])
    assert code == 0 and "valid" in o.out and "3" in o.out


def test_validate_reports_every_problem_with_file_and_line(tmp_path: Path) -> None:
    path = plan(
        tmp_path,
        "version: 1\ntargets:\n"
        "  - federationSettingsId: XYZ\n    identityProviderId: 32b6e34b3d91647abb20e7b8\n"
        "  - federationSettingsId: 5d1113b25a115342acc2d1aa\n    identityProviderID: abc\n",
    )
    code, o = cli(["validate", path])
    assert code == 2
    assert f"{path}:3:" in o.err and f"{path}:6:" in o.err


def test_invalid_plan_sends_nothing(tmp_path: Path, sim_thread: Simulator) -> None:
    path = plan(tmp_path, "version: 2\ntargets: []\n")
    code, o = cli(["run", path, "--yes"], env=sim_thread.env())
    assert code == 2 and "nothing was sent" in o.err
    assert sim_thread.requests() == []


def test_missing_credentials_exit_2_naming_the_variables(
    tmp_path: Path, sim_thread: Simulator
) -> None:
    code, o = cli(
        ["run", bulk_plan(tmp_path, 2), "--yes"], env={"MONGODB_ATLAS_BASE_URL": sim_thread.url}
    )
    assert code == 2
    assert "MONGODB_ATLAS_CLIENT_ID" in o.err and "MONGODB_ATLAS_PUBLIC_API_KEY" in o.err
    assert sim_thread.requests() == []


def test_half_a_credential_pair_is_refused(tmp_path: Path, sim_thread: Simulator) -> None:
    env = {"MONGODB_ATLAS_BASE_URL": sim_thread.url, "MONGODB_ATLAS_CLIENT_ID": "x"}
    code, o = cli(["run", bulk_plan(tmp_path, 2), "--yes"], env=env)
    assert code == 2 and "MONGODB_ATLAS_CLIENT_SECRET" in o.err
    assert sim_thread.requests() == []


def test_no_terminal_and_no_yes_refuses_and_sends_nothing(
    tmp_path: Path, sim_thread: Simulator
) -> None:
    code, o = cli(["run", bulk_plan(tmp_path, 2)], env=sim_thread.env())
    assert code == 2 and "--yes" in o.err
    assert sim_thread.requests() == []


def test_exit_0_when_every_target_is_revoked(
    tmp_path: Path, sim_thread: Simulator, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    report = tmp_path / "r.json"
    code, o = cli(
        ["run", bulk_plan(tmp_path, 5), "--yes", "--rate", "0", "--report", str(report)],
        env=sim_thread.env(),
    )
    assert code == 0, o.err
    data = json.loads(report.read_text())
    validate_report(data)
    assert data["exitCode"] == 0 and data["summary"]["revoked"] == 5
    assert "5 revoked" in o.err


def test_exit_1_when_a_target_fails_and_the_run_finishes(
    tmp_path: Path, sim_thread: Simulator, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    path = plan(
        tmp_path,
        "version: 1\ntargets:\n"
        f"  - federationSettingsId: {INITECH_FED}\n    identityProviderId: {'7' * 24}\n"
        f"  - federationSettingsId: {ACME_FED}\n    identityProviderId: 32b6e34b3d91647abb20e7b8\n",
    )
    report = tmp_path / "r.json"
    code, o = cli(["run", path, "--yes", "--report", str(report)], env=sim_thread.env())
    assert code == 1
    data = json.loads(report.read_text())
    validate_report(data)
    assert [t["outcome"] for t in data["targets"]] == ["failed", "revoked"]
    assert data["targets"][0]["httpStatus"] == 403
    assert "403" in o.err


def test_exit_3_when_the_api_version_is_refused(
    tmp_path: Path, sim_thread: Simulator, validate_report: Callable[[dict[str, Any]], None]
) -> None:
    report = tmp_path / "r.json"
    argv = ["run", bulk_plan(tmp_path, 4), "--yes", "--concurrency", "1", "--rate", "0"]
    code, _ = cli(
        [*argv, "--api-version", "2001-01-01", "--report", str(report)], env=sim_thread.env()
    )
    assert code == 3
    data = json.loads(report.read_text())
    validate_report(data)
    assert data["aborted"]["reason"] == "api_version" and data["summary"]["notAttempted"] == 3


def test_plan_settings_apply_and_the_command_line_wins(
    tmp_path: Path, sim_thread: Simulator
) -> None:
    ids = "".join(f"      - {i}\n" for i in bulk_idp_ids(2))
    path = plan(
        tmp_path,
        "version: 1\nsettings:\n  concurrency: 3\n  rate: 7\n  maxAttempts: 2\n"
        f"targets:\n  - federationSettingsId: {BULK_FED}\n    identityProviderIds:\n{ids}",
    )
    report = tmp_path / "r.json"
    code, _ = cli(
        ["run", path, "--yes", "--rate", "0", "--timeout", "9", "--report", str(report)],
        env=sim_thread.env(),
    )
    assert code == 0
    settings = json.loads(report.read_text())["settings"]
    assert settings == {
        "concurrency": 3, "rate": 0, "effectiveRate": 0, "maxAttempts": 2, "timeout": 9,
        "apiVersion": "2023-11-15",
    }  # fmt: skip


def test_formats_are_written_beside_the_report_and_report_renders_them(
    tmp_path: Path, sim_thread: Simulator
) -> None:
    report = tmp_path / "out.json"
    code, _ = cli(
        ["run", bulk_plan(tmp_path, 2), "--yes", "--report", str(report), "--format", "md,csv"],
        env=sim_thread.env(),
    )
    assert code == 0
    assert (tmp_path / "out.md").is_file() and (tmp_path / "out.csv").is_file()
    code, o = cli(["report", str(report), "--format", "md"])
    assert code == 0 and o.out == (tmp_path / "out.md").read_text()


def test_unknown_format_is_refused_before_anything_is_sent(
    tmp_path: Path, sim_thread: Simulator
) -> None:
    code, o = cli(["run", bulk_plan(tmp_path, 2), "--yes", "--format", "pdf"], env=sim_thread.env())
    assert code == 2 and "pdf" in o.err
    assert sim_thread.requests() == []


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path, sim_thread: Simulator) -> None:
    env = {**sim_thread.env(), "MONGODB_ATLAS_BASE_URL": "http://example.com"}
    code, o = cli(["run", bulk_plan(tmp_path, 2), "--yes"], env=env)
    assert code == 2 and "https://" in o.err
    assert sim_thread.requests() == []


def test_default_report_name_is_stamped_in_the_current_folder(
    tmp_path: Path, sim_thread: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _ = cli(["run", bulk_plan(tmp_path, 1), "--yes"], env=sim_thread.env())
    assert code == 0
    reports = list(tmp_path.glob("revoke-report-*.json"))
    assert len(reports) == 1
    assert reports[0].name[len("revoke-report-") :].endswith("Z.json")
    assert list(tmp_path.glob("revoke-report-*.journal.jsonl"))


def test_a_report_that_could_not_be_written_is_refused_before_anything_is_sent(
    tmp_path: Path, sim_thread: Simulator
) -> None:
    report = tmp_path / "missing-folder" / "r.json"
    code, o = cli(
        ["run", bulk_plan(tmp_path, 2), "--yes", "--report", str(report)], env=sim_thread.env()
    )
    assert code == 2 and "does not exist" in o.err
    assert sim_thread.requests() == []
