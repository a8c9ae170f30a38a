"""The telebill deck CSV, read and written with every field.

One row per price; `kind` says which section of the deck it belongs to. The format is
documented for users in docs/formats.md. Reading is atomic: every row is checked, every bad
row is reported with its physical line number, and nothing is returned unless all are good.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from typing import Final, TextIO

import numpy as np

from telebill.adapters.importers.rows import (
    Cells,
    Progress,
    RowError,
    VoiceRows,
    finish,
    numbered_rows,
    parse_country,
    parse_prefix,
    with_progress,
)
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import (
    ALL,
    InboundPrice,
    InboundType,
    NumberPrice,
    ResourcePrice,
    SmsPrice,
    Tariff,
)
from telebill.domain.catalog.prefix_index import digits_of
from telebill.domain.catalog.voice_table import ORIGIN_ALL, VoiceRateTable, origin_text
from telebill.domain.errors import InvalidMoney, InvalidRate, InvalidRows
from telebill.domain.numbering import NumberType

HEADER: Final = (
    "kind,prefix,origin,friendly_name,country,number_type,region,caller,resource,unit,quantity,"
    "base_price,current_price,setup_price,monthly_price,inbound_price,connection_fee,increments,"
    "free,blocked,rounding"
)
COLUMNS: Final = tuple(HEADER.split(","))
KINDS: Final = ("voice", "inbound", "sms", "number", "resource")
_USED: Final = {
    "voice": "prefix origin friendly_name country base_price current_price connection_fee increments free "
    "blocked rounding",
    "inbound": "country number_type caller base_price current_price increments connection_fee rounding",
    "sms": "country prefix base_price current_price inbound_price",
    "number": "country number_type region setup_price monthly_price base_price",
    "resource": "resource unit quantity base_price current_price",
}
# A value in a column its kind does not use is almost always a row shifted by one cell.
_UNUSED: Final = {
    kind: tuple(i for i, name in enumerate(COLUMNS) if name != "kind" and name not in used.split())
    for kind, used in _USED.items()
}
_FLAGS: Final = {"": False, "false": False, "0": False, "no": False, "true": True, "1": True, "yes": True}
_CALLER_TYPES: Final = frozenset(t.value for t in NumberType)
ZERO: Final = Decimal(0)


def read_telebill_csv(stream: TextIO, source: str, progress: Progress | None = None) -> DeckContent:
    """Read a telebill CSV; InvalidRows lists every bad row if any row is bad."""
    reader = csv.reader(stream)
    rows = numbered_rows(reader, lambda: reader.line_num)
    errors: list[RowError] = []
    try:
        first = next(rows, None)
        if first is None:
            raise InvalidRows(source, [(1, f"the file is empty; the header is {HEADER}")])
        order = _column_order(source, *first)
        parser = _TelebillRows(errors)
        width = len(first[1])
        for line, row in with_progress(rows, progress):
            if len(row) != width:
                errors.append((line, f"the row has {len(row)} fields, the header has {width}"))
                continue
            if order is not None:
                row.append("")
                row = [row[i] for i in order]
            parser.row(line, row)
    except csv.Error as exc:
        raise InvalidRows(source, [*errors, (reader.line_num, f"unreadable CSV: {exc}")]) from None
    voice = finish(source, errors, parser.voice)
    return DeckContent(voice, tuple(parser.inbound), tuple(parser.sms), tuple(parser.numbers), tuple(parser.resources))


def _column_order(source: str, line: int, header: list[str]) -> list[int] | None:
    """Where each standard column is in this header (None when it is the standard header).

    Columns are matched by name, so they may come in any order and unused ones may be left out.
    """
    names = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header]
    if names == list(COLUMNS):
        return None
    problems = [f"unknown column {name!r}" for name in names if name not in COLUMNS]
    problems += [f"column {name!r} appears twice" for name in sorted(set(names)) if names.count(name) > 1]
    if "kind" not in names:
        problems.append("the kind column is missing")
    if problems:
        raise InvalidRows(source, [(line, f"{'; '.join(problems)} (the columns are {HEADER})")])
    missing = len(header)  # index of the empty cell appended to each row
    return [names.index(name) if name in names else missing for name in COLUMNS]


class _TelebillRows:
    """Turns standard-order rows into entries, recording the reason a bad row is bad."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        self.cells = Cells()
        self.voice = VoiceRows()
        self.inbound: list[InboundPrice] = []
        self.sms: list[SmsPrice] = []
        self.numbers: list[NumberPrice] = []
        self.resources: list[ResourcePrice] = []
        self._seen: dict[tuple[str, ...], int] = {}

    def row(self, line: int, row: list[str]) -> None:
        kind = row[0].strip().lower()
        try:
            unused = _UNUSED.get(kind)
            if unused is None:
                raise InvalidRate(f"kind: {row[0]!r} must be one of {', '.join(KINDS)}")
            for i in unused:
                if row[i] and row[i].strip():
                    raise InvalidRate(f"{COLUMNS[i]}: {kind} rows do not use this column (got {row[i]!r})")
            if kind == "voice":
                self._voice(line, row)
            else:
                self._other(line, kind, row)
        except (InvalidRate, InvalidMoney) as exc:
            self.errors.append((line, str(exc)))

    def _voice(self, line: int, row: list[str]) -> None:
        key = (row[11], row[12], row[16], row[17], row[18], row[19], row[20])
        tariff = self.cells.tariffs.get(key)
        if tariff is None:
            tariff = self.cells.tariffs[key] = self._tariff(*key)
        destination = self.cells.destination(row[3], row[4])
        self.voice.add(line, parse_prefix(row[1]), self.cells.origin(row[2]), destination, tariff)

    def _tariff(
        self, base: str, current: str, fee: str, increments: str, free: str, blocked: str, rounding: str
    ) -> Tariff:
        cells = self.cells
        return Tariff(
            base_price=cells.decimal(base, "base_price"),
            current_price=cells.decimal(current, "current_price"),
            increments=cells.increments(increments),
            connection_fee=cells.decimal(fee, "connection_fee", ZERO),
            free=flag(free, "free"),
            blocked=flag(blocked, "blocked"),
            rounding=cells.rounding(rounding),
        )

    def _other(self, line: int, kind: str, row: list[str]) -> None:
        cells = self.cells
        base = cells.decimal(row[11], "base_price", None if kind != "number" else ZERO)
        if kind == "inbound":
            inbound = InboundPrice(
                country=parse_country(row[4], required=True),
                number_type=_inbound_type(row[5]),
                caller=_caller(row[7]),
                base_price=base,
                current_price=cells.decimal(row[12], "current_price"),
                increments=cells.increments(row[17]),
                connection_fee=cells.decimal(row[16], "connection_fee", ZERO),
                rounding=cells.rounding(row[20]),
            )
            self._once(line, ("inbound", inbound.country, inbound.number_type.value, inbound.caller))
            self.inbound.append(inbound)
        elif kind == "sms":
            prefix = parse_prefix(row[1]) if row[1].strip() else ""
            sms = SmsPrice(
                country=parse_country(row[4], required=True),
                prefix=prefix,
                base_price=base,
                current_price=cells.decimal(row[12], "current_price"),
                inbound_price=cells.decimal(row[15], "inbound_price", ZERO),
            )
            self._once(line, ("sms", sms.country, sms.prefix))
            self.sms.append(sms)
        elif kind == "number":
            monthly = cells.decimal(row[14], "monthly_price")
            number = NumberPrice(
                country=parse_country(row[4], required=True),
                category=_required(row[5], "number_type"),
                region=row[6].strip(),
                setup_price=cells.decimal(row[13], "setup_price", ZERO),
                monthly_price=monthly,
                base_monthly_price=base if row[11].strip() else monthly,
            )
            self._once(line, ("number", number.country, number.category, number.region))
            self.numbers.append(number)
        else:
            resource = ResourcePrice(
                resource=_required(row[8], "resource"),
                unit=_required(row[9], "unit"),
                quantity=_quantity(row[10]),
                base_price=base,
                current_price=cells.decimal(row[12], "current_price"),
            )
            self._once(line, ("resource", resource.resource, resource.unit, str(resource.quantity)))
            self.resources.append(resource)

    def _once(self, line: int, key: tuple[str, ...]) -> None:
        """Two prices for the same thing would make the lookup pick one arbitrarily: refuse."""
        first = self._seen.setdefault(key, line)
        if first != line:
            raise InvalidRate(f"{key[0]} price for {' / '.join(k for k in key[1:] if k)} is already on line {first}")


