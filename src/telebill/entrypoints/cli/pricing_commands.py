"""`telebill price` and `telebill rate`: what a destination costs, what a call costs."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from telebill.domain.catalog.plans import PricePlan
from telebill.domain.money import format_decimal
from telebill.entrypoints.cli.context import container
from telebill.entrypoints.presenters import charge_json, line_json, parse_instant
from telebill.service.catalog import CatalogService

PlanOpt = Annotated[str | None, typer.Option("--plan", help="Price plan name.")]
DeckOpt = Annotated[str | None, typer.Option("--deck", help="Price straight from one deck.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="ISO date-time (UTC) to price at; default now.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


def _plan(catalog: CatalogService, plan: str | None, deck: str | None) -> PricePlan:
    if plan and deck:
        raise typer.BadParameter("give --plan or --deck, not both")
    if deck:
        return catalog.plan_for_deck(deck)
    if plan:
        return catalog.plan(plan)
    plans = catalog.list_plans()
    if len(plans) == 1:
        return plans[0]
    raise typer.BadParameter("give --plan NAME or --deck NAME (telebill plans list)")


def price(
    numbers: Annotated[list[str], typer.Argument(help="Numbers to price, or - to read them from stdin.")],
    origin: Annotated[str | None, typer.Option("--from", help="Calling line (origin) number.")] = None,
    plan: PlanOpt = None,
    deck: DeckOpt = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
    country: Annotated[str | None, typer.Option("--country", help="Country for numbers in national format.")] = None,
) -> None:
    """Print the matched entry for each number. Exit status 1 if any number has no price."""
    if numbers == ["-"]:
        numbers = [line.strip() for line in sys.stdin if line.strip()]
    with container() as c:
        lines = c.catalog.price(numbers, _plan(c.catalog, plan, deck), origin, parse_instant(at, "--at"), country)
    out = sys.stdout
    for line in lines:
        if as_json:
            out.write(json.dumps(line_json(line)) + "\n")
        elif line.quote is None:
            out.write(f"{line.text}\terror: {line.error}\n")
        else:
            d = line_json(line)
            flag = " BLOCKED" if d["blocked"] else (" FREE" if d["free"] else "")
            out.write(
                f"{d['destination']}\t{d['matched_prefix']}\t{d['friendly_name']}\t{d['current_price']} "
                f"{d['currency']}/min (list {d['base_price']}, {d['increments']}){flag}\n"
            )
    if any(line.quote is None for line in lines):
        raise typer.Exit(1)


def rate(
    origin: Annotated[str, typer.Option("--from", help="Calling line number.")],
    destination: Annotated[str, typer.Option("--to", help="Called number.")],
    seconds: Annotated[int, typer.Option("--seconds", min=0, help="Call duration in seconds.")],
    plan: PlanOpt = None,
    deck: DeckOpt = None,
    at: AtOpt = None,
    unanswered: Annotated[bool, typer.Option("--unanswered", help="The call was not answered.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print the charge of one call with its explanation."""
    with container() as c:
        charge = c.catalog.rate(
            origin,
            destination,
            seconds,
            _plan(c.catalog, plan, deck),
            parse_instant(at, "--at"),
            answered=not unanswered,
        )
    if as_json:
        typer.echo(json.dumps(charge_json(charge)))
        return
    typer.echo(f"{format_decimal(charge.amount)} {charge.currency.code}")
    for line in charge.explain():
        typer.echo(f"  {line}")
