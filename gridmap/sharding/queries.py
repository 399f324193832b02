"""Which shards each API operation touches, for each kind of caller, under a distribution key.

An operation is classed by the scope rule it declares (gridmap.auth.scope.RULES) and its path:

* ``anyone`` / ``own-token`` / ``own-account`` read accounts, kept as local tables on the
  coordinator: no shard at all;
* ``global`` reads read reference tables (categories, calendar, admin units), a copy of which is
  on every node: one node; ``global`` writes are whole-database jobs or reference-table
  writes, which every node takes;
* area rules with an area code in the path reach that area's keys: one shard when the code is at
  least as long as the key, else the shards of the keys under it;
* other area-ruled operations filter by the caller's area prefix: one shard when the caller's
  area lies inside one key, else every shard holding a key in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gridmap.sharding.province import Province
from gridmap.sharding.skew import key_shards

COORDINATOR_RULES = ("anyone", "own-token", "own-account")
REFERENCE_RULE = "global"
AREA_CODE_PARAMETER = "<code>"


class OperationLike(Protocol):
    method: str
    path: str
    roles: tuple[str, ...]
    scope: str


@dataclass(frozen=True)
class Caller:
    """A kind of user, their area's code length (0 = everything) and a day's traffic per city."""

    name: str
    role: str
    scope_length: int
    users: int
    requests_per_user: int

    @property
    def requests(self) -> int:
        return self.users * self.requests_per_user


# One city of ~13,000 grids on a working day (assumptions: see docs/scaling.md).
CALLERS = (
    Caller("grid_worker", "grid_worker", 15, 13_000, 60),
    Caller("party_member", "party_member", 15, 39_000, 3),
    Caller("community_supervisor", "supervisor", 12, 1_300, 80),
    Caller("street_supervisor", "supervisor", 9, 130, 120),
    Caller("district_supervisor", "supervisor", 6, 20, 200),
    Caller("district_planner", "planner", 6, 10, 100),
    Caller("city_command_centre", "supervisor", 4, 20, 1_000),
    Caller("admin", "admin", 0, 2, 50),
)


def mean_shards_per_area(province: Province, area_length: int, key_length: int, shards: int) -> float:
    """How many distinct shards an area of ``area_length`` digits spans, on average."""
    if area_length >= key_length:
        return 1.0
    keys = np.unique(province.codes(key_length))
    shard = key_shards(keys, shards)
    areas = keys.astype(f"<U{area_length}") if area_length else np.zeros(len(keys), dtype="<U1")
    pairs = np.unique(np.stack([areas, shard.astype(str)]), axis=1)
    return float(len(pairs[0]) / len(np.unique(areas)))


def shards_touched(op: OperationLike, caller: Caller, key_length: int, per_area: dict[int, float],
                   shards: int) -> float:
    """Shards one call touches: 0 for the coordinator only, 1 for one shard or node."""
    if op.scope in COORDINATOR_RULES:
        return 0.0
    if op.scope == REFERENCE_RULE:
        return 1.0 if op.method == "GET" else float(shards)
    if AREA_CODE_PARAMETER in op.path:
        # The path's code is a community's or a grid's (12 or 15 digits): inside one key of any level we shard by.
        return 1.0
    return per_area[caller.scope_length]


@dataclass(frozen=True)
class CallerShare:
    caller: Caller
    operations: int
    single: int
    mean_shards: float


def caller_shares(operations: Iterable[OperationLike], province: Province, key_length: int,
                  shards: int = 32) -> list[CallerShare]:
    ops = list(operations)
    per_area = {length: mean_shards_per_area(province, length, key_length, shards)
                for length in {caller.scope_length for caller in CALLERS}}
    shares = []
    for caller in CALLERS:
        mine = [op for op in ops if caller.role in op.roles]
        touched = [shards_touched(op, caller, key_length, per_area, shards) for op in mine]
        shares.append(CallerShare(caller, len(mine), sum(1 for t in touched if t <= 1.0),
                                  float(np.mean(touched)) if touched else 0.0))
    return shares


def weighted_single_share(shares: list[CallerShare]) -> float:
    """The day's requests that stay on one shard (a caller's calls spread evenly over its operations)."""
    total = sum(share.caller.requests for share in shares)
    return sum(share.caller.requests * share.single / share.operations for share in shares if share.operations) / total
