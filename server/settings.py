"""Server settings from the environment (or a ``.env`` file). Built in ``main()``, passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
