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
from gridmap.demo.district import DISTRICT_CODE, FEATURED_GRID, FEATURED_STREET
from gridmap.departments.ranking import department_ranking
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
    _departments_of_a_year(s, app)
    _residents_of_a_year(s, app)
    _supervisor_views_show_the_year(s, app)


def _hazards_of_a_year(s):
    per_month = dict(_rows(s, """SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
                                 FROM hazard WHERE grid_code LIKE :p GROUP BY 1"""))
    assert sorted(per_month) == sorted(MONTHS) and min(per_month.values()) >= 3
    assert _one(s, "SELECT count(DISTINCT category_code) FROM hazard") >= 8
    # Every status of the loop, 部门办理中 (whistled to departments) included.
    assert {r[0] for r in _rows(s, "SELECT DISTINCT status FROM hazard")} == set(STATUSES)
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
                          -- a department's 报到, the overdue sweep and a feedback that is not the last leave
                          -- the version alone, as the services do
                          SELECT count(*) FILTER (WHERE action NOT IN ('report_for_duty', 'duty_overdue')
                                                    AND NOT (action = 'duty_feedback' AND from_status = to_status)) AS v,
                                 (array_agg(to_status ORDER BY at DESC, id DESC))[1] AS last
                          FROM hazard_event WHERE hazard_id = h.id) e ON true
                      WHERE e.v <> h.version OR e.last <> h.status""") == 0
    actions = dict(_rows(s, "SELECT action, count(*) FROM hazard_event GROUP BY 1"))
    assert {"report", "accept", "assign", "start", "feedback", "verify", "close", "reject", "escalate", "whistle",
            "report_for_duty", "duty_overdue", "duty_feedback"} <= set(actions)
    assert _one(s, "SELECT count(*) FROM hazard WHERE status = 'closed' AND closed_at IS NULL") == 0

    # Deadlines as the service computes them: from the report, or from the last escalation; the resolve
    # deadline afresh from a resident's 不满意 (the revisit that reopened it).
    rows = _rows(s, """SELECT h.category_code, h.severity, coalesce(
                           (SELECT max(at) FROM hazard_event e WHERE e.hazard_id = h.id AND e.action = 'escalate'),
                           h.created_at), coalesce(
                           (SELECT max(at) FROM hazard_event e WHERE e.hazard_id = h.id AND (e.action = 'escalate'
                               OR (e.action = 'revisit' AND e.to_status <> e.from_status))),
                           h.created_at), h.accept_by, h.resolve_by FROM hazard h""")
    for category, severity, start, resolve_start, accept_by, resolve_by in rows:
        accept, _ = deadlines_for(s, category, severity, start)
        _, resolve = deadlines_for(s, category, severity, resolve_start)
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
    assert queue == set(OPEN_STATUSES)

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
    # each with its key, as the check-in statement writes them: a phone re-sending one is answered
    # with it, not stored twice (gridmap.patrol.keys)
    assert _one(s, """SELECT count(*) FROM checkin c LEFT JOIN checkin_key k ON k.id = c.id
                      WHERE k.id IS NULL OR k.user_id <> c.user_id OR k.recorded_at <> c.recorded_at""") == 0
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


def _departments_of_a_year(s, app):
    """Items whistled to their departments by the routing rules, each 报到'd by a user of that
    department whose area covers it — on time, late (escalated by the sweep) or not yet —, fed back;
    the assignments agree with the histories; the 部门报到排名 of last month and the logins' queues."""
    per = _rows(s, """SELECT d.code, count(*), count(a.reported_at) FILTER (WHERE a.reported_at <= a.report_by),
                             count(a.reported_at) FILTER (WHERE a.reported_at > a.report_by),
                             count(*) FILTER (WHERE a.reported_at IS NULL), count(a.escalated_at), count(a.fed_back_at)
                      FROM hazard_assignment a JOIN department d ON d.id = a.department_id GROUP BY 1""")
    assert {"chengguan", "zhujian", "xiaofang", "paichusuo"} <= {r[0] for r in per}
    sent, on_time, late, waiting, escalated, fed_back = (sum(r[i] for r in per) for i in range(1, 7))
    assert on_time > 2 * late > 0 and waiting > 0 and escalated >= late and fed_back > sent / 2
    # each routed as the rules say, to a department owning the category, 报到'd and fed back by its own users
    assert _one(s, """SELECT count(*) FROM hazard_assignment a JOIN hazard h ON h.id = a.hazard_id
                      JOIN department d ON d.id = a.department_id
                      LEFT JOIN department_route r ON r.category_code = h.category_code AND r.department_id = d.id
                      WHERE r.id IS NULL OR NOT h.category_code = ANY(d.categories)""") == 0
    assert _one(s, """SELECT count(*) FROM hazard_assignment a JOIN hazard h ON h.id = a.hazard_id
                      JOIN app_user u ON u.id IN (a.reported_by, a.fed_back_by)
                      WHERE u.role <> 'department' OR u.department_id <> a.department_id
                         OR left(h.grid_code, length(u.scope_code)) <> u.scope_code""") == 0
    assert _one(s, """SELECT count(*) FROM hazard_assignment a JOIN app_user u ON u.id = a.reported_by
                      JOIN hazard h ON h.id = a.hazard_id
                      WHERE u.username = 'paichusuo' AND h.grid_code NOT LIKE :street || '%'""",
                street=FEATURED_STREET) == 0
    # the assignments agree with the histories: one whistle event each, the 报到 deadline in working days
    assert _one(s, """SELECT count(*) FROM hazard_assignment a WHERE NOT EXISTS (
                          SELECT 1 FROM hazard_event e WHERE e.hazard_id = a.hazard_id AND e.action = 'whistle'
                            AND e.at = a.whistled_at AND e.actor_id = a.whistled_by)
                         OR a.report_by <= a.whistled_at OR a.reported_at > :now OR a.fed_back_at < a.reported_at""") == 0
    assert _one(s, "SELECT count(*) FROM hazard_event WHERE action = 'duty_overdue'") == escalated
    assert _one(s, "SELECT count(*) FROM hazard_event WHERE action = 'report_for_duty'") == on_time + late
    assert _one(s, """SELECT count(*) FROM hazard h WHERE h.status = 'whistled' AND NOT EXISTS (
                          SELECT 1 FROM hazard_assignment a WHERE a.hazard_id = h.id AND a.fed_back_at IS NULL)""") == 0
    rows = department_ranking(s, Scope(prefix=DISTRICT_CODE, role="supervisor"), within=None,
                              start=datetime(2026, 5, 1, tzinfo=CHINA), end=datetime(2026, 6, 1, tzinfo=CHINA), now=NOW)
    assert rows and all(r["sent"] >= r["on_time"] for r in rows) and sum(r["closed"] for r in rows) > 0
    # the logins: 消防's queue has the featured grid's item waiting; 城管 has fed back this year
    client = app.test_client()
    for username, password, done, expect in (("department", "demo-dept-2026", False, FEATURED_GRID),
                                             ("chengguan", "demo-chengguan-2026", True, None)):
        user = s.query(User).filter_by(username=username).one()
        token, _ = issue_token(s, user, 1)
        items = client.get("/api/v1/department/queue", query_string={"done": str(done).lower()},
                           headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
        assert items and (expect is None or expect in {i["grid"] for i in items}), username


def _residents_of_a_year(s, app):
    """Residents' reports from the public form (no staff reporter, a tracking code, a phone left by
    some), their 回访 answers by phone and on the status page — 不满意 reopening the item —, close
    waiting for the answer of a resident who left a phone; the 平安报表's satisfaction rate."""
    residents, with_phone = _rows(s, """SELECT count(*), count(*) FILTER (WHERE h.revisit_required) FROM hazard h
                                        JOIN public_report p ON p.hazard_id = h.id AND h.source = 'resident'""")[0]
    assert residents == _one(s, "SELECT count(*) FROM hazard WHERE source = 'resident'") > 0 and 0 < with_phone < residents
    assert _one(s, """SELECT count(*) FROM hazard h JOIN public_report p ON p.hazard_id = h.id
                      WHERE h.reporter_id IS NOT NULL OR h.revisit_required <> (p.phone IS NOT NULL)
                         OR p.tracking_code !~ '^[A-Z2-7]{16}$' OR p.created_at <> h.created_at""") == 0
    answers = dict(_rows(s, "SELECT answer || '/' || channel, count(*) FROM hazard_revisit GROUP BY 1"))
    assert {"satisfied/phone", "satisfied/status_page"} <= set(answers) and any(a.startswith("dissatisfied") for a in answers)
    # each answer is an event of its item, answers a verification of it, by staff on the phone or the resident
    assert _one(s, """SELECT count(*) FROM hazard_revisit r WHERE NOT EXISTS (
                          SELECT 1 FROM hazard_event e WHERE e.hazard_id = r.hazard_id AND e.action = 'revisit'
                            AND e.at = r.at AND e.detail ->> 'answer' = r.answer AND e.actor_id IS NOT DISTINCT FROM r.actor_id)
                         OR NOT EXISTS (SELECT 1 FROM hazard_event e WHERE e.hazard_id = r.hazard_id
                                          AND e.action = 'verify' AND e.at = r.verified_at)
                         OR (r.channel = 'phone') <> (r.actor_id IS NOT NULL)""") == 0
    assert _one(s, """SELECT count(*) FROM hazard_event WHERE action = 'revisit' AND to_status = 'in_progress'
                      AND detail ->> 'answer' = 'dissatisfied'""") == answers.get("dissatisfied/phone", 0) + \
        answers.get("dissatisfied/status_page", 0)
    assert _one(s, """SELECT count(*) FROM hazard h WHERE h.status = 'closed' AND h.revisit_required AND NOT EXISTS (
                          SELECT 1 FROM hazard_revisit r WHERE r.hazard_id = h.id AND r.verified_at = h.resolved_at)""") == 0
    assert _one(s, "SELECT count(*) FROM hazard WHERE source = 'resident' AND status = 'closed' AND public_reply IS NULL") == 0
    report = safety_report(s, Scope(prefix=DISTRICT_CODE, role="supervisor"), within=None, month="2026-05",
                           patrol_rules=PatrolRules(), now=NOW)
    assert any(i["satisfaction_answered"] for i in report["items"])
    rates = [i["satisfaction_rate"] for i in report["items"] if i["satisfaction_answered"]]
    assert rates and all(0 <= r <= 1 for r in rates)
    assert {i["satisfaction_colour"] for i in report["items"] if i["satisfaction_answered"]} <= {"green", "red"}
    code = _one(s, "SELECT tracking_code FROM public_report ORDER BY created_at LIMIT 1")
    status = app.test_client().get(f"/api/v1/public/reports/{code}").get_json()
    assert status["status"] in STATUSES and status["tracking_code"] == code


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
