"""The cyclic garbage collector's settings for the services' hot paths.

A request or a batch allocates thousands of objects (validated readings, encoded values,
row tuples), none of them in a reference cycle: reference counting frees them. At the
default thresholds (700, 10, 10) the collector ran every 700 allocations, and its full
passes walked every live object, start-up's modules and schemas included: in the gateway,
a pass took up to 60-70 ms in the middle of a request of 2,000 readings
(docs/performance.md, "Issue 15, fourth round").
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune() -> None:
    """Freeze what start-up created (it is never garbage) and collect less often."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
