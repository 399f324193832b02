"""Two planners save the same grid at the same moment, on two connections: exactly one wins."""

from __future__ import annotations

import threading
import time

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import delete, select

from gridmap.areas.models import AdminUnit, Grid, GridVersion
from gridmap.auth.models import ApiToken, User
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.errors import Conflict
from gridmap.planning import service
from tests import factories as f


@pytest.fixture
def committed_world(app):
    """A real, committed world (the other connection must see it); removed afterwards."""
    database = app.extensions["gridmap.db"]
    session = database.session()
    f.lishui(session)
    users = [create_user(session, name, "pass-word-1", "planner", f.COMMUNITY) for name in ("plan-1", "plan-2")]
    session.commit()
    yield database, users
    session.rollback()
    session.execute(delete(ApiToken))
    session.execute(delete(User))
    session.execute(delete(GridVersion))
    session.execute(delete(Grid))
    for level in ("community", "street", "district"):
        session.execute(delete(AdminUnit).where(AdminUnit.level == level))
    session.commit()
    session.close()


def test_concurrent_saves_one_wins_the_other_gets_409(committed_world, monkeypatch):
    database, users = committed_world
    check = service._check_rules

    def slow_check(*args, **kwargs):
        check(*args, **kwargs)
        time.sleep(0.4)  # hold the row lock while the other save arrives

    monkeypatch.setattr(service, "_check_rules", slow_check)
    outcomes: dict[str, str] = {}
    shapes = {"plan-1": box(119.881, 28.450, 119.890, 28.460), "plan-2": box(119.879, 28.450, 119.890, 28.460)}

    def save(user):
        session = database.session()
        scope = Scope(prefix=user.scope_code, role=user.role, user_id=user.id, username=user.username)
        try:
            service.save_geometry(session, scope, f.GRID_A, mapping(shapes[user.username]), None, 1,
                                  f"{user.username} 调整")
            outcomes[user.username] = "won"
        except Conflict as error:
            outcomes[user.username] = error.code
        finally:
            session.close()

    threads = [threading.Thread(target=save, args=(u,)) for u in users]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    for thread in threads:
        thread.join(timeout=20)

    assert outcomes == {"plan-1": "won", "plan-2": "grid_version_stale"}, outcomes
    session = database.session()
    grid_id = session.scalar(select(Grid.id).where(Grid.code == f.GRID_A))
    versions = session.execute(select(GridVersion.version, GridVersion.reason).where(GridVersion.grid_id == grid_id)
                               .order_by(GridVersion.version)).all()
    session.close()
    assert [tuple(v) for v in versions] == [(1, None), (2, "plan-1 调整")]
