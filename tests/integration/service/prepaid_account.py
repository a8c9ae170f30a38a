"""The account most service tests charge calls to, and the numbers they call with."""

from __future__ import annotations

from telebill.bootstrap import Container
from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.money import currency

US_LINE = "+14155550100"
UK_MOBILE = "+447400123456"  # demo plan: 0.0210 a minute, 60/60


def prepaid_account(c: Container) -> Account:
    """`acme`: USD on the demo plan, with a billing address (so it may be topped up) and the line
    US_LINE, allowed to call abroad; no credit yet."""
    acct = c.accounts.create_account("acme", currency("USD"), "demo").account
    c.credits.update_settings(acct, {"billing_address": "1 Main St, San Francisco"})
    c.lines.add(acct, US_LINE)
    c.lines.set_international(Principal(acct, Role.ADMIN), acct, US_LINE, True)
    return acct
