"""The sharding simulation's pure parts: shard ranges, placement, skew and operation classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gridmap.sharding.citus import INT32_MIN, hashtext, shard_index, worker_of
from gridmap.sharding.province import Province, synthetic_province
from gridmap.sharding.queries import CALLERS, caller_shares, mean_shards_per_area, shards_touched, weighted_single_share
from gridmap.sharding.skew import balanced_worker_skew, spread


def test_shard_ranges_cut_the_int32_space_evenly():
    assert shard_index(INT32_MIN, 32) == 0
    assert shard_index(INT32_MIN + (1 << 27) - 1, 32) == 0
    assert shard_index(INT32_MIN + (1 << 27), 32) == 1
    assert shard_index(-1, 32) == 15
    assert shard_index(0, 32) == 16
    assert shard_index((1 << 31) - 1, 32) == 31
    for outside in (INT32_MIN - 1, 1 << 31):
        with pytest.raises(ValueError):
            shard_index(outside, 32)


def test_hashtext_is_signed_32_bit_and_stable():
    assert hashtext("") == -1477818771  # SELECT hashtext('') on PostgreSQL 15
    assert hashtext("371302") == 2017111577
    assert hashtext("371302") != hashtext("371303")


def test_workers_take_shards_in_turn():
    assert [worker_of(s, 4) for s in range(6)] == [0, 1, 2, 3, 0, 1]


def test_balanced_placement_puts_the_largest_shards_apart():
    assert balanced_worker_skew(np.array([6.0, 5.0, 1.0, 0.0]), 2) == pytest.approx(1.0)
    assert balanced_worker_skew(np.array([9.0, 1.0, 1.0, 1.0]), 2) == pytest.approx(1.5)


def _province(codes: list[str], households: list[int]) -> Province:
    return Province(grid=np.array(codes), households=np.array(households))


def test_spread_sums_households_per_shard_and_worker():
    province = _province(["371302001001001", "371302001001002", "371302002001001", "371303001001001"], [100, 200, 300, 400])
    district = spread(province, 6, shards=32, workers=4)
    assert district.keys == 2
    assert district.shard_households.sum() == 1000
    assert sorted(district.shard_households[district.shard_households > 0]) == [400, 600]
    assert district.worker_households.sum() == 1000
    assert district.empty_shards == 30
    assert spread(province, 9, 32, 4).keys == 3


def test_synthetic_province_is_deterministic_and_coded_by_level():
    one, two = synthetic_province(2, seed=1), synthetic_province(2, seed=1)
    assert (one.grid == two.grid).all() and (one.households == two.households).all()
    assert {len(code) for code in one.grid} == {15}
    assert set(np.unique(one.codes(4))) == {"3701", "3702"}
    assert one.households.min() >= 300 and one.households.max() <= 500


@dataclass
class Op:
    method: str
    path: str
    roles: tuple[str, ...]
    scope: str


GRID_WORKER, CITY = CALLERS[0], next(c for c in CALLERS if c.scope_length == 4)


@pytest.mark.parametrize(("op", "expected"), [
    (Op("POST", "/api/v1/auth/token", ("*",), "anyone"), 0.0),
    (Op("GET", "/api/v1/hazards/categories", ("grid_worker",), "global"), 1.0),
    (Op("POST", "/api/v1/imports/households", ("admin",), "global"), 32.0),
    (Op("GET", "/api/v1/grids/<code>", ("supervisor",), "area"), 1.0),
    (Op("GET", "/api/v1/hazards", ("supervisor",), "area"), 7.5),
])
def test_operations_are_classed_by_scope_rule_and_path(op, expected):
    assert shards_touched(op, CITY, 6, {4: 7.5, 15: 1.0}, 32) == expected


def test_an_area_inside_one_key_is_one_shard_and_a_wider_one_spans_its_keys():
    province = _province(["371302001001001", "371303001001001", "371401001001001"], [1, 1, 1])
    assert mean_shards_per_area(province, 6, 6, 32) == 1.0
    assert mean_shards_per_area(province, 9, 6, 32) == 1.0
    city = mean_shards_per_area(province, 4, 6, 32)
    assert 1.0 <= city <= 2.0  # 3713 holds two districts, 3714 one
    assert mean_shards_per_area(province, 0, 6, 32) == len({shard_index(hashtext(d), 32) for d in ("371302", "371303", "371401")})


def test_weighted_share_counts_each_callers_requests():
    province = synthetic_province(1, seed=3)
    ops = [Op("GET", "/api/v1/hazards", ("grid_worker", "supervisor", "admin", "planner", "party_member"), "area")]
    shares = caller_shares(ops, province, 6, 32)
    single = {share.caller.name: share.single for share in shares}
    assert single["grid_worker"] == 1 and single["admin"] == 0
    total = sum(c.requests for c in CALLERS)
    wide = sum(s.caller.requests for s in shares if s.single == 0)
    assert weighted_single_share(shares) == pytest.approx(1 - wide / total)
