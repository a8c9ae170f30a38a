"""The outbox worker use case: carries out what the money paths left in the outbox, and
releases holds whose call never ended.

Owns: claiming due outbox rows, executing `auto_recharge` requests as idempotent top-ups,
delivering every other topic through a Notifier (the account's webhook, else an e-mail to its
notify_email when the platform has a mail server, else the log),
retrying failures with exponential backoff, and giving up after `max_attempts`.

A row goes through two short transactions of its own: a claim (`due` row locked with SKIP
LOCKED on PostgreSQL, attempts counted and a lease set, committed) and a record of the
outcome (delivered, retry time, or failed). The delivery itself runs outside any transaction:
a webhook may take seconds, and SQLite has one writer, which the top-up needs. A worker that
dies mid-row leaves the lease, so the row comes back when it runs out: delivery is at least
once, and an auto-recharge is a top-up keyed by the row's `dedupe_key`, so a re-run replays
the recorded payment instead of charging again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from telebill.domain.errors import NotFound
from telebill.service.charging import ChargingService
from telebill.service.credits import CreditService, settings_of
from telebill.service.notification_history import public_error
from telebill.service.ports import Clock, OutboxRow, UnitOfWork, UnitOfWorkFactory
from telebill.service.provider_ports import Notification, Notifier

AUTO_RECHARGE = "auto_recharge"
MAX_ATTEMPTS = 10
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# Longer than a webhook timeout or a payment; a claimed row is invisible to other workers
# until then, and comes back after it if this worker died.
LEASE = timedelta(minutes=5)
_ERROR_CHARS = 500  # outbox.last_error is VARCHAR(500)


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """What one pass did."""

    delivered: int = 0  # notifications handed to a notifier
    recharged: int = 0  # auto-recharges whose payment succeeded
    declined: int = 0  # auto-recharges the payment provider declined
    skipped: int = 0  # auto-recharges dropped because the customer switched auto-recharge off
    retrying: int = 0  # failed this time, scheduled again
    failed: int = 0  # failed for the last time: failed_at set
    holds_expired: int = 0

    @property
    def processed(self) -> int:
        return self.delivered + self.recharged + self.declined + self.skipped + self.retrying + self.failed


def backoff(attempts: int, base: timedelta = BASE_DELAY, cap: timedelta = MAX_DELAY) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s, 1 min, 2 min, 4 min ... at most 1 h."""
    return min(base * (1 << min(max(attempts - 1, 0), 30)), cap)


