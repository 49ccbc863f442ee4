"""A child that dies with its supervisor: the parent-death signal, set by the child itself.

``energy-ingest dev`` starts each service with ``ENERGY_INGEST_PARENT_PID`` set to its own
pid. The service's first act (:func:`bind_to_parent`, called by the CLI) asks the kernel
for SIGTERM when that parent dies (``prctl(PR_SET_PDEATHSIG)``), and then checks that the
parent is still the one it was started by: if the supervisor died before the request was
made, the service exits at once instead of running on as an orphan. Setting it in the
child, not in a ``preexec_fn``, keeps ``fork`` free of Python code in a threaded parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_PID_ENV = "ENERGY_INGEST_PARENT_PID"
PR_SET_PDEATHSIG = 1


def bind_to_parent() -> None:
    """Die with the parent named by ``ENERGY_INGEST_PARENT_PID``, if it is set (Linux only)."""
    wanted = os.environ.pop(PARENT_PID_ENV, None)
    if wanted is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return  # not fatal: the supervisor still reaps leftovers through their pid files
    if os.getppid() != int(wanted):
        sys.exit("energy-ingest: the supervisor that started this service is gone; exiting")
