"""Check-in flags as the answer names them: each fact its flag, in the order the statement stores them."""

from __future__ import annotations

import itertools

from gridmap.patrol.flags import ORDER, named


def test_each_fact_names_its_own_flag():
    for k, flag in enumerate(ORDER):
        facts = [False] * len(ORDER)
        facts[k] = True
        assert named(*facts) == [flag]


def test_every_combination_keeps_the_stored_order_and_gives_a_list_of_its_own():
    assert ORDER == ("outside_grid", "low_accuracy", "impossible_speed", "future_time", "stale")
    for facts in itertools.product((False, True), repeat=len(ORDER)):
        flags = named(*facts)
        assert flags == [flag for flag, raised in zip(ORDER, facts, strict=True) if raised]
        flags.append("changed")
        assert "changed" not in named(*facts)
