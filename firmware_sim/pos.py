"""A simulated point of sale: posts the simulated shoppers' purchases to the server, as a real
till integration would (``POST /api/v1/purchases``, idempotent on the POS's own id)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx

from firmware_sim.model import TruePurchase
from firmware_sim.scanner_emitter import Rdm6300SocketEmitter
from storeflow.epc import OBJECT_CLASS_MEMBER_CARD, decode_gid96

logger = logging.getLogger(__name__)

CARD_BASE = 6_001_000_000


def card_for_epc(epc: str) -> str | None:
    """The number of the member card whose UHF tag carries ``epc`` (None for carts): the card's
    125 kHz EM4100 id, 10 hex digits, which is what the till's reader reports."""
    gid = decode_gid96(epc)
    if gid is None or gid.object_class != OBJECT_CLASS_MEMBER_CARD:
        return None
    return member_card_number(gid.serial)


def member_card_number(serial: int) -> str:
    """The card number of the member card whose tag has GID-96 serial ``serial``."""
    return f"{CARD_BASE + serial:010X}"


class PosClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        store_id: str,
        register_id: str,
        categories: dict[str, str],
        scanner: Rdm6300SocketEmitter | None = None,
    ) -> None:
        self.scanner = scanner
        self._client = httpx.Client(
            base_url=base_url, timeout=10.0, headers={"Authorization": f"Bearer {token}"}
        )
        self.store_id = store_id
        self.register_id = register_id
        self.categories = categories
        self.posted = 0
        self.failed = 0

    def post(self, p: TruePurchase) -> None:
        card = card_for_epc(p.epc)
        if card is not None and self.scanner is not None:
            self.scanner.present(card)
        body = {
            "store_id": self.store_id,
            "register_id": self.register_id,
            "pos_id": f"SIM-{p.shopper_id}-{p.counter}",
            "at": datetime.fromtimestamp(p.at, UTC).isoformat(),
            "card_number": card,
            "lines": [
                {
                    "sku": f"{p.counter}-{int(p.amount * 100) % 997:03d}",
                    "counter": p.counter,
                    "category": self.categories.get(p.counter),
                    "quantity": 1,
                    "amount": f"{p.amount:.2f}",
                }
            ],
        }
        try:
            r = self._client.post("/api/v1/purchases", json=body)
        except httpx.HTTPError as exc:
            self.failed += 1
            logger.warning("POS: purchase not posted: %s", exc)
            return
        if r.status_code == 200:
            self.posted += 1
        else:
            self.failed += 1
            logger.warning("POS: purchase refused: HTTP %d %s", r.status_code, r.text[:200])

    def close(self) -> None:
        self._client.close()
