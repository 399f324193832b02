"""The 平安报表 by week (Monday–Sunday, Beijing), month, quarter and year, and its trend over the
last periods: pinned figures on a small fixture, the colour rule per period, bad periods refused."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gridmap.auth.scope import Scope
from gridmap.hazard_stats.trend import SPARK_HEIGHT, SPARK_WIDTH
from gridmap.hazards import service
from tests import factories as f

ADMIN = Scope.everything()
A, B = (119.885, 28.455), (119.895, 28.455)
MONDAY = datetime(2026, 3, 2, 1, tzinfo=UTC)             # Monday 2 March 09:00 in Beijing (2026-W10)
SUNDAY_NIGHT = datetime(2026, 3, 8, 15, 30, tzinfo=UTC)  # Sunday 8 March 23:30 in Beijing: still W10
NEXT_MONDAY = datetime(2026, 3, 8, 16, 30, tzinfo=UTC)   # Monday 9 March 00:30 in Beijing: W11
APRIL = datetime(2026, 4, 15, 2, tzinfo=UTC)             # Q2


def _hazard(db_session, where, now):
    return service.report(db_session, ADMIN, category="fire", severity="normal", description="",
                          lon=where[0], lat=where[1], crs=None, now=now)["id"]


def _close(db_session, hazard_id, start):
    for hours, action in enumerate(("accept", "assign", "start", "feedback", "verify", "close"), start=1):
        service.act(db_session, ADMIN, hazard_id, action, note="", assignee="admin-all",
                    now=start + timedelta(hours=hours))


@pytest.fixture
def world(db_session, monkeypatch):
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    data = f.lishui(db_session)
    tokens = {"admin": f.auth(f.token_for(db_session, "admin")),
              "street": f.auth(f.token_for(db_session, "supervisor", f.STREET)),
              "worker": f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))}
    # Grid B has a household due a 五必访 visit every month and never visited: every month of it is red.
    f.household(db_session, "HB1", B[0], B[1] + 0.0003, data["grids"][f.GRID_B], tags=["孤寡老人"])
    _close(db_session, _hazard(db_session, A, MONDAY), MONDAY)   # W10, closed the same day
    _hazard(db_session, A, SUNDAY_NIGHT)                         # W10, still open
    _hazard(db_session, A, NEXT_MONDAY)                          # W11, still open
    _close(db_session, _hazard(db_session, A, APRIL), APRIL)     # Q2
    return tokens


def _report(client, world, query, who="admin"):
    answer = client.get(f"/api/v1/reports/safety?{query}", headers=world[who])
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json(), {i["code"]: i for i in answer.get_json()["items"]}


@pytest.mark.parametrize(("query", "found", "closed"), [
    ("period=2026-W10", 2, 1),   # the Sunday 23:30 report belongs to its week
    ("period=2026-W11", 1, 0),   # Monday 00:30 Beijing (Sunday 16:30 UTC) to the next
    ("period=2026-W09", 0, 0),
    ("period=2026-03", 3, 1),
    ("month=2026-03", 3, 1),
    ("period=2026-Q1", 3, 1),
    ("period=2026-Q2", 1, 1),
    ("period=2026", 4, 2),
])
def test_figures_per_period(client, world, query, found, closed):
    body, items = _report(client, world, query)
    grid = items[f.GRID_A]
    assert (grid["found"], grid["closed"]) == (found, closed)
    assert items[f.STREET]["found"] == found
    assert grid["closure_rate"] == (round(closed / found, 4) if found else None)


def test_period_fields_and_colours(client, world):
    body, items = _report(client, world, "period=2026-W10")
    assert (body["period"], body["kind"], body["month"]) == ("2026-W10", "week", None)
    assert (body["first_day"], body["last_day"]) == ("2026-03-02", "2026-03-08")
    assert items[f.GRID_A]["colour"] == "red"  # half closed
    # A week shows the month so far of its patrol coverage and leaves it out of the colour.
    assert items[f.GRID_B]["patrol_coverage"] == 0.0 and items[f.GRID_B]["colour"] == "green"
    body, items = _report(client, world, "month=2026-03")
    assert (body["period"], body["kind"], body["month"]) == ("2026-03", "month", "2026-03")
    assert items[f.GRID_B]["patrol_coverage"] == 0.0 and items[f.GRID_B]["colour"] == "red"
    body, items = _report(client, world, "period=2026")
    assert items[f.GRID_A]["overdue"] == 2 and items[f.GRID_A]["on_the_spot"] == 0
    assert items[f.GRID_A]["mean_handling_hours"] == 6.0
    assert items[f.GRID_B]["patrol_coverage"] == 0.0  # household-months: 0 of the months begun


def test_quarter_coverage_counts_household_months(client, db_session, world):
    visit = {"id": str(uuid.uuid4()), "lon": B[0], "lat": B[1] + 0.0003, "accuracy_m": 10, "household_code": "HB1",
             "recorded_at": "2026-02-10T10:00:00+08:00"}
    token = f.auth(f.token_for(db_session, "grid_worker", f.GRID_B, username="gw-b"))
    assert client.post("/api/v1/checkins", json=visit, headers=token).status_code == 201
    _, items = _report(client, world, "period=2026-Q1")
    assert items[f.GRID_B]["patrol_coverage"] == pytest.approx(1 / 3, abs=1e-4)  # February of Jan–Mar


@pytest.mark.parametrize(("query", "status", "code"), [
    ("period=2025-W53", 422, "invalid_period"),
    ("period=2026-03&month=2026-03", 422, "period_and_month"),
    ("period=2026-13", 400, None),
    ("period=2026-Q5", 400, None),
])
def test_bad_periods_are_refused(client, world, query, status, code):
    answer = client.get(f"/api/v1/reports/safety?{query}", headers=world["admin"])
    assert answer.status_code == status
    if code:
        assert answer.get_json()["error"]["code"] == code


def test_exports_name_the_period(client, world):
    csv = client.get("/api/v1/reports/safety?period=2026-W10&format=csv", headers=world["admin"])
    assert "safety-2026-W10-all.csv" in csv.headers["Content-Disposition"]
    assert f"网格,{f.GRID_A},城北社区第1网格,2,1,50.0%," in csv.get_data().decode("utf-8-sig")
    xlsx = client.get("/api/v1/reports/safety?period=2026-Q1&format=xlsx", headers=world["admin"])
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(xlsx.get_data())).active.title == "平安报表 2026-Q1"


def test_trend_orders_periods_and_areas(client, world):
    answer = client.get("/api/v1/reports/safety/trend?kind=week&count=3&until=2026-W11", headers=world["admin"])
    body = answer.get_json()
    assert body["periods"] == ["2026-W09", "2026-W10", "2026-W11"]
    areas = {a["code"]: a for a in body["areas"]}
    grid_a = areas[f.GRID_A]["series"]
    assert [s["found"] for s in grid_a] == [0, 2, 1]
    assert [s["closure_rate"] for s in grid_a] == [None, 0.5, 0.0]
    assert [s["colour"] for s in grid_a] == ["green", "red", "red"]
    assert [a["level"] for a in body["areas"]][:2] == ["street", "street"]
    assert body["areas"][-1]["level"] == "grid"
    assert areas[f.GRID_A]["sparkline"] == "60.0,15.0 120.0,30.0"
    months = client.get("/api/v1/reports/safety/trend?count=2&until=2026-04&within=" + f.COMMUNITY,
                        headers=world["admin"]).get_json()
    assert months["periods"] == ["2026-03", "2026-04"] and {a["level"] for a in months["areas"]} == {"community", "grid"}
    assert [s["colour"] for s in {a["code"]: a for a in months["areas"]}[f.GRID_B]["series"]] == ["red", "red"]


@pytest.mark.parametrize(("query", "status"), [
    ("count=0", 400), ("count=25", 400), ("kind=day", 400), ("kind=week&until=2026-03", 422),
])
def test_trend_limits(client, world, query, status):
    assert client.get(f"/api/v1/reports/safety/trend?{query}", headers=world["admin"]).status_code == status


def test_trend_default_and_scope(client, world):
    body = client.get("/api/v1/reports/safety/trend", headers=world["street"]).get_json()
    assert len(body["periods"]) == 6 and body["kind"] == "month"
    assert f.GRID_C not in {a["code"] for a in body["areas"]}
    assert client.get("/api/v1/reports/safety/trend", headers=world["worker"]).status_code == 403
    outside = client.get(f"/api/v1/reports/safety/trend?within={f.GRID_C}", headers=world["street"]).get_json()
    assert outside["areas"] == [] and outside["within"] == ""  # as the report: nothing outside the scope


def _login(client, db_session, username="report-sv"):
    import re

    from gridmap.auth.passwords import hash_password
    from gridmap.auth.service import create_user

    user = create_user(db_session, username, "pass-word-1", "supervisor", f.STREET, "督导")
    user.password_hash = hash_password("pass-word-1")  # the fixture skips hashing for token users
    db_session.commit()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": username, "password": "pass-word-1", "csrf_token": token})


def test_the_report_page_by_period(client, db_session, world):
    _login(client, db_session)
    html = client.get("/reports/safety?period=2026-W10").get_data(as_text=True)
    assert "2026年第10周（2026-03-02 至 2026-03-08）" in html
    assert 'href="/api/v1/reports/safety?period=2026-W10&format=csv"' in html
    assert 'id="period-previous" href="?period=2026-W09' in html and 'id="period-next" href="?period=2026-W11' in html
    assert f'data-code="{f.GRID_A}" data-colour="red"' in html
    assert "2026年第1季度" in client.get("/reports/safety?period=2026-Q1").get_data(as_text=True)
    assert client.get("/reports/safety?period=2026-Q5").status_code == 400


def test_the_trend_page_draws_a_table_and_lines(client, db_session, world):
    _login(client, db_session)
    html = client.get("/reports/safety/trend?kind=quarter&count=3").get_data(as_text=True)
    assert html.count("<th data-period=") == 3
    assert f'<tr class="level-grid" data-code="{f.GRID_A}">' in html and "<polyline points=" in html
    assert "<script src=\"http" not in html
    import re

    points = re.findall(r'<polyline points="([^"]*)"', html)
    pairs = [tuple(map(float, xy.split(","))) for p in points for xy in p.split()]
    assert pairs and all(0 <= x <= SPARK_WIDTH and 0 <= y <= SPARK_HEIGHT for x, y in pairs)  # drawn here, in its box
    assert client.get("/reports/safety/trend?count=99").status_code == 400
