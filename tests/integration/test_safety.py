"""Operator safety, end to end: the real ``revoke-runner`` in a child process, real signals
(SIGKILL, SIGINT, SIGTERM), the simulator served from a thread of this process.

What is proven here (issue 3): a run killed at any point resumes to completion and never sends a
second DELETE for a target its journal recorded as revoked; an interrupted run exits 3 in time
with a complete report; overlapping runs and runs without a terminal refuse with exit 2 having
sent nothing; discovery finds exactly the OIDC IdPs, of both types, over every page, or stops
the run before any DELETE; a dry run sends no DELETE and names what ``all`` meant.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from runner.app import execute
from runner.config import RunRequest
from runner.events import NullObserver
from runner.journal import read_journal
from runner.plan import load_plan
from runner.simulator import (
    ACME_FED,
    BULK_FED,
    INITECH_FED,
    LARGE_FED,
    Simulator,
    SimulatorConfig,
    bulk_idp_ids,
    bulk_plan_yaml,
    running_simulator,
)

pytestmark = pytest.mark.timeout(60)

Validate = Callable[[dict[str, Any]], None]

# Each request takes this long on the server: runs last long enough to interrupt.
LATENCY_MS = 20


@pytest.fixture
def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=3, latency_ms=LATENCY_MS)


# ---- helpers ---------------------------------------------------------------------------------


def write_plan(tmp_path: Path, count: int, name: str = "plan.yaml") -> str:
    path = tmp_path / name
    path.write_text(bulk_plan_yaml(count, per_entry=25))
    return str(path)


def start(
    tmp_path: Path,
    plan: str,
    report: str,
    env: dict[str, str],
    *options: str,
    yes: bool = True,
) -> subprocess.Popen[bytes]:
    """``revoke-runner run PLAN --report REPORT [--yes] OPTIONS`` in a child process, no TTY.

    Output goes to files beside the report (a pipe nobody reads could fill and stall the child).
    """
    argv = [sys.executable, "-m", "runner", "run", plan, "--report", report, *options]
    if yes:
        argv.append("--yes")
    stem = report.removesuffix(".json")
    # The child gets its own copies of these descriptors: ours can close at once.
    with open(stem + ".out", "wb") as out, open(stem + ".err", "wb") as err:
        return subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=tmp_path
        )


def stderr_of(report: str) -> str:
    return Path(report.removesuffix(".json") + ".err").read_text()


def finish(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def run(tmp_path: Path, plan: str, report: str, env: dict[str, str], *options: str) -> int:
    return finish(start(tmp_path, plan, report, env, *options))


def journal_entries(path: str) -> list[dict[str, Any]]:
    """The complete target lines of a journal (headers and a torn tail left out)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")[:-1]  # the last piece has no newline: not (yet) a line
    return [obj for obj in map(json.loads, lines) if "journal" not in obj]


def header_count(path: str) -> int:
    return sum(1 for line in Path(path).read_bytes().splitlines() if line.startswith(b'{"journal"'))


