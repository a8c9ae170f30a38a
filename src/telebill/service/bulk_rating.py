"""Bulk rating use case: the vectorised rater of a price plan, with every version of its decks.

Owns what a bulk run needs from the catalog. Calls in a file span days or months, so the rater
gets all versions of each deck and picks, per call, the version in force at its start.
"""

from __future__ import annotations

from telebill.domain.bulk_rating import BulkRater
from telebill.domain.catalog.plans import PricePlan
from telebill.service.catalog import CatalogService


def bulk_rater_for(catalog: CatalogService, plan: PricePlan) -> BulkRater:
    """A BulkRater of `plan` over all versions of its decks (NotFound for a missing deck)."""
    return BulkRater(plan, {deck: catalog.deck_versions(deck) for deck in plan.deck_names})


def bulk_rater(catalog: CatalogService, plan_name: str) -> BulkRater:
    """A BulkRater of the stored plan `plan_name` (NotFound if there is none)."""
    return bulk_rater_for(catalog, catalog.plan(plan_name))
