"""Two planners save the same grid at the same moment, on two connections: exactly one wins."""

from __future__ import annotations

import time

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from gridmap.areas.models import Grid, GridVersion
from gridmap.planning import moves, service
from tests import factories as f
from tests.concurrency import committed_world, race


@pytest.fixture
def world(app):
    with committed_world(app, "planner", ("plan-1", "plan-2")) as (database, session, users):
        session.commit()
        yield database, users


def test_concurrent_saves_one_wins_the_other_gets_409(world, monkeypatch):
    database, users = world
    check = moves.check_rules

    def slow_check(*args, **kwargs):
        check(*args, **kwargs)
        time.sleep(0.4)  # hold the row lock while the other save arrives

    monkeypatch.setattr(moves, "check_rules", slow_check)
    shapes = {"plan-1": box(119.881, 28.450, 119.890, 28.460), "plan-2": box(119.879, 28.450, 119.890, 28.460)}
    outcomes = race(database, users, lambda session, scope, user: service.save_geometry(
        session, scope, f.GRID_A, mapping(shapes[user.username]), None, 1, f"{user.username} 调整"))

    assert outcomes == {"plan-1": "won", "plan-2": "grid_version_stale"}, outcomes
    session = database.session()
    grid_id = session.scalar(select(Grid.id).where(Grid.code == f.GRID_A))
    versions = session.execute(select(GridVersion.version, GridVersion.reason).where(GridVersion.grid_id == grid_id)
                               .order_by(GridVersion.version)).all()
    session.close()
    assert [tuple(v) for v in versions] == [(1, None), (2, "plan-1 调整")]