class NotificationService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        credits: CreditService,
        charging: ChargingService,
        webhook: Notifier,
        log: Notifier,
        max_attempts: int = MAX_ATTEMPTS,
        email: Notifier | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._credits = credits
        self._charging = charging
        self._webhook = webhook
        self._log = log
        self._email = email
        self._max_attempts = max_attempts

    def run_once(self, limit: int = 100) -> WorkerReport:
        """Process up to `limit` due outbox rows, then expire stale holds. Never sleeps."""
        counts: dict[str, int] = {}
        for _ in range(limit):
            row = self._claim(counts)
            if row is None:
                break
            outcome = self._process(row)
            counts[outcome] = counts.get(outcome, 0) + 1
        return WorkerReport(**counts, holds_expired=self._charging.expire_holds())

    # -- claim and record -----------------------------------------------------------------

    def _claim(self, counts: dict[str, int]) -> OutboxRow | None:
        """The next due row, leased to this worker with its attempt counted."""
        while True:
            now = self._clock.now()
            with self._uow() as uow:
                rows = uow.billing.due(now, 1)
                if not rows:
                    return None
                row = rows[0]
                if row.attempts >= self._max_attempts:
                    # a worker died during the last allowed attempt: done if its payment went
                    # through (the top-up settled the flags), else give up on it now
                    if row.topic == AUTO_RECHARGE and uow.billing.payment_by_key(_payment_key(row)) is not None:
                        uow.billing.mark_outbox(row.id, delivered_at=now, last_error="")
                        outcome = "recharged"
                    else:
                        self._give_up(uow, row, row.last_error or "worker stopped during the last attempt", now)
                        outcome = "failed"
                    uow.commit()
                    counts[outcome] = counts.get(outcome, 0) + 1
                    continue
                attempts = row.attempts + 1
                uow.billing.mark_outbox(row.id, attempts=attempts, next_attempt_at=now + LEASE)
                uow.commit()
            return replace(row, attempts=attempts, next_attempt_at=now + LEASE)

    def _process(self, row: OutboxRow) -> str:
        try:
            outcome = self._recharge(row) if row.topic == AUTO_RECHARGE else self._notify(row)
        except Exception as exc:  # any failure of the delivery is retried (later, maybe elsewhere)
            return self._failed(row, f"{type(exc).__name__}: {exc}")
        if outcome != "skipped":  # a skip records itself, with the settings it changes
            with self._uow() as uow:
                uow.billing.mark_outbox(row.id, claimed=row.attempts, delivered_at=self._clock.now(), last_error="")
                uow.commit()
        return outcome

    def _failed(self, row: OutboxRow, error: str) -> str:
        now = self._clock.now()
        with self._uow() as uow:
            if row.attempts >= self._max_attempts:
                self._give_up(uow, row, error, now, claimed=row.attempts)
                outcome = "failed"
            else:
                retry_at = now + backoff(row.attempts)
                uow.billing.mark_outbox(
                    row.id, claimed=row.attempts, next_attempt_at=retry_at, last_error=error[:_ERROR_CHARS]
                )
                outcome = "retrying"
            uow.commit()
        return outcome

    def _give_up(self, uow: UnitOfWork, row: OutboxRow, error: str, now: datetime, claimed: int | None = None) -> None:
        """`claimed`: the attempt count of this worker's claim (None: the row is locked here)."""
        if not uow.billing.mark_outbox(row.id, claimed=claimed, failed_at=now, last_error=error[:_ERROR_CHARS]):
            return  # another worker, or the operator, took the row over meanwhile
        if row.topic != AUTO_RECHARGE:
            return
        # Left in flight, auto-recharge would never fire again. Stop it like a decline (the
        # customer turns it on again) and tell them why.
        settings = settings_of(uow, row.account_sid, lock=True)
        uow.billing.save_settings(
            row.account_sid, replace(settings, auto_recharge_in_flight=False, auto_recharge_declined=True)
        )
        payload = {
            "account_sid": row.account_sid,
            "amount": row.payload.get("amount"),
            "reason": public_error(error),  # the customer's message: no internal detail
        }
        uow.billing.enqueue(row.account_sid, "auto_recharge.failed", f"auto_recharge.failed:{row.id}", payload, now)

    # -- the two kinds of row ---------------------------------------------------------------

    def _notify(self, row: OutboxRow) -> str:
        with self._uow() as uow:
            settings = settings_of(uow, row.account_sid)
        message = Notification(
            row.id, row.topic, row.account_sid, row.created_at, row.payload,
            settings.webhook_url, settings.webhook_secret, settings.notify_email,
        )  # fmt: skip
        if settings.webhook_url:
            self._webhook.deliver(message)
        elif settings.notify_email and self._email is not None:
            self._email.deliver(message)
        else:
            self._log.deliver(message)
        return "delivered"

    def _recharge(self, row: OutboxRow) -> str:
        with self._uow() as uow:
            account = uow.accounts.get(row.account_sid)
            settings = settings_of(uow, row.account_sid)
            paid = uow.billing.payment_by_key(_payment_key(row)) is not None
        if account is None:
            raise NotFound(f"account {row.account_sid} does not exist")
        if not settings.auto_recharge_enabled and not paid:
            # Switched off since the request was made: charging the card now would go against
            # the customer's latest word. Release the in-flight flag so turning it on re-arms.
            with self._uow() as uow:
                current = settings_of(uow, row.account_sid, lock=True)
                uow.billing.save_settings(row.account_sid, replace(current, auto_recharge_in_flight=False))
                uow.billing.mark_outbox(
                    row.id,
                    claimed=row.attempts,
                    delivered_at=self._clock.now(),
                    last_error="skipped: auto-recharge is off",
                )
                uow.commit()
            return "skipped"
        # The outbox key is the top-up key: a second run (crash, lease ran out) replays the
        # payment recorded by the first instead of charging the customer again.
        result = self._credits.top_up(account, str(row.payload["amount"]), key=row.dedupe_key, source="auto")
        return "recharged" if result.payment_status == "succeeded" else "declined"


def _payment_key(row: OutboxRow) -> str:
    """The payment an auto_recharge row makes (CreditService.top_up keys it by account and key)."""
    return f"{row.account_sid}:{row.dedupe_key}"
