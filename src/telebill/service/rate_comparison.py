"""Re-rating and carrier reconciliation use cases: what they need from the catalog.

Owns the choice of rater (each call priced with the deck versions in force at its start, as in
bulk rating, or every call at one instant: `BulkRaterAt`) and the destination names used to
group the reports (`DestinationNames` over every version of the plan's decks, the first tier's
deck winning a prefix that several decks have).
"""

from __future__ import annotations

from datetime import datetime

from telebill.domain.bulk_rating import BulkRater
from telebill.domain.destination_names import DestinationNames
from telebill.domain.rating_at_instant import BulkRaterAt
from telebill.service.bulk_rating import bulk_rater_for
from telebill.service.catalog import CatalogService


def comparison_rater(catalog: CatalogService, plan_name: str, at: datetime | None = None) -> BulkRater:
    """A BulkRater of the stored plan `plan_name`; with `at`, one pricing every call with the
    versions in force at that instant (NotFound for a missing plan or deck)."""
    plan = catalog.plan(plan_name)
    if at is None:
        return bulk_rater_for(catalog, plan)
    return BulkRaterAt(plan, {deck: catalog.deck_versions(deck) for deck in plan.deck_names}, at)


def destination_names(catalog: CatalogService, plan_name: str) -> DestinationNames:
    """The names of the prefixes of every version of the plan's decks."""
    plan = catalog.plan(plan_name)
    return DestinationNames(v for deck in reversed(plan.deck_names) for v in catalog.deck_versions(deck))
