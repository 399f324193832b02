"""Partition proposals and split geometry, pure shapely (no database)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from gridmap.planning import topology

COMMUNITY = box(119.870, 28.440, 119.900, 28.470)


def clustered(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = [(119.875, 28.445, 900), (119.893, 28.462, 650), (119.885, 28.455, 350)]
    lon = np.concatenate([rng.normal(x, 0.0015, n) for x, _, n in centres])
    lat = np.concatenate([rng.normal(y, 0.0015, n) for _, y, n in centres])
    inside = shapely.contains_xy(COMMUNITY, lon, lat)
    return lon[inside], lat[inside]


def test_clustered_households_make_grids_within_bounds_that_tile_the_community():
    lon, lat = clustered()
    result = topology.partition(lon, lat, COMMUNITY, 300, 500)
    counts = result["counts"]
    assert sum(counts) == len(lon)
    assert all(300 <= c <= 500 for c in counts), counts
    geoms = np.array(result["geoms"], dtype=object)
    # Every household lies in the grid of its group; grids tile the community without overlap.
    for label, geom in enumerate(geoms):
        members = result["labels"] == label
        assert shapely.intersects_xy(geom, lon[members], lat[members]).all()
    assert shapely.union_all(geoms).symmetric_difference(COMMUNITY).area < COMMUNITY.area * 1e-6
    assert sum(g.area for g in geoms) == pytest.approx(COMMUNITY.area, rel=1e-6)
    assert all(0 < c <= 1 for c in result["compactness"])
    assert all(shapely.get_num_geometries(g) == 1 for g in geoms), "every proposed grid is one contiguous piece"


def test_group_count_keeps_groups_inside_the_range_where_possible():
    assert topology.group_count(250, 300, 500) == 1
    assert topology.group_count(1900, 300, 500) == 5
    assert 300 <= 1000 / topology.group_count(1000, 300, 500) <= 500
    assert 1210 / topology.group_count(1210, 300, 500) <= 500


def test_kd_partition_sizes_differ_by_at_most_one():
    xy = np.random.default_rng(1).random((1001, 2))
    sizes = np.bincount(topology.kd_partition(xy, 7))
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 1001


def test_polsby_popper_square_and_sliver():
    scores = topology.polsby_popper(np.array([box(0, 0, 1, 1), box(0, 0, 100, 0.1)], dtype=object))
    assert scores[0] == 0.785 and scores[1] < 0.02


def test_split_by_line_largest_piece_first():
    pieces = topology.split_by_line(box(0, 0, 10, 10), LineString([(3, -1), (3, 11)]))
    assert [round(p.area) for p in pieces] == [70, 30]
    assert topology.split_by_line(box(0, 0, 10, 10), LineString([(20, 0), (20, 1)]))[0].area == 100
