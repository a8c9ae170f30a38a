"""The HTTP application: public price queries over the catalog (read-only).

The app is built by `create_app`, never at import; its services come from `bootstrap`.
Amounts are decimal strings on the wire.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from telebill.bootstrap import Container, bootstrap
from telebill.domain.catalog.plans import PricePlan
from telebill.domain.errors import CallBlocked, InvalidNumber, NoPrice, NotFound, TelebillError
from telebill.entrypoints.presenters import charge_json, line_json, parse_instant


def create_app(container: Container | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.container = container or bootstrap()
        try:
            yield
        finally:
            if container is None:
                app.state.container.close()

    app = FastAPI(title="telebill", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(TelebillError)
    async def domain_error(_request: Request, exc: TelebillError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound | NoPrice) else 422
        if isinstance(exc, CallBlocked):
            status = 403
        if isinstance(exc, InvalidNumber):
            status = 400
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)

    def services(request: Request) -> Container:
        c: Container = request.app.state.container
        return c

    def plan_of(c: Container, plan: str | None, deck: str | None) -> PricePlan:
        if plan and deck:
            raise HTTPException(400, "give plan or deck, not both")
        if deck:
            return c.catalog.plan_for_deck(deck)
        if plan:
            return c.catalog.plan(plan)
        raise HTTPException(400, "give plan or deck")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/decks")
    def decks(request: Request) -> list[dict[str, Any]]:
        return [
            {
                "name": d.name,
                "currency": d.currency,
                "versions": [
                    {"id": i, "effective_from": e.isoformat(), "voice_rows": n} for i, e, n in d.versions
                ],
            }
            for d in services(request).catalog.list_decks()
        ]

    @app.get("/v1/prices/{number}")
    def price(
        request: Request,
        number: str,
        origin: Annotated[str | None, Query(alias="from")] = None,
        plan: str | None = None,
        deck: str | None = None,
        at: str | None = None,
    ) -> dict[str, Any]:
        c = services(request)
        line = c.catalog.price([number], plan_of(c, plan, deck), origin, parse_instant(at, "at"))[0]
        if line.quote is None:
            raise HTTPException(404, line.error)
        return line_json(line)

    @app.get("/v1/quote")
    def quote(
        request: Request,
        origin: Annotated[str, Query(alias="from")],
        to: str,
        seconds: Annotated[int, Query(ge=0)],
        plan: str | None = None,
        deck: str | None = None,
        at: str | None = None,
    ) -> dict[str, Any]:
        c = services(request)
        charge = c.catalog.rate(origin, to, seconds, plan_of(c, plan, deck), parse_instant(at, "at"))
        return charge_json(charge)

    return app
