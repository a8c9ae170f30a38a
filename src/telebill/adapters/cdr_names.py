"""The names CDR files are described by on the command line: their formats (`csv`,
`parquet`, told from a file's name), the call fields a column mapping assigns
(`--columns from=caller,...`) and the fields a `--time-format` spells in digits. Free of
Arrow, so that command-line help and argument checks load without it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from telebill.domain.errors import InvalidInput

FORMATS: Final = ("csv", "parquet")

# The mapping's names for its fields, as `--columns` spells them: name -> CdrMapping attribute.
FIELD_NAMES: Final = {
    "call_id": "call_id",
    "from": "origin",
    "to": "destination",
    "start_time": "start_time",
    "start_date": "start_date",
    "duration_s": "duration_s",
    "end_time": "end_time",
    "end_date": "end_date",
    "answered": "answered",
}


def input_format(path: Path) -> str:
    """`csv` or `parquet`, from the file name (`.csv`, `.csv.gz`, `.parquet`, `.pq`)."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if ".csv" in name:
        return "csv"
    raise InvalidInput(f"{path}: cannot tell the format from the name (.csv or .parquet)")


def file_labels(paths: Sequence[Path]) -> list[str]:
    """How reports name the files of a run (a dispute's `file`, `duplicate of FILE row N`):
    their names, or, when two files of the run share a name (`jan/cdrs.csv`, `feb/cdrs.csv`),
    every path as given, so that a row is never pointed at the wrong file."""
    names = [path.name for path in paths]
    return names if len(set(names)) == len(names) else [str(path) for path in paths]


# strptime directives of a `--time-format` whose digits are checked against the instant read
# (their width when written next to another one, as in `%Y%m%d`); the compound ones as expanded
# by the parser; the ones that read no digits. Others (%j, %U, ...) are refused: the parser
# reads some of them wrongly, and an unchecked field could hide an impossible date.
_DIGIT_WIDTHS: Final = {"d": 2, "e": 2, "m": 2, "Y": 4, "y": 2, "H": 2, "I": 2, "M": 2, "S": 2}
_COMPOUND: Final = {"D": "%m/%d/%y", "T": "%H:%M:%S", "R": "%H:%M", "r": "%I:%M:%S %p"}
_NO_DIGITS: Final = frozenset("pbBhaAnt%")
_DATE_PARTS: Final = {"year": frozenset("Yy"), "month": frozenset("mbBh"), "day": frozenset("de")}


@dataclass(frozen=True)
class TimeFields:
    """The runs of digits a cell spelled in a strptime format has: each run's parts, in order
    (a directive letter such as `d`, or literal digits of the format such as `00`), and whether
    the format ends with a UTC offset (`%z`, whose digits follow the last run)."""

    runs: tuple[tuple[str, ...], ...]
    offset: bool

    @staticmethod
    def width(part: str) -> int:
        return _DIGIT_WIDTHS.get(part, len(part))


def time_fields(fmt: str) -> TimeFields:
    """The `TimeFields` of a strptime format; InvalidInput for a directive it cannot check."""
    expanded = fmt
    for letter, spelled in _COMPOUND.items():
        expanded = expanded.replace(f"%{letter}", spelled)
    runs: list[tuple[str, ...]] = []
    run: list[str] = []
    offset = False
    i = 0
    while i < len(expanded):
        char = expanded[i]
        part = None
        if char == "%" and i + 1 < len(expanded):
            letter = expanded[i + 1]
            i += 2
            if letter in _DIGIT_WIDTHS and not offset:
                part = letter
            elif letter == "z" and not offset:
                offset = True
            elif letter not in _NO_DIGITS:
                after = " after %z" if offset else ""
                raise InvalidInput(f"time format {fmt!r}: %{letter}{after} is not supported")
        else:
            i += 1
            if char.isascii() and char.isdigit():
                if offset:
                    raise InvalidInput(f"time format {fmt!r}: digits after %z are not supported")
                part = run.pop() + char if run and run[-1].isdigit() else char
        if part is not None:
            run.append(part)
        elif run:
            runs.append(tuple(run))
            run = []
    if run:
        runs.append(tuple(run))
    _check_date(fmt, expanded)
    return TimeFields(tuple(runs), offset)


def _check_date(fmt: str, expanded: str) -> None:
    """InvalidInput unless the format spells a whole date: without one, strptime reads every
    call as made on 1 January 1900 (with a date column, the format covers `DATE TIME`)."""
    used = set(re.findall(r"%(.)", expanded.replace("%%", "")))
    missing = [name for name, letters in _DATE_PARTS.items() if not used & letters]
    if missing:
        raise InvalidInput(f"time format {fmt!r}: no {' or '.join(missing)}; a call's start needs its date")
