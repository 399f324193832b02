"""Household information collection pages: the add/edit form, a household's history and the
approvals page render for their roles, stay inside the caller's area (404 outside), and show
names, phones, sensitive tags and risk levels only to those the API shows them to."""

from __future__ import annotations

import json
import re

import pytest

from gridmap.auth.scope import Scope
from gridmap.party import service as party
from tests import factories as f

SECRETS = ("张三丰", "13812341234", "社区矫正")


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    f.household(db_session, "A1", 119.882, 28.455, data["grids"][f.GRID_A], head_name="张三丰", phone="13812341234",
                tags=["社区矫正", "独居老人"], size=2, risk_level="low", address="中山街1号")
    f.household(db_session, "B1", 119.892, 28.455, data["grids"][f.GRID_B], head_name="王二", phone="13700000000")
    db_session.commit()
    data["member"] = party.create_member(db_session, Scope.everything(), {"name": "党员甲", "household_code": "A1"})["id"]
    return data


def _auth(db_session, role, scope=""):
    return f.auth(f.token_for(db_session, role, scope))


def _config(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="household-config">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_a_grid_worker_gets_the_form_with_their_grid_and_the_household_unmasked(client, db_session, world):
    worker = _auth(db_session, "grid_worker", f.GRID_A)
    new = client.get(f"/households/new?grid={f.GRID_A}", headers=worker)
    assert new.status_code == 200
    config = _config(new.get_data(as_text=True))
    assert [g["properties"]["code"] for g in config["grids"]["features"]] == [f.GRID_A]  # their grid only
    assert config["focus_grid"] == f.GRID_A and config["map_crs"] == "wgs84" and config["household"] is None
    html = new.get_data(as_text=True)
    assert "vendor/leaflet/1.9.4/dist/leaflet.js" in html and "unpkg" not in html and "cdn" not in html.lower()
    edit = client.get("/households/A1/edit", headers=worker)
    html = edit.get_data(as_text=True)
    assert edit.status_code == 200 and 'value="张三丰"' in html and 'value="13812341234"' in html
    assert _config(html)["household"]["risk_level"] == "low" and "社区矫正" in html
    assert _config(html)["drawn"] == [119.882, 28.455]


def test_a_supervisor_sees_the_form_masked_as_the_api_shows_it(client, db_session, world):
    supervisor = _auth(db_session, "supervisor", f.STREET)
    html = client.get("/households/A1/edit", headers=supervisor).get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in html, secret
    config = _config(html)
    assert config["household"]["masked"] is True and config["household"]["risk_level"] is None
    assert "重点人员" in config["household"]["tags"]
    assert 'data-masked="1"' in html and 'value="__hidden" selected' in html  # left empty: sent only when typed
    unmasked = client.get("/households/A1/history?unmask=1", headers=supervisor)
    assert unmasked.status_code == 200  # a supervisor may ask (audited), as the API allows


def test_household_pages_outside_the_callers_area_are_404(client, db_session, world):
    worker_b = _auth(db_session, "grid_worker", f.GRID_B)
    for headers in (worker_b, _auth(db_session, "supervisor", f.OTHER_STREET)):
        for path in ("/households/A1/edit", "/households/A1/history"):
            response = client.get(path, headers=headers)
            assert response.status_code == 404, path
            assert "张三丰" not in response.get_data(as_text=True)
    assert client.get("/households/B1/edit", headers=worker_b).status_code == 200
    other = client.get(f"/households/new?grid={f.GRID_A}", headers=worker_b)
    assert [g["properties"]["code"] for g in _config(other.get_data(as_text=True))["grids"]["features"]] == [f.GRID_B]


def test_history_lists_versions_and_compares_two_masked_for_a_supervisor(client, db_session, world):
    worker = _auth(db_session, "grid_worker", f.GRID_A)
    first = client.patch("/api/v1/households/A1", json={"version": 1, "phone": "13900002222", "device": "phone-7"},
                         headers=worker)
    assert first.status_code == 200
    client.patch("/api/v1/households/A1", json={"version": 2, "size": 4}, headers=worker)
    html = client.get("/households/A1/history", headers=worker).get_data(as_text=True)
    assert "第 3 版" in html and "phone-7" in html and "13812341234" in html and "13900002222" in html
    compared = client.get("/households/A1/history?from_version=1&to_version=3", headers=worker).get_data(as_text=True)
    box = re.search(r'<div id="compare">(.*?)</div>\s*</div>', compared, re.S).group(1)
    assert 'data-field="phone"' in box and 'data-field="size"' in box and "第 1 版 → 第 3 版" in box
    supervisor = client.get("/households/A1/history", headers=_auth(db_session, "supervisor", f.STREET))
    text = supervisor.get_data(as_text=True)
    assert supervisor.status_code == 200 and "phone-7" in text
    assert "13900002222" not in text and "139****2222" in text
    assert client.get("/households/A1/history?from_version=x", headers=worker).status_code == 400


def test_approvals_page_shows_pending_changes_of_the_area_only(client, db_session, world):
    worker = _auth(db_session, "grid_worker", f.GRID_A)
    answer = client.patch("/api/v1/households/A1", json={"version": 1, "risk_level": "high"}, headers=worker)
    assert answer.get_json()["pending"] == ["risk_level"]
    page = client.get("/households/approvals", headers=_auth(db_session, "supervisor", f.COMMUNITY))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-household="A1"' in html
    row = re.search(r'<tr data-field="risk_level">(.*?)</tr>', html, re.S).group(1)
    assert "低" in row and "高" in row  # before → after, as the approver must see them
    elsewhere = client.get("/households/approvals", headers=_auth(db_session, "supervisor", f.OTHER_STREET))
    assert 'data-household="A1"' not in elsewhere.get_data(as_text=True) and "没有待审核" in elsewhere.get_data(as_text=True)


def test_entry_points_link_to_the_forms_for_those_who_may_edit(client, db_session, world):
    worker = _auth(db_session, "grid_worker", f.GRID_A)
    sheet = client.get(f"/maps/grid/{f.GRID_A}", headers=worker).get_data(as_text=True)
    assert f'/households/new?grid={f.GRID_A}' in sheet and "/households/approvals" not in sheet
    handbook = client.get(f"/maps/grid/{f.GRID_A}/print", headers=worker).get_data(as_text=True)
    assert 'href="/households/A1/edit"' in handbook
    patrol = client.get("/patrol", headers=worker).get_data(as_text=True)
    assert f'/households/new?grid={f.GRID_A}' in patrol
    supervisor = client.get(f"/maps/grid/{f.GRID_A}", headers=_auth(db_session, "supervisor", f.STREET))
    assert f"/households/approvals?within={f.GRID_A}" in supervisor.get_data(as_text=True)
    member = f.token_for(db_session, "party_member", f.GRID_A, party_member_id=world["member"])
    handbook = client.get(f"/maps/grid/{f.GRID_A}/print", headers=f.auth(member)).get_data(as_text=True)
    assert "/households/" not in handbook  # a party member edits nothing
