"""The contact-list optimiser: capacities, coverage, optimality, and beating greedy."""

from __future__ import annotations

import itertools

import numpy as np

from gridmap.party.optimizer import assign_contacts, greedy_nearest_first, haversine_matrix


def test_haversine_matrix_in_metres():
    # 0.001° of latitude is about 111 m; 0.001° of longitude at 28.45° N about 98 m.
    d = haversine_matrix(np.array([119.88]), np.array([28.45]), np.array([119.88, 119.881]),
                         np.array([28.451, 28.45]))
    assert d.shape == (1, 2)
    assert abs(d[0, 0] - 111.2) < 0.5 and abs(d[0, 1] - 97.8) < 0.5


def test_beats_greedy_nearest_first_where_greedy_is_wrong():
    # Members A at 0 m and B at 10 m, one household each. h1 at 1 m, h2 at -5 m.
    # Greedy takes the closest pair (h1, A) = 1 and is left with (h2, B) = 15: 16 in all.
    # The optimum gives h2 to A (5) and h1 to B (9): 14.
    dist = np.array([[1.0, 9.0], [5.0, 15.0]])
    capacity = np.array([1, 1])
    greedy = greedy_nearest_first(dist, capacity)
    best = assign_contacts(dist, capacity)
    assert greedy.member_of.tolist() == [0, 1] and greedy.total_m == 16
    assert best.member_of.tolist() == [1, 0] and best.total_m == 14


def test_capacity_is_respected_and_everything_coverable_is_covered():
    rng = np.random.default_rng(4)
    dist = rng.uniform(10, 500, size=(57, 6))
    result = assign_contacts(dist, np.full(6, 10))
    assert result.covered == 57
    assert np.bincount(result.member_of, minlength=6).max() <= 10


def test_too_few_places_covers_as_many_as_possible_and_the_closest_ones():
    # One member with two places, four households: the two nearest are covered.
    dist = np.array([[40.0], [10.0], [30.0], [20.0]])
    result = assign_contacts(dist, np.array([2]))
    assert result.covered == 2
    assert result.member_of.tolist() == [-1, 0, -1, 0]
    assert np.isnan(result.distance_m[0]) and result.total_m == 30


def test_matches_brute_force_optimum_on_small_cases():
    rng = np.random.default_rng(7)
    for _ in range(20):
        dist = rng.uniform(0, 100, size=(5, 3))
        capacity = np.array([2, 2, 1])
        best = min(
            sum(dist[h, m] for h, m in enumerate(choice))
            for choice in itertools.product(range(3), repeat=5)
            if all(choice.count(m) <= capacity[m] for m in range(3))
        )
        result = assign_contacts(dist, capacity)
        assert abs(result.total_m - best) < 1e-9
        assert result.total_m <= greedy_nearest_first(dist, capacity).total_m + 1e-9


def test_no_members_or_no_capacity_leaves_everyone_uncovered():
    assert assign_contacts(np.zeros((3, 0)), np.zeros(0, dtype=int)).covered == 0
    assert assign_contacts(np.ones((3, 2)), np.array([0, 0])).covered == 0
