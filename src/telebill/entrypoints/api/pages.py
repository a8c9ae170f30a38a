"""Query parameters of the native API's paged lists: how many items, and where the previous
page ended (its `next_before`, an id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=1000)]
Before = Annotated[int | None, Query(ge=1, le=2**63 - 1, description="`next_before` of the previous page.")]
# payments are numbered by a 32-bit id
PaymentsBefore = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="`next_before` of the previous page.")]
