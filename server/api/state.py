"""What the running app holds: built once in the lifespan, read by requests through
``server.api.deps`` (never through module globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from server.loyalty.rules import LoyaltyRules
from server.metrics import Metrics
from server.ratelimit import RateLimiter
from server.scanhub import ScanHub
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class Limits:
    """The abuse limits of one process (in-process token buckets)."""

    lookups: RateLimiter  # member look-ups, per credential
    auth_failures: RateLimiter  # failed credentials, per client address and per token

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(
            lookups=RateLimiter(rate=s.lookup_rate_per_s, burst=s.lookup_burst),
            auth_failures=RateLimiter(rate=s.auth_fail_rate_per_s, burst=s.auth_fail_burst),
        )


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    database_url: str
    pool: AsyncConnectionPool[Any]
    rules: LoyaltyRules
    scans: ScanHub
    metrics: Metrics
    limits: Limits
