"""Loading the demo catalog and the bundled ECB rates into a running installation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files

from telebill.adapters.demo_catalog import DemoCatalog, build_demo_catalog
from telebill.adapters.fx.ecb_csv import read_ecb_csv
from telebill.domain.errors import Conflict
from telebill.domain.money import currency
from telebill.service.catalog import CatalogService
from telebill.service.fx import ExchangeRateService


@lru_cache(maxsize=1)
def _demo() -> DemoCatalog:
    """The demo is deterministic; building it once per process is enough."""
    return build_demo_catalog()


@lru_cache(maxsize=1)
def _bundled_rates() -> tuple[tuple[date, str, Decimal], ...]:
    source = files("telebill") / "data" / "ecb-eurofxref.csv"
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as fh:
        return tuple(read_ecb_csv(fh, "ecb-eurofxref.csv"))


def load_demo(catalog: CatalogService, fx: ExchangeRateService, effective_from: datetime) -> Iterator[str]:
    """Load decks, plans and exchange rates; yields one line per step. Safe to repeat."""
    demo = _demo()
    for name, code, content in demo.decks:
        try:
            r = catalog.import_deck(name, currency(code), content, "telebill demo", effective_from)
            yield f"deck {name}: {r.voice_rows} voice rows, {r.other_rows} other prices"
        except Conflict:
            yield f"deck {name}: already loaded"
    for plan in demo.plans:
        try:
            catalog.create_plan(plan)
            yield f"plan {plan.name}: " + "; ".join(t.describe() for t in plan.tiers)
        except Conflict:
            yield f"plan {plan.name}: already exists"
    count = fx.import_rates(_bundled_rates())
    yield f"exchange rates: {count} ECB reference rates"
