"""The base of every API model: immutable once parsed; unknown fields are ignored, so a client
keeps working against a newer server that adds fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
