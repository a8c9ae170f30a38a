"""What a Voximplant call carries: its request parameters and the caller they come from.

The router turns each request into a `VoxCall` (the authenticated principal, the container,
the `Params` as sent and the host it was sent to); every method takes one and returns the
whole response body (`{"result": ...}` plus any siblings such as `count`), amounts as
`Decimal`s, which the router writes as exact JSON numbers. `Params` parses the values the
way the SDKs send them: booleans in any case, lists `;`-separated, integers non-negative.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from telebill.bootstrap import Container
from telebill.domain.accounts import Principal
from telebill.domain.errors import InvalidInput
from telebill.service.pricing import PriceView

_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class Params:
    """Request parameters as sent: booleans any case (`True`, `true`, `1`), lists `;`-separated."""

    values: Mapping[str, str]

    def text(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise InvalidInput(f"{name}: this parameter is required")
        return value

    def flag(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise InvalidInput(f"{name}: {value!r} is not a boolean (true or false)")

    def words(self, name: str) -> list[str]:
        return [w.strip() for w in self.values.get(name, "").split(";") if w.strip()]

    def ints(self, name: str) -> list[int]:
        words = self.words(name)
        if not all(w.isascii() and w.isdigit() for w in words):
            raise InvalidInput(f"{name}: expected integers separated by ';'")
        return [int(w) for w in words]

    def integer(self, name: str, default: int | None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()):
            raise InvalidInput(f"{name}: {value!r} is not a non-negative integer")
        return int(value)


@dataclass(frozen=True)
class VoxCall:
    principal: Principal
    container: Container
    params: Params
    host: str

    def view(self) -> PriceView:
        return self.container.pricing.view(self.principal.account)


Method = Callable[[VoxCall], dict[str, Any]]
