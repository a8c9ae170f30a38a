"""A command that writes files for a long time stops on SIGTERM (what `kill`, systemd and
container runtimes send) as it does on Ctrl-C, deleting the run's staged `.partial` files:
Python's default for SIGTERM ends the process at once, without unwinding.

The handler only records the request; the run stops at its next batch boundary. Raising from
the handler itself is not reliable: the exception can surface inside Arrow's C++ code, which
may swallow it (the run then went on to the end and exited 0). Once the run has unwound, the
process ends by SIGTERM itself, as its sender expects (systemd counts that as a clean stop,
and a shell reports status 143)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGTERM_EXIT = 128 + signal.SIGTERM  # the status a shell reports for a process ended by SIGTERM


class Termination:
    """Whether SIGTERM arrived; `check` raises SystemExit(143) once it has."""

    def __init__(self) -> None:
        self.requested = False

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise SystemExit(SIGTERM_EXIT)


@contextmanager
def stopped_between_batches() -> Iterator[Termination]:
    """While this lasts, SIGTERM is recorded for the run to `check` between batches (a run
    past its last batch completes). A run stopped that way has unwound by the time it leaves
    this block, which then ends the process by SIGTERM. Outside the main thread, where no
    handler can be set, nothing changes."""
    termination = Termination()
    if threading.current_thread() is not threading.main_thread():
        yield termination
        return
    previous = signal.signal(signal.SIGTERM, termination._record)
    try:
        yield termination
    except SystemExit:
        if termination.requested:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
