"""`telebill rate-cdrs`: rate CDR files (CSV or Parquet) in bulk into rated and rejected files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from telebill.adapters.cdr_names import FIELD_NAMES, FORMATS, input_format
from telebill.domain.errors import InvalidInput
from telebill.domain.money import format_decimal
from telebill.entrypoints.cli.context import container
from telebill.entrypoints.cli.termination import Termination, stopped_between_batches
from telebill.service.bulk_rating import bulk_rater

if TYPE_CHECKING:
    from telebill.adapters.cdr_arrow import CdrMapping

# The Arrow-based adapters are imported by the commands that use them (below), not here:
# every command of the CLI loads this module, and most never read a CDR file.

err = Console(stderr=True)
# the endings Arrow reads as compressed (Codec.detect): a file so named is read back decompressed
_COMPRESSED = frozenset({".gz", ".bz2", ".zst", ".lz4"})


class RowsPerSecond(ProgressColumn):
    """Rows rated per second so far."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s", style="progress.data.speed")


class RowsDone(ProgressColumn):
    def render(self, task: Task) -> Text:
        total = f"/{task.total:,.0f}" if task.total is not None else ""
        return Text(f"{task.completed:,.0f}{total} rows", style="progress.download")


def parse_columns(items: list[str] | None) -> dict[str, str]:
    """`call_id=callID,from=caller` (repeatable) as a dict of field -> column."""
    assignments: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, column = part.partition("=")
            if not sep:
                raise typer.BadParameter(f"{part!r} must be FIELD=COLUMN", param_hint="--columns")
            assignments[key.strip()] = column.strip()
    return assignments


