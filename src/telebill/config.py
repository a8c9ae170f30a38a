"""Settings from the environment (prefix `TELEBILL_`) or a `.env` file; no secret has a default."""

from __future__ import annotations

import hashlib
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from telebill.domain.prepaid import is_email_address


def default_database_url() -> str:
    return f"sqlite:///{Path(user_data_dir('telebill')) / 'telebill.db'}"


class Settings(BaseSettings):
    # errors never echo a value: the SMTP URL, the operator token may be in them
    model_config = SettingsConfigDict(
        env_prefix="TELEBILL_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = ""
    # Operator (catalog and account administration) credential: no default, ever. Give the
    # token itself (TELEBILL_OPERATOR_TOKEN) or only its SHA-256 (TELEBILL_OPERATOR_TOKEN_SHA256).
    operator_token: str = ""
    operator_token_sha256: str = ""
    # Base URL clients reach this server at, for absolute paging links; default: the request's.
    public_url: str = ""
    # Real-time charging: seconds reserved per interval, and how long an unsettled hold lives.
    charging_interval_s: int = Field(default=60, ge=1, le=3600)
    # At least two intervals: a hold must outlive the interval it covers and the report of it.
    hold_timeout_s: int = Field(default=4 * 3600 + 600, ge=2, le=30 * 86400)
    # Worker threads for charging steps against a database server: one step's round trips
    # overlap another's work. 0: each step runs on the server's event loop, one at a time,
    # with no hand-off to a thread and back; better when the database answers at once (same
    # host, spare cores), worse when its answers wait (ADR 10). SQLite always runs on the loop.
    charging_threads: int = Field(default=4, ge=0, le=64)
    # PostgreSQL: a charging step reads its account without locks and commits with a guard,
    # running again with locks if the account changed (ADR 10). False: always with locks.
    charging_unlocked_steps: bool = True
    # Webhooks may go to private, loopback or link-local addresses (receivers on the
    # platform's own network). Off by default: a customer's URL must not reach internal hosts.
    webhook_allow_private: bool = False
    # Notifications by e-mail, to accounts with a notify_email and no webhook:
    # smtp://[user:password@]host[:port] (STARTTLS with ?starttls=true) or smtps://...; and the
    # sender's address. The password belongs in the environment, like every secret.
    smtp_url: str = ""
    smtp_from: str = ""
    # Accounts in these currencies need a billing address or VAT number to add funds.
    billing_identity_currencies: frozenset[str] = frozenset({"USD", "EUR"})

    @model_validator(mode="after")
    def _mail_has_a_server_and_a_sender(self) -> Settings:
        if self.smtp_url:
            from telebill.adapters.email_notify import SmtpServer  # the one reading of the URL

            SmtpServer.parse(self.smtp_url)
            if not is_email_address(self.smtp_from):
                raise ValueError("smtp_from: the sender's e-mail address is needed with smtp_url")
        return self

    @model_validator(mode="after")
    def _holds_outlive_their_interval(self) -> Settings:
        if self.hold_timeout_s < 2 * self.charging_interval_s:
            raise ValueError(
                f"hold_timeout_s ({self.hold_timeout_s}) must be at least twice charging_interval_s"
                f" ({self.charging_interval_s}): a hold must outlive the interval it covers"
            )
        return self

    @property
    def operator_token_hash(self) -> str | None:
        if self.operator_token_sha256:
            return self.operator_token_sha256.lower()
        if self.operator_token:
            return hashlib.sha256(self.operator_token.encode("utf-8")).hexdigest()
        return None

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()
