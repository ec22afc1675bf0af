"""Server settings from the environment (or a ``.env`` file). Built in ``main()``, passed down."""

from __future__ import annotations

from decimal import Decimal
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
    alert_check_s: float = Field(
        default=60.0,
        alias="STOREFLOW_ALERT_CHECK_S",
        gt=0,
        description="how often alerts are checked",
    )
