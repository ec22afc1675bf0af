"""The base of every message and configuration model: immutable, and strict about its keys.

``extra="forbid"`` makes a misspelt key in a YAML file or a message an error instead of a silently
ignored field; ``frozen=True`` lets models be shared between threads and used as dict keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A pydantic model that cannot be changed after validation and accepts no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")
