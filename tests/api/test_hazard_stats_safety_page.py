"""The 平安报表 page and its patrol coverage (五必访 visits, from the patrol module)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridmap.auth.service import create_user
from tests import factories as f

CHINA = ZoneInfo("Asia/Shanghai")
DAY = (datetime.now(CHINA) - timedelta(days=1)).date()


@pytest.fixture
def world(client, db_session):
    data = f.lishui(db_session)
    grid_a, grid_b = data["grids"][f.GRID_A], data["grids"][f.GRID_B]
    f.household(db_session, "H1", 119.8850, 28.4553, grid_a, tags=["孤寡老人"])
    f.household(db_session, "H2", 119.8850, 28.4590, grid_a, tags=["困难家庭"])
    f.household(db_session, "H3", 119.8950, 28.4550, grid_b, tags=["孤寡老人"])
    f.household(db_session, "H4", 119.8860, 28.4520, grid_a, tags=["出租房"])  # no visit required
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A, username="wang"))
    item = {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.4553, "accuracy_m": 10, "household_code": "H1",
            "recorded_at": datetime.combine(DAY, time(10), CHINA).isoformat()}
    assert client.post("/api/v1/checkins", json=item, headers=worker).status_code == 201
    create_user(db_session, "street-sup", "pass-word-1", "supervisor", f.STREET, "紫金街道督导")
    create_user(db_session, "worker-page", "pass-word-1", "grid_worker", f.GRID_A, "网格员")
    return {"admin": f.auth(f.token_for(db_session, "admin"))}


def test_patrol_coverage_per_grid_community_and_street(client, world):
    body = client.get(f"/api/v1/reports/safety?month={DAY:%Y-%m}", headers=world["admin"]).get_json()
    items = {i["code"]: i for i in body["items"]}
    assert items[f.GRID_A]["patrol_coverage"] == 0.5 and items[f.GRID_B]["patrol_coverage"] == 0.0
    assert items[f.COMMUNITY]["patrol_coverage"] == pytest.approx(1 / 3, abs=1e-4)
    assert items[f.STREET]["patrol_coverage"] == pytest.approx(1 / 3, abs=1e-4)
    assert items[f.GRID_C]["patrol_coverage"] is None and items[f.GRID_C]["colour"] == "green"
    assert items[f.GRID_A]["colour"] == "red" and body["thresholds"]["patrol_coverage"]["yellow"] == 0.7
    csv = client.get(f"/api/v1/reports/safety?month={DAY:%Y-%m}&format=csv", headers=world["admin"])
    assert f"网格,{f.GRID_A},城北社区第1网格,0,0,—,—,0,—,50.0%,—,红," in csv.get_data().decode("utf-8-sig")


def _login(client, name):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": name, "password": "pass-word-1", "csrf_token": token})


def test_the_page_opens_on_the_last_whole_month(client, world):
    from gridmap.clock import add_months, this_month

    _login(client, "street-sup")
    html = client.get("/reports/safety").get_data(as_text=True)
    assert f'name="month" value="{add_months(this_month(), -1):%Y-%m}"' in html


def test_safety_report_page(client, world):
    assert client.get("/reports/safety").status_code == 302
    _login(client, "street-sup")
    html = client.get(f"/reports/safety?month={DAY:%Y-%m}").get_data(as_text=True)
    assert "平安报表" in html and f'name="month" value="{DAY:%Y-%m}"' in html
    rows = dict(re.findall(r'data-code="(\d+)" data-colour="(\w+)"', html))
    assert rows[f.GRID_A] == "red" and f.GRID_C not in rows and rows[f.STREET] == "red"
    assert f'href="/api/v1/reports/safety?month={DAY:%Y-%m}&format=xlsx"' in html
    assert f'<option value="{f.COMMUNITY}"' in html and "紫金街道" in html
    narrowed = client.get(f"/reports/safety?month={DAY:%Y-%m}&within={f.GRID_B}").get_data(as_text=True)
    assert re.findall(r'data-code="(\d+)"', narrowed) == [f.GRID_B]
    assert f"within={f.GRID_B}&format=csv" in narrowed
    download = client.get(f"/api/v1/reports/safety?month={DAY:%Y-%m}&format=xlsx")  # the page's session suffices
    assert download.status_code == 200 and download.data[:2] == b"PK"
    bad = client.get("/reports/safety?month=bad")  # the page's query model, as the API's: a 400 page
    assert bad.status_code == 400 and "请求参数不合法" in bad.get_data(as_text=True)
    _login(client, "worker-page")
    assert client.get("/reports/safety").status_code == 403
