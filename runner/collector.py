"""The garbage collector's settings for the length of one run.

A run keeps one result per target until its report is written (the report must be complete),
and CPython's collector walks every live container object again on each full pass, the number of
passes growing with the heap. With the default thresholds a 20,000-target run spent 0.65-0.95 s
collecting, 8-10% of its CPU, re-walking results that can never be garbage; the bare aiohttp loop
it is measured against keeps nothing and pays almost none of it (BENCHMARKS.md). Frozen start-up
objects and a young generation of 10,000 bring that to ~0.05 s. The run's own objects form no
cycles, so collecting less often only lets aiohttp's few cyclic leftovers wait a little longer.

The command line applies it, since it owns the process; a program that calls ``execute`` itself
keeps its own settings.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000


@contextmanager
def settings_for_a_run() -> Iterator[None]:
    before = gc.get_threshold()
    gc.freeze()  # the modules and everything built so far: never walked again during the run
    gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
