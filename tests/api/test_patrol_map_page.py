"""/maps/patrol: the supervisor sees every worker of the area; a grid worker only themself."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gridmap.auth.service import create_user
from tests import factories as f

DAY = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()


def _checkin(client, token, lon, lat, hour, **extra):
    at = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()
    item = {"id": str(uuid.uuid4()), "lon": lon, "lat": lat, "accuracy_m": 10, "recorded_at": at, **extra}
    assert client.post("/api/v1/checkins", json=item, headers=f.auth(token)).status_code == 201


def _login(client, db_session, username, role, scope):
    create_user(db_session, username, "pass-word-1", role, scope, f"{username}名")
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    assert client.post("/login", data={"username": username, "password": "pass-word-1",
                                       "csrf_token": csrf}).status_code == 302


def _patrols(client, db_session):
    world = f.lishui(db_session)
    f.household(db_session, "M1", 119.8851, 28.4551, world["grids"][f.GRID_A])
    wang = f.token_for(db_session, "grid_worker", f.GRID_A, username="wang", display_name="王网格员")
    li = f.token_for(db_session, "grid_worker", f.GRID_B, username="li", display_name="李网格员")
    _checkin(client, wang, 119.885, 28.455, 9)
    _checkin(client, wang, 119.887, 28.455, 10)
    _checkin(client, wang, 119.935, 28.455, 11)           # outside: flagged
    _checkin(client, li, 119.895, 28.455, 9)


def test_supervisor_sees_every_worker_with_colour_last_seen_and_coverage(client, db_session):
    _patrols(client, db_session)
    _login(client, db_session, "sup", "supervisor", f.STREET)
    page = client.get(f"/maps/patrol?date={DAY}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "王网格员" in html and "李网格员" in html
    assert 'data-user="wang"' in html and 'data-user="li"' in html
    assert "11:00" in html and "异常 1 次" in html and "1/1 户" in html
    assert html.count("L.circleMarker(") == 4 and '"patrol-checkin flagged"' in html
    empty = client.get(f"/maps/patrol?date={DAY - timedelta(days=3)}").get_data(as_text=True)
    assert "还没有巡查打卡" in empty and "id=\"map-empty\"" in empty
    assert client.get("/maps/patrol?within=331102002").status_code == 404
    assert client.get("/maps/patrol?date=yesterday").status_code == 400  # the query model refuses it, as the API does


def test_grid_worker_sees_only_their_own_patrol(client, db_session):
    _patrols(client, db_session)
    _login(client, db_session, "wang2", "grid_worker", f.GRID_B)
    html = client.get(f"/maps/patrol?date={DAY}").get_data(as_text=True)
    assert 'data-user="li"' not in html and 'data-user="wang"' not in html
    assert "还没有巡查打卡" in html and "id=\"map-empty\"" in html
