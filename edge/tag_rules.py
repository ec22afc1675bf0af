"""What a tag is, by the store's own rules (the ``tags:`` section of the edge config).

A store that adopts Storeflow already owns its tags, so which EPCs are member cards, carts,
baskets or staff badges is configuration, not code. Rules are tried in order; the first that
matches gives the kind. A rule matches on any of:

* ``scheme``: ``gid-96``, ``sgtin-96`` or ``any`` (then ``hex_prefix`` or ``bits`` say more);
* ``company``: the GID-96 general manager number or the SGTIN-96 company prefix (its digits,
  leading zeros included);
* ``object_class``: GID-96 object classes, as values and ``from-to`` ranges (``[11, "20-29"]``);
* ``hex_prefix``: the EPC's first hex digits (any scheme, e.g. ``E280`` for factory EPCs);
* ``bits``: the EPC length, 96 or 128.

An EPC no rule matches gets Storeflow's convention (``storeflow.epc.classify_epc``: GID-96 object
class 1/2/3/9, SGTIN-96 goods) unless ``convention: false``, then it is ``unknown``. With no
rules the convention alone applies. The EPC bit layout itself lives in ``storeflow/epc.py``.

Example::

    tags:
      rules:
        - {scheme: gid-96, company: 4711000, object_class: [11], kind: member_card}
        - {scheme: gid-96, company: 4711000, object_class: ["20-29"], kind: cart}
        - {scheme: sgtin-96, company: "0614141", kind: member_card}
        - {hex_prefix: E280, bits: 128, kind: staff}
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from storeflow.epc import GID96_CLASS_BITS, EpcPattern, classify_epc, epc_pattern
from storeflow.models import Frozen
from storeflow.wire import TagKind

logger = logging.getLogger(__name__)

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_MAX_CLASS = (1 << GID96_CLASS_BITS) - 1


class TagRule(Frozen):
    """One rule: every field given must match; ``kind`` is what a matching tag is."""

    kind: TagKind
    scheme: Literal["gid-96", "sgtin-96", "any"] = "any"
    company: str | None = Field(
        default=None, description="GID-96 manager number or SGTIN-96 company prefix"
    )
    object_class: list[int | str] | None = Field(
        default=None, description="GID-96 object classes: values and 'from-to' ranges"
    )
    hex_prefix: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{1,32}$")
    bits: Literal[96, 128] | None = None

    @field_validator("company", mode="before")
    @classmethod
    def _company_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int) else v

    @field_validator("company")
    @classmethod
    def _company_digits(cls, v: str | None) -> str | None:
        if v is not None and not v.isdigit():
            raise ValueError("company must be digits (a manager number or a company prefix)")
        return v

    @field_validator("object_class")
    @classmethod
    def _classes(cls, v: list[int | str] | None) -> list[int | str] | None:
        for item in v or []:
            lo, hi = _bounds(item)
            if not 0 <= lo <= hi <= _MAX_CLASS:
                raise ValueError(f"object class {item!r}: want 0..{_MAX_CLASS}, from <= to")
        return v

    @field_validator("hex_prefix")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> TagRule:
        if self.object_class is not None and self.scheme != "gid-96":
            raise ValueError("object_class needs scheme: gid-96")
        if self.company is not None and self.scheme == "any":
            raise ValueError("company needs scheme: gid-96 or sgtin-96")
        if self.scheme != "any" and self.bits == 128:
            raise ValueError(f"a {self.scheme} EPC has 96 bits")
        if self.scheme == "any" and self.hex_prefix is None and self.bits is None:
            raise ValueError("a rule needs scheme, hex_prefix or bits")
        return self

    def matches(self, epc: str, pat: EpcPattern) -> bool:
        if self.scheme != "any" and pat.scheme != self.scheme:
            return False
        if self.bits is not None and pat.bits != self.bits:
            return False
        if self.hex_prefix is not None and not epc.startswith(self.hex_prefix):
            return False
        if self.company is not None and pat.company != _company_key(self.company, pat.scheme):
            return False
        if self.object_class is not None:
            oc = pat.object_class
            return oc is not None and any(
                lo <= oc <= hi for lo, hi in map(_bounds, self.object_class)
            )
        return True


def _bounds(item: int | str) -> tuple[int, int]:
    if isinstance(item, int):
        return item, item
    m = _RANGE.match(item)
    if m is None:
        if item.strip().isdigit():
            return int(item), int(item)
        raise ValueError(f"object class {item!r}: a number or a 'from-to' range")
    return int(m.group(1)), int(m.group(2))


def _company_key(company: str, scheme: str) -> str:
    """GID-96 manager numbers compare as numbers; SGTIN-96 prefixes as digit strings."""
    return str(int(company)) if scheme == "gid-96" else company


class TagRulesConfig(Frozen):
    """The ``tags:`` section: the store's rules, then (unless off) Storeflow's convention."""

    rules: list[TagRule] = Field(default_factory=list)
    convention: bool = Field(default=True, description="unmatched EPCs: the default convention")

    def classifier(self) -> TagClassifier:
        return TagClassifier(self)


def kind_by_rules(epc: str, config: TagRulesConfig) -> TagKind:
    """The kind of tag ``epc`` (hex) is under ``config``. Pure."""
    epc = epc.upper()
    if config.rules:
        pat = epc_pattern(epc)
        for rule in config.rules:
            if rule.matches(epc, pat):
                return rule.kind
    return classify_epc(epc).kind_hint if config.convention else TagKind.UNKNOWN


class TagClassifier:
    """:func:`kind_by_rules` with a per-EPC cache (the tracker asks once per tag, the goods
    counter once per read)."""

    def __init__(self, config: TagRulesConfig, *, max_cached: int = 200_000) -> None:
        self.config = config
        self._cache: dict[str, TagKind] = {}
        self._max = max_cached

    def __call__(self, epc: str) -> TagKind:
        kind = self._cache.get(epc)
        if kind is None:
            if len(self._cache) >= self._max:
                self._cache.clear()
            kind = self._cache[epc] = kind_by_rules(epc, self.config)
        return kind
