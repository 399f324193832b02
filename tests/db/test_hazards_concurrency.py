"""Two supervisors act on one hazard at the same moment, on two connections: one wins."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from gridmap.auth.scope import Scope
from gridmap.hazards import service, workflow
from gridmap.hazards.models import Hazard, HazardEvent
from tests.concurrency import committed_world, race


@pytest.fixture
def world(app):
    with committed_world(app, "supervisor", ("sup-1", "sup-2")) as (database, session, users):
        hazard = service.report(session, Scope.everything(), category="fire", severity="normal",
                                description="并发测试", lon=119.885, lat=28.455, crs=None)
        yield database, hazard["id"], users


def test_concurrent_actions_on_one_hazard_cannot_both_win(world, monkeypatch):
    database, hazard_id, users = world
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
