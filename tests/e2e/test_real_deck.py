"""A real published 12k-row deck with decimal commas goes through the CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DECK = Path(__file__).resolve().parent.parent / "fixtures" / "decks" / "fccn-international-2012-09-06.csv"
TELEBILL = str(Path(sys.executable).with_name("telebill"))


def run(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TELEBILL_DATABASE_URL": database_url}
    return subprocess.run(
        [TELEBILL, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_a_real_decimal_comma_deck_imports_prices_and_round_trips(database_url: str, tmp_path: Path) -> None:
    assert run(database_url, "db", "upgrade").returncode == 0
    imported = run(database_url, "decks", "import", str(DECK), "--name", "fccn", "--currency", "EUR")
    assert imported.returncode == 0, imported.stderr
    assert "imported 11894 voice rows" in imported.stdout

    priced = run(database_url, "price", "+447400123456", "+5511987654321", "+93700123456", "--deck", "fccn", "--json")
    assert priced.returncode == 0, priced.stderr
    lines = [json.loads(line) for line in priced.stdout.splitlines()]
    assert [(d["matched_prefix"], d["current_price"]) for d in lines] == [
        ("447400", "0.056"),
        ("55119", "0.157"),
        ("937", _rate_of("937")),
    ]
    assert {d["currency"] for d in lines} == {"EUR"}

    exported = tmp_path / "fccn.csv"
    assert run(database_url, "decks", "export", "fccn", "--out", str(exported)).returncode == 0
    again = run(database_url, "decks", "import", str(exported), "--name", "fccn-copy", "--currency", "EUR")
    assert again.returncode == 0, again.stderr
    copy = tmp_path / "copy.csv"
    assert run(database_url, "decks", "export", "fccn-copy", "--out", str(copy)).returncode == 0
    assert copy.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")

    numbers = "\n".join(n for n in (_possible_number(p) for p in _prefixes()[:3000]) if n)
    bulk = run(database_url, "price", "-", "--deck", "fccn", "--json", stdin=numbers)
    results = [json.loads(line) for line in bulk.stdout.splitlines()]
    assert len(results) == numbers.count("\n") + 1 > 2500
    assert all("error" not in r for r in results)
    # every number built from a deck prefix is priced by that prefix or a longer one
    assert all(r["destination"][1:].startswith(r["matched_prefix"]) for r in results)


def _rows() -> list[list[str]]:
    import csv

    with DECK.open(encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def _prefixes() -> list[str]:
    return [row[1] for row in _rows()]


def _rate_of(prefix: str) -> str:
    return next(row[2] for row in _rows() if row[1] == prefix).replace(",", ".")


def _possible_number(prefix: str) -> str | None:
    """A number of a length valid for its country, starting with `prefix`."""
    import phonenumbers

    for length in range(max(len(prefix) + 1, 8), 16):
        candidate = "+" + (prefix + "23456789012345")[:length]
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(candidate)):
                return candidate
        except phonenumbers.NumberParseException:
            return None
    return None
