"""The names CDR files are described by on the command line: their formats (`csv`,
`parquet`, told from a file's name) and the call fields a column mapping assigns
(`--columns from=caller,...`). Free of Arrow, so that command-line help and argument checks
load without it."""

from __future__ import annotations

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
