"""Running the real `telebill` console script as a subprocess, for the end-to-end tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TELEBILL = Path(sys.executable).with_name("telebill")
DEMO_DECKS = ("demo-international", "demo-domestic", "demo-eea")
DEMO_PLANS = ("demo", "demo-discount")
# `telebill demo` versions its decks 2026-01-01: demo lookups name their instant, not the clock's
DEMO_AT = ("--at", "2026-06-01T12:00:00Z")
TIMEOUT_S = 120


@dataclass(frozen=True)
class Telebill:
    """Runs `telebill ARGS...` against one test's database.

    `expect` is the exit status to assert (None: do not check). Commands given together to
    `run_all` are independent reads and run at the same time, to keep the suite fast.
    """

    env: dict[str, str]
    cwd: Path

    def run(self, *args: str, stdin: str | None = None, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(TELEBILL), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=TIMEOUT_S,
            check=False,
        )
        if expect is not None:
            assert proc.returncode == expect, describe(args, proc)
        return proc

    def run_all(self, *commands: Sequence[str], expect: int | None = 0) -> list[subprocess.CompletedProcess[str]]:
        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            futures = [pool.submit(self.run, *args, expect=None) for args in commands]
            procs = [f.result() for f in futures]
        if expect is not None:
            for args, proc in zip(commands, procs, strict=True):
                assert proc.returncode == expect, describe(tuple(args), proc)
        return procs

    def fails(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command that must exit with a non-zero status."""
        proc = self.run(*args, stdin=stdin, expect=None)
        assert proc.returncode != 0, describe(args, proc)
        return proc

    def run_bytes(self, *args: str) -> bytes:
        """stdout of a successful command, byte for byte (no newline translation)."""
        proc = subprocess.run(
            [str(TELEBILL), *args],
            capture_output=True,
            env=self.env,
            cwd=self.cwd,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
        return proc.stdout

    def json_lines(self, *args: str, stdin: str | None = None, expect: int | None = 0) -> list[dict[str, Any]]:
        """Run a `--json` command and parse its stdout: one JSON object per line."""
        return parse_json_lines(self.run(*args, stdin=stdin, expect=expect).stdout)


def describe(args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"telebill {' '.join(args)} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    )


def parse_json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every line of `stdout` is one JSON object."""
    objects = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(o, dict) for o in objects), stdout[:3000]
    return objects
