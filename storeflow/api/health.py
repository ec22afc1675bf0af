"""``GET /health``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storeflow.api.base import ApiModel


class DeviceHealth(ApiModel):
    device_id: str
    store_id: str
    last_seen: datetime
    outbox_depth: int
    readers: dict[str, Any]


class Health(ApiModel):
    status: str
    database: bool
    migrations: int = 0
    timescaledb: bool = False
    devices: list[DeviceHealth] = []
