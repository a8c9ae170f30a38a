"""Paging of the Twilio Pricing list endpoints: `PageSize`, `Page`, `PageToken` and `meta`.

Lists are sorted by a unique key (the ISO country code) and cut into pages by position:

- `PageSize` defaults to 50; values outside 1..1000 are clamped, never refused (the SDK
  sends `PageSize=<limit>` for `stream(limit=5000)`).
- A page token names a position by key: `PA<key>` is the page starting after `<key>`
  (what `next_page_url` carries), `PB<key>` the page ending before `<key>`
  (`previous_page_url`). A page boundary therefore stays put when the list changes
  between two requests; a token that is not of this form is refused (400).
- Without a token the page starts at `Page` x `PageSize`. With one, `Page` is only
  client state, as Twilio documents it, and is echoed back.

The SDK follows `meta.next_page_url` verbatim, so every link is absolute, built from
`settings.public_url` or, when that is empty, the request's own base URL.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from telebill.domain.errors import InvalidInput
from telebill.entrypoints.api.auth import container_of

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
META_KEY: Final = "countries"
_TOKEN: Final = re.compile(r"P([AB])([A-Z]{2})")

T = TypeVar("T")


def base_url(request: Request) -> str:
    """Where clients reach this server: `settings.public_url`, else the request's base URL."""
    configured = container_of(request).settings.public_url.strip()
    return (configured or str(request.base_url)).rstrip("/")


@dataclass(frozen=True, slots=True)
class PageToken:
    """A position in a list sorted by key: just after `key`, or just before it."""

    after: bool
    key: str

    def __str__(self) -> str:
        return f"P{'A' if self.after else 'B'}{self.key}"

    @classmethod
    def parse(cls, text: str) -> PageToken:
        match = _TOKEN.fullmatch(text)
        if match is None:
            raise InvalidInput(f"PageToken: {text!r} is not a page token this API issued")
        return cls(match.group(1) == "A", match.group(2))


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The paging parameters of one list request, normalised."""

    page: int
    page_size: int
    token: PageToken | None

    @classmethod
    def of(cls, page_size: int | None, page: int | None, token: str | None) -> PageRequest:
        size = DEFAULT_PAGE_SIZE if page_size is None else min(max(page_size, 1), MAX_PAGE_SIZE)
        return cls(page or 0, size, PageToken.parse(token) if token else None)

    def bounds(self, keys: Sequence[str]) -> tuple[int, int]:
        """[start, end) of this page in `keys` (sorted, unique)."""
        if self.token is None:
            start = min(self.page * self.page_size, len(keys))
            return start, min(start + self.page_size, len(keys))
        if self.token.after:
            start = bisect_right(keys, self.token.key)
            return start, min(start + self.page_size, len(keys))
        end = bisect_left(keys, self.token.key)
        return max(end - self.page_size, 0), end


def page_request(
    page_size: Annotated[
        int | None, Query(alias="PageSize", description="Records per page: default 50, clamped to 1..1000.")
    ] = None,
    page: Annotated[int | None, Query(alias="Page", ge=0, description="The page index (client state).")] = None,
    page_token: Annotated[str | None, Query(alias="PageToken", description="From a `meta` page URL.")] = None,
) -> PageRequest:
    """The `PageSize`, `Page` and `PageToken` query parameters (a dependency)."""
    return PageRequest.of(page_size, page, page_token)


Paging = Annotated[PageRequest, Depends(page_request)]


def page_url(collection: str, page_size: int, page: int, token: PageToken | None) -> str:
    """`<collection>?PageSize=..&Page=..[&PageToken=..]`, Twilio's parameter order."""
    params: list[tuple[str, str | int]] = [("PageSize", page_size), ("Page", page)]
    if token is not None:
        params.append(("PageToken", str(token)))
    return f"{collection}?{urlencode(params)}"


def paginate(
    rows: Sequence[T], key: Callable[[T], str], request: PageRequest, collection: str
) -> tuple[list[T], dict[str, Any]]:
    """The rows of the requested page and the `meta` object describing it.

    `collection` is the absolute URL of the list resource. An empty page has neither a
    next nor a previous page.
    """
    keys = [key(r) for r in rows]
    if any(a >= b for a, b in pairwise(keys)):
        raise ValueError("paginate needs rows sorted by a unique key")
    start, end = request.bounds(keys)
    chunk = list(rows[start:end])
    size, page = request.page_size, request.page
    next_url = previous_url = None
    if chunk and end < len(rows):
        next_url = page_url(collection, size, page + 1, PageToken(True, keys[end - 1]))
    if chunk and start > 0:
        previous_url = page_url(collection, size, max(page - 1, 0), PageToken(False, keys[start]))
    meta = {
        "page": page,
        "page_size": size,
        "first_page_url": page_url(collection, size, 0, None),
        "previous_page_url": previous_url,
        "url": page_url(collection, size, page, request.token),
        "next_page_url": next_url,
        "key": META_KEY,
    }
    return chunk, meta
