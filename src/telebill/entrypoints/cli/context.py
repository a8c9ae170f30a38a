"""How CLI commands get their services and parse shared option values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from telebill.bootstrap import Container, bootstrap


@contextmanager
def container() -> Iterator[Container]:
    c = bootstrap()
    try:
        yield c
    finally:
        c.close()
