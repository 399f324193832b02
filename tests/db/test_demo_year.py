"""A year of life in the demo (gridmap.demo.year): hazards of every month, category and status with
histories the workflow allows and deadlines the calendar gives, patrols every month and today,
五必访 visits, a 平安报表 in three colours, and supervisor pages that show it. Thinned out
(``SCALE``) so it runs fast; ``NOW`` is fixed so the rows are the same on every run."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import text

from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.auth.service import issue_token
from gridmap.clock import CHINA, add_months
from gridmap.config import PatrolRules
from gridmap.demo.district import DISTRICT_CODE, FEATURED_GRID
from gridmap.demo.load import load_demo
from gridmap.hazard_stats.heatmap import heatmap_cells
from gridmap.hazard_stats.safety import safety_report
from gridmap.hazards.deadlines import deadlines_for
from gridmap.hazards.models import OPEN_STATUSES, STATUSES

NOW = datetime(2026, 6, 17, 15, 30, tzinfo=CHINA)  # a Wednesday afternoon
SCALE = 0.1
P = {"p": DISTRICT_CODE + "%", "now": NOW}
MONTHS = [add_months(date(2026, 6, 1), -k) for k in range(13)]


def _rows(session, sql: str, **params):
    return session.execute(text(sql), {**P, **params}).all()


def _one(session, sql: str, **params):
    return session.execute(text(sql), {**P, **params}).scalar_one()


def _login(client, username: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_a_year_of_life(db_session, app):
    """The district as demos had it before (no history), then ``demo-data`` run again: it adds the
    year. One load for all the checks (the district alone takes ~20 s)."""
    s = db_session
    load_demo(s, echo=lambda *a, **k: None, months=0)
    assert _one(s, "SELECT count(*) FROM hazard") == 0
    out: list[str] = []
    load_demo(s, echo=lambda *a, **k: out.append(" ".join(map(str, a))), months=12, scale=SCALE, now=NOW)
    assert any("演示数据已存在" in line for line in out) and any("次巡查打卡" in line for line in out)
    _hazards_of_a_year(s)
    _patrols_and_visits_of_a_year(s)
    _party_visits_of_a_year(s)
    _supervisor_views_show_the_year(s, app)


def _hazards_of_a_year(s):
    per_month = dict(_rows(s, """SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
                                 FROM hazard WHERE grid_code LIKE :p GROUP BY 1"""))
    assert sorted(per_month) == sorted(MONTHS) and min(per_month.values()) >= 3
    assert _one(s, "SELECT count(DISTINCT category_code) FROM hazard") >= 8
    # Every status of the loop but 部门办理中: the year's story has no department step yet.
    assert {r[0] for r in _rows(s, "SELECT DISTINCT status FROM hazard")} == set(STATUSES) - {"whistled"}
    assert {"grid", "community"} <= {r[0] for r in _rows(s, "SELECT DISTINCT level FROM hazard")}
    # Inside their grids, reported before now, clustered: many share a ~50 m cell with another
    # (spread evenly over their grids, about 2% would at this scale).
    assert _one(s, """SELECT count(*) FROM hazard h JOIN grid g ON g.id = h.grid_id
                      WHERE NOT ST_Covers(g.geom, h.geom) OR g.code <> h.grid_code OR h.created_at > :now""") == 0
    clustered = _one(s, """SELECT count(*) FILTER (WHERE n > 1)::float / count(*) FROM (
                               SELECT count(*) OVER (PARTITION BY round(ST_X(geom) / 0.0005), round(ST_Y(geom) / 0.0005))
                               AS n FROM hazard) x""")
    assert clustered > 0.15

    # Histories: a chain of the workflow's steps from the report, ending in the hazard's status.
    assert _one(s, """SELECT count(*) FROM (
                          SELECT e.from_status, e.to_status, e.at,
                                 lag(e.to_status) OVER (PARTITION BY e.hazard_id ORDER BY e.at, e.id) AS previous,
                                 row_number() OVER (PARTITION BY e.hazard_id ORDER BY e.at, e.id) AS n
                          FROM hazard_event e) x
                      WHERE from_status IS DISTINCT FROM previous OR (n = 1) <> (from_status IS NULL)
                         OR at > :now""") == 0
    assert _one(s, """SELECT count(*) FROM hazard h JOIN LATERAL (
                          SELECT count(*) AS n, (array_agg(to_status ORDER BY at DESC, id DESC))[1] AS last
                          FROM hazard_event WHERE hazard_id = h.id) e ON true
                      WHERE e.n <> h.version OR e.last <> h.status""") == 0
    actions = dict(_rows(s, "SELECT action, count(*) FROM hazard_event GROUP BY 1"))
    assert {"report", "accept", "assign", "start", "feedback", "verify", "close", "reject", "escalate"} <= set(actions)
    assert _one(s, "SELECT count(*) FROM hazard WHERE status = 'closed' AND closed_at IS NULL") == 0

    # Deadlines as the service computes them: from the report, or from the last escalation.
    rows = _rows(s, """SELECT h.category_code, h.severity, coalesce(
                           (SELECT max(at) FROM hazard_event e WHERE e.hazard_id = h.id AND e.action = 'escalate'),
                           h.created_at), h.accept_by, h.resolve_by FROM hazard h""")
    for category, severity, start, accept_by, resolve_by in rows:
        accept, resolve = deadlines_for(s, category, severity, start)
        assert (accept.due, resolve.due) == (accept_by, resolve_by)

    # Closed on time and late; a few open and overdue today, the featured worker's among them.
    on_time, late = _rows(s, """SELECT count(*) FILTER (WHERE resolved_at <= resolve_by),
                                       count(*) FILTER (WHERE resolved_at > resolve_by) FROM hazard""")[0]
    assert on_time > 2 * late > 0
    overdue = _rows(s, "SELECT grid_code FROM hazard WHERE status = ANY(:open) AND resolve_by < :now",
                    open=list(OPEN_STATUSES))
    assert 2 <= len(overdue) <= 0.1 * sum(per_month.values()) and (FEATURED_GRID,) in overdue
    queue = {r[0] for r in _rows(s, """SELECT h.status FROM hazard h WHERE h.grid_code = :g AND h.status = ANY(:open)""",
                                 g=FEATURED_GRID, open=list(OPEN_STATUSES))}
    assert queue == set(OPEN_STATUSES) - {"whistled"}  # no department step in the story yet

    # The heatmap's daily cells and zoom pyramid count every hazard once.
    total = _one(s, "SELECT count(*) FROM hazard")
    assert _one(s, "SELECT sum(n) FROM hazard_daily_cell") == total
    assert _one(s, "SELECT sum(n) FROM hazard_heat_rollup WHERE level = 13 AND period_kind = 'y' "
                   "AND category_code = ''") == total
    district = Scope(prefix=DISTRICT_CODE, role="supervisor")
    assert len(heatmap_cells(s, district, bbox=None, zoom=13, category=None)["cells"]) > 20


def _patrols_and_visits_of_a_year(s):
    per_month = {m: (n, v) for m, n, v in _rows(s, """
        SELECT date_trunc('month', c.recorded_at AT TIME ZONE 'Asia/Shanghai')::date, count(*), count(c.household_id)
        FROM checkin c JOIN grid g ON g.id = c.grid_id WHERE g.code LIKE :p GROUP BY 1""")}
    assert sorted(per_month) == sorted(MONTHS)
    assert all(n > 1000 and v > 100 for n, v in per_month.values())
    assert _one(s, "SELECT count(*) FROM checkin_part.checkin_default") == 0  # every month has its partition
    assert _one(s, """SELECT count(*) FROM checkin WHERE recorded_at > :now OR received_at < recorded_at
                      OR received_at > :now OR accuracy_m <= 0""") == 0
    # Today: patrols from 07:00 up to now, the demo grid worker's among them.
    today = _rows(s, """SELECT u.username, min(c.recorded_at) FROM checkin c JOIN app_user u ON u.id = c.user_id
                        WHERE c.recorded_at >= date_trunc('day', :now AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai'
                        GROUP BY 1""")
    assert len(today) > 5 and "gridworker" in {u for u, _ in today}
    assert min(first.astimezone(CHINA).hour for _, first in today) == 7
    # Each worker patrols their own grid; flags as the check-in statement decides them.
    assert _one(s, """SELECT count(*) FROM checkin c JOIN app_user u ON u.id = c.user_id JOIN grid g ON g.id = c.grid_id
                      WHERE u.role <> 'grid_worker' OR u.scope_code <> g.code""") == 0
    assert _one(s, """SELECT count(*) FROM checkin c JOIN grid g ON g.id = c.grid_id
                      WHERE ('outside_grid' = ANY(c.flags)) AND ST_Covers(g.geom, c.geom)""") == 0
    assert _one(s, """SELECT count(*) FROM checkin c JOIN grid g ON g.id = c.grid_id
                      WHERE NOT ('outside_grid' = ANY(c.flags))
                        AND NOT ST_DWithin(g.geom::geography, c.geom::geography, c.accuracy_m + 2)""") == 0
    assert _one(s, "SELECT count(*) FROM checkin WHERE 'outside_grid' = ANY(flags)") > 0
    # 五必访: visits at tagged households of the worker's grid, in the afternoon.
    tags = list(PatrolRules().visit_tags)
    assert _one(s, """SELECT count(*) FROM checkin c JOIN household h ON h.id = c.household_id
                      WHERE NOT h.tags && CAST(:tags AS text[]) OR h.grid_id <> c.grid_id
                         OR extract(hour FROM c.recorded_at AT TIME ZONE 'Asia/Shanghai') < 14""", tags=tags) == 0


def _party_visits_of_a_year(s):
    """Party members visit their own contacts every month, in daytime, up to now; the featured grid
    (not thinned out) at its grid's rate, which lies between 55 % and 98 %."""
    per_month = dict(_rows(s, """
        SELECT date_trunc('month', visited_at AT TIME ZONE 'Asia/Shanghai')::date, count(*) FROM party_visit
        GROUP BY 1"""))
    assert sorted(per_month) == sorted(MONTHS) and all(n > 50 for n in per_month.values())
    assert _one(s, """SELECT count(*) FROM party_visit v LEFT JOIN party_contact pc ON pc.household_id = v.household_id
                      WHERE pc.party_member_id IS DISTINCT FROM v.party_member_id OR v.visited_at > :now
                         OR v.received_at < v.visited_at
                         OR extract(hour FROM v.visited_at AT TIME ZONE 'Asia/Shanghai') NOT BETWEEN 9 AND 19""") == 0
    shares = [share for (share,) in _rows(s, """
        SELECT count(v.id)::float / count(DISTINCT pc.household_id)
        FROM party_contact pc JOIN household h ON h.id = pc.household_id JOIN grid g ON g.id = h.grid_id
        LEFT JOIN party_visit v ON v.household_id = h.id AND v.visited_at >= :start AND v.visited_at < :end
        WHERE g.code = :grid""", start=datetime(2026, 5, 1, tzinfo=CHINA), end=datetime(2026, 6, 1, tzinfo=CHINA),
        grid=FEATURED_GRID)]
    assert 0.5 < shares[0] < 1.0, shares


def _supervisor_views_show_the_year(s, app):
    client = app.test_client()
    # 平安报表 of last month: red, yellow and green grids.
    report = safety_report(s, Scope(prefix=DISTRICT_CODE, role="supervisor"), within=None, month="2026-05",
                           patrol_rules=PatrolRules(), now=NOW)
    assert {i["colour"] for i in report["items"] if i["level"] == "grid"} == {"red", "yellow", "green"}
    featured = next(i for i in report["items"] if i["code"] == FEATURED_GRID)
    assert 0.5 < featured["party_visit_coverage"] < 1.0

    district = s.query(User).filter_by(username="district").one()
    token, _ = issue_token(s, district, 1)
    headers = {"Authorization": f"Bearer {token}"}
    assert len(client.get("/api/v1/hazards/heatmap?zoom=13", headers=headers).get_json()["cells"]) > 20
    density = client.get("/api/v1/hazards/grid-density", headers=headers).get_json()
    assert sum(1 for f in density["features"] if (f["properties"]["per_1000"] or 0) > 0) > 40

    _login(client, "district", "demo-district-2026")
    html = client.get("/maps/hazards").get_data(as_text=True)
    open_count, cells = map(int, re.search(r"未办结 (\d+) 件 · 热力格网 (\d+) 个", html).groups())
    assert open_count > 5 and cells > 20
    html = client.get(f"/maps/patrol?date={NOW:%Y-%m-%d}").get_data(as_text=True)
    workers, checkins = map(int, re.search(r"(\d+) 人巡查，打卡 (\d+) 次", html).groups())
    assert workers > 5 and checkins > workers
    html = client.get("/reports/safety?month=2026-05").get_data(as_text=True)
    assert all(f'data-colour="{c}"' in html for c in ("red", "yellow", "green"))

    client = app.test_client()
    _login(client, "gridworker", "demo-grid-2026")
    html = client.get("/hazards").get_data(as_text=True)
    assert len(set(re.findall(r"HZ-\d{8}-\d{6}", html))) >= len(OPEN_STATUSES)
