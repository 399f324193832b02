"""Two supervisors act on one hazard at the same moment, on two connections: one wins."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, func, select

from gridmap.areas.models import AdminUnit, Grid, GridVersion
from gridmap.auth.models import ApiToken, User
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service, workflow
from gridmap.hazards.models import Hazard, HazardEvent
from tests import factories as f
from tests.concurrency import race


@pytest.fixture
def committed_world(app):
    """A real, committed world (the other connection must see it); removed afterwards."""
    database = app.extensions["gridmap.db"]
    session = database.session()
    f.lishui(session)
    users = [create_user(session, name, "pass-word-1", "supervisor", f.COMMUNITY) for name in ("sup-1", "sup-2")]
    hazard = service.report(session, Scope.everything(), category="fire", severity="normal", description="并发测试",
                            lon=119.885, lat=28.455, crs=None)
    yield database, hazard["id"], users
    session.rollback()
    session.execute(delete(Hazard))
    session.execute(delete(ApiToken))
    session.execute(delete(User))
    session.execute(delete(GridVersion))
    session.execute(delete(Grid))
    for level in ("community", "street", "district"):
        session.execute(delete(AdminUnit).where(AdminUnit.level == level))
    session.commit()
    session.close()


def test_concurrent_actions_on_one_hazard_cannot_both_win(committed_world, monkeypatch):
    database, hazard_id, users = committed_world
    decide = workflow.decide

    def slow_decide(*args, **kwargs):
        decision = decide(*args, **kwargs)
        time.sleep(0.4)  # hold the row while the other thread arrives
        return decision

    monkeypatch.setattr(workflow, "decide", slow_decide)
    outcomes = race(database, users, lambda session, scope, user: service.act(
        session, scope, hazard_id, "accept", note=f"{user.username} 受理"))

    assert sorted(outcomes.values()) == ["hazard_action_not_allowed", "won"], outcomes
    session = database.session()
    accepted = session.scalar(select(func.count()).select_from(HazardEvent)
                              .where(HazardEvent.hazard_id == hazard_id, HazardEvent.action == "accept"))
    version = session.scalar(select(Hazard.version).where(Hazard.id == hazard_id))
    session.close()
    assert (accepted, version) == (1, 2)
