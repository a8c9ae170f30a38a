"""Friendly names and countries of matched prefixes, for reports grouped by destination.

A rated file names the prefix that priced each call (`matched_prefix`), not the destination.
`DestinationNames` maps a prefix back to the `Destination` (friendly name, ISO country) of the
entries with that prefix in a set of deck versions; when several versions have the prefix, the
one given last wins (callers list versions oldest first, so the newest name is used).
"""

from __future__ import annotations

from collections.abc import Iterable

from telebill.domain.catalog.deck import DeckVersion
from telebill.domain.catalog.entries import Destination
from telebill.domain.catalog.prefix_index import key_of


class DestinationNames:
    """Prefix -> Destination over deck versions (later versions win); unknown prefixes: None."""

    def __init__(self, versions: Iterable[DeckVersion]) -> None:
        self._by_key: dict[int, Destination] = {}
        for version in versions:
            table = version.voice
            destinations = table.destinations
            for key, destination in zip(table.dest_key.tolist(), table.destination_id.tolist(), strict=True):
                self._by_key[key] = destinations[destination]

    def __len__(self) -> int:
        return len(self._by_key)

    def of(self, prefix: str) -> Destination | None:
        if not prefix.isascii() or not prefix.isdigit() or len(prefix) > 15:
            return None
        return self._by_key.get(key_of(prefix))

    def label(self, prefix: str) -> Destination:
        """The destination of `prefix`, or `prefix NNN` without a country when no deck has it."""
        return self.of(prefix) or Destination(f"prefix {prefix}")
