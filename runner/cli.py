"""The command line: parse, wire, map errors to exit codes. No logic of its own.

``main(argv) -> int`` is what the console script and ``python -m runner`` call; tests call it too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import anyio

from . import __version__
from .app import execute
from .collector import settings_for_a_run
from .config import RunRequest, default_report_path, report_stem
from .console import make_view
from .errors import ConfirmationRefused, PlanError, RunnerError, UsageError
from .model import ExitCode
from .plan import describe, load_plan
from .reports import parse_formats, render
from .reports.json_report import load_report

PROG = "revoke-runner"

DESCRIPTION = """\
Revoke the JWKS of many MongoDB Atlas OIDC identity providers, fast and safely.

Revoking an IdP's JWKS refreshes its public keys on every Atlas cluster, invalidates every
access token it signed and logs ALL its users out, in every connected organization."""

EPILOG = """\
examples:
  revoke-runner validate plan.yaml
  revoke-runner run plan.yaml --dry-run
  revoke-runner run plan.yaml --format md
  revoke-runner run plan.yaml --resume revoke-report-20261203T160000Z.journal.jsonl
  revoke-runner run plan.yaml --yes --quiet --report /var/log/rotation/report.json
  revoke-runner report revoke-report-20261203T160000Z.json --format md
  revoke-runner simulate --port 8080

exit codes: 0 all revoked/skipped/would revoke; 1 some target failed; 2 nothing was sent
(bad usage, invalid plan, missing credentials, not confirmed, discovery failed, locked);
3 stopped early (signal, credentials or API version refused), report written.

environment: MONGODB_ATLAS_CLIENT_ID + MONGODB_ATLAS_CLIENT_SECRET (service account) or
MONGODB_ATLAS_PUBLIC_API_KEY + MONGODB_ATLAS_PRIVATE_API_KEY (API key, HTTP Digest);
MONGODB_ATLAS_BASE_URL; SSL_CERT_FILE (an extra CA bundle)."""

RUN_EPILOG = """\
examples:
  revoke-runner run plan.yaml --dry-run            # resolve, revoke nothing, write the report
  revoke-runner run plan.yaml                      # asks y/N on a terminal before revoking
  revoke-runner run plan.yaml --format md,csv      # also write .md and .csv beside the report
  revoke-runner run plan.yaml --resume J.journal.jsonl   # after an interruption
  revoke-runner run plan.yaml --yes --quiet        # cron: no prompt, only failures and summary

