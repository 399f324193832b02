"""A whistled item must not get stuck (#18): 吹哨 is refused with a clear 422 naming the departments
when a routed department has no active user whose area covers the item (nobody could 报到), and
the manager may 撤回 (recall) a whistled item while no department has 报到'd — back to the status it
was whistled from, its assignments gone, the history keeping who, when, why and from whom."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from gridmap.auth.scope import Scope
from gridmap.departments import service
from gridmap.departments.models import HazardAssignment
from gridmap.errors import Unprocessable
from gridmap.hazards import service as hazards
from tests import factories as f

EVERYTHING = Scope.everything()
COMMUNITY = Scope(prefix=f.COMMUNITY, role="supervisor")


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    f.token_for(db_session, "grid_worker", f.GRID_A, username="gw-a")
    return {**w, "community": f.token_for(db_session, "supervisor", f.COMMUNITY, username="sup-c")}


def _hazard(db_session, category="illegal_building", assign=False):
    hazard = hazards.report(db_session, EVERYTHING, category=category, severity="normal", description="违章搭建",
                            lon=119.886, lat=28.456, crs=None)["id"]
    hazards.act(db_session, EVERYTHING, hazard, "accept")
    if assign:
        hazards.act(db_session, EVERYTHING, hazard, "assign", assignee="gw-a")
    return hazard


def _status(db_session, hazard):
    return db_session.scalar(text("SELECT status FROM hazard WHERE id = :h"), {"h": hazard})


def _whistle(client, token, hazard, **body):
    return client.post(f"/api/v1/hazards/{hazard}/whistle", json={"note": "请报到", **body}, headers=f.auth(token))


def _recall(client, token, hazard, **body):
    return client.post(f"/api/v1/hazards/{hazard}/recall", json={"note": "派错了部门", **body}, headers=f.auth(token))


def test_a_whistle_nobody_can_report_for_is_refused_naming_the_departments(client, db_session, world):
    hazard = _hazard(db_session)  # 乱搭乱建: 城管 and 住建 (seeded city-wide)
    f.department_token(db_session, "chengguan", f.STREET, username="cg")
    f.department_token(db_session, "zhujian", f.OTHER_STREET, username="zj-elsewhere")  # not grid A's street
    f.department_token(db_session, "zhujian", f.STREET, username="zj-gone")
    db_session.execute(text("UPDATE app_user SET active = false WHERE username = 'zj-gone'"))  # deactivated
    refused = _whistle(client, world["community"], hazard)
    error = refused.get_json()["error"]
    assert (refused.status_code, error["code"]) == (422, "department_no_user"), error
    assert error["details"]["departments"] == ["zhujian"] and "住建" in error["message"] and "城管" not in error["message"]
    assert _status(db_session, hazard) == "accepted"
    assert db_session.scalar(select(func.count()).select_from(HazardAssignment)) == 0
    # a 住建 user of the district covers grid A: now both can 报到
    f.department_token(db_session, "zhujian", f.DISTRICT, username="zj")
    assert _whistle(client, world["community"], hazard).status_code == 200
    assert _status(db_session, hazard) == "whistled"


def test_the_item_page_says_why_a_whistle_was_refused(client, db_session, world):
    hazard = _hazard(db_session, category="fire")  # 消防 has no user at all
    supervisor = f.token_for(db_session, "supervisor", f.COMMUNITY, username="sup-page")
    page = client.get(f"/hazards/{hazard}", headers=f.auth(supervisor)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    response = client.post(f"/hazards/{hazard}/whistle", headers=f.auth(supervisor),
                           data={"note": "请报到", **({"csrf_token": token.group(1)} if token else {})})
    assert response.status_code == 422
    assert "消防在 331102001001001 没有可以报到的部门账号" in response.get_data(as_text=True)
    assert _status(db_session, hazard) == "accepted"


@pytest.mark.parametrize("assign, back_to", [(False, "accepted"), (True, "assigned")])
def test_recall_before_any_report_returns_the_item(client, db_session, world, assign, back_to):
    f.department_token(db_session, "chengguan", f.DISTRICT, username="cg")
    f.department_token(db_session, "zhujian", f.DISTRICT, username="zj")
    hazard = _hazard(db_session, assign=assign)
    version = _whistle(client, world["community"], hazard).get_json()["version"]
    detail = client.get(f"/api/v1/hazards/{hazard}", headers=f.auth(world["community"])).get_json()
    assert "recall" in detail["allowed_actions"]
    assert _recall(client, world["community"], hazard, version=version - 1).status_code == 409  # a stale page
    unexplained = _recall(client, world["community"], hazard, note="  ")
    assert unexplained.status_code == 400 and _status(db_session, hazard) == "whistled"
    response = _recall(client, world["community"], hazard, version=version)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == back_to and body["version"] == version + 1
    assert db_session.scalar(select(func.count()).select_from(HazardAssignment)) == 0
    event = body["events"][-1]
    assert (event["action"], event["action_name"], event["from_status"], event["to_status"], event["note"]) == (
        "recall", "撤回吹哨", "whistled", back_to, "派错了部门")
    assert [d["department"] for d in event["detail"]["departments"]] == ["chengguan", "zhujian"]
    assert event["actor"] == "supervisor"
    # nothing left for the departments; the item can be whistled again
    cg = f.department_token(db_session, "chengguan", f.STREET, username="cg-street")
    assert client.get("/api/v1/department/queue", headers=f.auth(cg)).get_json()["items"] == []
    assert _whistle(client, world["community"], hazard).status_code == 200


def test_no_recall_once_a_department_has_reported(client, db_session, world):
    f.department_token(db_session, "zhujian", f.DISTRICT, username="zj")
    cg = f.department_token(db_session, "chengguan", f.STREET, username="cg")
    hazard = _hazard(db_session)
    _whistle(client, world["community"], hazard)
    assignment = db_session.scalar(text("SELECT a.id FROM hazard_assignment a JOIN department d ON d.id = a.department_id"
                                        " WHERE d.code = 'chengguan'"))
    assert client.post(f"/api/v1/department/assignments/{assignment}/report", headers=f.auth(cg)).status_code == 200
    detail = client.get(f"/api/v1/hazards/{hazard}", headers=f.auth(world["community"])).get_json()
    assert "recall" not in detail["allowed_actions"]
    refused = _recall(client, world["community"], hazard)
    error = refused.get_json()["error"]
    assert (refused.status_code, error["code"]) == (409, "whistle_recall_reported") and "城管" in error["message"]
    assert _status(db_session, hazard) == "whistled"
    assert db_session.scalar(select(func.count()).select_from(HazardAssignment)) == 2


def test_who_may_recall(client, db_session, world):
    f.department_token(db_session, "chengguan", f.DISTRICT, username="cg")
    f.department_token(db_session, "zhujian", f.DISTRICT, username="zj")
    hazard = _hazard(db_session)
    not_whistled = _recall(client, world["community"], hazard)
    assert (not_whistled.status_code, not_whistled.get_json()["error"]["code"]) == (409, "hazard_action_not_allowed")
    _whistle(client, world["community"], hazard)
    worker = f.token_for(db_session, "grid_worker", f.GRID_A, username="gw-a2")
    assert _recall(client, worker, hazard).status_code == 403
    outsider = f.token_for(db_session, "supervisor", f.OTHER_STREET)
    assert (_recall(client, outsider, hazard).get_json()["error"]["code"]) == "hazard_not_found"
    department = f.department_token(db_session, "chengguan", f.STREET, username="cg2")
    assert _recall(client, department, hazard).status_code == 403
    with pytest.raises(Unprocessable) as elsewhere:  # the generic action route does not take it
        hazards.act(db_session, COMMUNITY, hazard, "recall", note="撤回")
    assert elsewhere.value.code == "hazard_action_elsewhere"
    assert _status(db_session, hazard) == "whistled"
    assert service.recall(db_session, COMMUNITY, hazard, note="撤回")["status"] == "accepted"


def test_the_item_page_offers_the_recall_button_until_a_department_reports(client, db_session, world):
    f.department_token(db_session, "zhujian", f.DISTRICT, username="zj")
    cg = f.department_token(db_session, "chengguan", f.STREET, username="cg")
    hazard = _hazard(db_session)
    supervisor = f.token_for(db_session, "supervisor", f.COMMUNITY, username="sup-page")
    _whistle(client, supervisor, hazard)
    page = client.get(f"/hazards/{hazard}", headers=f.auth(supervisor)).get_data(as_text=True)
    form = re.search(r'<form method="post" action="/hazards/\d+/recall"[^>]*data-action="recall">(.*?)</form>', page,
                     re.S)
    assert form and "撤回吹哨" in form.group(1) and 'name="note"' in form.group(1) and "required" in form.group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    version = re.search(r'name="version" value="(\d+)"', form.group(1)).group(1)
    posted = client.post(f"/hazards/{hazard}/recall", headers=f.auth(supervisor),
                         data={"note": "交办有误", "version": version, **({"csrf_token": csrf.group(1)} if csrf else {})})
    assert posted.status_code == 302 and _status(db_session, hazard) == "accepted"
    page = client.get(f"/hazards/{hazard}", headers=f.auth(supervisor)).get_data(as_text=True)
    assert "从 城管、住建 撤回" in page and "交办有误" in page
    _whistle(client, supervisor, hazard)
    assignment = db_session.scalar(text("SELECT a.id FROM hazard_assignment a JOIN department d ON d.id = a.department_id"
                                        " WHERE d.code = 'chengguan'"))
    client.post(f"/api/v1/department/assignments/{assignment}/report", headers=f.auth(cg))
    page = client.get(f"/hazards/{hazard}", headers=f.auth(supervisor)).get_data(as_text=True)
    assert 'class="hazard-action" data-action="recall"' not in page and 'data-action="report_for_duty"' in page
