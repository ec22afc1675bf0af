"""The edge agent's configuration: one YAML file per store (see ``edge/examples/store.yaml``).

Validated with ``extra="forbid"`` so a misspelt key is an error, and every error names the file,
the line and the key (``storeflow edge --config FILE --validate-config`` checks a file and exits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

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
    path: Path = Path(".storeflow/edge-outbox.sqlite")


class UplinkConfig(_Strict):
    batch_size: int = Field(default=500, ge=1, le=10_000)
    heartbeat_s: float = Field(default=10.0, gt=0)


class ClockConfig(_Strict):
    """Simulated time for demos: ``sim_epoch + (wall - wall_start) * scale``. Omit in production."""

    scale: float = Field(default=1.0, gt=0)
    sim_epoch: float | None = None
    wall_start: float | None = None


class PrivacyConfig(_Strict):
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
    privacy: PrivacyConfig = PrivacyConfig()


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
