"""The edge agent's configuration: one YAML file per store (see ``edge/examples/store.yaml``).

Validated with ``extra="forbid"`` so a misspelt key is an error, and every error names the file,
the line and the key (``storeflow edge --config FILE --validate-config`` checks a file and exits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.outbox import OutboxLimits
from edge.tracker import TrackerParams
from storeflow.layout import StoreLayout, load_layout
from storeflow.yamlconf import ConfigError, load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerConfig(_Strict):
    url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://")
    token: str | None = Field(default=None, description="edge device token (or use token_env)")
    token_env: str = Field(default="STOREFLOW_EDGE_TOKEN")

    def resolve_token(self) -> str:
        token = self.token or os.environ.get(self.token_env)
        if not token:
            raise ConfigError(f"no edge token: set server.token or the {self.token_env} variable")
        return token


class SerialTransport(_Strict):
    url: str = Field(description="serial_for_url URL: /dev/ttyUSB0, socket://host:port, ...")
    baudrate: int = 115200
    send_inventory: bool = Field(default=False, description="send the 0x89 command on connect")


class MqttTransport(_Strict):
    url: str = Field(pattern=r"^mqtts?://")
    topic: str = Field(min_length=1)


class ReaderConfig(_Strict):
    id: str = Field(min_length=1)
    protocol: Literal["r2000", "impinj_iot", "zebra_iot"]
    serial: SerialTransport | None = None
    mqtt: MqttTransport | None = None

    @model_validator(mode="after")
    def _one_transport(self) -> ReaderConfig:
        if self.protocol == "r2000" and self.serial is None:
            raise ValueError("an r2000 reader needs a `serial:` section")
        if self.protocol != "r2000" and self.mqtt is None:
            raise ValueError(f"a {self.protocol} reader needs an `mqtt:` section")
        return self


class OutboxConfig(_Strict):
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


class UplinkConfig(_Strict):
    batch_size: int = Field(default=500, ge=1, le=10_000)
    heartbeat_s: float = Field(default=10.0, gt=0)


class ClockConfig(_Strict):
    """Simulated time for demos: ``sim_epoch + (wall - wall_start) * scale``. Omit in production."""

    scale: float = Field(default=1.0, gt=0)
    sim_epoch: float | None = None
    wall_start: float | None = None


class EdgeConfig(_Strict):
    device_id: str = Field(min_length=1, max_length=64)
    store_id: str = Field(min_length=1, max_length=64)
    layout: Path = Field(
        description="store layout YAML (antenna -> zone map), relative to this file"
    )
    server: ServerConfig = ServerConfig()
    readers: list[ReaderConfig] = Field(min_length=1)
    tracker: TrackerParams = TrackerParams()
    outbox: OutboxConfig = OutboxConfig()
    uplink: UplinkConfig = UplinkConfig()
    clock: ClockConfig = ClockConfig()


def load_edge_config(path: Path | str) -> tuple[EdgeConfig, StoreLayout]:
    """Load and cross-check an edge config and the layout it points to."""
    path = Path(path)
    cfg = load_yaml(path, EdgeConfig)
    layout_path = cfg.layout if cfg.layout.is_absolute() else path.parent / cfg.layout
    layout = load_layout(layout_path)
    if layout.store.id != cfg.store_id:
        raise ConfigError(
            f"{path}: store_id: {cfg.store_id!r} but the layout {layout_path} is store "
            f"{layout.store.id!r}"
        )
    known = {r.id for r in layout.readers}
    for reader in cfg.readers:
        if reader.id not in known:
            raise ConfigError(
                f"{path}: readers: reader {reader.id!r} is not in the layout "
                f"(known: {sorted(known)})"
            )
    return cfg, layout
