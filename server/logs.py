"""Log output: the usual text lines, or one JSON object per line (``STOREFLOW_LOG_FORMAT=json``)
for a log collector."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"}`` (and ``exception`` when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def use_format(log_format: str) -> None:
    """Switch every handler of the root logger to ``log_format`` (``text`` leaves them)."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
