"""A zone visit as ingest stages it: one ``zone_visit`` row, its fields in the table's order.

Both ingest encodings (the JSON batch and the edge's columns) come down to these rows; tag
classification (:mod:`server.queries.tags`) and the COPY to staging take them as they are.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple


class StagedVisit(NamedTuple):
    event_id: uuid.UUID
    store_id: str
    zone: str
    epc: str
    tag_kind: str  # a TagKind value
    enter_at: datetime
    exit_at: datetime
    reads: int
    mean_rssi_dbm: float
    reader_id: str
    device_id: str
