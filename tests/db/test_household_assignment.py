"""The two twins of the assignment rule (gridmap.households.assignment) give the same answers:
the in-memory STRtree of the bulk imports and the set-wise SQL of ``assign`` — inside a grid,
on a border two grids share (the smaller code wins), on a corner, outside every grid."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from gridmap.households.assignment import assign_all, assign_points, load_grid_polygons
from gridmap.households.models import Household
from tests import factories as f

POINTS = [
    (119.885, 28.455),   # inside grid A
    (119.895, 28.455),   # inside grid B
    (119.890, 28.455),   # on the border A and B share: A, the smaller code
    (119.890, 28.450),   # on the corner of both
    (119.880, 28.460),   # on grid A's outer corner
    (119.930, 28.450),   # inside grid C
    (119.950, 28.470),   # on grid C's corner
    (119.905, 28.455),   # between the grids
    (100.000, 30.000),   # far outside
]


def test_the_in_memory_and_the_sql_rule_agree(db_session):
    grids = f.lishui(db_session)["grids"]
    rng = np.random.default_rng(15)
    extra = list(zip(rng.uniform(119.875, 119.955, 200).round(3), rng.uniform(28.435, 28.475, 200).round(3)))
    points = POINTS + [(float(x), float(y)) for x, y in extra]  # rounded: many fall on borders
    for k, (lon, lat) in enumerate(points):
        f.household(db_session, f"T-{k}", lon, lat)
    ids, polygons = load_grid_polygons(db_session)
    lon, lat = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    in_memory = assign_points(lon, lat, ids, polygons)

    assign_all(db_session)
    db_session.expire_all()
    in_sql = dict(db_session.execute(select(Household.code, Household.grid_id)).all())
    assert {f"T-{k}": (int(g) if g >= 0 else None) for k, g in enumerate(in_memory)} == in_sql
    a, b, c = (grids[code].id for code in (f.GRID_A, f.GRID_B, f.GRID_C))
    assert [in_sql[f"T-{k}"] for k in range(len(POINTS))] == [a, b, a, a, a, c, c, None, None]
