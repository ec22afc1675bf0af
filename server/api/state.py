"""What the running app holds: built once in the lifespan, read by requests through
``server.api.deps`` (never through module globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from server.loyalty.rules import LoyaltyRules
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    database_url: str
    pool: AsyncConnectionPool[Any]
    rules: LoyaltyRules
