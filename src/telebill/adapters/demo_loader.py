"""Loading the demo catalog and the bundled ECB rates into a running installation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from importlib.resources import files

from telebill.adapters.demo_catalog import build_demo_catalog
from telebill.adapters.fx.ecb_csv import read_ecb_csv
from telebill.domain.errors import Conflict
from telebill.domain.money import currency
from telebill.service.catalog import CatalogService
from telebill.service.fx import ExchangeRateService


def load_demo(catalog: CatalogService, fx: ExchangeRateService, effective_from: datetime) -> Iterator[str]:
    """Load decks, plans and exchange rates; yields one line per step. Safe to repeat."""
    demo = build_demo_catalog()
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
    source = files("telebill") / "data" / "ecb-eurofxref.csv"
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as fh:
        count = fx.import_rates(read_ecb_csv(fh, "ecb-eurofxref.csv"))
    yield f"exchange rates: {count} ECB reference rates"
