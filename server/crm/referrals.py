"""Referrals, the pure part: what a referral code looks like, which purchase keeps a referral
reward, and the referral tree below a member built from the rows the database gives
(``server.queries.referrals`` reads them).

A code is eight characters from ``ALPHABET`` (no 0/O or 1/I to mistake), made by the database
(``new_referral_code()``, migration 0130). People type codes as they see them, so spaces, dashes
and lower case are forgiven."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class BadCode(ValueError):
    """Text that cannot be a referral code (the message says why)."""


def normalise_code(text: str) -> str:
    """The code in ``text``: upper case, without spaces or dashes; ``BadCode`` if it cannot be
    one (wrong length, or a character no code has)."""
    code = "".join(c for c in text.upper() if c not in " -\t")
    if len(code) != CODE_LENGTH:
        raise BadCode(
            f"a referral code has {CODE_LENGTH} letters and digits; {text.strip()!r} has "
            f"{len(code)}"
        )
    wrong = sorted({c for c in code if c not in ALPHABET})
    if wrong:
        raise BadCode(
            f"referral code {text.strip()!r} has characters no code has: {''.join(wrong)} "
            "(codes use no 0, O, 1 or I)"
        )
    return code


def keeps_reward(net: Decimal, min_purchase: Decimal) -> bool:
    """Whether a purchase whose net amount (total less what was returned of it) is ``net``
    qualifies for, or keeps, a referral reward with minimum ``min_purchase``: it reaches the
    minimum and something was kept (a purchase returned in full never qualifies, even with a
    minimum of 0)."""
    return net > 0 and net >= min_purchase


@dataclass(frozen=True, slots=True)
class Referred:
    """One referred member as the tree query returns it; ``parent`` is the member (in use) whose
    code they gave, ``depth`` 1 for the root's own referrals."""

    member_id: int
    parent: int
    depth: int
    member_no: str
    name: str
    joined_at: datetime
    first_purchase_at: datetime | None
    reward_points: int | None  # what the parent was paid for this referral; None: nothing yet
    referred_count: int  # how many members this one referred (shown or not)


@dataclass(frozen=True, slots=True)
class Node:
    member: Referred
    children: list[Node]

    @property
    def not_shown(self) -> int:
        """Members this one referred that are below the depth limit (or cut by the size limit)."""
        return self.member.referred_count - len(self.children)


def build_tree(root_id: int, rows: Sequence[Referred]) -> list[Node]:
    """The referral tree below ``root_id``: its referrals, each with theirs, oldest first.

    Rows whose parent is not in the tree (cut by a size limit) are left out; a member appears
    once, at the smallest depth it was found at."""
    by_parent: defaultdict[int, list[Referred]] = defaultdict(list)
    seen: set[int] = {root_id}
    for r in sorted(rows, key=lambda r: (r.depth, r.joined_at, r.member_id)):
        if r.member_id in seen:
            continue
        seen.add(r.member_id)
        by_parent[r.parent].append(r)

    def nodes(parent: int) -> list[Node]:
        return [Node(r, nodes(r.member_id)) for r in by_parent.get(parent, [])]

    return nodes(root_id)


def count(nodes: Sequence[Node]) -> tuple[int, int]:
    """Members in ``nodes`` and below, and how many of them have bought."""
    members = buyers = 0
    for n in nodes:
        below, below_buyers = count(n.children)
        members += 1 + below
        buyers += (n.member.first_purchase_at is not None) + below_buyers
    return members, buyers
