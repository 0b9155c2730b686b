"""Orchestration of one run: plan -> (journal, discovery) -> engine -> results -> journal/report.

``execute`` is the library API behind ``revoke-runner run``. It owns the order of things that
makes a run safe: everything that can refuse (plan, settings, credentials, locks, journal,
discovery, confirmation) refuses before the first DELETE, and whatever happens after that, the
report and the journal are written.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import (
    AbstractContextManager,
    AsyncExitStack,
    ExitStack,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass

import anyio

from . import __version__
from .api.auth import ApiKeyAuth, Auth, ServiceAccountAuth
from .api.client import AtlasClient
from .api.transport import Transport, ssl_context
from .config import (
    ApiKey,
    Credentials,
    RunRequest,
    base_url_from,
    credentials_from,
    default_report_path,
    journal_path_for,
    merge_settings,
)
from .discovery import discover
from .engine import Engine
from .errors import (
    ConfirmationRefused,
    DiscoveryError,
    Interrupted,
    NotStarted,
    StopRun,
    UsageError,
)
from .events import Fanout, RunObserver
from .journal import JournalObserver, JournalWriter, read_journal
from .locks import acquire_run_locks
from .model import (
    Aborted,
    AbortReason,
    DiscoverAll,
    Outcome,
    Plan,
    RunRecord,
    Settings,
    Target,
    TargetResult,
    expand,
)
from .pacing import Pacer
from .plan import load_plan
from .reports import parse_formats, write_run_reports

MAX_TARGETS = 100_000
GRACE_SECONDS = 5.0

# Asked once the targets are known: (IdPs, federations) -> go ahead? It may block on a terminal,
# so it runs in a worker thread, where a signal can abandon it.
Confirm = Callable[[int, int], bool]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A run that passed every check that needs no network."""

    plan: Plan
    settings: Settings
    base_url: str
    credentials: Credentials | None
    report_path: str
    journal_path: str | None
    ca_file: str | None


def prepare(req: RunRequest, env: Mapping[str, str], now: float) -> Prepared:
    plan = load_plan(req.plan_path)
    settings = merge_settings(plan.settings, req.overrides)
    parse_formats(req.formats)  # refuse an unknown format before anything is sent
    base_url = base_url_from(req.base_url, env)
    needs_network = not req.dry_run or plan.needs_discovery
    credentials = credentials_from(env) if needs_network else None
    report_path = req.report_path or default_report_path(now)
    _check_writable_folder(report_path)
    if req.dry_run and req.resume:
        raise UsageError("--dry-run and --resume do not go together: a dry run revokes nothing")
    journal = None if req.dry_run else journal_path_for(report_path, req.journal_path, req.resume)
    ca_file = env.get("SSL_CERT_FILE") or None
    return Prepared(plan, settings, base_url, credentials, report_path, journal, ca_file)


async def _no_client(target: Target, record: Callable[..., None]) -> None:
    raise AssertionError("no API client: this run sends no request")


def _check_writable_folder(report_path: str) -> None:
    """The report is written at the end, after revocations: find out now if it cannot be."""
    folder = os.path.dirname(os.path.abspath(report_path))
    if not os.path.isdir(folder):
        raise UsageError(f"--report {report_path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--report {report_path}: the folder {folder} is not writable")


def make_auth(credentials: Credentials, base_url: str) -> Auth:
    if isinstance(credentials, ApiKey):
        return ApiKeyAuth(credentials.public_key, credentials.private_key)
    # Atlas for Government and any other deployment: the token endpoint lives beside the API.
    return ServiceAccountAuth(
        credentials.client_id, credentials.client_secret, base_url + "/api/oauth/token"
    )


