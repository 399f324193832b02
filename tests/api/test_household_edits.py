"""Household information collection: create, edit with version (409), history, sensitive edits
pending until approved or rejected, re-assignment of a moved point, party contacts following,
scope and masking."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from gridmap.auth.models import AuditLog
from gridmap.auth.scope import Scope
from gridmap.party import service as party
from tests import factories as f

URL = "/api/v1/households"


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    f.household(db_session, "A1", 119.882, 28.455, data["grids"][f.GRID_A], head_name="张三丰", phone="13812341234",
                tags=["社区矫正", "独居老人"], size=2, risk_level="low")
    f.household(db_session, "A2", 119.884, 28.455, data["grids"][f.GRID_A], head_name="李四", phone="13900001111")
    db_session.commit()
    member = party.create_member(db_session, Scope.everything(), {"name": "党员甲", "household_code": "A2"})["id"]
    party.set_contact(db_session, Scope.everything(), member, "A1", pinned=False)
    return {"member": member}


def _token(db_session, role, scope=""):
    return f.auth(f.token_for(db_session, role, scope))


def _version(client, headers, code="A1"):
    return client.get(f"{URL}/{code}/history", headers=headers).get_json()["version"]


def test_a_grid_worker_adds_a_household_in_their_grid(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    body = {"code": "A9", "address": "中山街9号", "head_name": "王五", "phone": "13700000009", "size": 3,
            "tags": ["独居老人"], "lon": 119.886, "lat": 28.457, "device": "phone-17"}
    answer = client.post(URL, json=body, headers=worker)
    assert answer.status_code == 201, answer.get_json()
    created = answer.get_json()
    assert (created["grid"], created["version"], created["status"], created["head_name"]) == (f.GRID_A, 1, "active",
                                                                                             "王五")
    history = client.get(f"{URL}/A9/history", headers=worker).get_json()
    assert [(i["kind"], i["version"], i["device"]) for i in history["items"]] == [("create", 1, "phone-17")]
    assert history["items"][0]["fields"]["address"] == {"before": None, "after": "中山街9号"}
    assert client.post(URL, json=body, headers=worker).status_code == 409  # the code is taken
    outside = client.post(URL, json={**body, "code": "A10", "lon": 119.895}, headers=worker)  # grid B's land
    assert (outside.status_code, outside.get_json()["error"]["code"]) == (422, "household_outside_scope")
    assert db_session.scalar(text("SELECT count(*) FROM household WHERE code = 'A10'")) == 0


def test_a_gcj02_position_is_stored_as_wgs84(client, db_session, world):
    admin = _token(db_session, "admin")
    answer = client.post(URL, json={"code": "A8", "lon": 119.8868, "lat": 28.4524, "crs": "gcj02"}, headers=admin)
    created = answer.get_json()
    assert abs(created["lon"] - 119.8868) > 0.003 and created["grid"] == f.GRID_A  # shifted ~500 m back


def test_edit_bumps_the_version_and_a_stale_version_is_409_with_the_current_values(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    first = client.patch(f"{URL}/A2", json={"version": 1, "phone": "13900002222", "device": "phone-1"}, headers=worker)
    assert first.status_code == 200 and first.get_json()["version"] == 2
    second = client.patch(f"{URL}/A2", json={"version": 1, "address": "别处", "device": "phone-2"}, headers=worker)
    assert second.status_code == 409
    error = second.get_json()["error"]
    assert error["code"] == "household_version_stale" and error["details"]["current_version"] == 2
    assert error["details"]["household"]["phone"] == "13900002222"
    assert db_session.scalar(text("SELECT address FROM household WHERE code = 'A2'")) != "别处"
    items = client.get(f"{URL}/A2/history", headers=worker).get_json()["items"]
    assert items[0]["fields"] == {"phone": {"before": "13900001111", "after": "13900002222"}}
    assert items[0]["device"] == "phone-1" and items[0]["author"] == f"grid_worker-{f.GRID_A}"


def test_history_compares_two_versions(client, db_session, world):
    admin = _token(db_session, "admin")
    client.patch(f"{URL}/A2", json={"version": 1, "size": 3}, headers=admin)
    client.patch(f"{URL}/A2", json={"version": 2, "size": 4, "address": "新地址"}, headers=admin)
    answer = client.get(f"{URL}/A2/history?from_version=1&to_version=3", headers=admin).get_json()
    assert answer["compare"]["fields"]["size"] == {"before": None, "after": 4}
    assert answer["compare"]["fields"]["address"]["after"] == "新地址"


def test_a_grid_workers_sensitive_edit_waits_for_approval(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    answer = client.patch(f"{URL}/A1", json={"version": 1, "risk_level": "high", "tags": ["独居老人"],
                                            "size": 3}, headers=worker).get_json()
    assert answer["pending"] == ["risk_level", "sensitive_tags"]
    assert answer["risk_level"] == "low" and "社区矫正" in answer["tags"] and answer["size"] == 3
    supervisor = _token(db_session, "supervisor", f.COMMUNITY)
    waiting = client.get("/api/v1/household-changes", headers=supervisor).get_json()
    assert waiting["total"] == 1
    change = waiting["items"][0]
    assert change["after"] == {"risk_level": "high", "sensitive_tags": []}
    other = _token(db_session, "supervisor", f.OTHER_STREET)
    assert client.get("/api/v1/household-changes", headers=other).get_json()["total"] == 0
    refused = client.post(f"{URL}/A1/changes/{change['id']}/approve", json={}, headers=other)
    assert refused.status_code == 404
    approved = client.post(f"{URL}/A1/changes/{change['id']}/approve", json={"note": "核实"}, headers=supervisor)
    assert approved.status_code == 200
    row = db_session.execute(text("SELECT risk_level, tags, version FROM household WHERE code = 'A1'")).one()
    assert (row.risk_level, row.tags, row.version) == ("high", ["独居老人"], 3)
    again = client.post(f"{URL}/A1/changes/{change['id']}/reject", json={}, headers=supervisor)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "household_change_decided")


@pytest.mark.parametrize("tag", [
    "吸毐人员", "社矫人员", "严重精神障碍患者", "刑释人员", "重奌精神障碍", "社区丶矫正", "吸毒𠆢员",  # a break-in's
    "爱跳广场舞"])                                                                                    # or anything new
def test_a_grid_workers_new_tag_outside_the_everyday_ones_waits_for_approval(client, db_session, world, tag):
    """No list of the sensitive tags' variants and synonyms is complete (a break-in found a dozen
    past the spelling rules): a grid worker's tag that is not an everyday one waits for review, is
    hidden from masked readers meanwhile, and is stored once a supervisor approves it."""
    worker = _token(db_session, "grid_worker", f.GRID_A)
    answer = client.patch(f"{URL}/A2", json={"version": 1, "tags": ["出租房", tag]}, headers=worker).get_json()
    assert answer["pending"] == ["new_tags"] and answer["tags"] == ["出租房"], answer
    supervisor = _token(db_session, "supervisor", f.COMMUNITY)
    history = client.get(f"{URL}/A2/history", headers=supervisor).get_json()["items"]
    assert tag not in str(history)  # masked: the proposed tag is not shown
    assert [(i["status"], i["fields"]) for i in history if i["status"] == "pending"] == [
        ("pending", {"new_tags": {"before": None, "after": None}})]  # the pending change is listed, masked
    change = client.get("/api/v1/household-changes", headers=supervisor).get_json()["items"][0]
    assert change["after"] == {"new_tags": [tag]}
    approved = client.post(f"{URL}/A2/changes/{change['id']}/approve", json={}, headers=supervisor)
    assert approved.status_code == 200
    assert db_session.scalar(text("SELECT tags FROM household WHERE code = 'A2'")) == sorted(["出租房", tag])
    # kept in later edits without review; removed freely
    again = client.patch(f"{URL}/A2", json={"version": 3, "size": 2, "tags": ["出租房", tag]}, headers=worker)
    assert again.get_json()["pending"] == []
    gone = client.patch(f"{URL}/A2", json={"version": 4, "tags": ["出租房"]}, headers=worker).get_json()
    assert gone["pending"] == [] and gone["tags"] == ["出租房"]


def test_a_rejected_change_changes_nothing(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    client.patch(f"{URL}/A1", json={"version": 1, "risk_level": "high"}, headers=worker)
    admin = _token(db_session, "admin")
    change = client.get("/api/v1/household-changes", headers=admin).get_json()["items"][0]
    assert client.post(f"{URL}/A1/changes/{change['id']}/reject", json={"note": "不实"}, headers=admin).status_code == 200
    assert db_session.scalar(text("SELECT risk_level FROM household WHERE code = 'A1'")) == "low"
    statuses = [i["status"] for i in client.get(f"{URL}/A1/history", headers=admin).get_json()["items"]]
    assert statuses == ["rejected"]


def test_a_supervisor_edits_sensitive_fields_at_once_and_keeps_hidden_tags(client, db_session, world):
    supervisor = _token(db_session, "supervisor", f.STREET)
    # masked, 社区矫正 shows as 重点人员: sending it back keeps the hidden tag
    answer = client.patch(f"{URL}/A1", json={"version": 1, "tags": ["重点人员", "独居老人", "低保户"],
                                            "risk_level": "medium"}, headers=supervisor).get_json()
    assert answer["pending"] == []
    row = db_session.execute(text("SELECT risk_level, tags FROM household WHERE code = 'A1'")).one()
    assert row.risk_level == "medium" and sorted(row.tags) == ["低保户", "独居老人", "社区矫正"]


def test_a_moved_point_is_reassigned_and_leaves_its_party_contact(client, db_session, world):
    supervisor = _token(db_session, "supervisor", f.COMMUNITY)
    answer = client.patch(f"{URL}/A1", json={"version": 1, "lon": 119.895, "lat": 28.455}, headers=supervisor)
    assert answer.get_json()["grid"] == f.GRID_B
    assert db_session.scalar(text("SELECT count(*) FROM party_contact")) == 0
    worker_a = _token(db_session, "grid_worker", f.GRID_A)
    assert client.get(f"{URL}/A1/history", headers=worker_a).status_code == 404  # no longer theirs
    worker_b = _token(db_session, "grid_worker", f.GRID_B)
    fields = client.get(f"{URL}/A1/history", headers=worker_b).get_json()["items"][0]["fields"]
    assert fields["grid"] == {"before": f.GRID_A, "after": f.GRID_B}


def test_a_household_moved_out_leaves_its_grid_and_contacts_and_is_never_reassigned(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    supervisor = _token(db_session, "supervisor", f.COMMUNITY)
    answer = client.patch(f"{URL}/A1", json={"version": 1, "status": "moved_out"}, headers=supervisor).get_json()
    assert (answer["status"], answer["grid"]) == ("moved_out", None)
    assert db_session.scalar(text("SELECT count(*) FROM party_contact")) == 0
    admin = _token(db_session, "admin")
    assert client.post("/api/v1/assign", headers=admin).status_code == 200
    assert db_session.scalar(text("SELECT grid_id FROM household WHERE code = 'A1'")) is None
    listed = client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=worker).get_json()
    assert [i["code"] for i in listed["items"]] == ["A2"]
    back = client.patch(f"{URL}/A1", json={"version": 2, "status": "active"}, headers=worker).get_json()
    assert back["grid"] == f.GRID_A  # the worker still reaches it by the grid it left
    merged = client.patch(f"{URL}/A1", json={"version": 3, "status": "merged", "merged_into": "A2"}, headers=supervisor)
    assert merged.get_json()["merged_into"] == "A2"
    bad = client.patch(f"{URL}/A2", json={"version": 1, "status": "merged", "merged_into": "A2"}, headers=worker)
    assert (bad.status_code, bad.get_json()["error"]["code"]) == (422, "merged_into_invalid")


def test_scope_a_worker_of_another_grid_gets_404_and_a_party_member_403(client, db_session, world):
    worker_b = _token(db_session, "grid_worker", f.GRID_B)
    answer = client.patch(f"{URL}/A1", json={"version": 1, "address": "x"}, headers=worker_b)
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (404, "household_not_found")
    member = f.auth(f.token_for(db_session, "party_member", f.GRID_A, party_member_id=world["member"]))
    assert client.patch(f"{URL}/A1", json={"version": 1, "address": "x"}, headers=member).status_code == 403
    assert client.post(URL, json={"code": "A7", "lon": 119.886, "lat": 28.457}, headers=member).status_code == 403
    assert db_session.scalar(text("SELECT version FROM household WHERE code = 'A1'")) == 1


def test_history_is_masked_for_a_supervisor_and_unmasked_reads_are_audited(client, db_session, world):
    admin = _token(db_session, "admin")
    client.patch(f"{URL}/A1", json={"version": 1, "head_name": "张无忌", "phone": "13811112222",
                                    "tags": ["刑满释放"], "risk_level": "high"}, headers=admin)
    supervisor = _token(db_session, "supervisor", f.STREET)
    masked = client.get(f"{URL}/A1/history", headers=supervisor).get_json()
    fields = masked["items"][0]["fields"]
    assert fields["head_name"] == {"before": "张**", "after": "张**"}
    assert fields["phone"]["after"] == "138****2222"
    assert fields["risk_level"] == {"before": None, "after": None}
    assert fields["tags"] == {"before": ["独居老人", "重点人员"], "after": ["重点人员"]}
    raw = str(masked)
    assert "刑满释放" not in raw and "社区矫正" not in raw and "张无忌" not in raw and "high" not in raw
    audits = select(func.count()).select_from(AuditLog).where(AuditLog.object_type == "household_history")
    assert db_session.scalar(audits) == 0
    unmasked = client.get(f"{URL}/A1/history?unmask=true", headers=supervisor).get_json()
    assert unmasked["items"][0]["fields"]["head_name"]["after"] == "张无忌"
    assert db_session.scalar(audits) == 1
    planner = _token(db_session, "planner", f.STREET)
    assert client.get(f"{URL}/A1/history", headers=planner).status_code == 403


def test_bad_input_is_a_clear_4xx_and_changes_nothing(client, db_session, world):
    admin = _token(db_session, "admin")
    for body in ({"version": 1, "address": None}, {"version": 1, "lon": 119.88}, {"address": "x"},
                 {"version": 1, "size": 0}, {"version": 1, "risk_level": "extreme"}):
        assert client.patch(f"{URL}/A1", json=body, headers=admin).status_code == 400, body
    assert client.post(URL, json={"code": "bad code", "lon": 119.886, "lat": 28.457}, headers=admin).status_code == 400
    assert db_session.scalar(text("SELECT count(*) FROM household_change")) == 0


def test_a_grid_worker_may_not_take_a_watched_household_off_the_grid(client, db_session, world):
    """A1 has 社区矫正 and a risk level: moving it out or merging it is the community's decision."""
    worker = _token(db_session, "grid_worker", f.GRID_A)
    for body in ({"status": "moved_out"}, {"status": "merged", "merged_into": "A2"}):
        refused = client.patch(f"{URL}/A1", json={"version": 1, **body}, headers=worker)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "household_status_needs_supervisor")
    assert db_session.scalar(text("SELECT status || version FROM household WHERE code = 'A1'")) == "active1"
    plain = client.patch(f"{URL}/A2", json={"version": 1, "status": "moved_out"}, headers=worker)
    assert plain.status_code == 200  # a household nobody watches the worker may mark moved out


