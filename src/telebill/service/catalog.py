"""Catalog use cases: import and export decks, build plans, price numbers and rate calls.

Each use case runs in its own unit of work. Deck versions are immutable once stored, so
their in-memory form (with its prefix index) is cached by version id for the life of the
service; only the choice of version for an instant `at` goes back to the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from telebill.domain.catalog.deck import DeckContent, DeckVersion, version_in_force
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Quote, Tier, quote
from telebill.domain.errors import Conflict, InvalidRate, NoPrice, NotFound, TelebillError
from telebill.domain.money import Currency
from telebill.domain.numbering import PhoneNumber, parse_number
from telebill.domain.rating import CallUsage, Charge, rate_call
from telebill.service.ports import Clock, UnitOfWorkFactory
from telebill.service.ttl_cache import TtlCache


@dataclass(frozen=True, slots=True)
class ImportResult:
    deck: str
    version_id: int
    effective_from: datetime
    voice_rows: int
    other_rows: int


@dataclass(frozen=True, slots=True)
class DeckInfo:
    name: str
    currency: str
    versions: tuple[tuple[int, datetime, int], ...]


@dataclass(frozen=True, slots=True)
class PriceLine:
    """The answer for one number of a `price` request: a quote or the reason there is none."""

    text: str
    quote: Quote | None
    error: str | None
    origin: PhoneNumber | None


class CatalogService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache_ttl_s: float = 5.0) -> None:
        self._uow = uow
        self._clock = clock
        self._versions: dict[int, DeckVersion] = {}
        # which versions a deck has, and plans: re-read from the database every `cache_ttl_s`
        self._version_lists: TtlCache[str, list[tuple[int, datetime]] | None] = TtlCache(clock, cache_ttl_s)
        self._plans: TtlCache[str, PricePlan | None] = TtlCache(clock, cache_ttl_s)

    # -- decks ---------------------------------------------------------------------------

    def import_deck(
        self,
        name: str,
        currency: Currency,
        content: DeckContent,
        source: str,
        effective_from: datetime | None = None,
    ) -> ImportResult:
        """Store `content` as a new version of deck `name` (created if new), atomically."""
        name = name.strip()
        if not name:
            raise InvalidRate("deck name must not be empty")
        now = self._clock.now()
        effective = effective_from or now
        with self._uow() as uow:
            existing = uow.catalog.deck_currency(name)
            if existing is None:
                uow.catalog.add_deck(name, currency, now)
            elif existing.code != currency.code:
                raise Conflict(f"deck {name!r} is priced in {existing.code}, not {currency.code}")
            if any(eff == effective for _, eff in uow.catalog.version_ids(name)):
                raise Conflict(f"deck {name!r} already has a version effective {effective.isoformat()}")
            version_id = uow.catalog.add_version(name, effective, content, source, now)
            uow.commit()
        self._version_lists.invalidate(name)
        others = len(content.inbound) + len(content.sms) + len(content.numbers) + len(content.resources)
        return ImportResult(name, version_id, effective, len(content.voice), others)

    def list_decks(self) -> list[DeckInfo]:
        with self._uow() as uow:
            return [DeckInfo(n, c, tuple(v)) for n, c, v in uow.catalog.list_decks()]

    def deck_version(self, name: str, at: datetime | None = None) -> DeckVersion:
        """The version of deck `name` in force at `at` (default: now)."""
        at = at or self._clock.now()
        versions = self._version_lists.get(name, lambda: self._load_version_list(name))
        if versions is None:
            raise NotFound(f"deck {name!r} does not exist")
        chosen = version_in_force(versions, at)
        if chosen is None:
            raise NoPrice("", None, f"deck {name}: no version in force at {at.isoformat()}")
        if chosen not in self._versions:
            with self._uow() as uow:
                self._versions[chosen] = uow.catalog.load_version(chosen)
        return self._versions[chosen]

    def deck_versions(self, name: str) -> list[DeckVersion]:
        """Every version of deck `name`, oldest first (bulk rating spans version changes)."""
        versions = self._version_lists.get(name, lambda: self._load_version_list(name))
        if versions is None:
            raise NotFound(f"deck {name!r} does not exist")
        missing = [vid for vid, _ in versions if vid not in self._versions]
        if missing:
            with self._uow() as uow:
                for vid in missing:
                    self._versions[vid] = uow.catalog.load_version(vid)
        return [self._versions[vid] for vid, _ in sorted(versions, key=lambda v: v[1])]

    def _load_version_list(self, name: str) -> list[tuple[int, datetime]] | None:
        with self._uow() as uow:
            if uow.catalog.deck_currency(name) is None:
                return None
            return uow.catalog.version_ids(name)

    # -- plans ---------------------------------------------------------------------------

    def create_plan(self, plan: PricePlan) -> PricePlan:
        with self._uow() as uow:
            if uow.catalog.get_plan(plan.name) is not None:
                raise Conflict(f"plan {plan.name!r} already exists")
            currencies = set()
            for deck in plan.deck_names:
                code = uow.catalog.deck_currency(deck)
                if code is None:
                    raise NotFound(f"deck {deck!r} does not exist")
                currencies.add(code.code)
            if len(currencies) > 1:
                raise InvalidRate(f"plan {plan.name!r} mixes currencies {sorted(currencies)}")
            uow.catalog.add_plan(plan, self._clock.now())
            uow.commit()
        self._plans.invalidate(plan.name)
        return plan

    def plan(self, name: str) -> PricePlan:
        plan = self._plans.get(name, lambda: self._load_plan(name))
        if plan is None:
            raise NotFound(f"plan {name!r} does not exist")
        return plan

    def _load_plan(self, name: str) -> PricePlan | None:
        with self._uow() as uow:
            return uow.catalog.get_plan(name)

    def list_plans(self) -> list[PricePlan]:
        with self._uow() as uow:
            return uow.catalog.list_plans()

    def plan_for_deck(self, deck: str) -> PricePlan:
        """A one-tier plan pricing straight from `deck` (for `--deck`)."""
        return PricePlan(f"deck:{deck}", (Tier(ConditionKind.ALWAYS, deck),))

    def resolve(self, plan: PricePlan, at: datetime | None = None) -> dict[str, DeckVersion]:
        """The version in force at `at` of each deck of the plan; a deck whose first version
        is still in the future is left out (its tiers price nothing yet)."""
        resolved = {}
        for deck in plan.deck_names:
            try:
                resolved[deck] = self.deck_version(deck, at)
            except NoPrice:
                continue
        if not resolved:
            when = (at or self._clock.now()).isoformat()
            raise NoPrice("", None, f"plan {plan.name}: no version in force of any of its decks at {when}")
        return resolved

    # -- pricing -------------------------------------------------------------------------

    def price(
        self,
        numbers: Iterable[str],
        plan: PricePlan,
        origin: str | None = None,
        at: datetime | None = None,
        default_country: str | None = None,
    ) -> list[PriceLine]:
        decks = self.resolve(plan, at)
        origin_number = parse_number(origin, default_country) if origin else None
        lines = []
        for text in numbers:
            try:
                destination = parse_number(text, default_country or (origin_number.country if origin_number else None))
                lines.append(PriceLine(text, quote(plan, decks, destination, origin_number), None, origin_number))
            except TelebillError as exc:
                lines.append(PriceLine(text, None, str(exc), origin_number))
        return lines

    def rate(
        self,
        origin: str,
        destination: str,
        seconds: int,
        plan: PricePlan,
        at: datetime | None = None,
        answered: bool = True,
    ) -> Charge:
        at = at or self._clock.now()
        origin_number = parse_number(origin)
        dest_number = parse_number(destination, origin_number.country)
        q = quote(plan, self.resolve(plan, at), dest_number, origin_number)
        usage = CallUsage(origin_number.e164, dest_number.e164, at, seconds, answered)
        return rate_call(usage, q)
