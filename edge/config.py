"""The edge agent's configuration: one YAML file per store (see ``edge/examples/store.yaml``).

Validated with ``extra="forbid"`` so a misspelt key is an error, and every error names the file,
the line and the key (``storeflow edge --config FILE --validate-config`` checks a file and exits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from edge.metrics import MetricsConfig
from edge.outbox import OutboxLimits
from edge.tag_rules import TagRulesConfig
from edge.tracker import TrackerParams
from edge.uplink import Encoding
from storeflow.layout import StoreLayout, load_layout
from storeflow.models import Frozen
from storeflow.yamlconf import ConfigError, error_at, load_yaml


class ServerConfig(Frozen):
    url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://")
    token: str | None = Field(default=None, description="edge device token (or use token_env)")
    token_env: str = Field(default="STOREFLOW_EDGE_TOKEN")

    def resolve_token(self) -> str | None:
        """The token from ``token`` or the ``token_env`` variable; ``None`` when neither is set
        (:func:`edge_token` turns that into an error naming the file and line)."""
        return self.token or os.environ.get(self.token_env) or None


class SerialTransport(Frozen):
    url: str = Field(description="serial_for_url URL: /dev/ttyUSB0, socket://host:port, ...")
    baudrate: int = 115200
    send_inventory: bool = Field(default=False, description="send the 0x89 command on connect")


class MqttTransport(Frozen):
    url: str = Field(pattern=r"^mqtts?://")
    topic: str = Field(min_length=1)


class LlrpTransport(Frozen):
    """An LLRP reader (Impinj Speedway/R-series, Zebra FX): the edge connects to it over TCP."""

    host: str = Field(min_length=1, description="the reader's address")
    port: int = Field(default=5084, ge=1, le=65535)
    antennas: list[int] = Field(default=[1, 2, 3, 4], min_length=1)
    keepalive_s: float = Field(default=5.0, gt=0, description="KEEPALIVE interval asked for")
    keepalive_timeout_factor: float = Field(
        default=3.0, ge=1.5, description="reconnect after this many silent keep-alive intervals"
    )


_TRANSPORT_OF = {"r2000": "serial", "impinj_iot": "mqtt", "zebra_iot": "mqtt", "llrp": "llrp"}


class ReaderConfig(Frozen):
    id: str = Field(min_length=1)
    protocol: Literal["r2000", "impinj_iot", "zebra_iot", "llrp"]
    serial: SerialTransport | None = None
    mqtt: MqttTransport | None = None
    llrp: LlrpTransport | None = None

    @model_validator(mode="after")
    def _one_transport(self) -> ReaderConfig:
        needed = _TRANSPORT_OF[self.protocol]
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.protocol} reader needs a `{needed}:` section")
        return self


class OutboxConfig(Frozen):
    """Where events wait for the server, and how much may wait (oldest dropped, counted)."""

    path: Path = Path(".storeflow/edge-outbox.sqlite")
    max_rows: int = Field(default=2_000_000, ge=1, description="events kept at most")
    max_mb: float = Field(default=1024.0, gt=0, description="JSON megabytes kept at most")
    max_age_days: float = Field(default=30.0, gt=0, description="older events are dropped")
    max_held: int = Field(
        default=20_000, ge=0, description="events kept in memory while the disk refuses writes"
    )
    checkpoint_s: float = Field(
        default=1.0, gt=0, description="how often open visits are saved (host seconds)"
    )

    def limits(self) -> OutboxLimits:
        return OutboxLimits(
            max_rows=self.max_rows,
            max_bytes=int(self.max_mb * 1_000_000),
            max_age_s=self.max_age_days * 86_400.0,
            max_held=self.max_held,
        )


class UplinkConfig(Frozen):
    batch_size: int = Field(default=500, ge=1, le=10_000)
    heartbeat_s: float = Field(default=10.0, gt=0)
    encoding: Encoding = Field(
        default="columns",
        description="columns: zone visits as one array per field (a server without that "
        "endpoint gets JSON); json: the JSON batch every client may send",
    )


class ClockConfig(Frozen):
    """Simulated time for demos: ``sim_epoch + (wall - wall_start) * scale``, or the time in
    ``file`` that a benchmark driving the store in lock-step sets (``storeflow bench faults``).
    Omit in production."""

    scale: float = Field(default=1.0, gt=0)
    sim_epoch: float | None = None
    wall_start: float | None = None
    file: Path | None = Field(default=None, description="read the time from this file")


class PrivacyConfig(Frozen):
    """Pseudonymous EPCs: every EPC is replaced by a keyed hash before anything leaves the store.

    The key comes from ``key`` or the ``key_env`` variable; the server needs the same key
    (``STOREFLOW_EDGE_EPC_KEY``) to recognise registered member cards. Never logged."""

    pseudonymise_epcs: bool = False
    key: SecretStr | None = Field(default=None, description="the key (or use key_env)")
    key_env: str = Field(default="STOREFLOW_EDGE_EPC_KEY")

    def resolve_key(self) -> bytes | None:
        """The key when pseudonymising is on (a ConfigError when it is on but no key is set)."""
        if not self.pseudonymise_epcs:
            return None
        key = self.key.get_secret_value() if self.key else os.environ.get(self.key_env)
        if not key:
            raise ConfigError(
                f"privacy.pseudonymise_epcs is on but no key: set privacy.key or {self.key_env}"
            )
        return key.encode()


class EdgeConfig(Frozen):
    device_id: str = Field(min_length=1, max_length=64)
    store_id: str = Field(min_length=1, max_length=64)
    layout: Path = Field(
        description="store layout YAML (antenna -> zone map), relative to this file"
    )
    server: ServerConfig = ServerConfig()
    readers: list[ReaderConfig] = Field(min_length=1)
    tracker: TrackerParams = TrackerParams()
    tags: TagRulesConfig = Field(
        default=TagRulesConfig(), description="which EPCs are which kind of tag (edge/tag_rules.py)"
    )
    outbox: OutboxConfig = OutboxConfig()
    uplink: UplinkConfig = UplinkConfig()
    clock: ClockConfig = ClockConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    metrics: MetricsConfig = Field(
        default=MetricsConfig(), description="Prometheus /metrics (edge/metrics.py); off by default"
    )


def load_edge_config(path: Path | str) -> tuple[EdgeConfig, StoreLayout]:
    """Load and cross-check an edge config and the layout it points to."""
    path = Path(path)
    cfg = load_yaml(path, EdgeConfig)
    layout_path = cfg.layout if cfg.layout.is_absolute() else path.parent / cfg.layout
    try:
        layout = load_layout(layout_path)
    except ConfigError as exc:
        raise error_at(path, ("layout",), f"the layout does not load: {exc}") from exc
    if layout.store.id != cfg.store_id:
        raise error_at(
            path,
            ("store_id",),
            f"{cfg.store_id!r} but the layout {layout_path} is store {layout.store.id!r}",
        )
    known = {r.id for r in layout.readers}
    seen: set[str] = set()
    for i, reader in enumerate(cfg.readers):
        if reader.id in seen:
            raise error_at(path, ("readers", i, "id"), f"reader {reader.id!r} is listed twice")
        seen.add(reader.id)
        if reader.id not in known:
            raise error_at(
                path,
                ("readers", i, "id"),
                f"reader {reader.id!r} is not in the layout (known: {sorted(known)})",
            )
    return cfg, layout


def edge_token(cfg: EdgeConfig, path: Path | str) -> str:
    """The edge device token; a :class:`ConfigError` naming file, line and key when unset."""
    token = cfg.server.resolve_token()
    if token is None:
        raise error_at(
            path,
            ("server", "token_env"),
            f"no edge token: the variable {cfg.server.token_env} is not set "
            "(set it, or server.token)",
        )
    return token
