"""`telebill rerate` and `telebill reconcile`: rated calls compared with another rating.

`rerate` rates a previous output of `rate-cdrs` again with another plan (optionally at one
instant) and reports what changed per call and per destination; `reconcile` rates a carrier's
CDR file with the carrier's deck and reports the calls whose billed cost is disputed. Both print
their counts and totals, and exit 3 if the counts do not add up.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from telebill.adapters.cdr_names import FIELD_NAMES, FORMATS, input_format
from telebill.domain.charge_comparison import Change, Tolerance, Verdict, micros_decimal
from telebill.domain.money import format_decimal
from telebill.entrypoints.cli.cdr_commands import (
    TimezoneOpt,
    batch_done,
    distinct_outputs,
    mapping_of,
    named_as_written,
    rows_progress,
)
from telebill.entrypoints.cli.context import container
from telebill.entrypoints.cli.termination import stopped_between_batches
from telebill.entrypoints.presenters import parse_instant
from telebill.service.rate_comparison import comparison_rater, destination_names

if TYPE_CHECKING:
    from telebill.adapters.cdr_reconcile import ReconcileReport
    from telebill.adapters.cdr_rerate import RerateReport

# The Arrow-based adapters are imported by the commands (as in cdr_commands.py).

PresetOpt = Annotated[str | None, typer.Option("--preset", help="Column layout preset: uk-sample.")]
ColumnsOpt = Annotated[
    list[str] | None, typer.Option("--columns", help=f"FIELD=COLUMN,... (repeatable) for {', '.join(FIELD_NAMES)}.")
]
CountryOpt = Annotated[
    str | None, typer.Option("--default-country", help="Country (ISO alpha-2) of national-format numbers.")
]
TimeFormatOpt = Annotated[
    str | None, typer.Option("--time-format", help="strptime format of the start time; default ISO 8601.")
]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="csv or parquet (default: from --out, else from the first input).")
]
SummaryOpt = Annotated[
    Path | None, typer.Option("--summary", help="Totals per destination and currency; default beside --out.")
]
BatchOpt = Annotated[int, typer.Option("--batch-rows", min=1, help="Rows per batch (bounds memory).")]


def _outputs(
    inputs: list[Path], out: Path | None, summary: Path | None, fmt: str | None, kind: str
) -> tuple[Path, Path, str]:
    """The report and summary paths (default `FIRST.KIND.FORMAT` beside the first input and
    `….KIND.summary.FORMAT` beside the report) and the format (default: that of --out, else
    that of the first input)."""
    if fmt is None:
        fmt = input_format(out if out is not None and out.suffix else inputs[0])
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    if out is None:
        first = inputs[0]
        out = first.with_name(f"{first.name.split('.')[0]}.{kind}.{fmt}")
    if summary is None:
        stem = out.name[: -len(out.suffix)] if out.suffix else out.name
        summary = out.with_name(f"{stem}.summary.{fmt}")
    named_as_written([("--out", out), ("--summary", summary)], fmt)
    distinct_outputs(inputs, [("--out", out), ("--summary", summary)])
    return out, summary, fmt


def _decimal(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a decimal number", param_hint=option) from None
    if not value.is_finite():
        raise typer.BadParameter(f"{text!r} is not a decimal number", param_hint=option)
    return value


def _amount(micros: int) -> str:
    return format_decimal(micros_decimal(micros))


def rerate(
    previous: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="Rated (and rejects) files of rate-cdrs.")
    ],
    plan: Annotated[str, typer.Option("--plan", help="The new price plan to rate with.")],
    old_plan: Annotated[
        str | None, typer.Option("--old-plan", help="Plan of the previous rating, to name its prefixes.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Price every call with the deck versions in force at this ISO instant."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Differences per call; default FIRST_INPUT.rerate.FORMAT.")
    ] = None,
    summary: SummaryOpt = None,
    fmt: FormatOpt = None,
    write_all: Annotated[bool, typer.Option("--all", help="Write every call, not only those that changed.")] = False,
    preset: PresetOpt = None,
    columns: ColumnsOpt = None,
    default_country: CountryOpt = None,
    time_format: TimeFormatOpt = None,
    timezone: TimezoneOpt = None,
    batch_rows: BatchOpt = 1_000_000,
) -> None:
    """Rate the calls of PREVIOUS rate-cdrs outputs again with another plan and compare: the
    calls whose charge changed go to --out, the totals per destination to --summary. Prints the
    counts per change and the old and new totals per currency; exits non-zero if the counts do
    not add up."""
    from telebill.adapters.cdr_arrow import ArrowCdrRater
    from telebill.adapters.cdr_files import batch_memory
    from telebill.adapters.cdr_inputs import total_rows
    from telebill.adapters.cdr_rerate import rerate_files

    mapping = mapping_of(preset, columns, default_country, time_format, timezone)
    out_path, summary_path, out_fmt = _outputs(previous, out, summary, fmt, "rerate")
    with container() as c:
        rater = ArrowCdrRater(comparison_rater(c.catalog, plan, parse_instant(at, "--at")), mapping)
        names = destination_names(c.catalog, plan)
        old_names = None if old_plan is None else destination_names(c.catalog, old_plan)
    with batch_memory(), stopped_between_batches() as termination, rows_progress("re-rating") as progress:
        task = progress.add_task("rerate", total=total_rows(previous))
        report = rerate_files(
            previous,
            out_path,
            summary_path,
            out_fmt,
            rater,
            names,
            old_names,
            write_all,
            batch_rows,
            batch_done(progress, task, termination),
        )
    _print_rerate(report)
    _finish(f"differences: {out_path} ({report.written} rows)", summary_path, report.balanced)


def _finish(written: str, summary_path: Path, balanced: bool) -> None:
    typer.echo(written)
    typer.echo(f"summary: {summary_path}")
    if not balanced:
        typer.secho("error: the counts do not add up", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)


def _print_rerate(report: RerateReport) -> None:
    by_change = ", ".join(f"{report.changes[c]} {c.label}" for c in Change)
    typer.echo(f"read {report.read} rows: {by_change}")
    for code, totals in report.totals.per_currency().items():
        old, new = totals["old_total"], totals["new_total"]
        typer.echo(f"{code}: old total {_amount(old)}, new total {_amount(new)}, difference {_amount(new - old)}")


def reconcile(
    inputs: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="The carrier's CDR files.")],
    plan: Annotated[str, typer.Option("--plan", help="A plan whose tier prices with the carrier's deck.")],
    cost_column: Annotated[str, typer.Option("--cost-column", help="Column of the carrier's cost per call.")],
    cost_scale: Annotated[
        str, typer.Option("--cost-scale", help="Factor from the cost column to currency units (0.01: pence).")
    ] = "1",
    tolerance: Annotated[
        str, typer.Option("--tolerance", help="Differences up to this amount are not disputed.")
    ] = "0.0001",
    relative_tolerance: Annotated[
        str | None,
        typer.Option("--relative-tolerance", help="Or up to this percentage of our charge, if larger."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Disputed and rejected calls; default FIRST_INPUT.disputes.FORMAT.")
    ] = None,
    summary: SummaryOpt = None,
    fmt: FormatOpt = None,
    preset: PresetOpt = None,
    columns: ColumnsOpt = None,
    default_country: CountryOpt = None,
    time_format: TimeFormatOpt = None,
    timezone: TimezoneOpt = None,
    batch_rows: BatchOpt = 1_000_000,
) -> None:
    """Rate a carrier's CDR files with the carrier's deck and report the calls whose billed cost
    differs from ours by more than the tolerance, and the calls we cannot price. Prints the
    counts and the totals per currency; exits non-zero if the counts do not add up."""
    from telebill.adapters.cdr_arrow import ArrowCdrRater
    from telebill.adapters.cdr_files import batch_memory
    from telebill.adapters.cdr_inputs import total_rows
    from telebill.adapters.cdr_reconcile import CarrierCost, reconcile_files

    mapping = mapping_of(preset, columns, default_country, time_format, timezone)
    cost = CarrierCost(cost_column, _decimal(cost_scale, "--cost-scale"))
    relative = None if relative_tolerance is None else _decimal(relative_tolerance, "--relative-tolerance")
    allowed = Tolerance.of(_decimal(tolerance, "--tolerance"), relative)
    out_path, summary_path, out_fmt = _outputs(inputs, out, summary, fmt, "disputes")
    with container() as c:
        rater = ArrowCdrRater(comparison_rater(c.catalog, plan), mapping)
        names = destination_names(c.catalog, plan)
    with batch_memory(), stopped_between_batches() as termination, rows_progress("reconciling") as progress:
        task = progress.add_task("reconcile", total=total_rows(inputs))
        report = reconcile_files(
            inputs,
            out_path,
            summary_path,
            out_fmt,
            rater,
            names,
            cost,
            allowed,
            batch_rows,
            batch_done(progress, task, termination),
        )
    _print_reconcile(report)
    _finish(f"disputes: {out_path}", summary_path, report.balanced)


def _print_reconcile(report: ReconcileReport) -> None:
    v = report.verdicts
    typer.echo(
        f"read {report.read} rows: {report.checked} checked, {report.rejected} rejected"
        f" ({v[Verdict.NOT_PRICED]} not priced, {v[Verdict.BAD_AMOUNT]} bad amount)"
    )
    typer.echo(
        f"disputed {report.disputed} calls: {v[Verdict.OVERBILLED]} overbilled, {v[Verdict.UNDERBILLED]} underbilled,"
        f" {v[Verdict.DUPLICATE]} billed twice"
    )
    for code, t in report.totals.per_currency().items():
        typer.echo(
            f"{code}: {t['calls']} calls checked, {t['disputed']} disputed,"
            f" carrier total {_amount(t['carrier_total'])}, expected total {_amount(t['expected_total'])},"
            f" overbilled {_amount(t['overbilled'])}, underbilled {_amount(t['underbilled'])}"
        )
    if v[Verdict.NOT_PRICED]:
        typer.echo(f"carrier amount of calls not priced: {_amount(report.unpriced_carrier_micros)}")
