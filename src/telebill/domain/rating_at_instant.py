"""Rating calls of the past with the price list of one instant: `BulkRaterAt`.

`BulkRater` looks each call up in the deck version in force at the call's own start. "What would
last month's calls have cost with the new price list?" needs every call priced with the versions
in force at one chosen instant instead: `BulkRaterAt` rates the very same calls (numbers,
durations, answered flags unchanged) but hands the lookup one constant start time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from telebill.domain.bulk_rating import BulkRater, CdrColumns, RatedColumns, epoch_us
from telebill.domain.catalog.deck import DeckVersion
from telebill.domain.catalog.plans import PricePlan


class BulkRaterAt(BulkRater):
    """A BulkRater that prices every call with the deck versions in force at `at`. Picklable."""

    def __init__(self, plan: PricePlan, versions: Mapping[str, Sequence[DeckVersion]], at: datetime) -> None:
        super().__init__(plan, versions)
        self.at = at
        self._at_us = epoch_us(at)

    def rate(self, cdrs: CdrColumns) -> RatedColumns:
        start = np.full(len(cdrs), self._at_us, dtype=np.int64)
        return super().rate(replace(cdrs, start_us=start))
