"""Running a use case again after it lost a race to a concurrent transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from telebill.domain.errors import RetryableConflict

T = TypeVar("T")
ATTEMPTS = 8


def retried(step: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run `step`; when it loses a race (RetryableConflict), run it again: the next run sees
    the winner's result. The last attempt's error propagates."""
    for _ in range(attempts - 1):
        try:
            return step()
        except RetryableConflict:
            continue
    return step()
