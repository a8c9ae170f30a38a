"""Real-time charging over HTTP: authorise a call, report its usage, end it.

These are the hottest routes of the service (one switch request per call event), so they
read their parameters from the request and validate the body with its model directly, and
authenticate in the handler: the framework's generic parameter and dependency resolution
costs more than a charging step on SQLite (ADR 10). The body models and path parameters are
still documented in the OpenAPI description (`openapi_extra`), and invalid bodies get the
same 400 answer as everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypeVar

import anyio
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from telebill.domain.accounts import Account, Role
from telebill.domain.money import format_decimal, format_micros
from telebill.entrypoints.api.auth import basic_principal, container_of
from telebill.service.call_admission import CallRequest

router = APIRouter(prefix="/v1/accounts", tags=["billing"])
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
MAX_S: Final = 4 * 3600


class CallBody(BaseModel):
    call_id: str = Field(min_length=1, max_length=128)
    from_: str = Field(alias="from", max_length=32)
    to: str = Field(max_length=32)
    direction: Literal["outbound", "inbound"] = "outbound"
    kind: Literal["voice", "voicemail", "notification", "verification", "conference", "sms"] = "voice"


class UsageBody(BaseModel):
    used_s: int = Field(ge=0, le=MAX_S)


class EndBody(BaseModel):
    duration_s: int = Field(ge=0, le=MAX_S)
    answered: bool = True


def _documented(body: type[BaseModel], *path: str) -> dict[str, Any]:
    return {
        "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in path],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": body.model_json_schema(by_alias=True)}},
        },
    }


async def _body(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


async def _caller_account(request: Request) -> Account:
    principal = await basic_principal(request)
    request.state.principal = principal
    sid = request.path_params["sid"]
    if sid == principal.account.sid:  # the caller's own account: no storage read
        return principal.account
    accounts = container_of(request).accounts
    return await _charging_step(request, lambda: accounts.visible_account(principal, sid))


async def _charging_step(request: Request, step: Callable[[], T]) -> T:
    """Run a charging step. With an embedded database (SQLite) a step is CPU work only and
    runs on the event loop: requests are served in arrival order with no thread hand-off and
    no contention for the interpreter between threads. With a database server a step runs on
    one of `charging_threads` worker threads, so that its round trips overlap other requests'
    work; with none configured (0) it runs on the event loop as well (ADR 10)."""
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "charging_threads", None)
    if limiter is None or container_of(request).embedded_database:
        return step()
    return await anyio.to_thread.run_sync(step, limiter=limiter)


def _money(micros: int, account: Account) -> str:
    return format_micros(micros, account.currency)


@router.post("/{sid}/calls", response_model=None, openapi_extra=_documented(CallBody, "sid"))
async def authorize_call(request: Request) -> JSONResponse:
    """May this call start, and for how long? Places a hold for the first interval."""
    account = await _caller_account(request)
    principal = request.state.principal
    body = await _body(request, CallBody)
    member = principal.key_sid if principal.role is Role.MEMBER else None
    call = CallRequest(body.call_id, body.from_, body.to, body.direction, body.kind, member)
    charging = container_of(request).charging
    auth = await _charging_step(request, lambda: charging.authorize(account, call))
    return JSONResponse(
        {
            "call_id": body.call_id,
            "allowed": auth.allowed,
            "reason": auth.reason,
            "max_duration_s": auth.max_duration_s,
            "granted_until_s": auth.granted_until_s,
            "rate": format_decimal(auth.rate),
            "rate_currency": auth.call.deck_currency,  # the rate's currency: the plan's
            "currency": auth.currency,
            "free": auth.free,
        }
    )


@router.post(
    "/{sid}/calls/{call_id}/usage", response_model=None, openapi_extra=_documented(UsageBody, "sid", "call_id")
)
async def report_usage(request: Request) -> JSONResponse:
    """Debit the time used so far and hold the next interval; `continue: false` when credit
    cannot cover it (the switch hangs up at `granted_until_s`)."""
    account = await _caller_account(request)
    body = await _body(request, UsageBody)
    call_id = request.path_params["call_id"]
    charging = container_of(request).charging
    usage = await _charging_step(request, lambda: charging.usage(account, call_id, body.used_s))
    return JSONResponse(
        {
            "call_id": call_id,
            "continue": usage.proceed,
            "granted_until_s": usage.granted_until_s,
            "charged": _money(usage.charged, account),
            "currency": account.currency.code,
        }
    )


@router.post("/{sid}/calls/{call_id}/end", response_model=None, openapi_extra=_documented(EndBody, "sid", "call_id"))
async def end_call(request: Request) -> JSONResponse:
    """The final charge; the rest of the hold is released. Ending again returns the same."""
    account = await _caller_account(request)
    body = await _body(request, EndBody)
    call_id = request.path_params["call_id"]
    charging = container_of(request).charging
    end = await _charging_step(request, lambda: charging.end(account, call_id, body.duration_s, body.answered))
    return JSONResponse(
        {
            "call_id": call_id,
            "charge": _money(end.charge, account),
            "currency": account.currency.code,
            "billed_s": end.billed_s,
            "balance": _money(end.balance, account),
        }
    )