def flag(text: str, field: str) -> bool:
    value = _FLAGS.get(text.strip().lower())
    if value is None:
        raise InvalidRate(f"{field}: {text!r} must be true or false")
    return value


def _required(text: str, field: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidRate(f"{field} is required")
    return value


def _inbound_type(text: str) -> InboundType:
    try:
        return InboundType(text.strip().lower())
    except ValueError:
        choices = ", ".join(t.value for t in InboundType)
        raise InvalidRate(f"number_type: {text!r} must be one of {choices}") from None


def _caller(text: str) -> str:
    raw = text.strip()
    if not raw or raw.upper() == ALL:
        return ALL
    if raw.lower().startswith("type:"):
        kind = raw[5:].strip().lower()
        if kind not in _CALLER_TYPES:
            raise InvalidRate(f"caller: {text!r} names no number type ({', '.join(sorted(_CALLER_TYPES))})")
        return f"type:{kind}"
    return parse_prefix(raw, "caller")


def _quantity(text: str) -> int:
    raw = text.strip()
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidRate(f"quantity: {text!r} must be a whole number")
    return int(raw)


# Columns each non-voice kind writes, named like the entry's attributes except where mapped.
_WRITTEN: Final = {
    "inbound": (
        "inbound",
        "country number_type caller base_price current_price increments connection_fee rounding",
    ),
    "sms": ("sms", "country prefix base_price current_price inbound_price"),
    "numbers": ("number", "country number_type region setup_price monthly_price base_price"),
    "resources": ("resource", "resource unit quantity base_price current_price"),
}
_ATTRIBUTE: Final = {("number", "number_type"): "category", ("number", "base_price"): "base_monthly_price"}


def write_telebill_csv(content: DeckContent, stream: TextIO) -> int:
    """Write `content` as a telebill CSV; returns the number of rows written (header excluded)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for row in _voice_rows(content.voice):
        writer.writerow(row)
        rows += 1
    for section, (kind, columns) in _WRITTEN.items():
        for entry in getattr(content, section):
            cells = dict.fromkeys(COLUMNS, "")
            cells["kind"] = kind
            for column in columns.split():
                cells[column] = _cell(getattr(entry, _ATTRIBUTE.get((kind, column), column)))
            writer.writerow(cells.values())
            rows += 1
    return rows


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        # "f" keeps the published precision (0.012500 stays 0.012500) and never uses exponent form.
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _voice_rows(table: VoiceRateTable) -> Iterator[tuple[str, ...]]:
    """Voice rows in prefix order (ALL, then ROW, then origin prefixes), formatted once per tariff."""
    origin_order = np.where(table.origin == ORIGIN_ALL, np.int64(-3), table.origin)
    order = np.lexsort((origin_order, table.dest_key)).tolist()
    dest_keys, origins = table.dest_key.tolist(), table.origin.tolist()
    destination_ids, tariff_ids = table.destination_id.tolist(), table.tariff_id.tolist()
    names = [(d.friendly_name, d.iso_country, *[""] * 6) for d in table.destinations]  # .. quantity
    tariffs = [_tariff_cells(t) for t in table.tariffs]
    for i in order:
        head = ("voice", digits_of(dest_keys[i]), origin_text(origins[i]))
        yield (*head, *names[destination_ids[i]], *tariffs[tariff_ids[i]])


def _tariff_cells(t: Tariff) -> tuple[str, ...]:
    """The cells from base_price to rounding, in COLUMNS order."""
    prices = (_cell(t.base_price), _cell(t.current_price), "", "", "", _cell(t.connection_fee))
    flags = ("true" if t.free else "false", "true" if t.blocked else "false")
    return (*prices, str(t.increments), *flags, str(t.rounding))
