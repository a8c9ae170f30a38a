"""SQL mapping of the catalog: decks, versions and their sections, price plans.

Rows are mapped to domain objects explicitly. Bulk inserts go through executemany in
chunks so a 100k-row deck is written in one transaction without building one huge list.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select

from telebill.adapters.sql import tables as t
from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import (
    Destination,
    InboundPrice,
    InboundType,
    Increments,
    NumberPrice,
    ResourcePrice,
    SmsPrice,
    Tariff,
)
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier
from telebill.domain.catalog.prefix_index import digits_of
from telebill.domain.catalog.voice_table import VoiceRateTableBuilder, origin_text
from telebill.domain.errors import NotFound
from telebill.domain.money import Currency, Rounding, currency

_CHUNK = 20_000


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class SqlCatalogRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def deck_currency(self, name: str) -> Currency | None:
        code = self.conn.scalar(select(t.decks.c.currency).where(t.decks.c.name == name))
        return currency(code) if code else None

    def add_deck(self, name: str, currency: Currency, created_at: datetime) -> None:
        self.conn.execute(insert(t.decks).values(name=name, currency=currency.code, created_at=created_at))

    def _deck_id(self, name: str) -> int:
        deck_id = self.conn.scalar(select(t.decks.c.id).where(t.decks.c.name == name))
        if deck_id is None:
            raise NotFound(f"deck {name!r} does not exist")
        return int(deck_id)

    def add_version(
        self,
        deck: str,
        effective_from: datetime,
        content: DeckContent,
        source: str,
        imported_at: datetime,
    ) -> int:
        version_id = self.conn.scalar(
            insert(t.deck_versions)
            .values(
                deck_id=self._deck_id(deck),
                effective_from=effective_from,
                imported_at=imported_at,
                source=source[:500],
                voice_rows=len(content.voice),
            )
            .returning(t.deck_versions.c.id)
        )
        assert version_id is not None
        for chunk in _chunks(self._voice_rows(version_id, content)):
            self.conn.execute(insert(t.voice_rates), chunk)
        sections: list[tuple[Any, list[dict[str, Any]]]] = [
            (t.inbound_prices, [_inbound_row(version_id, p) for p in content.inbound]),
            (t.sms_prices, [_sms_row(version_id, p) for p in content.sms]),
            (t.number_prices, [_number_row(version_id, p) for p in content.numbers]),
            (t.resource_prices, [_resource_row(version_id, p) for p in content.resources]),
        ]
        for table, rows in sections:
            if rows:
                self.conn.execute(insert(table), rows)
        return int(version_id)

    @staticmethod
    def _voice_rows(version_id: int, content: DeckContent) -> Iterator[dict[str, Any]]:
        table = content.voice
        tariffs = [_tariff_columns(tr) for tr in table.tariffs]
        dests = [{"friendly_name": d.friendly_name, "iso_country": d.iso_country} for d in table.destinations]
        for key, origin, dest_id, tariff_id in zip(
            table.dest_key.tolist(),
            table.origin.tolist(),
            table.destination_id.tolist(),
            table.tariff_id.tolist(),
            strict=True,
        ):
            yield {
                "version_id": version_id,
                "prefix": digits_of(key),
                "origin": origin_text(origin),
                **dests[dest_id],
                **tariffs[tariff_id],
            }

    def version_ids(self, deck: str) -> list[tuple[int, datetime]]:
        rows = self.conn.execute(
            select(t.deck_versions.c.id, t.deck_versions.c.effective_from)
            .where(t.deck_versions.c.deck_id == self._deck_id(deck))
            .order_by(t.deck_versions.c.effective_from)
        )
        return [(int(r.id), r.effective_from) for r in rows]

    def load_version(self, version_id: int) -> DeckVersion:
        head = self.conn.execute(
            select(t.deck_versions.c.effective_from, t.decks.c.name, t.decks.c.currency)
            .join(t.decks, t.decks.c.id == t.deck_versions.c.deck_id)
            .where(t.deck_versions.c.id == version_id)
        ).one_or_none()
        if head is None:
            raise NotFound(f"deck version {version_id} does not exist")
        v = t.voice_rates.c
        builder = VoiceRateTableBuilder()
        tariff_cache: dict[tuple[Any, ...], Tariff] = {}
        dest_cache: dict[tuple[str, str], Destination] = {}
        result = self.conn.execute(
            select(
                v.prefix, v.origin, v.friendly_name, v.iso_country, v.base_price, v.current_price,
                v.initial_s, v.subsequent_s, v.connection_fee, v.free, v.blocked, v.rounding,
            )
            .where(v.version_id == version_id)
            .order_by(v.prefix, v.origin)
        )  # fmt: skip
        for row in result:
            tkey = tuple(row[4:])
            tariff = tariff_cache.get(tkey)
            if tariff is None:
                tariff = tariff_cache[tkey] = Tariff(
                    base_price=row[4],
                    current_price=row[5],
                    increments=Increments(row[6], row[7]),
                    connection_fee=row[8],
                    free=bool(row[9]),
                    blocked=bool(row[10]),
                    rounding=Rounding.parse(row[11]),
                )
            dkey = (row[2], row[3])
            dest = dest_cache.get(dkey)
            if dest is None:
                dest = dest_cache[dkey] = Destination(row[2], row[3])
            builder.add(row[0], row[1], dest, tariff)
        content = DeckContent(
            voice=builder.build(),
            inbound=tuple(self._inbound(version_id)),
            sms=tuple(self._sms(version_id)),
            numbers=tuple(self._numbers(version_id)),
            resources=tuple(self._resources(version_id)),
        )
        return DeckVersion.of(head.name, currency(head.currency), head.effective_from, content, version_id)

    def _inbound(self, version_id: int) -> Iterator[InboundPrice]:
        c = t.inbound_prices.c
        for r in self.conn.execute(
            select(t.inbound_prices).where(c.version_id == version_id).order_by(c.country, c.number_type)
        ):
            yield InboundPrice(
                r.country,
                InboundType(r.number_type),
                r.caller,
                r.base_price,
                r.current_price,
                Increments(r.initial_s, r.subsequent_s),
                r.connection_fee,
                Rounding.parse(r.rounding),
            )

    def _sms(self, version_id: int) -> Iterator[SmsPrice]:
        c = t.sms_prices.c
        for r in self.conn.execute(
            select(t.sms_prices).where(c.version_id == version_id).order_by(c.country, c.prefix)
        ):
            yield SmsPrice(r.country, r.prefix, r.base_price, r.current_price, r.inbound_price)

    def _numbers(self, version_id: int) -> Iterator[NumberPrice]:
        c = t.number_prices.c
        for r in self.conn.execute(
            select(t.number_prices).where(c.version_id == version_id).order_by(c.country, c.category)
        ):
            yield NumberPrice(r.country, r.category, r.region, r.setup_price, r.monthly_price, r.base_monthly_price)

    def _resources(self, version_id: int) -> Iterator[ResourcePrice]:
        c = t.resource_prices.c
        for r in self.conn.execute(select(t.resource_prices).where(c.version_id == version_id).order_by(c.resource)):
            yield ResourcePrice(r.resource, r.unit, r.quantity, r.base_price, r.current_price)

    def list_decks(self) -> list[tuple[str, str, list[tuple[int, datetime, int]]]]:
        out: dict[str, tuple[str, str, list[tuple[int, datetime, int]]]] = {}
        rows = self.conn.execute(
            select(
                t.decks.c.name,
                t.decks.c.currency,
                t.deck_versions.c.id,
                t.deck_versions.c.effective_from,
                t.deck_versions.c.voice_rows,
            )
            .outerjoin(t.deck_versions, t.deck_versions.c.deck_id == t.decks.c.id)
            .order_by(t.decks.c.name, t.deck_versions.c.effective_from)
        )
        for r in rows:
            entry = out.setdefault(r.name, (r.name, r.currency, []))
            if r.id is not None:
                entry[2].append((int(r.id), r.effective_from, int(r.voice_rows)))
        return list(out.values())

    def add_plan(self, plan: PricePlan, created_at: datetime) -> None:
        plan_id = self.conn.scalar(
            insert(t.price_plans).values(name=plan.name, created_at=created_at).returning(t.price_plans.c.id)
        )
        self.conn.execute(
            insert(t.plan_tiers),
            [
                {
                    "plan_id": plan_id,
                    "position": pos,
                    "condition": tier.condition.value,
                    "group_name": tier.group,
                    "deck_id": self._deck_id(tier.deck),
                }
                for pos, tier in enumerate(plan.tiers)
            ],
        )
        if plan.overrides:
            self.conn.execute(
                insert(t.plan_overrides),
                [
                    {
                        "plan_id": plan_id,
                        "prefix": o.prefix,
                        "percent_off": o.percent_off,
                        "fixed_price": o.fixed_price,
                    }
                    for o in plan.overrides
                ],
            )

    def get_plan(self, name: str) -> PricePlan | None:
        plan_id = self.conn.scalar(select(t.price_plans.c.id).where(t.price_plans.c.name == name))
        if plan_id is None:
            return None
        tiers = tuple(
            Tier(ConditionKind(r.condition), r.deck, r.group_name)
            for r in self.conn.execute(
                select(t.plan_tiers.c.condition, t.plan_tiers.c.group_name, t.decks.c.name.label("deck"))
                .join(t.decks, t.decks.c.id == t.plan_tiers.c.deck_id)
                .where(t.plan_tiers.c.plan_id == plan_id)
                .order_by(t.plan_tiers.c.position)
            )
        )
        overrides = tuple(
            Override(r.prefix, r.percent_off, r.fixed_price)
            for r in self.conn.execute(
                select(t.plan_overrides)
                .where(t.plan_overrides.c.plan_id == plan_id)
                .order_by(t.plan_overrides.c.prefix)
            )
        )
        return PricePlan(name, tiers, overrides)

    def list_plans(self) -> list[PricePlan]:
        names = self.conn.scalars(select(t.price_plans.c.name).order_by(t.price_plans.c.name)).all()
        return [p for p in (self.get_plan(n) for n in names) if p is not None]


def _tariff_columns(tariff: Tariff) -> dict[str, Any]:
    return {
        "base_price": tariff.base_price,
        "current_price": tariff.current_price,
        "initial_s": tariff.increments.initial,
        "subsequent_s": tariff.increments.subsequent,
        "connection_fee": tariff.connection_fee,
        "free": tariff.free,
        "blocked": tariff.blocked,
        "rounding": str(tariff.rounding),
    }


def _inbound_row(version_id: int, p: InboundPrice) -> dict[str, Any]:
    return {
        "version_id": version_id,
        "country": p.country,
        "number_type": p.number_type.value,
        "caller": p.caller,
        "base_price": p.base_price,
        "current_price": p.current_price,
        "initial_s": p.increments.initial,
        "subsequent_s": p.increments.subsequent,
        "connection_fee": p.connection_fee,
        "rounding": str(p.rounding),
    }


def _sms_row(version_id: int, p: SmsPrice) -> dict[str, Decimal | str | int]:
    return {
        "version_id": version_id,
        "country": p.country,
        "prefix": p.prefix,
        "base_price": p.base_price,
        "current_price": p.current_price,
        "inbound_price": p.inbound_price,
    }


def _number_row(version_id: int, p: NumberPrice) -> dict[str, Decimal | str | int]:
    return {
        "version_id": version_id,
        "country": p.country,
        "category": p.category,
        "region": p.region,
        "setup_price": p.setup_price,
        "monthly_price": p.monthly_price,
        "base_monthly_price": p.base_monthly_price,
    }


def _resource_row(version_id: int, p: ResourcePrice) -> dict[str, Decimal | str | int]:
    return {
        "version_id": version_id,
        "resource": p.resource,
        "unit": p.unit,
        "quantity": p.quantity,
        "base_price": p.base_price,
        "current_price": p.current_price,
    }
