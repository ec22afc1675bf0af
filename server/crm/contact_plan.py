"""From the members a rule picked to a contact list: pure.

In order: members without in-store tracking consent drop out (a rule on where members walked
only), then members who may not be contacted (marketing consent, a phone or e-mail: the one
gate is :func:`server.privacy.contacts.marketing_contacts`), then members this rule picked within
its cooldown, then members already at the frequency cap. What is left is split at random into
the contacted and the held-out group (:func:`holdout_split`), so every run can be compared.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from server.crm.triggers import Candidate

STEPS = ("not_tracked", "not_contactable", "cooled_down", "capped")


@dataclass(frozen=True, slots=True)
class Plan:
    contacted: list[Candidate]
    held_out: list[Candidate]
    dropped: dict[str, int] = field(default_factory=dict)  # step -> members dropped there


def default_seed(rule_id: int, as_of: date) -> int:
    """The hold-out draw's seed when the run names none: fixed per rule and day (63 bits)."""
    digest = hashlib.sha256(f"campaign:{rule_id}:{as_of.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def holdout_split(member_ids: Sequence[int], share: Decimal | float, seed: int) -> set[int]:
    """A random ``share`` of ``member_ids``, drawn from ``seed``: k = floor(share x n + U), with U
    uniform on [0, 1), members (sorted) in a random order, the first k held out. So the group
    has share x n members on average even for small lists, and the draw is repeatable."""
    ids = sorted(set(member_ids))
    if not ids or share <= 0:
        return set()
    rng = np.random.default_rng(seed)
    k = min(len(ids), math.floor(float(share) * len(ids) + rng.random()))
    order = rng.permutation(len(ids))
    return {ids[i] for i in order[:k]}


def cap_window(as_of: date, days: int) -> tuple[date, date]:
    """Runs whose day lies in this closed range count against a contact on ``as_of``: any
    window of ``days`` days holding ``as_of`` lies inside it, so a contact is allowed when the
    other contacts in the range number below the cap, whatever order runs are made in."""
    return as_of - timedelta(days=days - 1), as_of + timedelta(days=days - 1)


def plan_contacts(
    candidates: Sequence[Candidate],
    *,
    tracked: set[int] | None,
    reachable: set[int],
    recently_picked: set[int],
    contacts_near: Mapping[int, int],
    cap: int,
    holdout_share: Decimal | float,
    seed: int,
) -> Plan:
    """The contact list of ``candidates``. ``tracked``: members with in-store tracking consent
    (None: the rule does not need it); ``reachable``: members who may be contacted;
    ``recently_picked``: picked by this rule within its cooldown; ``contacts_near``: contacts
    each member has in the cap's window (:func:`cap_window`); ``cap``: the most allowed."""
    dropped = dict.fromkeys(STEPS, 0)
    kept: list[Candidate] = []
    for c in candidates:
        if tracked is not None and c.member_id not in tracked:
            dropped["not_tracked"] += 1
        elif c.member_id not in reachable:
            dropped["not_contactable"] += 1
        elif c.member_id in recently_picked:
            dropped["cooled_down"] += 1
        elif contacts_near.get(c.member_id, 0) >= cap:
            dropped["capped"] += 1
        else:
            kept.append(c)
    held = holdout_split([c.member_id for c in kept], holdout_share, seed)
    return Plan(
        contacted=[c for c in kept if c.member_id not in held],
        held_out=[c for c in kept if c.member_id in held],
        dropped=dropped,
    )
