"""Server settings from the environment (or a ``.env`` file). Built in ``main()``, passed down."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, alias="DATABASE_URL", description="unset: embedded PostgreSQL"
    )
    data_dir: Path = Field(default=Path(".storeflow"), alias="STOREFLOW_DATA_DIR")
    admin_token: str | None = Field(default=None, alias="STOREFLOW_ADMIN_TOKEN")
    trip_gap_s: float = Field(default=1800.0, alias="STOREFLOW_TRIP_GAP_S", gt=0)
    pool_max: int = Field(default=10, alias="STOREFLOW_POOL_MAX", ge=1)
    earning_rules: Path | None = Field(default=None, alias="STOREFLOW_EARNING_RULES")
    tier_rules: Path | None = Field(default=None, alias="STOREFLOW_TIER_RULES")
    rollup_staleness_s: float = Field(
        default=30.0,
        alias="STOREFLOW_ROLLUP_STALENESS_S",
        ge=0,
        description="a day's facts may be this old before a dashboard read re-computes them",
    )
    rollup_interval_s: float = Field(
        default=30.0,
        alias="STOREFLOW_ROLLUP_INTERVAL_S",
        gt=0,
        description="how often the server re-computes dirty days in the background",
    )
    till_confirm_above: Decimal = Field(
        default=Decimal("5000.00"),
        alias="STOREFLOW_TILL_CONFIRM_ABOVE",
        gt=0,
        description="the cashier's page asks the cashier to confirm a sale above this total",
    )
    sale_limit: Decimal = Field(
        default=Decimal("50000.00"),
        alias="STOREFLOW_SALE_LIMIT",
        gt=0,
        description="a sale above this total needs a supervisor's confirmation",
    )
    sale_hard_max: Decimal = Field(
        default=Decimal("1000000.00"),
        alias="STOREFLOW_SALE_HARD_MAX",
        gt=0,
        description="a sale above this total is refused outright (a mistyped amount)",
    )
    privacy_secret: SecretStr | None = Field(
        default=None,
        alias="STOREFLOW_PRIVACY_SECRET",
        description="key of the keyed hashes (erased cards, untracked tags); unset: kept in the db",
    )
    edge_epc_key: SecretStr | None = Field(
        default=None,
        alias="STOREFLOW_EDGE_EPC_KEY",
        description="the edges' EPC pseudonym key, to match registered cards by the same hash",
    )
    privacy_record: Path | None = Field(
        default=None,
        alias="STOREFLOW_PRIVACY_RECORD",
        description="the store's record-of-processing YAML (config/privacy_record.example.yaml)",
    )
    retain_anonymous_visits_days: int = Field(
        default=395, alias="STOREFLOW_RETAIN_ANONYMOUS_VISITS_DAYS", ge=1
    )
    retain_member_visits_days: int = Field(
        default=180, alias="STOREFLOW_RETAIN_MEMBER_VISITS_DAYS", ge=1
    )
    retain_erased_purchases_days: int = Field(
        default=3650, alias="STOREFLOW_RETAIN_ERASED_PURCHASES_DAYS", ge=1
    )
    retain_audit_days: int = Field(default=1095, alias="STOREFLOW_RETAIN_AUDIT_DAYS", ge=1)
    retain_class_history_days: int = Field(
        default=730, alias="STOREFLOW_RETAIN_CLASS_HISTORY_DAYS", ge=1
    )
    purge_interval_s: float = Field(
        default=3600.0,
        alias="STOREFLOW_PURGE_INTERVAL_S",
        ge=0,
        description="how often the server runs the retention purge (0: never, use the command)",
    )
    # --- abuse limits and request bounds (hardening) ---
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        alias="STOREFLOW_MAX_BODY_BYTES",
        ge=1024,
        description="a request body larger than this is refused with 413 before it is read",
    )
    lookup_rate_per_s: float = Field(
        default=2.0,
        alias="STOREFLOW_LOOKUP_RATE_PER_S",
        gt=0,
        description="member look-ups a credential may make per second, on average",
    )
    lookup_burst: int = Field(
        default=20,
        alias="STOREFLOW_LOOKUP_BURST",
        ge=1,
        description="look-ups a credential may make at once before the rate applies",
    )
    auth_fail_rate_per_s: float = Field(
        default=1.0,
        alias="STOREFLOW_AUTH_FAIL_RATE_PER_S",
        gt=0,
        description="failed credentials a client address (or token) may present per second",
    )
    auth_fail_burst: int = Field(
        default=30,
        alias="STOREFLOW_AUTH_FAIL_BURST",
        ge=1,
        description="failed credentials a client address may present before it is slowed",
    )
    max_range_days: int = Field(
        default=400,
        alias="STOREFLOW_MAX_RANGE_DAYS",
        ge=1,
        description="the longest date range an analytics question may span (422 beyond)",
    )
    ingest_max_age_days: float = Field(
        default=3660.0,
        alias="STOREFLOW_INGEST_MAX_AGE_DAYS",
        gt=0,
        description="events dated further back than this from the server's clock are rejected",
    )
    ingest_max_ahead_s: float = Field(
        default=86400.0,
        alias="STOREFLOW_INGEST_MAX_AHEAD_S",
        ge=0,
        description="events dated further ahead than this of the server's clock are rejected",
    )
    log_format: str = Field(
        default="text",
        alias="STOREFLOW_LOG_FORMAT",
        pattern="^(text|json)$",
        description="text, or json: one JSON object per log line",
    )
    timescale: Literal["auto", "off", "require"] = Field(
        default="auto",
        alias="STOREFLOW_TIMESCALE",
        description="auto: TimescaleDB when installed and preloaded; off: plain PostgreSQL; "
        "require: refuse to start without it",
    )
    late_data_days: int = Field(
        default=30,
        alias="STOREFLOW_LATE_DATA_DAYS",
        ge=0,
        description="visits may arrive this late; TimescaleDB compresses chunks only after it",
    )
    raw_retention_days: int | None = Field(
        default=None,
        alias="STOREFLOW_RAW_RETENTION_DAYS",
        gt=0,
        description="TimescaleDB drops raw visit and trip chunks older than this (unset: keep)",
    )
    heartbeat_interval_s: float = Field(
        default=10.0,
        alias="STOREFLOW_HEARTBEAT_INTERVAL_S",
        gt=0,
        description="how often edges send a heartbeat (their uplink.heartbeat_s)",
    )
    heartbeat_missed: int = Field(
        default=3,
        alias="STOREFLOW_HEARTBEAT_MISSED",
        ge=1,
        description="an edge or reader is silent after this many missed heartbeats",
    )
    alert_webhook: str | None = Field(
        default=None,
        alias="STOREFLOW_ALERT_WEBHOOK",
        description="device alerts are posted here as JSON, each once (unset: not posted)",
    )
    campaign_webhook: str | None = Field(
        default=None,
        alias="STOREFLOW_CAMPAIGN_WEBHOOK",
        description="campaign contact lists are posted here as JSON when delivered (unset: "
        "the messaging service reads the outbox)",
    )
    care_interval_s: float = Field(
        default=3600.0,
        alias="STOREFLOW_CARE_INTERVAL_S",
        ge=0,
        description="how often the server sweeps follow-ups, runs today's trigger rules and "
        "delivers pending contacts (0: never, use the API)",
    )
    alert_check_s: float = Field(
        default=60.0,
        alias="STOREFLOW_ALERT_CHECK_S",
        gt=0,
        description="how often alerts are checked",
    )
