"""The Voximplant-compatible management API (`/platform_api`), enough for the official SDKs.

Requests: `POST /platform_api` with the method in the form field `cmd` (what the Python
and Node SDKs send), or `GET|POST /platform_api/{Method}[/]` (the Go SDK and the docs'
examples); parameters come from the query string and the form body, urlencoded or
multipart, the body winning. Authentication is a bearer JWT signed by a Voximplant key
(or HTTP Basic), see `auth.any_principal`.

Responses are `application/json`: `{"result": ...}` on success, and on failure the
envelope `{"error": {"code", "msg"}}` with HTTP 200, which is what the SDKs turn into an
exception. Domain errors get their envelope from `app.error_response` (100 unauthenticated,
101 forbidden, 404 not found, 400 invalid input); an unknown method is code 103, the code
Voximplant's own clients test for. Prices are written as exact JSON numbers (`0.0120`,
never through a float).

What a call carries is in `voximplant_params`; the methods themselves are in
`voximplant_prices` (GetResourcePrice) and `voximplant_numbers` (phone numbers, account).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from telebill.domain.accounts import Principal
from telebill.domain.errors import InvalidInput
from telebill.entrypoints.api.auth import any_principal, container_of
from telebill.entrypoints.api.voximplant_numbers import (
    get_account_info,
    get_phone_number_categories,
    get_phone_number_regions,
    get_subscription_price,
)
from telebill.entrypoints.api.voximplant_params import Method, Params, VoxCall
from telebill.entrypoints.api.voximplant_prices import get_resource_price

UNKNOWN_METHOD: Final = 103
METHODS: Final[Mapping[str, Method]] = {
    "GetResourcePrice": get_resource_price,
    "GetSubscriptionPrice": get_subscription_price,
    "GetPhoneNumberCategories": get_phone_number_categories,
    "GetPhoneNumberRegions": get_phone_number_regions,
    "GetAccountInfo": get_account_info,
}

router = APIRouter(prefix="/platform_api", tags=["voximplant"])
Caller = Annotated[Principal, Depends(any_principal)]


def json_text(value: object) -> str:
    """JSON text of `value`, writing each Decimal as its exact decimal literal.

    Floats are refused: every amount must reach the wire as the Decimal it was computed as.
    """
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        out.append(f"{value:f}")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be text, got {key!r}")
            out.append(("," if i else "") + json.dumps(key, ensure_ascii=False) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not written as JSON here (amounts must be Decimal)")


class VoxJSONResponse(Response):
    """`application/json` with exact decimals (see `json_text`)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_text(content).encode("utf-8")


def unknown_method(name: str) -> VoxJSONResponse:
    msg = f"Unknown method {name!r}" if name else "Unknown method: name it in the form field cmd"
    return VoxJSONResponse({"error": {"code": UNKNOWN_METHOD, "msg": msg}})


async def _params(request: Request) -> dict[str, str]:
    """Query parameters, then form fields (urlencoded or multipart); file parts are refused."""
    values = dict(request.query_params)
    if request.method != "POST":
        return values
    try:
        async with request.form() as form:
            for key, value in form.multi_items():
                if not isinstance(value, str):
                    raise InvalidInput(f"{key}: expected a text field, got a file")
                values[key] = value
    except (HTTPException, ClientDisconnect) as exc:
        raise InvalidInput(f"malformed form body: {getattr(exc, 'detail', exc)}") from None
    return values


async def _dispatch(request: Request, principal: Principal, name: str, values: dict[str, str]) -> Response:
    method = METHODS.get(name)
    if method is None:
        return unknown_method(name)
    host = request.headers.get("host") or request.url.netloc
    call = VoxCall(principal, container_of(request), Params(values), host)
    body = await run_in_threadpool(method, call)
    return VoxJSONResponse(body)


@router.post("", response_class=VoxJSONResponse)
@router.get("", response_class=VoxJSONResponse, include_in_schema=False)
async def platform_api(request: Request, principal: Caller) -> Response:
    """Call the method named by the `cmd` field (what the Python and Node SDKs send)."""
    values = await _params(request)
    return await _dispatch(request, principal, values.pop("cmd", "").strip(), values)


@router.post("/{method}", response_class=VoxJSONResponse)
@router.get("/{method}", response_class=VoxJSONResponse)
@router.post("/{method}/", response_class=VoxJSONResponse, include_in_schema=False)
@router.get("/{method}/", response_class=VoxJSONResponse, include_in_schema=False)
async def platform_api_method(method: str, request: Request, principal: Caller) -> Response:
    """Call `method` (the Go SDK's and the documentation's form)."""
    values = await _params(request)
    values.pop("cmd", None)
    return await _dispatch(request, principal, method, values)
