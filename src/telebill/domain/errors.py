"""Domain error types: every refusal the domain can make, each naming what was wrong."""

from __future__ import annotations


class TelebillError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidMoney(TelebillError, ValueError):
    """An amount or currency that cannot be money (a float, a bad code, a non-number)."""


class InvalidNumber(TelebillError, ValueError):
    """A phone number that cannot be parsed or is not a valid E.164 number."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid phone number {text!r}: {reason}")
        self.text = text
        self.reason = reason


class InvalidRate(TelebillError, ValueError):
    """A price entry whose fields contradict each other or are out of range."""


class NoPrice(TelebillError, LookupError):
    """No entry of the deck or plan prices this destination from this origin."""

    def __init__(self, destination: str, origin: str | None, where: str) -> None:
        frm = f" from {origin}" if origin else ""
        super().__init__(f"no price for {destination}{frm} in {where}" if destination else f"no price: {where}")
        self.destination = destination
        self.origin = origin
        self.where = where


class CallBlocked(TelebillError):
    """The matched entry forbids calls to this destination."""

    def __init__(self, destination: str, prefix: str, friendly_name: str) -> None:
        super().__init__(f"calls to {destination} are blocked ({friendly_name}, prefix {prefix})")
        self.destination = destination
        self.prefix = prefix
        self.friendly_name = friendly_name


class NotFound(TelebillError, LookupError):
    """A named catalog object (deck, plan, version) does not exist."""


class Conflict(TelebillError):
    """The request contradicts what is already stored (a duplicate name, a clash)."""


class InvalidRows(TelebillError, ValueError):
    """An input file with bad rows: every bad row, with its line number and reason."""

    def __init__(self, source: str, errors: list[tuple[int, str]]) -> None:
        self.source = source
        self.errors = errors
        shown = "\n".join(f"  line {line}: {reason}" for line, reason in errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing imported\n{shown}{more}")


class InvalidInput(TelebillError, ValueError):
    """A request field that cannot be understood (a malformed date, an unknown option value)."""


class Unauthenticated(TelebillError):
    """Missing or wrong credentials. The message never says which part was wrong."""


class Forbidden(TelebillError):
    """Authenticated, but this principal may not see or do this."""


class NoRate(TelebillError, LookupError):
    """No exchange rate is known for a currency pair on a date."""


class IdempotencyConflict(Conflict):
    """An idempotency key was replayed with a different request."""


class InsufficientFunds(TelebillError):
    """The transfer would take an account below what its policy allows."""


class RetryableConflict(TelebillError):
    """A concurrent transaction won a race (a duplicate key, a serialization failure);
    running the use case again sees its result."""
