"""What became of an account's notifications: each outbox message with its delivery state,
for the account (`GET /v1/accounts/{sid}/notifications`) and for the operator, who lists the
messages the worker gave up on and sends one again once its cause is fixed (a webhook that
answered errors, a mail server that refused the login).

An `auto_recharge` request that was given up on is not sent again: giving up turned
auto-recharge off for the account and told the customer, who turns it on again (a new
request, new terms) rather than have an old request charge their card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from telebill.domain.accounts import Account
from telebill.domain.errors import Conflict, InvalidInput, NotFound
from telebill.service.ports import Clock, OutboxRow, UnitOfWorkFactory

MAX_PAGE = 1000
AUTO_RECHARGE = "auto_recharge"
_HTTP_STATUS = re.compile(r"HTTP (\d{3})\b")


def public_error(error: str) -> str | None:
    """What a customer is told of a failed delivery or payment: its kind, not its text. The
    stored error (for the operator) may hold a receiver's answer, the addresses a host resolved
    to, or a driver's message naming internal hosts."""
    if not error:
        return None
    kind, sep, detail = error.partition(": ")
    if not sep or kind == "skipped":  # the worker's own words
        return error
    if kind == "WebhookRejected":
        status = _HTTP_STATUS.match(detail)
        return f"the webhook answered HTTP {status.group(1)}" if status else "the webhook refused it"
    if kind == "WebhookRefused":
        if "non-public address" in detail:
            return "the webhook's host is not a public address"
        return (
            "the webhook's host does not resolve" if "does not resolve" in detail else "the webhook's host is invalid"
        )
    if "Timeout" in kind:
        return "no answer in time"
    if kind.startswith("Connect") or kind in ("ConnectionRefusedError", "OSError"):
        return "could not connect"
    if kind.startswith("SMTP"):
        return "the mail server did not take the message"
    return "delivery failed"


@dataclass(frozen=True, slots=True)
class NotificationState:
    row: OutboxRow

    @property
    def status(self) -> str:
        """delivered | failed (given up on) | retrying (failed, tried again later) | pending."""
        if self.row.delivered_at is not None:
            return "delivered"
        if self.row.failed_at is not None:
            return "failed"
        return "retrying" if self.row.attempts and self.row.last_error else "pending"


class NotificationHistory:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def of_account(
        self, account: Account, limit: int = 100, before: int | None = None
    ) -> tuple[list[NotificationState], bool]:
        """The account's notifications, newest first, and whether older ones follow."""
        return self._page(account.sid, limit, before, failed_only=False)

    def failed(self, limit: int = 100, before: int | None = None) -> tuple[list[NotificationState], bool]:
        """Every account's notifications the worker gave up on, newest first."""
        return self._page(None, limit, before, failed_only=True)

    def _page(
        self, account_sid: str | None, limit: int, before: int | None, failed_only: bool
    ) -> tuple[list[NotificationState], bool]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE}")
        with self._uow() as uow:
            rows = uow.billing.outbox_page(account_sid, limit + 1, before, failed_only)
        return [NotificationState(r) for r in rows[:limit]], len(rows) > limit

    def retry(self, outbox_id: int) -> NotificationState:
        """Send a message given up on again: the worker delivers it at its next pass, with a
        fresh count of attempts."""
        now = self._clock.now()
        with self._uow() as uow:
            row = uow.billing.outbox_row(outbox_id, lock=True)
            if row is None:
                raise NotFound(f"notification {outbox_id} does not exist")
            if row.failed_at is None:
                raise Conflict(f"notification {outbox_id} was not given up on (it is {NotificationState(row).status})")
            if row.topic == AUTO_RECHARGE:
                raise Conflict(
                    f"notification {outbox_id} is an auto-recharge request: giving up on it turned auto-recharge"
                    " off; the customer turns it on again"
                )
            uow.billing.mark_outbox(outbox_id, failed_at=None, attempts=0, next_attempt_at=now, last_error="")
            uow.commit()
        return NotificationState(replace(row, failed_at=None, attempts=0, next_attempt_at=now, last_error=""))
