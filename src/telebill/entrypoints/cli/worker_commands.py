"""`telebill worker`: the outbox worker loop (notifications, auto-recharge, expired holds).

The service never sleeps; this loop is the one place that waits between passes. Several
workers may run against PostgreSQL (rows are claimed with SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Annotated

import typer

from telebill.entrypoints.cli.context import container

logger = logging.getLogger("telebill.worker")


def _configure_logging() -> None:
    # Notifications without a webhook are delivered as JSON lines on this logger: show them.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("telebill.notifications", "telebill.worker"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False


def worker(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds to wait between passes that found nothing to do.")
    ] = 5.0,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Outbox rows per pass.")] = 100,
) -> None:
    """Deliver notifications (webhook or log), run auto-recharges, expire stale holds; until Ctrl-C."""
    _configure_logging()
    with container() as c:
        try:
            while True:
                try:
                    report = c.notifications.run_once(batch)
                except Exception:
                    if once:
                        raise
                    # a database outage should not end the worker: log it and try again next pass
                    logger.exception("worker pass failed")
                    time.sleep(interval)
                    continue
                if once or report.processed or report.holds_expired:
                    typer.echo(
                        f"delivered={report.delivered} recharged={report.recharged} declined={report.declined} "
                        f"skipped={report.skipped} retrying={report.retrying} failed={report.failed} "
                        f"holds_expired={report.holds_expired}",
                        err=True,
                    )
                if once:
                    return
                if report.processed < batch:  # a full batch means more is waiting: go on at once
                    time.sleep(interval)
        except KeyboardInterrupt:
            typer.echo("worker stopped", err=True)
