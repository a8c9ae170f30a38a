"""Twilio's published voice price list (CSV): one row per destination, its prefixes in one field.

Every destination prefix of a row is priced once for every origination prefix of the same row;
an empty origination field means the price applies whatever the caller's number (ALL). Columns
are found by name, so extra columns Twilio adds (intervals, effective dates) are ignored.
"""

from __future__ import annotations

import csv
from typing import Final, TextIO

from telebill.adapters.importers.rows import (
    Cells,
    Progress,
    RowError,
    VoiceRows,
    finish,
    numbered_rows,
    parse_decimal,
    parse_prefix,
    with_progress,
)
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import ALL, Increments, Tariff
from telebill.domain.errors import InvalidMoney, InvalidRate, InvalidRows

PER_MINUTE: Final = Increments(60, 60)
HEADER: Final = "ISO, Country, Description, Price / min, Origination Prefixes, Destination Prefixes"
_COLUMNS: Final = (
    "iso",
    "country",
    "description",
    "price / min",
    "origination prefixes",
    "destination prefixes",
)
_REQUIRED: Final = ("price / min", "destination prefixes")


def read_twilio_csv(
    stream: TextIO,
    source: str,
    progress: Progress | None = None,
    increments: Increments = PER_MINUTE,
) -> DeckContent:
    """Read Twilio's voice price CSV; InvalidRows lists every bad row if any row is bad.

    Twilio bills some products per second after the first minute: pass `increments` to say so.
    """
    reader = csv.reader(stream)
    rows = numbered_rows(reader, lambda: reader.line_num)
    errors: list[RowError] = []
    voice = VoiceRows()
    cells = Cells()
    try:
        first = next(rows, None)
        if first is None:
            raise InvalidRows(source, [(1, f"the file is empty; expected the header {HEADER}")])
        width = len(first[1])
        iso, country, description, price, origins, destinations = _columns(source, *first)
        for line, row in with_progress(rows, progress):
            if len(row) != width:
                errors.append((line, f"the row has {len(row)} fields, the header has {width}"))
                continue
            row.append("")  # what the index of an absent optional column points to
            try:
                tariff = cells.tariffs.get((row[price],))
                if tariff is None:
                    rate = parse_decimal(row[price], "Price / min")
                    tariff = cells.tariffs[(row[price],)] = Tariff(rate, rate, increments)
                name = row[description].strip() or row[country].strip()
                destination = cells.destination(name, row[iso])
                # Parse the whole row before adding any of it, so a bad row leaves no partial pairs.
                targets = [parse_prefix(p, "destination prefix") for p in _split(row[destinations])]
                if not targets:
                    raise InvalidRate("Destination Prefixes: no prefix given")
                callers = [cells.origin(o) for o in _split(row[origins])] or [ALL]
                for target in targets:
                    for caller in callers:
                        voice.add(line, target, caller, destination, tariff)
            except (InvalidRate, InvalidMoney) as exc:
                errors.append((line, str(exc)))
    except csv.Error as exc:
        raise InvalidRows(source, [*errors, (reader.line_num, f"unreadable CSV: {exc}")]) from None
    return DeckContent(finish(source, errors, voice))


def _columns(source: str, line: int, header: list[str]) -> tuple[int, ...]:
    """Index of each column in this header, matched case-insensitively; absent optional ones point past it."""
    names = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header]
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise InvalidRows(source, [(line, f"missing column(s) {', '.join(missing)}; expected the header {HEADER}")])
    absent = len(header)
    return tuple(names.index(name) if name in names else absent for name in _COLUMNS)


def _split(field: str) -> list[str]:
    """`"33, 336,"` -> ["33", "336"]: Twilio separates prefixes with a comma and a space."""
    return [piece for piece in (p.strip() for p in field.split(",")) if piece]
