"""Terminal views of a run: observers of ``runner.events.RunObserver`` writing to stderr.

``make_view`` picks one: JSON lines for ``--log-format json``, the live progress bar on a terminal,
plain lines otherwise (and with ``--quiet``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from ..errors import UsageError
from ..events import RunObserver
from ._text import result_line, summary_text
from .jsonlines import JsonLines
from .plain import PlainLines

if TYPE_CHECKING:
    from .live import LiveView

__all__ = [
    "LOG_FORMATS",
    "JsonLines",
    "LiveView",
    "PlainLines",
    "View",
    "make_view",
    "result_line",
    "summary_text",
]

LOG_FORMATS = ("text", "json")


class View(RunObserver, Protocol):
    def warning(self, message: str) -> None:
        """A warning during the run, drawn above a live bar rather than through it."""

    def close(self) -> None:
        """Stop drawing (idempotent): call it in a ``finally``, ``run_finished`` may never come."""


def make_view(
    *,
    stream: TextIO,
    is_terminal: bool,
    quiet: bool,
    verbose: bool,
    log_format: str,
    report_paths: Sequence[str] = (),
) -> View:
    """The view for these options; it also prints the end-of-run summary (with ``report_paths``)."""
    if log_format == "json":
        return JsonLines(stream, quiet=quiet)
    if log_format != "text":
        raise UsageError(
            f"--log-format: unknown format {log_format!r}; choose from {', '.join(LOG_FORMATS)}"
        )
    if is_terminal and not quiet:
        # rich is imported only for a terminal: a scheduled run never draws, and never waits
        # for the import.
        from rich.console import Console

        from .live import LiveView

        return LiveView(
            Console(file=stream, force_terminal=True), verbose=verbose, report_paths=report_paths
        )
    return PlainLines(stream, quiet=quiet, verbose=verbose, report_paths=report_paths)


def __getattr__(name: str) -> Any:
    if name == "LiveView":
        from .live import LiveView

        return LiveView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
