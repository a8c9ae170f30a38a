"""A command that writes files for a long time stops on SIGTERM (what `kill`, systemd and
container runtimes send) as it does on Ctrl-C: Python's default for SIGTERM ends the process
at once, without unwinding, and would leave the run's staged `.partial` files behind."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_SIGTERM_EXIT = 128 + signal.SIGTERM  # the status a shell reports for a process ended by SIGTERM


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(_SIGTERM_EXIT)


@contextmanager
def unwound_on_sigterm() -> Iterator[None]:
    """While this lasts, SIGTERM raises SystemExit(143) in the main thread, so that the
    command's `finally` and `except BaseException` blocks clean up; outside the main thread
    (where no handler can be set) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
