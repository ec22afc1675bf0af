"""HyperLogLog sketches of distinct tags (Flajolet et al. 2007), so days' shoppers can be united.

A sketch is 2**P one-byte registers (P = 12: 4 KiB, standard error 1.04 / sqrt(4096) = 1.6 %).
Daily sketches are stored with the daily facts; the distinct shoppers of any run of days are
the estimate of the register-wise maximum of theirs. Small counts use linear counting: exact for a
few dozen tags, within 1 % for a thousand. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

P = 12
M = 1 << P
_REST = 64 - P
_ALPHA = 0.7213 / (1 + 1.079 / M)


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


def sketch(values: Iterable[str]) -> bytes:
    registers = np.zeros(M, dtype=np.uint8)
    for v in values:
        h = _hash(v)
        idx, rest = h >> _REST, h & ((1 << _REST) - 1)
        rank = _REST - rest.bit_length() + 1
        if rank > registers[idx]:
            registers[idx] = rank
    return registers.tobytes()


def union(sketches: Iterable[bytes]) -> bytes:
    out = np.zeros(M, dtype=np.uint8)
    for s in sketches:
        np.maximum(out, np.frombuffer(s, dtype=np.uint8), out=out)
    return out.tobytes()


def estimate(s: bytes) -> int:
    registers = np.frombuffer(s, dtype=np.uint8)
    zeros = int(np.count_nonzero(registers == 0))
    if zeros == M:
        return 0
    raw = _ALPHA * M * M / float(np.sum(np.ldexp(1.0, -registers.astype(np.int64))))
    if raw <= 2.5 * M and zeros:
        return round(M * float(np.log(M / zeros)))
    return round(raw)
