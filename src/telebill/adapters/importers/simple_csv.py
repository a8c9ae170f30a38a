"""Simple rate CSVs: any file with a prefix column, a rate column and usually a destination name.

The layout is detected, never configured: the delimiter (`,` `;` tab `|`), whether the first row
is a header, which column holds what (by header name when there is one, else by content), and
decimal point or decimal comma. Each row becomes a voice price from ALL origins with base price
= current price = rate.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import islice
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
from telebill.domain.catalog.entries import ALL, MAX_PREFIX_DIGITS, Increments, Tariff
from telebill.domain.errors import InvalidMoney, InvalidRate, InvalidRows

PER_MINUTE: Final = Increments(60, 60)
DELIMITERS: Final = (",", ";", "\t", "|")
_SAMPLE_ROWS: Final = 200
ROLES: Final = ("prefix", "rate", "name")
# Header names as normalised by _words: exact names first, then any column containing a keyword.
_NAMES: Final = {
    "prefix": {"prefix", "prefixes", "code", "dial code", "dialcode", "dialing code", "dialling code"}
    | {"destination code", "dest code", "country code", "area code", "e164 prefix"},
    "rate": {"rate", "price", "cost", "per minute", "rate per minute", "price per minute", "price min"}
    | {"rate min", "cost per minute", "per min", "price per min", "rate per min"},
    "name": {
        "destination",
        "name",
        "country",
        "description",
        "destination name",
        "country name",
        "dest name",
    },
}
_KEYWORDS: Final = {
    "prefix": {"prefix", "prefixes", "code", "dialcode"},
    "rate": {"rate", "price", "cost", "minute", "min"},
    "name": {"destination", "name", "country", "description"},
}
_LOOKS_LIKE: Final = {
    "prefix": "prefix column (digits such as 44 or +4420)",
    "rate": "rate column (decimal numbers such as 0.0125 or 0,0125)",
}
Row = tuple[int, list[str]]


def read_simple_csv(
    stream: TextIO, source: str, progress: Progress | None = None, increments: Increments = PER_MINUTE
) -> DeckContent:
    """Read a simple prefix/rate CSV; InvalidRows lists every bad row if any row is bad."""
    text = stream.read().lstrip("\ufeff")
    delimiter = detect_delimiter(list(islice(io.StringIO(text, newline=""), _SAMPLE_ROWS)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(numbered_rows(reader, lambda: reader.line_num))
    except csv.Error as exc:
        raise InvalidRows(source, [(reader.line_num, f"unreadable CSV: {exc}")]) from None
    if not rows:
        raise InvalidRows(source, [(1, "the file is empty; expected a prefix and a rate on each row")])
    header, prefix_col, rate_col, name_col = detect_columns(source, rows, delimiter)
    data = rows[1:] if header else rows
    if not data:
        raise InvalidRows(source, [(rows[0][0], "the file has a header but no prices")])
    needed = max(prefix_col, rate_col, name_col if name_col is not None else 0) + 1
    errors: list[RowError] = []
    voice = VoiceRows()
    cells = Cells()
    for line, row in with_progress(data, progress):
        if len(row) < needed:
            errors.append((line, f"the row has {len(row)} fields; prices need at least {needed}"))
            continue
        try:
            tariff = cells.tariffs.get((row[rate_col],))
            if tariff is None:
                rate = parse_decimal(row[rate_col], "rate")
                tariff = cells.tariffs[(row[rate_col],)] = Tariff(rate, rate, increments)
            destination = cells.destination(row[name_col] if name_col is not None else "", "")
            voice.add(line, parse_prefix(row[prefix_col]), ALL, destination, tariff)
        except (InvalidRate, InvalidMoney) as exc:
            errors.append((line, str(exc)))
    return DeckContent(finish(source, errors, voice))


def detect_delimiter(lines: Iterable[str]) -> str:
    """The delimiter that splits the sample into the most consistent rows of the most fields.

    Ties go to the delimiter leaving more cells that read as a prefix or a number: `44;0,05`
    splits into two fields on `,` as well as on `;`, but only `;` gives a prefix and a rate.
    """
    best, best_score = DELIMITERS[0], (False, 0, 0)
    for delimiter in DELIMITERS:
        rows = [row for row in csv.reader(lines, delimiter=delimiter) if any(row)]
        if not rows:
            continue
        width, count = Counter(len(row) for row in rows).most_common(1)[0]
        consistent = width >= 2 and count * 10 >= len(rows) * 9
        clean = sum(1 for row in rows for cell in row if is_prefix(cell) or is_decimal(cell))
        score = (consistent, width if consistent else 0, clean)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def detect_columns(source: str, rows: list[Row], delimiter: str) -> tuple[bool, int, int, int | None]:
    """(first row is a header, prefix column, rate column, name column or None).

    The first row is a header when its cell in the prefix column (found from the rows after
    it) is not a prefix; a header's usual names then take precedence over content detection.
    """
    first = rows[0][1]
    named = named_columns(first)
    guess = content_columns([row for _, row in rows[1 : _SAMPLE_ROWS + 1]] or [first], {})
    prefix_col, rate_col = guess.get("prefix", named.get("prefix")), guess.get("rate", len(first))
    if prefix_col is None:
        header = bool(named)
    else:
        # A first row with a rate but a malformed prefix is a bad data row, to be reported, not skipped.
        looks_like_data = rate_col < len(first) and is_decimal(first[rate_col]) and not named
        header = not looks_like_data and (prefix_col >= len(first) or not is_prefix(first[prefix_col]))
    data = rows[1:] if header else rows
    roles = content_columns([row for _, row in data[:_SAMPLE_ROWS]], named) if header else guess
    missing = [_LOOKS_LIKE[role] for role in ("prefix", "rate") if role not in roles]
    if missing:
        raise InvalidRows(source, [(rows[0][0], f"cannot find the {' nor the '.join(missing)}")])
    if delimiter == "," and _split_decimal_comma(data, roles["rate"], roles["prefix"]):
        reason = "rates look like decimal commas split by the ',' delimiter; quote them or separate with ';'"
        raise InvalidRows(source, [(data[0][0], reason)])
    return header, roles["prefix"], roles["rate"], roles.get("name")


def named_columns(header: list[str]) -> dict[str, int]:
    """Roles recognised from usual header names: exact names first, then keywords."""
    words = [_words(cell) for cell in header]
    roles: dict[str, int] = {}
    for exact in (True, False):
        for role in ROLES:
            for col, name in enumerate(words):
                if role in roles or col in roles.values():
                    continue
                if (name in _NAMES[role]) if exact else bool(_KEYWORDS[role] & set(name.split())):
                    roles[role] = col
    return roles


def content_columns(rows: list[list[str]], fixed: dict[str, int]) -> dict[str, int]:
    """Roles not in `fixed`, guessed from what the sample cells look like.

    Prefix: most cells are prefixes; of several such columns, the one with the most
    distinct values (rates repeat, prefixes do not), then the longest. Rate: most cells are
    decimals, a column with a decimal separator first. Name: the column with the most
    cells containing letters.
    """
    roles = dict(fixed)
    width = max((len(row) for row in rows), default=0)
    columns = [[row[c] for row in rows if c < len(row)] for c in range(width)]
    free = [c for c in range(width) if c not in roles.values()]

    # A majority, not all: a few bad cells must surface as bad rows, not hide the column.
    def mostly(cells: list[str], test: Callable[[str], bool]) -> bool:
        return sum(1 for cell in cells if test(cell)) * 2 > len(rows)

    if "prefix" not in roles:
        candidates = [c for c in free if mostly(columns[c], is_prefix)]
        if candidates:
            roles["prefix"] = max(candidates, key=lambda c: (len(set(columns[c])), sum(map(len, columns[c])), -c))
            free.remove(roles["prefix"])
    if "rate" not in roles:
        candidates = [c for c in free if mostly(columns[c], is_decimal)]
        if candidates:
            roles["rate"] = max(candidates, key=lambda c: (any("." in x or "," in x for x in columns[c]), -c))
            free.remove(roles["rate"])
    if "name" not in roles:
        texts = {c: sum(1 for cell in columns[c] if _has_letters(cell)) for c in free}
        candidates = [c for c in free if texts[c] * 2 >= len(rows) and texts[c] > 0]
        if candidates:
            roles["name"] = max(candidates, key=lambda c: (texts[c], -c))
    return roles


def is_prefix(cell: str) -> bool:
    text = cell.strip()
    text = text[1:] if text.startswith("+") else text
    return text.isascii() and text.isdigit() and len(text) <= MAX_PREFIX_DIGITS and text[0] != "0"


def is_decimal(cell: str) -> bool:
    try:
        parse_decimal(cell, "rate")
    except InvalidMoney:
        return False
    return True


def _has_letters(cell: str) -> bool:
    return any(ch.isalpha() for ch in cell)


def _words(cell: str) -> str:
    """`Price / Min` -> `price min`, `dial_code` -> `dial code`."""
    spaced = "".join(ch if ch.isalnum() else " " for ch in cell.lstrip("\ufeff").lower())
    return " ".join(spaced.split())


def _split_decimal_comma(rows: list[Row], rate_col: int, prefix_col: int) -> bool:
    """Whether `0,0125` was cut into a whole-number rate and a digits-only next column.

    An unquoted decimal comma in a comma-separated file splits every rate in two; the rate
    column then never has a separator and the next column is all digits.
    """
    sample = [row for _, row in rows[:_SAMPLE_ROWS]]
    rates = [row[rate_col] for row in sample if rate_col < len(row)]
    after = [row[rate_col + 1].strip() for row in sample if rate_col + 1 < len(row)]
    if rate_col + 1 == prefix_col or not rates or len(after) < len(sample):
        return False
    if any("." in r or "," in r for r in rates):
        return False
    return all(cell.isascii() and cell.isdigit() for cell in after)
