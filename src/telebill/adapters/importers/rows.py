"""Reading CSV rows into deck entries: cell parsing, error collection with line numbers, progress.

What every deck reader shares. Cells are parsed strictly (ASCII digits only, exact decimals,
no thousands separators) and cached, since a deck repeats a few hundred spellings across its
rows. A reader collects `(line, reason)` for every bad row instead of stopping at the first,
and reports them all at once with `finish`, so a file is imported whole or not at all.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Final, TypeVar

from telebill.domain.catalog.entries import (
    ALL,
    ROW,
    Destination,
    Increments,
    Tariff,
    check_origin,
    check_prefix,
)
from telebill.domain.catalog.voice_table import VoiceRateTable, VoiceRateTableBuilder
from telebill.domain.errors import InvalidMoney, InvalidRate, InvalidRows
from telebill.domain.money import DEFAULT_ROUNDING, Rounding, to_decimal

Progress = Callable[[int], None]
RowError = tuple[int, str]
_T = TypeVar("_T")

PROGRESS_EVERY: Final = 10_000
_ORIGINS: Final = {"": ALL, ALL: ALL, ROW: ROW, "all": ALL, "row": ROW}


def numbered_rows(reader: Iterator[list[str]], line_num: Callable[[], int]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the physical line each starts on (a quoted field may span lines)."""
    previous = 0
    for row in reader:
        line = previous + 1
        previous = line_num()
        if row and any(row):
            yield line, row


def with_progress(rows: Iterable[_T], progress: Progress | None) -> Iterator[_T]:
    """Yields `rows`; calls back every PROGRESS_EVERY rows with the rows just processed, then the rest."""
    pending = 0
    for row in rows:
        yield row
        pending += 1
        if pending == PROGRESS_EVERY and progress is not None:
            progress(pending)
            pending = 0
    if pending and progress is not None:
        progress(pending)


def parse_decimal(text: str, field: str) -> Decimal:
    """An exact non-negative price; a single comma is a decimal comma, never a thousands separator."""
    body = text.strip()
    if not body:
        raise InvalidMoney(f"{field} is required")
    if "," in body:
        if "." in body or body.count(",") > 1:
            raise InvalidMoney(f"{field}: {text!r} is ambiguous; use one decimal separator, no thousands")
        body = body.replace(",", ".")
    # isascii: str.isdigit also accepts superscripts and non-Latin digits that Decimal misreads or refuses.
    if not (body.isascii() and body.replace(".", "", 1).isdigit()):
        if body.startswith("-"):
            raise InvalidMoney(f"{field}: {text!r} must not be negative")
        raise InvalidMoney(f"{field}: {text!r} is not a decimal number")
    return to_decimal(body, field)


def parse_prefix(text: str, field: str = "prefix") -> str:
    return check_prefix(_ascii(text, field), field)


def parse_country(text: str, required: bool = False) -> str:
    code = text.strip()
    if not code and not required:
        return ""
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code.upper()
    raise InvalidRate(f"country: {text!r} must be an ISO 3166 alpha-2 code{'' if required else ' or empty'}")


def _ascii(text: str, field: str) -> str:
    # The domain parsers test str.isdigit, which also accepts superscripts and non-Latin digits.
    if not text.isascii():
        raise InvalidRate(f"{field}: {text!r} must be written in ASCII")
    return text


class Cells:
    """Cached parsers: a deck repeats a few hundred spellings of prices, increments and names."""

    def __init__(self) -> None:
        self._decimals: dict[str, Decimal] = {}
        self._increments: dict[str, Increments] = {}
        self._roundings: dict[str, Rounding] = {}
        self.tariffs: dict[tuple[str, ...], Tariff] = {}
        self.destinations: dict[tuple[str, str], Destination] = {}

    def decimal(self, text: str, field: str, default: Decimal | None = None) -> Decimal:
        value = self._decimals.get(text)
        if value is None:
            if default is not None and not text.strip():
                return default
            value = self._decimals[text] = parse_decimal(text, field)
        return value

    def origin(self, text: str) -> str:
        known = _ORIGINS.get(text)
        return known if known is not None else check_origin(_ascii(text, "origin"))

    def increments(self, text: str) -> Increments:
        value = self._increments.get(text)
        if value is None:
            value = self._increments[text] = Increments.parse(_ascii(text, "increments"))
        return value

    def rounding(self, text: str) -> Rounding:
        value = self._roundings.get(text)
        if value is None:
            value = Rounding.parse(_ascii(text, "rounding")) if text.strip() else DEFAULT_ROUNDING
            self._roundings[text] = value
        return value

    def destination(self, name: str, country: str) -> Destination:
        key = (name, country)
        value = self.destinations.get(key)
        if value is None:
            value = self.destinations[key] = Destination(name.strip(), parse_country(country))
        return value


class VoiceRows:
    """Voice rows as they are read, remembering each row's line so duplicates can be reported."""

    def __init__(self) -> None:
        self.builder = VoiceRateTableBuilder()
        self._lines = array("i")
        self._keys: list[tuple[str, str]] = []

    def add(self, line: int, prefix: str, origin: str, destination: Destination, tariff: Tariff) -> None:
        self.builder.add(prefix, origin, destination, tariff)
        self._lines.append(line)
        self._keys.append((prefix, origin))

    def duplicate_errors(self) -> list[RowError]:
        errors = []
        for first, again in self.builder.duplicates():
            prefix, origin = self._keys[again]
            reason = f"prefix {prefix} from {origin} is already priced on line {self._lines[first]}"
            errors.append((self._lines[again], reason))
        return errors


def finish(source: str, errors: list[RowError], voice: VoiceRows) -> VoiceRateTable:
    """The voice table, or InvalidRows with every error (duplicates included) in line order."""
    errors.extend(voice.duplicate_errors())
    if errors:
        errors.sort(key=lambda error: error[0])
        raise InvalidRows(source, errors)
    return voice.builder.build()
