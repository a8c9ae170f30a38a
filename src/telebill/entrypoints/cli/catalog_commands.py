"""`telebill decks`, `telebill plans` and `telebill demo`: managing the catalog."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from telebill.adapters.demo_loader import load_demo
from telebill.adapters.importers.formats import FORMATS, read_deck
from telebill.adapters.importers.telebill_csv import write_telebill_csv
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier
from telebill.domain.money import currency, to_decimal
from telebill.entrypoints.cli.context import container
from telebill.entrypoints.presenters import parse_instant

decks_app = typer.Typer(help="Rate decks: import, export, list.", no_args_is_help=True)
plans_app = typer.Typer(help="Price plans: tiers of decks plus overrides.", no_args_is_help=True)
err = Console(stderr=True)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


@decks_app.command("import")
def import_deck(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file of the deck.")],
    name: Annotated[str, typer.Option("--name", help="Deck name (created if new).")],
    currency_code: Annotated[str, typer.Option("--currency", help="ISO 4217 currency of the prices.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help=f"One of {', '.join(FORMATS)}; detected if omitted.")
    ] = None,
    effective_from: Annotated[
        str | None, typer.Option("--effective-from", help="ISO date/date-time (UTC); default now.")
    ] = None,
) -> None:
    """Import a deck file as a new version of deck NAME. One bad row: nothing is imported."""
    code = currency(currency_code)
    effective = parse_instant(effective_from, "--effective-from")
    total = _count_lines(path)
    with Progress(
        TextColumn("[bold]reading[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(path.name, total=total)
        content = read_deck(path, fmt, lambda n: progress.advance(task, n))
        progress.update(task, completed=total, description=f"{path.name}: writing")
        with container() as c:
            result = c.catalog.import_deck(name, code, content, str(path), effective)
    typer.echo(
        f"imported {result.voice_rows} voice rows and {result.other_rows} other prices into deck "
        f"{result.deck} (version {result.version_id}, effective {result.effective_from.isoformat()})"
    )


@decks_app.command("export")
def export_deck(
    name: Annotated[str, typer.Argument(help="Deck name.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output file; default stdout.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Version in force at this instant.")] = None,
) -> None:
    """Write the deck version in force (telebill CSV format, every field)."""
    with container() as c:
        version = c.catalog.deck_version(name, parse_instant(at, "--at"))
    if out is None:
        write_telebill_csv(version.content, sys.stdout)
        return
    with out.open("w", encoding="utf-8", newline="") as fh:
        rows = write_telebill_csv(version.content, fh)
    typer.echo(f"wrote {rows} rows of {version.label} to {out}")


@decks_app.command("list")
def list_decks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Decks with their versions."""
    with container() as c:
        decks = c.catalog.list_decks()
    if as_json:
        for d in decks:
            versions = [{"id": i, "effective_from": e.isoformat(), "voice_rows": n} for i, e, n in d.versions]
            typer.echo(json.dumps({"name": d.name, "currency": d.currency, "versions": versions}))
        return
    table = Table("deck", "currency", "version", "effective from", "voice rows")
    for d in decks:
        for i, e, n in d.versions:
            table.add_row(d.name, d.currency, str(i), e.isoformat(), str(n))
    Console().print(table)


@plans_app.command("create")
def create_plan(
    name: Annotated[str, typer.Argument(help="Plan name.")],
    international: Annotated[str, typer.Option("--international", help="Fallback deck (always applies).")],
    domestic: Annotated[
        str | None, typer.Option("--domestic", help="Deck for calls within the origin's country.")
    ] = None,
    eea: Annotated[str | None, typer.Option("--eea", help="Deck for calls from an EEA country.")] = None,
    discount: Annotated[
        str | None, typer.Option("--discount", help="Percentage off every current price, e.g. 10.")
    ] = None,
    fixed: Annotated[
        list[str] | None, typer.Option("--fixed", help="PREFIX=PRICE fixed per-minute price (repeatable).")
    ] = None,
) -> None:
    """Create a plan: domestic deck, then EEA deck, then the international fallback."""
    tiers = []
    if domestic:
        tiers.append(Tier(ConditionKind.DOMESTIC, domestic))
    if eea:
        tiers.append(Tier(ConditionKind.ORIGIN_IN_GROUP, eea, "EEA"))
    tiers.append(Tier(ConditionKind.ALWAYS, international))
    overrides = []
    if discount is not None:
        overrides.append(Override("", percent_off=to_decimal(discount, "--discount")))
    for item in fixed or []:
        prefix, sep, price = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} must be PREFIX=PRICE", param_hint="--fixed")
        overrides.append(Override(prefix.strip().lstrip("+"), fixed_price=to_decimal(price, "--fixed")))
    with container() as c:
        plan = c.catalog.create_plan(PricePlan(name, tuple(tiers), tuple(overrides)))
    typer.echo(f"created plan {plan.name}: " + "; ".join(t.describe() for t in plan.tiers))


@plans_app.command("list")
def list_plans(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Plans with their tiers and overrides."""
    with container() as c:
        plans = c.catalog.list_plans()
    for plan in plans:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "name": plan.name,
                        "tiers": [
                            {"condition": t.condition.value, "group": t.group or None, "deck": t.deck}
                            for t in plan.tiers
                        ],
                        "overrides": [
                            {
                                "prefix": o.prefix or None,
                                "percent_off": _s(o.percent_off),
                                "fixed_price": _s(o.fixed_price),
                            }
                            for o in plan.overrides
                        ],
                    }
                )
            )
        else:
            overrides = "; ".join(o.describe() for o in plan.overrides)
            tiers = "; ".join(t.describe() for t in plan.tiers)
            typer.echo(f"{plan.name}: {tiers}" + (f" | {overrides}" if overrides else ""))


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def demo(
    effective_from: Annotated[
        str, typer.Option("--effective-from", help="Version date of the demo decks.")
    ] = "2026-01-01",
) -> None:
    """Load the demo catalog (decks from public country data, plans `demo`, `demo-discount`)
    and the bundled ECB exchange rates. Running it again changes nothing."""
    with container() as c:
        for line in load_demo(c.catalog, c.fx, parse_instant(effective_from, "--effective-from") or c.clock.now()):
            typer.echo(line)
