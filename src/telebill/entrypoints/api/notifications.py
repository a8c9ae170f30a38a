"""`GET /v1/accounts/{sid}/notifications`: what became of an account's alerts and
auto-recharge requests (delivered, retrying, given up on, and why)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from telebill.domain.accounts import Principal
from telebill.entrypoints.api.auth import basic_principal, container_of
from telebill.entrypoints.api.pages import Before, Limit
from telebill.entrypoints.presenters import notification_json

router = APIRouter(prefix="/v1/accounts", tags=["billing"])
Caller = Annotated[Principal, Depends(basic_principal)]


@router.get("/{sid}/notifications")
def notification_history(
    request: Request,
    principal: Caller,
    sid: str,
    limit: Limit = 100,
    before: Before = None,
) -> dict[str, Any]:
    """The account's notifications, newest first, each with its delivery state: `pending`,
    `retrying` (with the last error and the next attempt), `delivered`, or `failed` (given up
    on after the last attempt; the operator can send it again)."""
    c = container_of(request)
    account = c.accounts.visible_account(principal, sid)
    rows, more = c.notification_history.of_account(account, limit, before)
    return {
        "notifications": [notification_json(n) for n in rows],
        "next_before": rows[-1].row.id if more else None,
    }
