"""The one place that maps a reader protocol name to its decoder.

Adding a reader family = one decoder module in this package + one line below.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.drivers.impinj_iot import ImpinjIotDecoder
from edge.drivers.llrp import LlrpDecoder
from edge.drivers.r2000 import R2000Decoder
from edge.drivers.zebra_iot import ZebraIotDecoder
from edge.reads import MessageDecoder, StreamDecoder

STREAM_DECODERS: dict[str, Callable[[str], StreamDecoder]] = {
    "r2000": R2000Decoder,
}
MESSAGE_DECODERS: dict[str, Callable[[str], MessageDecoder]] = {
    "impinj_iot": ImpinjIotDecoder,
    "zebra_iot": ZebraIotDecoder,
    "llrp": LlrpDecoder,  # whole LLRP messages; the live loop is edge.drivers.llrp_io
}


def stream_decoder(protocol: str, reader_id: str) -> StreamDecoder:
    try:
        return STREAM_DECODERS[protocol](reader_id)
    except KeyError:
        raise ValueError(
            f"unknown serial reader protocol {protocol!r}; known: {sorted(STREAM_DECODERS)}"
        ) from None


def message_decoder(protocol: str, reader_id: str) -> MessageDecoder:
    try:
        return MESSAGE_DECODERS[protocol](reader_id)
    except KeyError:
        raise ValueError(
            f"unknown message reader protocol {protocol!r}; known: {sorted(MESSAGE_DECODERS)}"
        ) from None
