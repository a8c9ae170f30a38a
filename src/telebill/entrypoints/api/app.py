"""The HTTP application: Twilio-compatible, Voximplant-compatible and native APIs.

Built by `create_app`, never at import; services come from `bootstrap`. Each interface
has its own error shape: Twilio's `{code, message, more_info, status}`, Voximplant's
`{"error": {"code", "msg"}}`, and `{error, message}` for the native API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from telebill.bootstrap import Container, bootstrap
from telebill.domain.errors import (
    CallBlocked,
    Conflict,
    Forbidden,
    InsufficientFunds,
    InvalidNumber,
    NoPrice,
    NoRate,
    NotFound,
    RetryableConflict,
    TelebillError,
    Unauthenticated,
)
from telebill.entrypoints.api import billing, charging, native, notifications, twilio, voximplant
from telebill.entrypoints.api.request_log import RequestLogMiddleware, configure_json_logging

TWILIO_PREFIXES = ("/v2/", "/v1/PhoneNumbers", "/v1/Messaging")
VOXIMPLANT_PREFIX = "/platform_api"


def status_of(exc: Exception) -> int:
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Forbidden | CallBlocked):
        return 403
    if isinstance(exc, NotFound | NoPrice):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidNumber):
        return 400
    if isinstance(exc, NoRate):
        return 422
    if isinstance(exc, InsufficientFunds):
        return 402
    if isinstance(exc, RetryableConflict):
        return 409
    return 400


def twilio_error(path: str, status: int, message: str, code: int | None = None) -> JSONResponse:
    code = code or {401: 20003, 403: 20403, 404: 20404}.get(status, 20001)
    if status == 404:
        message = f"The requested resource {path} was not found"
    headers = {"WWW-Authenticate": 'Basic realm="telebill"'} if status == 401 else None
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(request: Request, status: int, message: str, kind: str) -> Response:
    path = request.url.path
    if path.startswith(TWILIO_PREFIXES):
        # 21211: Twilio's "Invalid 'To' Phone Number"
        return twilio_error(path, status, message, 21211 if kind == "InvalidNumber" else None)
    if path.startswith(VOXIMPLANT_PREFIX):
        code = {401: 100, 403: 101, 404: 404}.get(status, 400)
        return JSONResponse({"error": {"code": code, "msg": message}}, status_code=200)
    headers = {"WWW-Authenticate": 'Basic realm="telebill"'} if status == 401 else None
    return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)


def _field(loc: object) -> str:
    parts = loc if isinstance(loc, list | tuple) else ()
    return ".".join(str(p) for p in parts if p not in ("query", "path", "body", "header"))


def create_app(container: Container | None = None, json_logs: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or bootstrap()
        threads = app.state.container.settings.charging_threads
        app.state.charging_threads = anyio.CapacityLimiter(threads) if threads else None
        try:
            yield
        finally:
            if container is None:
                app.state.container.close()

    if json_logs:
        configure_json_logging()
    app = FastAPI(
        title="telebill",
        version="0.1.0",
        description="Telecom pricing and rating: Twilio- and Voximplant-compatible APIs and a native API.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestLogMiddleware)

    @app.exception_handler(TelebillError)
    async def domain_error(request: Request, exc: TelebillError) -> Response:
        return error_response(request, status_of(exc), str(exc), type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{_field(e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return error_response(request, 400, problems or "invalid request", "InvalidInput")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Routes are matched in order, one at a time (a few microseconds each, tens of routes, and
    # an included router's twice): the hot paths, a number's price and call charging, go
    # first and straight on the application's own list, the documentation's last (every
    # request would otherwise try them first). None of the hot paths overlaps another
    # route's pattern. The modules' routers are copied without them, so that the application
    # lists each route once (for its OpenAPI description) and the modules stay as they are.
    # The hot routes are the modules' own route objects: the application's dependency
    # overrides would not reach them (none are used).
    hot: list[BaseRoute] = []
    for module in (twilio, charging, billing, notifications, native, voximplant):
        hot += [r for r in module.router.routes if getattr(r, "path", None) in _HOT_PATHS]
        app.include_router(APIRouter(routes=[r for r in module.router.routes if r not in hot]))
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    first = [r for r in app.router.routes if getattr(r, "path", None) == "/healthz"]  # the benches' no-op
    last = [r for r in app.router.routes if getattr(r, "path", None) in docs]
    rest = [r for r in app.router.routes if r not in first and r not in last]
    app.router.routes[:] = first + hot + rest + last
    return app


_HOT_PATHS = frozenset(
    {
        "/v2/Voice/Numbers/{DestinationNumber}",
        "/v1/accounts/{sid}/calls",
        "/v1/accounts/{sid}/calls/{call_id}/end",
        "/v1/accounts/{sid}/calls/{call_id}/usage",
    }
)
