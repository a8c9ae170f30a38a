"""Which deck file formats exist, how to tell them apart from the first line, and reading a deck file.

Files are read as UTF-8; a byte-order mark (as Excel writes) is dropped. The format is guessed
from the header unless the caller names it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final, TextIO

from telebill.adapters.importers.rows import Progress
from telebill.adapters.importers.simple_csv import read_simple_csv
from telebill.adapters.importers.telebill_csv import read_telebill_csv
from telebill.adapters.importers.twilio_csv import read_twilio_csv
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.errors import InvalidRate, InvalidRows

FORMATS: Final = ("telebill", "twilio", "simple")
_READERS: Final[dict[str, Callable[[TextIO, str, Progress | None], DeckContent]]] = {
    "telebill": read_telebill_csv,
    "twilio": read_twilio_csv,
    "simple": read_simple_csv,
}


def detect_format(first_line: str) -> str:
    """The format whose header `first_line` is; anything unrecognised is read as a simple CSV."""
    header = first_line.lstrip("\ufeff").strip().lower()
    if header.replace(" ", "").replace('"', "").startswith("kind,prefix"):
        return "telebill"
    if "destination prefixes" in header:
        return "twilio"
    return "simple"


def read_deck(path: Path, fmt: str | None, progress: Progress | None = None) -> DeckContent:
    """Read the deck file at `path` in format `fmt` (detected from its first line when None)."""
    name = _checked_format(fmt)
    source = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            if name is None:
                name = detect_format(stream.readline())
                stream.seek(0)
            return _READERS[name](stream, source, progress)
    except UnicodeDecodeError as exc:
        raise InvalidRows(source, [(_line_of_bad_byte(path), f"not UTF-8 text ({exc.reason})")]) from None


def _checked_format(fmt: str | None) -> str | None:
    """`fmt` checked against FORMATS (case-insensitive); None means detect it from the file."""
    if fmt is None:
        return None
    name = fmt.strip().lower()
    if name not in FORMATS:
        raise InvalidRate(f"unknown deck format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return name


def _line_of_bad_byte(path: Path) -> int:
    # The decoder's offset is relative to the chunk it was given, so find the offset in the whole file.
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as whole:
        return data.count(b"\n", 0, whole.start) + 1
    return 1
