from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from prepaid_account import UK_MOBILE, US_LINE

from telebill.adapters.clock import FrozenClock
from telebill.bootstrap import Container
from telebill.domain.accounts import Account
from telebill.domain.errors import IdempotencyConflict, InvalidInput
from telebill.domain.money import currency
from telebill.service.call_admission import CallRequest


def micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def test_a_call_is_held_debited_as_it_goes_and_settled_exactly(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    auth = c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    assert auth.allowed
    assert auth.rate == Decimal("0.0210")
    assert auth.granted_until_s == 60
    assert c.credits.balance(acme).holds == micros("0.021")
    usage = c.charging.usage(acme, "c1", 60)
    assert usage.proceed
    assert usage.charged == micros("0.021")
    end = c.charging.end(acme, "c1", 95, answered=True)
    assert (end.charge, end.billed_s) == (micros("0.042"), 120)
    bal = c.credits.balance(acme)
    assert (bal.balance, bal.holds) == (micros("9.958"), 0)
    assert c.charging.end(acme, "c1", 300, answered=True).charge == micros("0.042")  # repeated end: same answer
    assert c.ledger.verify().ok


def test_replays_change_nothing_and_other_content_conflicts(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    first = c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    again = c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    assert (first.allowed, first.granted_until_s) == (again.allowed, again.granted_until_s)
    with pytest.raises(IdempotencyConflict):
        c.charging.authorize(acme, CallRequest("c1", US_LINE, "+33612345678"))
    c.charging.usage(acme, "c1", 60)
    c.charging.usage(acme, "c1", 60)
    c.charging.usage(acme, "c1", 30)
    assert c.credits.balance(acme).balance == micros("10") - micros("0.021")
    assert c.ledger.verify().ok


def test_cut_off_grants_only_what_is_left(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "0.03", "t1")  # 0.0210/min, 60/60: one minute, then nothing
    auth = c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    assert auth.allowed
    assert auth.max_duration_s == 60
    usage = c.charging.usage(acme, "c1", 60)
    assert not usage.proceed
    assert usage.granted_until_s == 60
    c.charging.end(acme, "c1", 60, answered=True)
    assert c.credits.balance(acme).balance == micros("0.009")
    refused = c.charging.authorize(acme, CallRequest("c2", US_LINE, UK_MOBILE))
    assert (refused.allowed, refused.reason) == (False, "insufficient_credit")
    assert c.ledger.verify().ok


@pytest.mark.parametrize(
    ("destination", "reason"),
    [
        ("+870772001234", "destination_blocked"),
        ("911", "emergency_number"),
    ],
)
def test_refusals_carry_a_reason(demo_container: Container, acme: Account, destination: str, reason: str) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    auth = c.charging.authorize(acme, CallRequest("c1", US_LINE, destination))
    assert (auth.allowed, auth.reason) == (False, reason)
    assert c.credits.balance(acme).holds == 0


def test_international_calls_need_the_line_toggle(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    c.lines.add(acme, "+14155550111")
    auth = c.charging.authorize(acme, CallRequest("c1", "+14155550111", UK_MOBILE))
    assert (auth.allowed, auth.reason) == (False, "international_calling_disabled")
    other = c.charging.authorize(acme, CallRequest("c2", "+14155550199", UK_MOBILE))
    assert other.reason == "not_a_line_of_the_account"


def test_free_destinations_need_no_hold(demo_container: Container, acme: Account) -> None:
    c = demo_container
    auth = c.charging.authorize(acme, CallRequest("c1", US_LINE, "+12125550100"))
    assert (auth.allowed, auth.free) == (True, True)
    assert c.charging.end(acme, "c1", 600, answered=True).charge == 0


@pytest.mark.parametrize("destination", [UK_MOBILE, "+12125550100"], ids=["paid", "free"])
def test_usage_grants_no_time_past_the_four_hour_maximum_that_end_accepts(
    demo_container: Container, acme: Account, destination: str
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    assert c.charging.authorize(acme, CallRequest("long", US_LINE, destination)).allowed
    near = c.charging.usage(acme, "long", 4 * 3600 - 60)
    assert (near.proceed, near.granted_until_s) == (True, 4 * 3600)
    at_the_cap = c.charging.usage(acme, "long", 4 * 3600)
    assert (at_the_cap.proceed, at_the_cap.granted_until_s) == (False, 4 * 3600)
    end = c.charging.end(acme, "long", 4 * 3600, answered=True)
    assert end.charge == (0 if destination != UK_MOBILE else micros("0.021") * 240)
    assert c.credits.balance(acme).holds == 0
    assert c.ledger.verify().ok


def test_inbound_calls_and_messages_record_the_exchange_rate_they_were_converted_at(demo_container: Container) -> None:
    c = demo_container
    euro = c.accounts.create_account("euro", currency("EUR"), "demo-discount").account  # a plan priced in USD
    c.credits.update_settings(euro, {"billing_address": "1 Rue de Rivoli, Paris"})
    c.credits.top_up(euro, "10.00", "t1")
    c.lines.add(euro, US_LINE)
    fx = c.pricing.view(euro).fx_rate
    assert fx != 1

    inbound = c.charging.authorize(euro, CallRequest("in", UK_MOBILE, US_LINE, direction="inbound")).call
    sms_out = c.charging.authorize(euro, CallRequest("out", US_LINE, "+14155550123", kind="sms")).call
    sms_in = c.charging.authorize(euro, CallRequest("sin", "+14155550123", US_LINE, "inbound", "sms")).call
    for call in (inbound, sms_out, sms_in):
        assert (call.fx_rate, call.deck_currency, call.currency) == (fx, "USD", "EUR")

    # priced in the deck currency, then converted (ADR 6): 0.0040 USD a minute in 6 s steps
    assert inbound.price_per_minute == Decimal("0.0040")
    assert c.charging.end(euro, "in", 61, answered=True).charge == in_euro_micros(Decimal("0.0044"), fx)
    assert sms_out.price_per_minute == Decimal("0.0079")
    assert sms_out.charged == sms_in.charged == in_euro_micros(Decimal("0.0079"), fx)
    assert c.ledger.verify().ok


def in_euro_micros(usd: Decimal, fx: Decimal) -> int:
    return int((usd * fx).quantize(Decimal("0.000001"), ROUND_HALF_UP) * 1_000_000)


def test_top_ups_need_a_billing_identity_in_usd(demo_container: Container) -> None:
    c = demo_container
    acct = c.accounts.create_account("bare", currency("USD"), "demo").account
    with pytest.raises(InvalidInput, match="billing address"):
        c.credits.top_up(acct, "10.00", "t1")


def test_expired_holds_are_released(demo_container: Container, acme: Account, clock: FrozenClock) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    assert c.credits.balance(acme).holds > 0
    clock.advance(timedelta(hours=5))
    assert c.charging.expire_holds() == 1
    assert c.credits.balance(acme).holds == 0
    assert c.ledger.verify().ok


def test_a_lost_call_is_marked_expired_and_a_late_end_still_settles_it(
    demo_container: Container, acme: Account, clock: FrozenClock
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    c.charging.authorize(acme, CallRequest("lost", US_LINE, UK_MOBILE))
    c.charging.usage(acme, "lost", 60)  # debits the first minute, holds the next
    charged = c.charging.history(acme)[0].charged
    clock.advance(timedelta(hours=5))
    assert c.charging.expire_holds() == 1
    expired = c.charging.history(acme)[0]
    assert (expired.status, expired.charged, expired.hold_transfer_id) == ("expired", charged, None)
    assert c.credits.balance(acme).holds == 0
    assert c.credits.balance(acme).balance == 10_000_000 - charged
    assert not c.charging.usage(acme, "lost", 120).proceed

    late = c.charging.end(acme, "lost", 95, answered=True)
    assert (late.call.status, late.billed_s, late.charge) == ("ended", 120, 2 * charged)
    assert c.charging.end(acme, "lost", 95, answered=True).charge == late.charge
    assert c.credits.balance(acme).balance == 10_000_000 - late.charge
    assert c.charging.expire_holds() == 0
    assert c.ledger.verify().ok


def test_expiry_passes_release_every_expired_hold_however_many_and_whenever_they_expire(
    demo_container: Container, acme: Account, clock: FrozenClock
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    for i in range(3):
        c.charging.authorize(acme, CallRequest(f"a{i}", US_LINE, UK_MOBILE))
    assert c.charging.expire_holds() == 0  # none expired yet
    clock.advance(timedelta(hours=5))
    assert c.charging.expire_holds(limit=2) == 2  # a partial pass: the third is looked at next time
    c.charging.authorize(acme, CallRequest("b", US_LINE, UK_MOBILE))
    assert c.charging.expire_holds(limit=2) == 1
    assert c.charging.expire_holds() == 0
    clock.advance(timedelta(hours=5))
    assert c.charging.expire_holds() == 1  # b's hold expires after the last complete pass
    assert c.credits.balance(acme).holds == 0
    assert {call.status for call in c.charging.history(acme)} == {"expired"}
    assert c.ledger.verify().ok


def test_a_hold_is_released_after_the_worker_clock_went_back_or_another_host_lagged(
    demo_container: Container, acme: Account, clock: FrozenClock
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    clock.advance(timedelta(days=1))  # the worker's clock a day ahead for one pass ...
    assert c.charging.expire_holds() == 0
    clock.advance(timedelta(days=-1))  # ... then put right
    c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    clock.advance(timedelta(hours=5))
    assert c.charging.expire_holds() == 1
    # after that complete pass, a host 5 h behind places a hold: it expires 50 min before the
    # pass, which must not have skipped past it
    clock.advance(timedelta(hours=-5))
    c.charging.authorize(acme, CallRequest("c2", US_LINE, UK_MOBILE))
    clock.advance(timedelta(hours=5, minutes=1))
    assert c.charging.expire_holds() == 1
    assert c.credits.balance(acme).holds == 0


def test_a_new_process_starts_expiring_from_the_stored_mark_unless_it_lies_ahead_of_its_clock(
    demo_container: Container, acme: Account, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telebill.adapters.sql.ledger_repository import SqlLedgerRepository
    from telebill.service.charging import ChargingService

    c = demo_container
    assert c.units is not None
    looked_after: list[object] = []
    real = SqlLedgerRepository.expired_holds

    def spy(self: SqlLedgerRepository, now: object, limit: int, after: object = None) -> object:
        looked_after.append(after)
        return real(self, now, limit, after)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlLedgerRepository, "expired_holds", spy)
    c.credits.top_up(acme, "10.00", "t1")
    c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    clock.advance(timedelta(hours=5))
    assert c.charging.expire_holds() == 1
    passed_at = clock.now()

    def new_process() -> ChargingService:
        assert c.units is not None
        return ChargingService(c.units, clock, c.pricing)

    clock.advance(timedelta(minutes=1))
    assert new_process().expire_holds() == 0
    assert looked_after[-1] == passed_at - timedelta(hours=4, minutes=10)  # the stored mark

    clock.advance(timedelta(days=1))  # a process whose clock runs a day ahead stores a later mark
    ahead = new_process()
    assert ahead.expire_holds() == 0
    clock.advance(timedelta(days=-1))
    c.charging.authorize(acme, CallRequest("c2", US_LINE, UK_MOBILE))  # expires before that mark
    clock.advance(timedelta(hours=5))
    assert new_process().expire_holds() == 1  # the mark lies ahead of this clock: not trusted
    assert looked_after[-1] is None
    assert c.credits.balance(acme).holds == 0


def test_a_call_renewing_its_hold_is_not_shown_lost_with_a_short_hold_timeout(
    demo_container: Container, acme: Account, clock: FrozenClock
) -> None:
    from telebill.service.charging import ChargingService

    c = demo_container
    assert c.units is not None
    charging = ChargingService(c.units, clock, c.pricing, interval_s=60, hold_timeout_s=300)
    c.credits.top_up(acme, "10.00", "t1")
    charging.authorize(acme, CallRequest("long", US_LINE, UK_MOBILE))
    for minute in range(1, 31):
        clock.advance(timedelta(seconds=60))
        assert charging.usage(acme, "long", minute * 60).proceed
    assert charging.history(acme)[0].status == "active"
    clock.advance(timedelta(hours=4))
    assert charging.expire_holds() == 1
    assert charging.history(acme)[0].status == "expired"


def test_a_lost_call_holding_nothing_shows_as_expired_once_no_call_could_still_last(
    demo_container: Container, acme: Account, clock: FrozenClock
) -> None:
    c = demo_container
    assert c.charging.authorize(acme, CallRequest("free", US_LINE, "+12125550100")).free
    clock.advance(timedelta(hours=4, minutes=9))
    assert c.charging.history(acme)[0].status == "active"
    clock.advance(timedelta(minutes=1))  # the hold timeout (4 h 10 min, more than 4 h and a minute)
    assert c.charging.expire_holds() == 0  # nothing held, nothing released
    assert c.charging.history(acme)[0].status == "expired"
    assert c.charging.end(acme, "free", 600, answered=True).call.status == "ended"
    assert c.charging.history(acme)[0].status == "ended"


def test_hold_keys_name_their_call() -> None:
    from telebill.service.hold_expiry import call_of_hold, call_step_key

    assert call_of_hold(call_step_key("AC1", "a:hold:b", "hold:3")) == ("AC1", "a:hold:b")
    assert call_of_hold(call_step_key("AC1", "x", "settle:0")) is None
    assert call_of_hold("topup:AC1:k") is None


def test_a_member_calls_only_from_the_lines_assigned_to_them(demo_container: Container, acme: Account) -> None:
    from telebill.domain.accounts import Principal, Role

    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    member = c.accounts.create_key(acme.sid, Role.MEMBER)
    request = CallRequest("c1", US_LINE, UK_MOBILE, member_key=member.key.sid)
    refused = c.charging.authorize(acme, request)
    assert (refused.allowed, refused.reason) == (False, "line_not_assigned_to_member")
    c.lines.assign(Principal(acme, Role.ADMIN), acme, US_LINE, member.key.sid, True)
    assert c.charging.authorize(acme, CallRequest("c2", US_LINE, UK_MOBILE, member_key=member.key.sid)).allowed


def test_the_first_hold_covers_the_connection_fee_so_concurrent_calls_cannot_overspend(container: Container) -> None:
    from telebill.domain.accounts import Principal, Role
    from telebill.domain.catalog.deck import DeckContent
    from telebill.domain.catalog.entries import ALL, Destination, Increments, Tariff, VoiceRate
    from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier
    from telebill.domain.catalog.voice_table import VoiceRateTable

    c = container
    fee = Tariff(Decimal("1.00"), Decimal("1.00"), Increments(60, 60), Decimal("0.50"))
    table = VoiceRateTable.of([VoiceRate("44", ALL, Destination("United Kingdom", "GB"), fee)])
    c.catalog.import_deck("fees", currency("USD"), DeckContent(table), "test", c.clock.now() - timedelta(days=1))
    c.catalog.create_plan(PricePlan("fees", (Tier(ConditionKind.ALWAYS, "fees"),)))
    acct = c.accounts.create_account("fee", currency("USD"), "fees").account
    c.credits.update_settings(acct, {"billing_address": "1 Main St"})
    c.lines.add(acct, US_LINE)
    c.lines.set_international(Principal(acct, Role.ADMIN), acct, US_LINE, True)
    c.credits.top_up(acct, "2.50", "t1")
    first = c.charging.authorize(acct, CallRequest("a", US_LINE, UK_MOBILE))
    assert (first.allowed, first.granted_until_s) == (True, 60)
    assert c.credits.balance(acct).holds == micros("1.50")  # a minute and the connection fee
    second = c.charging.authorize(acct, CallRequest("b", US_LINE, UK_MOBILE))
    assert (second.allowed, second.reason) == (False, "insufficient_credit")
    c.charging.end(acct, "a", 60, answered=True)
    assert c.credits.balance(acct).balance == micros("1.00")
    assert c.ledger.verify().ok


def test_a_suspended_account_is_refused_before_any_other_check(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    c.credits.update_settings(acme, {"suspended": True})
    refused = c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    assert (refused.allowed, refused.reason) == (False, "account_suspended")
    assert refused.rate == 0  # no tariff was frozen on a refused call
    # even a destination that is not a number: the suspension is what the caller must learn
    garbage = c.charging.authorize(acme, CallRequest("c2", US_LINE, "not-a-number"))
    assert (garbage.allowed, garbage.reason) == (False, "account_suspended")
    c.credits.update_settings(acme, {"suspended": False})
    with pytest.raises(InvalidInput):
        c.charging.authorize(acme, CallRequest("c3", US_LINE, "not-a-number"))
    assert c.charging.authorize(acme, CallRequest("c4", US_LINE, UK_MOBILE)).allowed
