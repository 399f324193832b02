"""吹哨报到: routing rules (the most specific area wins), the whistle's permissions, the 报到
deadline in working days, the overdue sweep, feedback moving the item on only when every
department has fed back, the department queue scoped by area and category, and the ranking."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text

from gridmap.auth.scope import Scope
from gridmap.clock import CHINA
from gridmap.departments import ranking, routing, service
from gridmap.departments.models import HazardAssignment
from gridmap.errors import Unprocessable
from gridmap.hazards import service as hazards
from gridmap.hazards.models import HazardEvent
from tests import factories as f

EVERYTHING = Scope.everything()


def _hazard(db_session, category="illegal_building", lon=119.886, lat=28.456, accept=True):
    hazard = hazards.report(db_session, EVERYTHING, category=category, severity="normal", description="违章搭建",
                            lon=lon, lat=lat, crs=None)["id"]
    if accept:
        hazards.act(db_session, EVERYTHING, hazard, "accept")
    return hazard


def _put(client, token, **body):
    return client.put("/api/v1/department-routes", json=body, headers=f.auth(token))


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    for code in db_session.scalars(text("SELECT code FROM department")):  # someone to 报到 for each, district-wide
        f.department_token(db_session, code, f.DISTRICT, username=f"duty-{code}")
    return w


def test_the_most_specific_area_wins(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    # seeded city-wide: 乱搭乱建 → 城管 and 住建; the community sends it to 住建 alone
    response = _put(client, admin, category="illegal_building", area=f.COMMUNITY, departments=["zhujian"],
                    name="城北社区违建归住建", report_working_days=2)
    assert response.status_code == 200 and [r["department"] for r in response.get_json()["items"]] == ["zhujian"]
    assert [d.code for d, _ in routing.route_for(db_session, "illegal_building", f.GRID_A)] == ["zhujian"]
    assert [d.code for d, _ in routing.route_for(db_session, "illegal_building", f.GRID_C)] == ["chengguan", "zhujian"]
    supervisor = f.token_for(db_session, "supervisor", f.STREET)
    listed = client.get("/api/v1/department-routes", query_string={"category": "illegal_building"},
                        headers=f.auth(supervisor)).get_json()["items"]
    assert [(r["area"], r["department"]) for r in listed] == [("", "chengguan"), ("", "zhujian"),
                                                              (f.COMMUNITY, "zhujian")]
    assert _put(client, supervisor, category="fire", area="", departments=[]).status_code == 403
    # an empty list removes the community's rule: the city-wide one applies again
    assert _put(client, admin, category="illegal_building", area=f.COMMUNITY, departments=[]).get_json()["total"] == 0
    assert len(routing.route_for(db_session, "illegal_building", f.GRID_A)) == 2


@pytest.mark.parametrize("body, code", [
    ({"category": "fire", "area": "", "departments": ["chengguan"]}, "department_category_not_owned"),
    ({"category": "fire", "area": "", "departments": ["nobody"]}, "department_unknown"),
    ({"category": "nothing", "area": "", "departments": ["xiaofang"]}, "hazard_category_unknown"),
    ({"category": "fire", "area": "331102009", "departments": ["xiaofang"]}, "department_route_area_unknown"),
])
def test_a_bad_rule_is_a_clear_422_and_changes_nothing(client, db_session, world, body, code):
    admin = f.token_for(db_session, "admin")
    before = routing.list_routes(db_session)
    response = _put(client, admin, **body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, code)
    assert routing.list_routes(db_session) == before


def test_delete_a_rule(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    route = routing.list_routes(db_session, "fire")["items"][0]["id"]
    assert client.delete(f"/api/v1/department-routes/{route}", headers=f.auth(admin)).status_code == 204
    response = client.delete(f"/api/v1/department-routes/{route}", headers=f.auth(admin))
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "department_route_not_found")


def test_no_rule_is_a_clear_422(client, db_session, world):
    hazard = _hazard(db_session, category="other")
    token = f.token_for(db_session, "supervisor", f.COMMUNITY)
    response = client.post(f"/api/v1/hazards/{hazard}/whistle", json={"note": "请处理"}, headers=f.auth(token))
    body = response.get_json()
    assert (response.status_code, body["error"]["code"]) == (422, "department_no_route"), body
    assert "其他" in body["error"]["message"]
    assert db_session.scalar(text("SELECT status FROM hazard WHERE id = :id"), {"id": hazard}) == "accepted"


def test_who_may_whistle(client, db_session, world):
    hazard = _hazard(db_session)
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    response = client.post(f"/api/v1/hazards/{hazard}/whistle", json={}, headers=f.auth(worker))
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")  # not a manager
    outsider = f.token_for(db_session, "supervisor", f.OTHER_STREET)
    response = client.post(f"/api/v1/hazards/{hazard}/whistle", json={}, headers=f.auth(outsider))
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "hazard_not_found")
    assert not db_session.scalar(select(HazardAssignment.id))
    # the generic action route does not take it (it would skip the departments' assignments)
    community = f.token_for(db_session, "supervisor", f.COMMUNITY)
    assert client.post(f"/api/v1/hazards/{hazard}/actions", json={"action": "whistle"},
                       headers=f.auth(community)).status_code == 400
    with pytest.raises(Unprocessable) as refused:  # nor does the service behind the hazard page's form
        hazards.act(db_session, Scope(prefix=f.COMMUNITY, role="supervisor"), hazard, "whistle")
    assert refused.value.code == "hazard_action_elsewhere"
    response = client.post(f"/api/v1/hazards/{hazard}/whistle", json={"note": "违建请报到"}, headers=f.auth(community))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "whistled" and {a["department"] for a in body["assignments"]} == {"chengguan", "zhujian"}
    again = client.post(f"/api/v1/hazards/{hazard}/whistle", json={}, headers=f.auth(community))
    assert again.status_code == 409  # already with the departments
    # a reported (not yet accepted) item cannot be whistled
    fresh = _hazard(db_session, accept=False)
    assert client.post(f"/api/v1/hazards/{fresh}/whistle", json={}, headers=f.auth(community)).status_code == 409


@pytest.mark.parametrize("whistled, days, due", [
    (datetime(2025, 6, 6, 10, 0, tzinfo=CHINA), None, datetime(2025, 6, 9, 10, 0, tzinfo=CHINA)),  # Friday → Monday
    (datetime(2025, 6, 6, 10, 0, tzinfo=CHINA), 2, datetime(2025, 6, 10, 10, 0, tzinfo=CHINA)),
    # the National Day week of 2025: Friday 10 Oct + 1 is Saturday 11 Oct, a 调休 make-up workday
    (datetime(2025, 10, 10, 9, 30, tzinfo=CHINA), None, datetime(2025, 10, 11, 9, 30, tzinfo=CHINA)),
    (datetime(2025, 9, 30, 16, 0, tzinfo=CHINA), None, datetime(2025, 10, 9, 16, 0, tzinfo=CHINA)),
])
def test_the_report_deadline_counts_working_days(db_session, world, whistled, days, due):
    if days is not None:
        routing.set_routes(db_session, category="fire", area="", department_codes=["xiaofang"], name="",
                           report_working_days=days)
    hazard = _hazard(db_session, category="fire")
    result = service.whistle(db_session, EVERYTHING, hazard, note="", default_days=1, now=whistled)
    assert [datetime.fromisoformat(a["report_by"]) for a in result["assignments"]] == [due]
    assert result["assignments"][0]["calendar"] == "official"


def _whistle(db_session, hazard, now=None):
    return service.whistle(db_session, Scope(prefix=f.COMMUNITY, role="supervisor"), hazard, note="请报到",
                           default_days=1, now=now)


def _assignment(db_session, hazard, department):
    return db_session.scalar(text(
        "SELECT a.id FROM hazard_assignment a JOIN department d ON d.id = a.department_id "
        "WHERE a.hazard_id = :h AND d.code = :d"), {"h": hazard, "d": department})


def test_an_overdue_report_is_escalated_into_the_history_once(client, db_session, world):
    hazard = _hazard(db_session, category="fire")
    _whistle(db_session, hazard, now=datetime(2025, 6, 6, 10, 0, tzinfo=CHINA))
    assert service.sweep_overdue(db_session, now=datetime(2025, 6, 9, 9, 59, tzinfo=CHINA)) == 0  # not yet
    assert service.sweep_overdue(db_session, now=datetime(2025, 6, 9, 10, 1, tzinfo=CHINA)) == 1
    assert service.sweep_overdue(db_session, now=datetime(2025, 6, 10, 10, 1, tzinfo=CHINA)) == 0  # once
    events = hazards.get_hazard(db_session, EVERYTHING, hazard)["events"]
    overdue = [e for e in events if e["action"] == "duty_overdue"]
    assert len(overdue) == 1 and overdue[0]["detail"]["department"] == "xiaofang"
    assert overdue[0]["action_name"] == "部门报到超期"
    token = f.department_token(db_session, "xiaofang", f.STREET)
    items = client.get("/api/v1/department/queue", headers=f.auth(token)).get_json()["items"]
    assert [(i["hazard_id"], i["overdue"], i["state"]) for i in items] == [(hazard, True, "waiting")]


def test_feedback_moves_the_item_on_only_when_every_department_has_fed_back(client, db_session, world):
    hazard = _hazard(db_session)
    _whistle(db_session, hazard)
    chengguan = f.department_token(db_session, "chengguan", f.STREET)
    zhujian = f.department_token(db_session, "zhujian", f.DISTRICT)
    first, second = _assignment(db_session, hazard, "chengguan"), _assignment(db_session, hazard, "zhujian")

    def post(token, url, **data):
        return client.post(url, data=data, headers=f.auth(token), content_type="multipart/form-data")

    early = post(zhujian, f"/api/v1/department/assignments/{second}/feedback", note="已处理")
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "assignment_not_reported")
    # one department cannot act on another's assignment
    assert client.post(f"/api/v1/department/assignments/{second}/report",
                       headers=f.auth(chengguan)).status_code == 404
    assert client.post(f"/api/v1/department/assignments/{first}/report", headers=f.auth(chengguan)).status_code == 200
    assert client.post(f"/api/v1/department/assignments/{first}/report", headers=f.auth(chengguan)).status_code == 409
    import io
    done = post(chengguan, f"/api/v1/department/assignments/{first}/feedback", note="已拆除",
                file=(io.BytesIO(f.png()), "after.png"))
    assert done.status_code == 200 and done.get_json()["state"] == "fed_back", done.get_json()
    assert done.get_json()["photos"][0]["n"] == 1
    assert hazards.get_hazard(db_session, EVERYTHING, hazard)["status"] == "whistled"  # 住建 still to come
    assert client.post(f"/api/v1/department/assignments/{second}/report", headers=f.auth(zhujian)).status_code == 200
    empty = post(zhujian, f"/api/v1/department/assignments/{second}/feedback", note="  ")
    assert (empty.status_code, empty.get_json()["error"]["code"]) == (422, "assignment_feedback_required")
    assert post(zhujian, f"/api/v1/department/assignments/{second}/feedback", note="已复核").status_code == 200
    item = hazards.get_hazard(db_session, EVERYTHING, hazard)
    assert item["status"] == "feedback"
    assert [e["action"] for e in item["events"]][-5:] == ["whistle", "report_for_duty", "duty_feedback",
                                                          "report_for_duty", "duty_feedback"]
    # and the community verifies it in the usual loop
    community = f.token_for(db_session, "supervisor", f.COMMUNITY)
    response = client.post(f"/api/v1/hazards/{hazard}/actions", json={"action": "verify"}, headers=f.auth(community))
    assert response.get_json()["status"] == "verified"


def test_the_queue_is_scoped_by_area_and_category(client, db_session, world):
    hazard = _hazard(db_session)
    _whistle(db_session, hazard)
    assignment = _assignment(db_session, hazard, "chengguan")
    inside = f.department_token(db_session, "chengguan", f.STREET)
    outside = f.department_token(db_session, "chengguan", f.OTHER_STREET)
    other_department = f.department_token(db_session, "xiaofang", f.DISTRICT)

    def queue(token):
        return [i["hazard_id"] for i in client.get("/api/v1/department/queue", headers=f.auth(token)).get_json()["items"]]

    item = client.get("/api/v1/department/queue", headers=f.auth(inside)).get_json()["items"][0]
    assert item["hazard_id"] == hazard and item["description"] == "违章搭建" and item["whistle_note"] == "请报到"
    assert not {"reporter", "assignee", "phone", "head_name"} & set(item)  # what to act on, no one's personal data
    assert queue(outside) == [] and queue(other_department) == []
    for token in (outside, other_department):
        assert client.post(f"/api/v1/department/assignments/{assignment}/report", headers=f.auth(token)).status_code == 404
    # the department no longer owns the category: the item leaves its users' reach
    db_session.execute(text("UPDATE department SET categories = '{sanitation}' WHERE code = 'chengguan'"))
    db_session.flush()
    assert queue(inside) == []
    assert client.post(f"/api/v1/department/assignments/{assignment}/report", headers=f.auth(inside)).status_code == 404
    # and a department user reads no hazard, household or grid through the staff's routes
    for path in (f"/api/v1/hazards/{hazard}", f"/api/v1/grids/{f.GRID_A}/households", "/api/v1/hazards"):
        assert client.get(path, headers=f.auth(inside)).status_code == 403


def test_the_ranking_numbers(client, db_session, world):
    june = [datetime(2025, 6, d, 10, 0, tzinfo=CHINA) for d in (2, 3, 4)]
    items = [_hazard(db_session) for _ in range(3)]  # each to 城管 and 住建
    for hazard, at in zip(items, june):
        _whistle(db_session, hazard, now=at)
    chengguan = Scope(prefix=f.STREET, role="department", department_id=db_session.scalar(
        text("SELECT id FROM department WHERE code = 'chengguan'")))
    zhujian = Scope(prefix=f.DISTRICT, role="department", department_id=db_session.scalar(
        text("SELECT id FROM department WHERE code = 'zhujian'")))
    # 城管: all three on time, two fed back; 住建: one on time, one late, one never
    for hazard, at in zip(items, june):
        service.report_for_duty(db_session, chengguan, _assignment(db_session, hazard, "chengguan"), now=at)
    for hazard in items[:2]:
        service.feed_back(db_session, chengguan, _assignment(db_session, hazard, "chengguan"), note="已处理",
                          uploads=[], limits=_limits(), now=datetime(2025, 6, 5, 9, 0, tzinfo=CHINA))
    service.report_for_duty(db_session, zhujian, _assignment(db_session, items[0], "zhujian"), now=june[0])
    service.report_for_duty(db_session, zhujian, _assignment(db_session, items[1], "zhujian"),
                            now=datetime(2025, 6, 9, 10, 0, tzinfo=CHINA))
    service.feed_back(db_session, zhujian, _assignment(db_session, items[0], "zhujian"), note="已处理",
                      uploads=[], limits=_limits(), now=datetime(2025, 6, 9, 11, 0, tzinfo=CHINA))
    hazards.act(db_session, EVERYTHING, items[0], "verify")
    hazards.act(db_session, EVERYTHING, items[0], "close")
    start, end = datetime(2025, 6, 1, tzinfo=CHINA), datetime(2025, 7, 1, tzinfo=CHINA)
    rows = ranking.department_ranking(db_session, Scope(prefix=f.STREET, role="supervisor"), within=None,
                                      start=start, end=end, now=datetime(2025, 7, 15, tzinfo=CHINA))
    assert [(r["rank"], r["code"], r["sent"], r["on_time"], r["overdue"], r["fed_back"], r["closed"],
             r["on_time_rate"], r["closure_rate"]) for r in rows] == [
        (1, "chengguan", 3, 3, 0, 2, 1, 1.0, 0.3333),
        (2, "zhujian", 3, 1, 1, 1, 1, 0.3333, 0.3333),
    ]
    other = ranking.department_ranking(db_session, Scope(prefix=f.OTHER_STREET, role="supervisor"), within=None,
                                       start=start, end=end)
    assert other == []
    supervisor = f.token_for(db_session, "supervisor", f.STREET)
    body = client.get("/api/v1/reports/departments", query_string={"month": "2025-06"},
                      headers=f.auth(supervisor)).get_json()
    assert [(i["code"], i["rank"]) for i in body["items"]] == [("chengguan", 1), ("zhujian", 2)]


def _limits():
    from gridmap.config import Settings
    from gridmap.hazards.photos import PhotoLimits

    return PhotoLimits.of(Settings())


def test_events_of_the_departments_are_in_the_catalogue(db_session, world):
    hazard = _hazard(db_session, category="fire")
    _whistle(db_session, hazard)
    event = db_session.scalar(select(HazardEvent).where(HazardEvent.action == "whistle"))
    assert event.detail["departments"][0]["name"] == "消防"
    from gridmap.labels import LABELS

    assert {"whistle", "report_for_duty", "duty_feedback", "duty_overdue", "recall"} <= set(LABELS["hazard_action"])
    assert set(LABELS["duty_state"]) == {"waiting", "reported", "fed_back"}


def test_a_department_user_starts_at_their_queue_and_finds_it_empty(client, db_session, world):
    token = f.department_token(db_session, "xiaofang", f.STREET)
    home = client.get("/", headers=f.auth(token))
    assert home.status_code == 302 and home.headers["Location"].endswith("/department")
    page = client.get("/department", headers=f.auth(token))
    assert page.status_code == 200 and "消防暂无交办事项" in page.get_data(as_text=True)
