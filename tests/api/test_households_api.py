"""Households of a grid: masking by role, audit of unmasked reads, scope; assignment."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gridmap.auth.models import AuditLog
from gridmap.households.models import Household
from tests import factories as f


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    f.household(db_session, "LD-0001", 119.885, 28.455, data["grids"][f.GRID_A], head_name="张三丰",
                phone="13812341234", tags=["社区矫正"], size=2)
    f.household(db_session, "LD-0002", 119.886, 28.456, data["grids"][f.GRID_A], head_name="欧阳娜娜",
                phone="13900001111", size=4)
    db_session.commit()
    return data


def _audits(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "read_unmasked"))


def test_supervisor_sees_masked_names_and_no_audit(client, db_session, world):
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    body = client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(token)).get_json()
    assert body["total"] == 2
    first = body["items"][0]
    assert set(first) >= {"code", "address", "lon", "lat", "size", "tags", "risk_level", "head_name", "phone"}
    names = {i["code"]: (i["head_name"], i["phone"]) for i in body["items"]}
    assert names["LD-0001"] == ("张**", "138****1234")
    assert names["LD-0002"] == ("欧***", "139****1111")
    assert _audits(db_session) == 0


def test_grid_worker_sees_own_grid_unmasked_and_each_read_is_audited(client, db_session, world):
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    body = client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(token)).get_json()
    assert {i["head_name"] for i in body["items"]} == {"张三丰", "欧阳娜娜"}
    client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(token))
    assert _audits(db_session) == 2
    entry = db_session.scalars(select(AuditLog)).first()
    assert entry.object_id == f.GRID_A and set(entry.detail["households"]) == {"LD-0001", "LD-0002"}


def test_supervisor_unmask_is_deliberate_and_audited_planner_may_not(client, db_session, world):
    supervisor = f.token_for(db_session, "supervisor", f.STREET)
    body = client.get(f"/api/v1/grids/{f.GRID_A}/households?unmask=true", headers=f.auth(supervisor)).get_json()
    assert "张三丰" in {i["head_name"] for i in body["items"]}
    assert _audits(db_session) == 1
    planner = f.token_for(db_session, "planner", f.STREET)
    assert client.get(f"/api/v1/grids/{f.GRID_A}/households?unmask=true", headers=f.auth(planner)).status_code == 403
    masked = client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(planner)).get_json()
    assert masked["items"][0]["head_name"].endswith("*")


def test_households_outside_scope_are_404(client, db_session, world):
    worker = f.token_for(db_session, "grid_worker", f.GRID_B)
    response = client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(worker))
    assert response.status_code == 404
    other = f.token_for(db_session, "supervisor", f.OTHER_STREET)
    assert client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(other)).status_code == 404


def test_tag_filter_and_pagination(client, db_session, world):
    token = f.token_for(db_session, "admin")
    tagged = client.get(f"/api/v1/grids/{f.GRID_A}/households?tag=社区矫正", headers=f.auth(token)).get_json()
    assert [i["code"] for i in tagged["items"]] == ["LD-0001"]
    page = client.get(f"/api/v1/grids/{f.GRID_A}/households?limit=1&offset=1", headers=f.auth(token)).get_json()
    assert page["total"] == 2 and len(page["items"]) == 1


def test_assign_is_admin_only_and_reports_moves(client, db_session, world):
    # One household sits in grid B's area but is recorded in grid A; one is on the shared border;
    # one is outside every grid.
    f.household(db_session, "LD-0003", 119.895, 28.455, world["grids"][f.GRID_A])
    f.household(db_session, "LD-0004", 119.890, 28.452)
    f.household(db_session, "LD-0005", 119.700, 28.300)
    db_session.commit()
    supervisor = f.token_for(db_session, "supervisor", f.DISTRICT)
    assert client.post("/api/v1/assign", headers=f.auth(supervisor)).status_code == 403
    admin = f.token_for(db_session, "admin")
    body = client.post("/api/v1/assign", headers=f.auth(admin)).get_json()
    assert body == {"assigned": 4, "unassigned": 1, "moved": 1, "newly_assigned": 1, "dropped": 0}
    codes = dict(db_session.execute(select(Household.code, Household.grid_id)).all())
    assert codes["LD-0003"] == world["grids"][f.GRID_B].id
    assert codes["LD-0004"] == world["grids"][f.GRID_A].id  # border: smaller code
    again = client.post("/api/v1/assign", headers=f.auth(admin)).get_json()
    assert again["moved"] == 0 and again["newly_assigned"] == 0
    outside = client.get("/api/v1/households/outside-grids", headers=f.auth(admin)).get_json()
    assert [i["code"] for i in outside["items"]] == ["LD-0005"] and outside["items"][0]["head_name"] is None
