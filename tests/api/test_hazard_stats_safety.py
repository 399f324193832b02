"""The 平安报表: counts per grid, community and street for a month, colours, ranking, CSV/XLSX."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gridmap.auth.scope import Scope
from gridmap.config import Settings
from gridmap.hazard_stats import safety
from gridmap.hazards import service
from tests import factories as f

ADMIN = Scope.everything()
A, B, C = (119.885, 28.455), (119.895, 28.455), (119.93, 28.45)
MARCH = datetime(2026, 3, 2, 1, tzinfo=UTC)  # Monday 2 March 09:00 in Beijing


def _hazard(db_session, where, now=MARCH, category="fire"):
    return service.report(db_session, ADMIN, category=category, severity="normal", description="",
                          lon=where[0], lat=where[1], crs=None, now=now)["id"]


def _close(db_session, hazard_id, verify_at, close_at=None):
    for action, at in (("accept", MARCH + timedelta(hours=1)), ("assign", MARCH + timedelta(hours=2)),
                       ("start", MARCH + timedelta(hours=3)), ("feedback", verify_at - timedelta(hours=1)),
                       ("verify", verify_at), ("close", close_at or verify_at + timedelta(hours=1))):
        service.act(db_session, ADMIN, hazard_id, action, note="", assignee="admin-all", now=at)


@pytest.fixture
def world(db_session, monkeypatch):
    # These users only ever use bearer tokens: skip the deliberately slow password hash.
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    f.lishui(db_session)
    tokens = {"admin": f.token_for(db_session, "admin"), "street": f.token_for(db_session, "supervisor", f.STREET),
              "worker": f.token_for(db_session, "grid_worker", f.GRID_A)}
    # Grid A: 4 found in March; 3 closed (2 on time, 1 late), 1 still open → overdue at month end.
    on_time = [_hazard(db_session, A) for _ in range(2)]
    late, _still_open = _hazard(db_session, A), _hazard(db_session, A)
    for hazard_id in on_time:
        _close(db_session, hazard_id, MARCH + timedelta(days=1))          # resolved Tuesday, due Thursday
    _close(db_session, late, MARCH + timedelta(days=10))
    # Grid B: 1 found and closed on time. Grid C (other street): 1 found, refused (not counted), 1 in April.
    _close(db_session, _hazard(db_session, B), MARCH + timedelta(days=2))
    service.act(db_session, ADMIN, _hazard(db_session, C), "reject", note="不是隐患", now=MARCH + timedelta(hours=1))
    _hazard(db_session, C, now=datetime(2026, 4, 2, tzinfo=UTC))
    return tokens


def _by_code(items):
    return {i["code"]: i for i in items}


def test_counts_rates_and_colours_per_area(client, world):
    body = client.get("/api/v1/reports/safety?month=2026-03", headers=f.auth(world["admin"])).get_json()
    items = _by_code(body["items"])
    grid_a = items[f.GRID_A]
    assert (grid_a["found"], grid_a["closed"], grid_a["overdue"]) == (4, 3, 1)
    assert grid_a["closure_rate"] == 0.75 and grid_a["on_time_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert grid_a["colour"] == "red"  # 75% closed is below the 85% yellow line
    assert grid_a["mean_handling_hours"] == pytest.approx((2 * 25 + 241) / 3, abs=0.1)
    grid_b = items[f.GRID_B]
    assert (grid_b["found"], grid_b["closure_rate"], grid_b["on_time_rate"], grid_b["colour"]) == (1, 1.0, 1.0, "green")
    community, street = items[f.COMMUNITY], items[f.STREET]
    assert (community["found"], community["closed"], community["overdue"]) == (5, 4, 1)
    assert street["found"] == 5 and street["name"] == "紫金街道" and street["level_name"] == "街道"
    assert items[f.GRID_C]["found"] == 0 and items[f.GRID_C]["colour"] == "green"
    assert [i["level"] for i in body["items"]][:2] == ["street", "street"]
    grids = [i for i in body["items"] if i["level"] == "grid"]
    assert [g["code"] for g in grids][-1] == f.GRID_A and grids[-1]["rank"] == 3
    assert grid_a["patrol_coverage"] is None


def test_thresholds_are_configurable(app, client, world, monkeypatch):
    monkeypatch.setenv("GRIDMAP_SAFETY_THRESHOLDS", json.dumps({
        "closure_rate": {"green": 0.7, "yellow": 0.5}, "on_time_rate": {"green": 0.6}, "overdue": {"green": 1}}))
    configured = Settings().safety_thresholds
    monkeypatch.setitem(app.config, "GRIDMAP", replace(app.config["GRIDMAP"], safety_thresholds=configured))
    body = client.get("/api/v1/reports/safety?month=2026-03", headers=f.auth(world["admin"])).get_json()
    assert _by_code(body["items"])[f.GRID_A]["colour"] == "green"
    assert body["thresholds"]["closure_rate"] == {"green": 0.7, "yellow": 0.5}


@pytest.mark.parametrize(("row", "expected"), [
    ({"closure_rate": 0.99, "on_time_rate": 0.95, "overdue": 0}, "green"),
    ({"closure_rate": 0.90, "on_time_rate": 0.95, "overdue": 0}, "yellow"),
    ({"closure_rate": 0.99, "on_time_rate": 0.80, "overdue": 0}, "yellow"),
    ({"closure_rate": 0.99, "on_time_rate": 0.95, "overdue": 2}, "yellow"),
    ({"closure_rate": 0.99, "on_time_rate": 0.95, "overdue": 3}, "red"),
    ({"closure_rate": 0.80, "on_time_rate": 0.95, "overdue": 0}, "red"),
    ({"closure_rate": None, "on_time_rate": None, "overdue": 0}, "green"),
])
def test_colour_bands(row, expected):
    assert safety.colour(row, safety.thresholds()) == expected


def test_scope_within_and_formats(client, world):
    street = client.get("/api/v1/reports/safety?month=2026-03", headers=f.auth(world["street"])).get_json()
    assert f.GRID_C not in _by_code(street["items"]) and f.GRID_A in _by_code(street["items"])
    community = client.get(f"/api/v1/reports/safety?month=2026-03&within={f.COMMUNITY}",
                           headers=f.auth(world["admin"])).get_json()
    assert {i["level"] for i in community["items"]} == {"community", "grid"}
    assert client.get("/api/v1/reports/safety", headers=f.auth(world["worker"])).status_code == 403
    assert client.get("/api/v1/reports/safety?month=2026-13", headers=f.auth(world["admin"])).status_code == 400
    csv = client.get("/api/v1/reports/safety?month=2026-03&format=csv", headers=f.auth(world["admin"]))
    text = csv.get_data().decode("utf-8-sig")
    assert csv.mimetype == "text/csv" and text.startswith("层级,编码,名称,发现数,办结数,办结率,按期办结率,超期数")
    assert f"网格,{f.GRID_A},城北社区第1网格,4,3,75.0%,66.7%,1," in text
    xlsx = client.get("/api/v1/reports/safety?month=2026-03&format=xlsx", headers=f.auth(world["admin"]))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    sized = set(sheet.column_dimensions)  # the columns the file gives a width (before any lookup adds one)
    assert sheet["A1"].value == "层级" and sheet.title == "平安报表 2026-03"
    rows = {r[1]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[f.GRID_A][10] == "—" and rows[f.GRID_A][11] == "红"  # no party contacts: no visit coverage
    from gridmap.labels import labels

    assert sheet.max_column == len(labels("safety_report_column"))
    assert [c.column_letter for c in sheet[1] if c.column_letter not in sized] == []  # every column has its width