def rows_progress(label: str) -> Progress:
    """A progress bar of rows with their rate, on standard error when it is a terminal."""
    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        RowsDone(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def batch_done(progress: Progress, task: TaskID, termination: Termination) -> Callable[[int], None]:
    """What a streaming command does after each batch of `n` rows: stop if SIGTERM arrived
    (the run's partial files are then deleted), else advance the progress bar."""

    def done(n: int) -> None:
        termination.check()
        progress.advance(task, n)

    return done


TimezoneOpt = Annotated[
    str | None,
    typer.Option("--timezone", help="IANA time zone of times written without an offset (Europe/London); default UTC."),
]


def mapping_of(
    preset: str | None,
    columns: list[str] | None,
    default_country: str | None,
    time_format: str | None,
    timezone: str | None = None,
) -> CdrMapping:
    from telebill.adapters.cdr_arrow import CdrMapping

    mapping = CdrMapping.preset(preset) if preset else CdrMapping()
    mapping = mapping.with_columns(parse_columns(columns))
    if default_country is not None:
        mapping = replace(mapping, default_country=default_country.strip() or None)
    if time_format is not None:
        mapping = replace(mapping, time_format=time_format)
    if timezone is not None:
        mapping = replace(mapping, timezone=timezone.strip() or None)
    return mapping


def _outputs(inputs: list[Path], out: Path | None, rejects: Path | None, fmt: str | None) -> tuple[Path, Path, str]:
    if fmt is None:
        fmt = input_format(out) if out is not None and out.suffix else "csv"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    if out is None:
        first = inputs[0]
        stem = first.name.split(".")[0]
        out = first.with_name(f"{stem}.rated.{fmt}")
    if rejects is None:
        stem = out.name[: -len(out.suffix)] if out.suffix else out.name
        rejects = out.with_name(f"{stem.removesuffix('.rated')}.rejects.{fmt}")
    named_as_written([("--out", out), ("--rejects", rejects)], fmt)
    distinct_outputs(inputs, [("--out", out), ("--rejects", rejects)])
    return out, rejects, fmt


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: equal once resolved (symbolic links followed), or links
    to one existing file (a hard link, another mount of the directory)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def named_as_written(outputs: Sequence[tuple[str, Path]], fmt: str) -> None:
    """InvalidInput for an output (option, path) whose name says another format than the one it
    would be written in (`out.csv` with `--format parquet`), or compression (outputs are written
    uncompressed). Checked before anything is written."""
    for option, path in outputs:
        if path.suffix.lower() in _COMPRESSED:
            raise InvalidInput(f"{option} {path}: outputs are written uncompressed; give a name without {path.suffix}")
        try:
            named = input_format(path)
        except InvalidInput:
            continue  # a name that says no format
        if named != fmt:
            raise InvalidInput(f"{option} {path} names a {named} file, but the output format is {fmt}")


def distinct_outputs(inputs: Sequence[Path], outputs: Sequence[tuple[str, Path]]) -> None:
    """InvalidInput unless each output (option, path) is a file of its own: writing it must not
    overwrite an input or another output. Checked before anything is written."""
    for i, (option, path) in enumerate(outputs):
        for other_option, other in outputs[:i]:
            if _same_file(path, other):
                raise InvalidInput(f"{option} {path} is the same file as {other_option} {other}; give another path")
        for source in inputs:
            if _same_file(path, source):
                raise InvalidInput(
                    f"{option} {path} is the input {source}, which it would overwrite; give another path"
                )


def rate_cdrs(
    inputs: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="CDR files (.csv or .parquet).")],
    plan: Annotated[str, typer.Option("--plan", help="Price plan to rate with.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Rated rows; default FIRST_INPUT.rated.FORMAT beside the input.")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Rejected rows with a reason; default beside --out.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Output format: csv or parquet (default from --out, else csv).")
    ] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="Column layout preset: uk-sample.")] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", help=f"FIELD=COLUMN,... (repeatable) for {', '.join(FIELD_NAMES)}."),
    ] = None,
    default_country: Annotated[
        str | None, typer.Option("--default-country", help="Country (ISO alpha-2) of national-format numbers.")
    ] = None,
    time_format: Annotated[
        str | None, typer.Option("--time-format", help="strptime format of the start time; default ISO 8601.")
    ] = None,
    timezone: TimezoneOpt = None,
    reject_duplicates: Annotated[
        bool,
        typer.Option(
            "--reject-duplicates",
            help="Reject a row with the from, to, start and duration of an earlier row, naming it.",
        ),
    ] = False,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1, help="Rows per batch (bounds memory).")] = 1_000_000,
) -> None:
    """Rate every CDR of INPUT files: each row goes to the rated file with its charge, or to the
    rejects file with the reason. Prints the counts and the total charge per currency; exits
    non-zero if rows read != rows rated + rows rejected."""
    from telebill.adapters.cdr_arrow import ArrowCdrRater
    from telebill.adapters.cdr_files import batch_memory, rate_cdr_files
    from telebill.adapters.cdr_inputs import total_rows

    mapping = mapping_of(preset, columns, default_country, time_format, timezone)
    out_path, rejects_path, out_fmt = _outputs(inputs, out, rejects, fmt)
    with container() as c:
        rater = ArrowCdrRater(bulk_rater(c.catalog, plan), mapping)
    with batch_memory(), stopped_between_batches() as termination, rows_progress("rating") as progress:
        task = progress.add_task("rate", total=total_rows(inputs))
        counts = rate_cdr_files(
            inputs,
            out_path,
            rejects_path,
            out_fmt,
            rater,
            batch_rows,
            batch_done(progress, task, termination),
            reject_duplicates=reject_duplicates,
        )
    typer.echo(f"read {counts.read} rows: {counts.rated} rated, {counts.rejected} rejected")
    for code, total in sorted(counts.charges.items()):
        typer.echo(f"total {format_decimal(total)} {code}")
    typer.echo(f"rated rows: {out_path}")
    typer.echo(f"rejected rows: {rejects_path}")
    if not counts.balanced:
        typer.secho("error: the counts do not add up", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)