Each option except --report/--format/--journal/--resume/--yes/--dry-run and the output options
can also be set in the plan's settings; the command line wins."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is our UsageError (exit 2, one line) rather than SystemExit."""

    def error(self, message: str) -> Any:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    v = sub.add_parser(
        "validate",
        help="check a plan; no network",
        description="Parse and check a plan, print a one-line summary. Sends nothing.",
        epilog="example:\n  revoke-runner validate plan.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("plan", metavar="PLAN", help="the YAML plan to check")

    r = sub.add_parser(
        "run",
        help="revoke every target of a plan and write the report",
        description="Revoke every target of PLAN; write a JSON report (and other formats).",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("plan", metavar="PLAN", help="the YAML plan of targets")
    r.add_argument(
        "--report", metavar="PATH", help="the JSON report (revoke-report-<UTC time>.json)"
    )
    r.add_argument(
        "--format", metavar="FMT[,FMT]", default="", help="also write md, csv and/or junit"
    )
    r.add_argument("--journal", metavar="PATH", help="default: <report stem>.journal.jsonl")
    r.add_argument("--resume", metavar="JOURNAL", help="skip what JOURNAL records as revoked")
    r.add_argument(
        "--concurrency", metavar="N", type=_int_at_least(1), help="requests in flight (8)"
    )
    r.add_argument(
        "--rate", metavar="R", type=_float_at_least(0), help="requests/s, 0 = unlimited (5)"
    )
    r.add_argument(
        "--max-attempts", metavar="N", type=_int_at_least(1), help="per target, first incl. (5)"
    )
    r.add_argument(
        "--timeout", metavar="S", type=_positive_float, help="seconds per HTTP attempt (30)"
    )
    r.add_argument("--base-url", metavar="URL", help="API root ($MONGODB_ATLAS_BASE_URL)")
    r.add_argument("--api-version", metavar="V", help="Accept header's version (2023-11-15)")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.add_argument("--dry-run", action="store_true", help="resolve the plan; send no DELETE")
    out = r.add_mutually_exclusive_group()
    out.add_argument("--quiet", action="store_true", help="only failures and the summary")
    out.add_argument("--verbose", action="store_true", help="every attempt as it happens")
    r.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per event on stderr, for log shippers",
    )

    rep = sub.add_parser(
        "report",
        help="render an existing JSON report as md, csv or junit",
        description="Render an existing JSON report in another format, to stdout.",
        epilog="example:\n  revoke-runner report revoke-report-20261203T160000Z.json --format md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rep.add_argument("report", metavar="REPORT.json")
    rep.add_argument("--format", required=True, metavar="md|csv|junit")

    sim = sub.add_parser(
        "simulate",
        help="serve the bundled Atlas simulator",
        description="Serve a stand-in for the Atlas endpoints on loopback, for rehearsals.",
        add_help=False,
    )
    sim.add_argument("args", nargs=argparse.REMAINDER)
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    env = os.environ if env is None else env
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:1] == ["simulate"]:
            from .simulator.main import main as simulate

            return simulate(args_list[1:])
        args = build_parser().parse_args(args_list)
        if args.command == "validate":
            return _validate(args.plan, stdout, stderr)
        if args.command == "report":
            fmt = parse_formats(args.format)
            if len(fmt) != 1:
                raise UsageError("report: give exactly one --format (md, csv or junit)")
            stdout.write(render(load_report(args.report), fmt[0]))
            return ExitCode.OK
        return _run(args, env, stdin, stderr)
    except PlanError as e:
        for problem in e.problems:
            print(problem, file=stderr)
        print(f"{PROG}: the plan is invalid: nothing was sent", file=stderr)
        return e.exit_code
    except RunnerError as e:
        print(f"{PROG}: error: {e}", file=stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=stderr)
        return ExitCode.NOTHING_SENT
    except SystemExit as e:  # --help and --version
        return int(e.code or 0) if not isinstance(e.code, str) else ExitCode.NOTHING_SENT


def _validate(path: str, stdout: TextIO, stderr: TextIO) -> int:
    plan = load_plan(path)
    for w in plan.warnings:
        print(f"warning: {w}", file=stderr)
    print(describe(plan), file=stdout)
    return ExitCode.OK


def _run(args: argparse.Namespace, env: Mapping[str, str], stdin: TextIO, stderr: TextIO) -> int:
    interactive = _isatty(stdin)
    if not (args.yes or args.dry_run or interactive):
        raise ConfirmationRefused(
            "no terminal to confirm on: pass --yes to revoke without asking (nothing was sent)"
        )
    formats = parse_formats(args.format) if args.format else []
    report_path = args.report or default_report_path(time.time())
    stem = report_stem(report_path)
    req = RunRequest(
        plan_path=args.plan,
        report_path=report_path,
        formats=tuple(formats),
        journal_path=args.journal,
        resume=args.resume,
        overrides={
            "concurrency": args.concurrency,
            "rate": args.rate,
            "max_attempts": args.max_attempts,
            "timeout": args.timeout,
            "api_version": args.api_version,
        },
        base_url=args.base_url,
        dry_run=args.dry_run,
        assume_yes=args.yes,
    )
    view = make_view(
        stream=stderr,
        is_terminal=_isatty(stderr),
        quiet=args.quiet,
        verbose=args.verbose,
        log_format=args.log_format,
        report_paths=[report_path, *(f"{stem}{fmt.suffix}" for fmt in formats)],
    )

    def confirm(idps: int, federations: int) -> bool:
        stderr.write(
            f"About to revoke the JWKS of {idps} identity provider(s) in {federations} "
            "federation(s).\nEvery user of each will be logged out, in every connected "
            "organization.\nProceed? [y/N] "
        )
        stderr.flush()
        answer = stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    def warn(message: str) -> None:
        print(f"warning: {message}", file=stderr)

    with settings_for_a_run():
        record = anyio.run(lambda: execute(req, env=env, observer=view, confirm=confirm, warn=warn))
    return record.exit_code


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _int_at_least(low: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    return parse


def _float_at_least(low: float) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value >= low or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text} is not a number >= {low:g}")
        return value

    return parse


def _positive_float(text: str) -> float:
    value: float = _float_at_least(0)(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value