def wait_for(
    what: str, cond: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def deletes_by_idp(sim: Simulator) -> Counter[str]:
    return Counter(r.idp for r in sim.requests("revoke", method="DELETE") if r.idp)


def load_report(path: str, validate: Validate) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(Path(path).read_text())
    validate(report)
    assert report["summary"]["total"] == len(report["targets"])
    counts = Counter(t["outcome"] for t in report["targets"])
    summary = report["summary"]
    assert counts["revoked"] == summary["revoked"] and counts["failed"] == summary["failed"]
    assert counts["skipped"] == summary["skipped"]
    assert counts["not_attempted"] == summary["notAttempted"]
    assert counts["would_revoke"] == summary["wouldRevoke"]
    return report


def assert_plan_order(report: dict[str, Any], idps: list[str]) -> None:
    """Every target of the plan exactly once, in plan order."""
    assert [t["identityProviderId"] for t in report["targets"]] == idps


@contextmanager
def other_simulator() -> Iterator[Simulator]:
    """A second simulator: a refused run pointed at it must leave its log empty."""
    with running_simulator(SimulatorConfig(seed=4)) as sim:
        yield sim


# ---- crash and resume ------------------------------------------------------------------------


def test_kill_9_at_several_points_then_resume_revokes_everything_once(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    count, concurrency = 90, 4
    idps = bulk_idp_ids(count)
    plan = write_plan(tmp_path, count)
    journal = str(tmp_path / "run.journal.jsonl")
    pace = ("--rate", "40", "--concurrency", str(concurrency), "--quiet")

    # (kill when the journal holds at least this many target lines, resume or first run)
    kill_points = [0, 12, 45]
    recorded: list[tuple[set[str], Counter[str]]] = []
    for n, kill_at in enumerate(kill_points):
        report = str(tmp_path / f"r{n}.json")
        resume = ("--journal", journal) if n == 0 else ("--resume", journal)
        proc = start(tmp_path, plan, report, atlas_env, *pace, *resume)

        def ready(
            headers: int = n + 1, lines: int = len(journal_entries(journal)) + kill_at
        ) -> bool:
            return (
                os.path.exists(journal)
                and header_count(journal) == headers
                and len(journal_entries(journal)) >= lines
            )

        wait_for(f"{kill_at} new journal lines", ready, proc)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        assert not os.path.exists(report), "a killed run must not leave a report"
        time.sleep(0.2)  # a request already on the wire reaches the server's log
        state = read_journal(journal, load_plan(plan).sha256)
        assert state.warnings == ()  # one write per line: a kill never tears one
        revoked = {idp for _, idp in state.revoked}
        recorded.append((revoked, deletes_by_idp(sim_thread)))

    report = str(tmp_path / "final.json")
    assert run(tmp_path, plan, report, atlas_env, *pace, "--resume", journal) == 0
    final = load_report(report, validate_report)
    assert_plan_order(final, idps)
    assert final["exitCode"] == 0 and final["aborted"] is None
    before_final = recorded[-1][0]
    assert {t["identityProviderId"] for t in final["targets"] if t["outcome"] == "skipped"} == (
        before_final
    )
    assert {t["outcome"] for t in final["targets"]} <= {"revoked", "skipped"}
    assert len(before_final) >= sum(kill_points)  # the kills really came mid-run

    # The promise: once the journal says revoked, no further DELETE for that target, ever.
    after = deletes_by_idp(sim_thread)
    for revoked, deletes_then in recorded:
        again = {idp: after[idp] - deletes_then[idp] for idp in revoked if after[idp] > 0}
        assert all(v == 0 for v in again.values()), {k: v for k, v in again.items() if v}
    # Every target revoked on the server; a repeat only for what was in flight at a kill.
    assert all(sim_thread.revocations(BULK_FED, i) >= 1 for i in idps)
    repeats = sum(sim_thread.revocations(BULK_FED, i) - 1 for i in idps)
    assert repeats <= concurrency * len(kill_points)
    state = read_journal(journal, load_plan(plan).sha256)
    assert {idp for _, idp in state.revoked} == set(idps)
    assert state.runs == len(kill_points) + 1 and state.warnings == ()


def test_a_damaged_journal_is_handled_explicitly(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    """A torn last line is ignored with a warning (that target is revoked again: its record is
    lost); a garbage line, or a journal of another plan, refuses with exit 2 and sends nothing."""
    idps = bulk_idp_ids(6)
    plan = write_plan(tmp_path, 6)
    journal = str(tmp_path / "j.jsonl")
    opts = ("--rate", "0", "--concurrency", "1", "--quiet")
    assert (
        run(tmp_path, plan, str(tmp_path / "a.json"), atlas_env, *opts, "--journal", journal) == 0
    )
    data = Path(journal).read_bytes()
    lines = data.splitlines(keepends=True)
    assert len(lines) == 7  # a header, then one line per target

    garbage = str(tmp_path / "garbage.jsonl")
    Path(garbage).write_bytes(b"".join([*lines[:2], b"#### not json ####\n", *lines[2:]]))
    sim_thread.reset()
    report = str(tmp_path / "garbage.json")
    assert run(tmp_path, plan, report, atlas_env, *opts, "--resume", garbage) == 2
    assert f"{garbage}:3: unreadable line" in stderr_of(report)
    assert sim_thread.requests() == [] and not os.path.exists(report)

    torn = str(tmp_path / "torn.jsonl")
    Path(torn).write_bytes(data[:-15])  # the last line lost its end: a write cut short
    torn_idp = json.loads(lines[-1])["identityProviderId"]
    report = str(tmp_path / "torn.json")
    assert run(tmp_path, plan, report, atlas_env, *opts, "--resume", torn) == 0
    assert f"{torn}:7: ignoring a torn line" in stderr_of(report)
    resumed = load_report(report, validate_report)
    outcomes = {t["identityProviderId"]: t["outcome"] for t in resumed["targets"]}
    assert outcomes == {i: ("revoked" if i == torn_idp else "skipped") for i in idps}
    assert [sim_thread.revocations(BULK_FED, i) for i in idps] == [
        1 if i == torn_idp else 0 for i in idps
    ]

    Path(plan).write_text(Path(plan).read_text() + "# edited after the run\n")
    sim_thread.reset()
    report = str(tmp_path / "edited.json")
    assert run(tmp_path, plan, report, atlas_env, *opts, "--resume", journal) == 2
    assert "belongs to another plan" in stderr_of(report)
    assert sim_thread.requests() == [] and not os.path.exists(report)


# ---- signals ---------------------------------------------------------------------------------


def test_sigint_mid_run_exits_3_in_time_with_a_complete_report_then_resume_finishes(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    count = 40
    idps = bulk_idp_ids(count)
    plan = write_plan(tmp_path, count)
    journal = str(tmp_path / "j.jsonl")
    report = str(tmp_path / "r.json")
    # The default pace (5/s, 8 workers): most workers wait for a pacer slot at any moment.
    proc = start(tmp_path, plan, report, atlas_env, "--quiet", "--journal", journal)
    wait_for("3 journal lines", lambda: len(journal_entries(journal)) >= 3, proc)
    signalled = time.time()
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    assert finish(proc) == 3
    assert time.monotonic() - t0 < 6
    # No new target starts after the signal: a worker waiting for its slot sends nothing (one
    # request may have got its slot as the signal flew).
    late = [r for r in sim_thread.requests("revoke") if r.wall > signalled]
    assert len(late) <= 1, [round(r.wall - signalled, 3) for r in late]

    rep = load_report(report, validate_report)
    assert_plan_order(rep, idps)
    assert rep["exitCode"] == 3
    assert rep["aborted"]["reason"] == "interrupted" and "SIGINT" in rep["aborted"]["detail"]
    outcomes = Counter(t["outcome"] for t in rep["targets"])
    # Requests in flight finished within the grace period: nothing was cut.
    assert set(outcomes) == {"revoked", "not_attempted"}
    assert 3 <= outcomes["revoked"] < count
    sent = deletes_by_idp(sim_thread)
    for t in rep["targets"]:
        if t["outcome"] == "not_attempted":
            assert sent[t["identityProviderId"]] == 0 and t["history"] == []
        else:
            assert sim_thread.revocations(BULK_FED, t["identityProviderId"]) == 1
    # The journal says what the report says, and holds every revoked target.
    reported = {t["identityProviderId"]: t["outcome"] for t in rep["targets"]}
    journaled = {e["identityProviderId"]: e["outcome"] for e in journal_entries(journal)}
    assert journaled == {i: reported[i] for i in journaled}
    assert {i for i, o in journaled.items() if o == "revoked"} == {
        i for i, o in reported.items() if o == "revoked"
    }

    report2 = str(tmp_path / "r2.json")
    assert run(tmp_path, plan, report2, atlas_env, "--rate", "0", "--resume", journal) == 0
    rep2 = load_report(report2, validate_report)
    assert rep2["summary"]["skipped"] == outcomes["revoked"]
    assert rep2["summary"]["revoked"] == outcomes["not_attempted"]
    assert all(sim_thread.revocations(BULK_FED, i) == 1 for i in idps)


def test_sigterm_with_a_hanging_request_cuts_it_after_the_grace_period(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    idps = bulk_idp_ids(40)
    hung = idps[2]
    sim_thread.script({"kind": "hang", "seconds": 60}, fed=BULK_FED, idp=hung)
    plan = write_plan(tmp_path, 40)
    report = str(tmp_path / "r.json")
    proc = start(tmp_path, plan, report, atlas_env, "--rate", "20", "--concurrency", "4")
    wait_for("the hanging request", lambda: bool(sim_thread.requests("revoke", idp=hung)), proc)
    proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    assert finish(proc) == 3
    waited = time.monotonic() - t0
    assert 4.5 < waited < 6, f"the grace period is 5 s; the run exited after {waited:.2f} s"

    rep = load_report(report, validate_report)
    assert_plan_order(rep, idps)
    assert rep["aborted"]["reason"] == "interrupted" and "SIGTERM" in rep["aborted"]["detail"]
    cut = rep["targets"][2]
    assert cut["outcome"] == "failed"
    assert cut["history"][-1]["error"] == "interrupted" and "httpStatus" not in cut["history"][-1]
    assert {t["outcome"] for t in rep["targets"][3:]} <= {"revoked", "not_attempted"}
    assert rep["summary"]["notAttempted"] > 0


def test_second_sigint_cuts_in_flight_requests_at_once(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    idps = bulk_idp_ids(40)
    hung = [idps[1], idps[3]]
    for idp in hung:
        sim_thread.script({"kind": "hang", "seconds": 60}, fed=BULK_FED, idp=idp)
    plan = write_plan(tmp_path, 40)
    journal = str(tmp_path / "j.jsonl")
    report = str(tmp_path / "r.json")
    proc = start(
        tmp_path, plan, report, atlas_env, "--rate", "20", "--concurrency", "4",
        "--journal", journal, "--quiet",
    )  # fmt: skip
    wait_for(
        "both hanging requests",
        lambda: all(sim_thread.requests("revoke", idp=i) for i in hung),
        proc,
    )
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None, "the first signal must give in-flight requests their grace"
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    assert finish(proc) == 3
    assert time.monotonic() - t0 < 2

    rep = load_report(report, validate_report)
    assert_plan_order(rep, idps)
    assert rep["aborted"]["reason"] == "interrupted"
    by_idp = {t["identityProviderId"]: t for t in rep["targets"]}
    for idp in hung:
        assert by_idp[idp]["outcome"] == "failed"
        assert by_idp[idp]["history"][-1]["error"] == "interrupted"
    assert {t["outcome"] for t in rep["targets"]} <= {"revoked", "failed", "not_attempted"}
    # The journal is intact: every line whole, the cut targets recorded as failed (a resume
    # revokes them again: their fate on the server is unknown).
    state = read_journal(journal, load_plan(plan).sha256)
    assert state.warnings == ()
    assert all(state.results[(BULK_FED, i)].outcome.value == "failed" for i in hung)
    assert {i for _, i in state.revoked} == {
        t["identityProviderId"] for t in rep["targets"] if t["outcome"] == "revoked"
    }


@pytest.mark.anyio
async def test_a_run_stopped_by_the_api_starts_no_new_request(
    simulator: Simulator, tmp_path: Path, validate_report: Validate
) -> None:
    """The same promise when the API stops the run (here a 406): workers waiting for their pacer
    slot send nothing; their targets are not_attempted."""
    idps = bulk_idp_ids(30)
    simulator.script(406)
    req = RunRequest(
        plan_path=write_plan(tmp_path, 30),
        report_path=str(tmp_path / "r.json"),
        overrides={"rate": 20, "concurrency": 8},
        assume_yes=True,
    )
    record = await execute(req, env=simulator.env(), observer=NullObserver(), handle_signals=False)
    assert record.exit_code == 3
    sent = simulator.requests("revoke")
    refused = next(r for r in sent if r.status == 406)
    assert refused.finished is not None
    # One request may have left between the 406 leaving the server and its reading.
    assert len([r for r in sent if r.mono > refused.finished]) <= 1
    rep = load_report(str(tmp_path / "r.json"), validate_report)
    assert_plan_order(rep, idps)
    assert rep["aborted"]["reason"] == "api_version"
    assert rep["summary"]["notAttempted"] == len(idps) - len(sent)


def test_a_signal_during_discovery_stops_with_exit_2_and_nothing_sent(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path
) -> None:
    sim_thread.script({"kind": "hang", "seconds": 60}, scope="list")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"version: 1\ntargets:\n  - federationSettingsId: {ACME_FED}\n    identityProviders: all\n"
    )
    report = str(tmp_path / "r.json")
    journal = str(tmp_path / "r.journal.jsonl")
    proc = start(tmp_path, str(plan), report, atlas_env)
    wait_for("the list request", lambda: bool(sim_thread.requests("list")), proc)
    proc.send_signal(signal.SIGINT)
    assert finish(proc, 10) == 2
    assert "nothing was revoked" in stderr_of(report)
    assert sim_thread.requests("revoke") == []
    assert not os.path.exists(report) and not os.path.exists(journal)


# ---- overlap and confirmation ----------------------------------------------------------------


def test_an_overlapping_run_refuses_with_exit_2_and_sends_nothing(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    plan = write_plan(tmp_path, 200)  # at 10/s, A outlasts the test
    journal = str(tmp_path / "j.jsonl")
    a_report = str(tmp_path / "a.json")
    a = start(
        tmp_path, plan, a_report, atlas_env, "--rate", "10", "--concurrency", "2", "--quiet",
        "--journal", journal,
    )  # fmt: skip
    try:
        wait_for("run A to start revoking", lambda: len(journal_entries(journal)) >= 1, a)
        other_plan = str(tmp_path / "copy.yaml")
        Path(other_plan).write_bytes(Path(plan).read_bytes())
        attempts = {
            "same plan, same journal": (plan, "--journal", journal),
            "same plan, another journal": (plan, "--journal", str(tmp_path / "other.jsonl")),
            "another plan file, resuming the same journal": (other_plan, "--resume", journal),
        }
        with other_simulator() as sim_b:
            env_b = {**atlas_env, **sim_b.env()}
            for n, (what, (b_plan, *options)) in enumerate(attempts.items()):
                b_report = str(tmp_path / f"b{n}.json")
                assert run(tmp_path, b_plan, b_report, env_b, *options) == 2, what
                err = stderr_of(b_report)
                locked = "journal" if b_plan == other_plan else "plan"
                assert f"{locked} " in err and f"(pid {a.pid})" in err, (what, err)
                assert not os.path.exists(b_report), what
            assert sim_b.requests() == []
        assert a.poll() is None, "run A must still be running: the refusals were real overlaps"
    finally:
        a.send_signal(signal.SIGINT)
        assert finish(a) == 3
    assert not os.path.exists(tmp_path / "other.jsonl")
    assert header_count(journal) == 1  # no other run wrote to A's journal
    load_report(a_report, validate_report)


def test_without_a_terminal_or_yes_run_refuses_with_exit_2_and_sends_nothing(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path
) -> None:
    plan = write_plan(tmp_path, 3)
    report = str(tmp_path / "r.json")
    proc = start(tmp_path, plan, report, atlas_env, yes=False)
    assert finish(proc) == 2
    assert "--yes" in stderr_of(report)
    assert sim_thread.requests() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml", "r.err", "r.out"]


# ---- discovery and dry run -------------------------------------------------------------------


def large_oidc_ids() -> list[str]:
    """The large federation's OIDC IdPs in list order, from its documented layout: IdP n is
    ``1a2a3a4a5a6a7a8a`` + n as 8 hex digits; every ninth (n % 9 == 8) is SAML."""
    return [f"1a2a3a4a5a6a7a8a{n:08x}" for n in range(1350) if n % 9 != 8]


def test_dry_run_discovers_every_oidc_idp_over_every_page_and_sends_no_delete(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path, validate_report: Validate
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"version: 1\ntargets:\n  - federationSettingsId: {LARGE_FED}\n    identityProviders: all\n"
    )
    report = str(tmp_path / "r.json")
    assert run(tmp_path, str(plan), report, atlas_env, "--dry-run", "--rate", "0") == 0

    assert sim_thread.requests("revoke") == []
    assert sim_thread.requests(method="DELETE") == []
    rep = load_report(report, validate_report)
    assert rep["dryRun"] is True and rep["exitCode"] == 0
    expected = large_oidc_ids()
    assert len(expected) == 1200
    assert_plan_order(rep, expected)
    assert {t["outcome"] for t in rep["targets"]} == {"would_revoke"}
    names = [t["displayName"] for t in rep["targets"]]
    assert all(n.startswith(("large-workforce-", "large-workload-")) for n in names)
    assert {n.split("-")[1] for n in names} == {"workforce", "workload"}
    # The operator sees what "all" meant, on the terminal too.
    err = stderr_of(report)
    assert names[0] in err and names[-1] in err

    lists = sim_thread.requests("list")
    assert len(lists) == 3  # 1,200 at 500 a page
    queries = [parse_qs(r.query) for r in lists]
    for n, q in enumerate(queries, start=1):
        assert q["protocol"] == ["OIDC"]
        assert sorted(q["idpType"]) == ["WORKFORCE", "WORKLOAD"]
        assert q["itemsPerPage"] == ["500"] and q["pageNum"] == [str(n)]
    assert not os.path.exists(tmp_path / "r.journal.jsonl")  # a dry run journals nothing


def test_failed_discovery_names_each_failing_federation_and_revokes_nothing(
    sim_thread: Simulator, atlas_env: dict[str, str], tmp_path: Path
) -> None:
    missing = "0123456789abcdef01234567"
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\ntargets:\n"
        f"  - federationSettingsId: {BULK_FED}\n    identityProviderId: {bulk_idp_ids(1)[0]}\n"
        f"  - federationSettingsId: {ACME_FED}\n    identityProviders: all\n"
        f"  - federationSettingsId: {INITECH_FED}\n    identityProviders: all\n"
        f"  - federationSettingsId: {missing}\n    identityProviders: all\n"
        f"  - federationSettingsId: {LARGE_FED}\n    identityProviders: all\n"
    )
    # The large federation's list fails on every attempt: retries exhausted.
    sim_thread.script(*([503] * 10), scope="list", fed=LARGE_FED)
    report = str(tmp_path / "r.json")
    rc = run(tmp_path, str(plan), report, atlas_env, "--rate", "0", "--max-attempts", "2")
    assert rc == 2
    err = stderr_of(report)
    assert f"federation {INITECH_FED}: HTTP 403" in err
    assert f"federation {missing}: HTTP 404" in err
    assert f"federation {LARGE_FED}: HTTP 503" in err
    assert f"federation {ACME_FED}" not in err
    assert "nothing was revoked" in err
    assert sim_thread.requests("revoke") == []
    assert len(sim_thread.requests("list", fed=LARGE_FED)) == 2
    assert not os.path.exists(report)