async def execute(
    req: RunRequest,
    *,
    env: Mapping[str, str],
    observer: RunObserver,
    confirm: Confirm | None = None,
    warn: Callable[[str], None] = lambda message: None,
    handle_signals: bool = True,
) -> RunRecord:
    """Run ``req``; return the record of the run, whose report has been written.

    Raises a RunnerError (exit 2, nothing revoked) for anything refused before the first DELETE.
    """
    # Signals are ours from the start until the report is written: one that comes before the
    # pool reaches the watcher once it starts (nothing sent, exit 2); one that comes after the
    # pool must not cut the journal's last sync or the report (Python's default SIGINT handler
    # would raise KeyboardInterrupt in the middle of either, and SIGTERM's would end the process).
    held: AbstractContextManager[AsyncIterator[signal.Signals] | None] = (
        anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)
        if handle_signals
        else nullcontext()
    )
    with held as signals:
        started = time.time()
        prep = prepare(req, env, started)
        for w in prep.plan.warnings:
            warn(w)
        with ExitStack() as files:
            skip: dict[tuple[str, str], TargetResult] = {}
            if prep.journal_path is not None:
                files.enter_context(
                    acquire_run_locks(
                        req.plan_path, prep.journal_path, journal_must_exist=req.resume is not None
                    )
                )
                # Read before anything is sent: a journal of another plan, or one past repair,
                # is refused now; a resumed one tells what to skip.
                if req.resume is not None or _nonempty(prep.journal_path):
                    state = read_journal(prep.journal_path, prep.plan.sha256)
                    for w in state.warnings:
                        warn(w)
                    if req.resume is not None:
                        skip = {k: state.results[k] for k in state.revoked}
            with _single_errors():
                record = await _network_phase(
                    req, prep, started, Fanout([observer]), skip, confirm, warn, files, signals
                )
        write_run_reports(record, prep.report_path, parse_formats(req.formats))
        observer.run_finished(record)
    return record


async def _network_phase(
    req: RunRequest,
    prep: Prepared,
    started: float,
    fanout: Fanout,
    skip: Mapping[tuple[str, str], TargetResult],
    confirm: Confirm | None,
    warn: Callable[[str], None],
    files: ExitStack,
    signals: AsyncIterator[signal.Signals] | None,
) -> RunRecord:
    settings = prep.settings
    pacer = Pacer(settings.rate)
    auth = make_auth(prep.credentials, prep.base_url) if prep.credentials else None
    async with AsyncExitStack() as stack:
        transport = await stack.enter_async_context(
            Transport(
                pool_size=settings.concurrency,
                timeout=settings.timeout,
                ssl_ctx=ssl_context(prep.base_url, prep.ca_file),
                middlewares=auth.middlewares if auth else (),
                user_agent=f"revoke-runner/{__version__}",
            )
        )
        client = None
        if auth is not None:
            auth.bind(transport)
            client = AtlasClient(
                transport=transport,
                auth=auth,
                pacer=pacer,
                base_url=prep.base_url,
                api_version=settings.api_version,
                on_pause=fanout.paused,
                on_rate=fanout.rate_changed,
            )

        engine = Engine(
            # Without credentials (a dry run of explicit targets) the pool never runs.
            client.revoke_once if client is not None else _no_client,
            concurrency=settings.concurrency,
            max_attempts=settings.max_attempts,
            observer=fanout,
            on_stop=pacer.close,
        )
        targets: list[Target] = []
        results: list[TargetResult] = []
        aborted: Aborted | None = None
        before_pool = anyio.CancelScope()
        async with anyio.create_task_group() as tg:
            if signals is not None:
                tg.start_soon(_watch_signals, signals, engine, before_pool)
            with before_pool:
                try:
                    targets = await _resolve_targets(prep, client, settings, warn)
                except StopRun as exc:
                    aborted = Aborted(exc.reason, exc.detail)
                except NotStarted:
                    pass  # a signal closed the pacer under discovery: handled just below
                pending = [t for t in targets if t.key not in skip]
                asks = not (req.dry_run or req.assume_yes or aborted or not pending)
                if asks and not await _confirmed(confirm, pending):
                    raise ConfirmationRefused("not confirmed: nothing was revoked")
            # cancel_called, not cancelled_caught: discovery may have ended (NotStarted) without
            # reaching another checkpoint.
            if before_pool.cancel_called:
                raise Interrupted("interrupted before any revocation was sent: nothing was revoked")
            fanout.run_started(len(targets), settings, req.dry_run)
            for t in targets:
                if t.key in skip:
                    fanout.target_finished(_skipped(t, skip[t.key], req.resume))
            done: list[TargetResult] = []
            if aborted is not None:
                pass
            elif req.dry_run:
                done = [TargetResult(t, Outcome.WOULD_REVOKE) for t in pending]
                for r in done:
                    fanout.target_finished(r)
            else:
                if prep.journal_path is not None:
                    writer = files.enter_context(
                        JournalWriter.open(
                            prep.journal_path, req.plan_path, prep.plan.sha256, started
                        )
                    )
                    fanout.add(JournalObserver(writer, on_error=lambda e: warn(str(e))))
                pool = await engine.run(pending)
                done, aborted = pool.results, pool.aborted
            tg.cancel_scope.cancel()
        by_key = {r.target.key: r for r in done}
        for t in targets:
            if t.key in skip:
                results.append(_skipped(t, skip[t.key], req.resume))
            else:
                results.append(by_key.get(t.key) or TargetResult(t, Outcome.NOT_ATTEMPTED))
    return RunRecord(
        plan_path=req.plan_path,
        plan_sha256=prep.plan.sha256,
        base_url=prep.base_url,
        dry_run=req.dry_run,
        settings=settings,
        effective_rate=pacer.rate,
        started_at=started,
        finished_at=time.time(),
        results=tuple(results),
        aborted=aborted,
        tool_version=__version__,
    )


