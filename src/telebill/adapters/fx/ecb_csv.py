"""Reading the ECB euro reference rates file (`eurofxref-hist.csv`).

Quirks of the file: every line ends with a trailing comma (an empty last column), a
currency without a rate that day is `N/A`, and only business days appear. Rates are
units of the currency per 1 EUR, read as exact decimals.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TextIO

from telebill.domain.errors import InvalidRows


def read_ecb_csv(stream: TextIO, source: str) -> list[tuple[date, str, Decimal]]:
    """(day, currency code, units per EUR) for every published rate; atomic on bad rows."""
    return list(_rows(stream, source))


def _rows(stream: TextIO, source: str) -> Iterator[tuple[date, str, Decimal]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header or header[0].strip().lstrip("\ufeff") != "Date":
        raise InvalidRows(source, [(1, "expected a header starting with Date (ECB eurofxref-hist)")])
    # Withdrawn currencies (CYP, EEK, ...) keep their columns, with N/A in recent rows.
    codes = [c.strip() for c in header[1:]]
    errors: list[tuple[int, str]] = []
    out: list[tuple[date, str, Decimal]] = []
    for line, row in enumerate(reader, start=2):
        if not row or not row[0].strip():
            continue
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            errors.append((line, f"Date: {row[0]!r} is not an ISO date"))
            continue
        for code, cell in zip(codes, row[1:], strict=False):
            text = cell.strip()
            if not code or not text or text == "N/A":
                continue
            try:
                value = Decimal(text)
            except InvalidOperation:
                errors.append((line, f"{code}: {text!r} is not a decimal number"))
                continue
            if not value.is_finite() or value <= 0:
                errors.append((line, f"{code}: rate must be positive, got {text}"))
                continue
            out.append((day, code, value))
    if errors:
        raise InvalidRows(source, errors)
    yield from out