def test_a_moved_out_point_stays_in_the_callers_area_and_refusals_name_no_grid(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    assert client.patch(f"{URL}/A2", json={"version": 1, "status": "moved_out"}, headers=worker).status_code == 200
    moved = client.patch(f"{URL}/A2", json={"version": 2, "lon": 119.895, "lat": 28.455}, headers=worker)
    assert (moved.status_code, moved.get_json()["error"]["code"]) == (422, "household_outside_scope")
    assert f.GRID_B not in moved.get_data(as_text=True)
    created = client.post(URL, json={"code": "A7", "lon": 119.895, "lat": 28.455}, headers=worker)
    assert created.status_code == 422 and f.GRID_B not in created.get_data(as_text=True)


@pytest.mark.parametrize("tag", ["社区矫正 ", " 社区矫正", "社区矫正\u200b", "社区\u200d矫正", "\ufeff社区矫正",
                                 "社区矫正\u3000", "社区矫正\t", "社區矯正", "ｓ社区矫正"[1:],
                                 # a variation selector or a combining mark shows nothing; half traditional
                                 "社区矫正\ufe00", "社区矫正\U000e0100", "社区矫\u0301正", "社区矯正", "社區矫正",
                                 "戒毒康複", "吸毒人員", "重點精神障碍",
                                 # letters and symbols that print as nothing; variant forms; more words around
                                 "社区矫正\u3164", "社区矫正\u115f", "社区矫正\uffa0", "社区矫正\u2800",
                                 "社区矫正\ufffc", "刑満釈放", "吸毒人貟", "戒毒康覆", "社-区-矫-正", "社区矫正人员"])
def test_look_alike_sensitive_tags_are_the_tag_and_wait_for_approval(client, db_session, world, tag):
    """A tag that reads as a sensitive one is that tag: it waits for the community's review and is
    masked like it (SECURITY.md; two of these were stored as plain tags, unreviewed and unmasked)."""
    worker = _token(db_session, "grid_worker", f.GRID_A)
    answer = client.patch(f"{URL}/A2", json={"version": 1, "tags": [tag]}, headers=worker)
    assert answer.status_code == 200 and answer.get_json()["pending"] == ["sensitive_tags"], (tag, answer.get_json())
    assert db_session.scalar(text("SELECT tags FROM household WHERE code = 'A2'")) in ([], None)


def test_a_tag_is_at_most_32_characters_as_stored(client, db_session, world):
    """NFKC makes ㍿ four characters: 32 of them were stored as a tag of 128."""
    admin = _token(db_session, "admin")
    long = client.patch(f"{URL}/A2", json={"version": 1, "tags": ["\u337f" * 9]}, headers=admin)
    assert long.status_code == 400 and "32" in long.get_data(as_text=True)
    fits = client.patch(f"{URL}/A2", json={"version": 1, "tags": ["\u337f" * 8]}, headers=admin)
    assert fits.status_code == 200 and fits.get_json()["tags"] == ["株式会社" * 8]