async def _resolve_targets(
    prep: Prepared, client: AtlasClient | None, settings: Settings, warn: Callable[[str], None]
) -> list[Target]:
    plan = prep.plan
    feds = [e.federation_settings_id for e in plan.entries if isinstance(e, DiscoverAll)]
    discovered = {}
    if feds:
        assert client is not None
        discovered = await discover(
            client, feds, max_attempts=settings.max_attempts, max_targets=MAX_TARGETS
        )
    targets, dupes = expand(plan.entries, discovered)
    if feds:
        for w in dupes:
            warn(f"{plan.path}: {w}")
    if len(targets) > MAX_TARGETS:
        raise DiscoveryError(
            f"{len(targets)} targets after discovery, over the limit of {MAX_TARGETS}; "
            "nothing was revoked"
        )
    return targets


def _nonempty(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


@contextmanager
def _single_errors() -> Iterator[None]:
    """Let a lone error out of a task group as itself, so callers catch what they expect."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = _leaves(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


async def _confirmed(confirm: Confirm | None, pending: Sequence[Target]) -> bool:
    if confirm is None:
        return False
    feds = len({t.federation_settings_id for t in pending})
    return await anyio.to_thread.run_sync(confirm, len(pending), feds, abandon_on_cancel=True)


def _skipped(target: Target, recorded: TargetResult, journal: str | None) -> TargetResult:
    return TargetResult(
        target=target,
        outcome=Outcome.SKIPPED,
        http_status=recorded.http_status,
        detail=f"revoked in an earlier run (journal {journal})",
    )


async def _watch_signals(
    signals: AsyncIterator[signal.Signals], engine: Engine, before_pool: anyio.CancelScope
) -> None:
    """First SIGINT/SIGTERM: stop taking targets, give in-flight ones a grace period.
    A second signal, or the grace period's end, cuts what is still in flight."""
    async with anyio.create_task_group() as tg:
        async for signum in signals:
            if engine.stopping:
                engine.cancel_in_flight()
                continue
            name = signal.Signals(signum).name
            engine.stop(Aborted(AbortReason.INTERRUPTED, f"{name} received"))
            before_pool.cancel()
            tg.start_soon(_cut_after_grace, engine)


async def _cut_after_grace(engine: Engine) -> None:
    await anyio.sleep(GRACE_SECONDS)
    engine.cancel_in_flight()


__all__: Sequence[str] = ["Prepared", "execute", "prepare"]
