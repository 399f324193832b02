"""Solved on the spot (就地解决) and 督办: a grid worker records a fix with photos before and
after, stored closed with ``resolution: on_the_spot`` and counted in the 平安报表's own column;
a supervisor samples and reopens it; a supervisor whose scope covers an item sends a note."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.hazards import service
from tests import factories as f

IN_A, IN_B = (119.885, 28.455), (119.895, 28.455)


@pytest.fixture
def world(db_session, monkeypatch):
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    f.lishui(db_session)
    return {
        "worker": f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-a"),
        "worker_b": f.token_for(db_session, "grid_worker", f.GRID_B, username="worker-b"),
        "community": f.token_for(db_session, "supervisor", f.COMMUNITY, username="sup-community"),
        "street": f.token_for(db_session, "supervisor", f.STREET, username="sup-street"),
        "district": f.token_for(db_session, "supervisor", f.DISTRICT, username="sup-district"),
        "other_street": f.token_for(db_session, "supervisor", f.OTHER_STREET, username="sup-other"),
        "admin": f.token_for(db_session, "admin"),
    }


def _fix(client, token, where=IN_A, before=(f.png(8),), after=(f.png(12),), **fields):
    data = {"category": "fire", "severity": "normal", "description": "楼道杂物已当场清理",
            "lon": str(where[0]), "lat": str(where[1]), **fields,
            "before": [(io.BytesIO(b), f"before-{i}.png") for i, b in enumerate(before)],
            "after": [(io.BytesIO(b), f"after-{i}.png") for i, b in enumerate(after)]}
    return client.post("/api/v1/hazards/on-the-spot", data=data, content_type="multipart/form-data",
                       headers=f.auth(token))


def _act(client, token, hazard_id, action, **extra):
    return client.post(f"/api/v1/hazards/{hazard_id}/actions", json={"action": action, **extra},
                       headers=f.auth(token))


def _closed_along_the_loop(client, db_session, world):
    hazard_id = service.report(db_session, Scope.everything(), category="fire", severity="normal", description="",
                               lon=IN_A[0], lat=IN_A[1], crs=None)["id"]
    for who, action, extra in (("community", "accept", {}), ("community", "assign", {"assignee": "worker-a"}),
                               ("worker", "start", {}), ("worker", "feedback", {}), ("community", "verify", {}),
                               ("community", "close", {})):
        assert _act(client, world[who], hazard_id, action, **extra).status_code == 200
    return hazard_id


def _count(db_session, table):
    return db_session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_a_fix_on_the_spot_is_one_closed_hazard_with_its_photos_before_and_after(client, db_session, world):
    response = _fix(client, world["worker"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["resolution"], body["grid"]["code"]) == ("closed", "on_the_spot", f.GRID_A)
    assert body["closed_at"] and body["resolved_at"] and body["assignee"]["username"] == "worker-a"
    assert [(p["n"], p["stage"]) for p in body["photos"]] == [(1, "before"), (2, "after")]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in body["events"]] == [
        ("on_the_spot", None, "closed")]
    assert body["events"][0]["detail"]["photos"] == {"before": 1, "after": 1}
    # The photos come back through the usual route, re-encoded PNGs.
    served = client.get(body["photos"][1]["url"], headers=f.auth(world["community"]))
    assert served.status_code == 200 and served.data.startswith(b"\x89PNG")
    # The field is in the list too, and the filter keeps only such fixes.
    service.report(db_session, Scope.everything(), category="fire", severity="normal", description="另一件",
                   lon=IN_A[0], lat=IN_A[1], crs=None)
    listed = client.get("/api/v1/hazards?status=closed,reported", headers=f.auth(world["community"])).get_json()
    assert sorted(ft["properties"]["resolution"] or "" for ft in listed["features"]) == ["", "on_the_spot"]
    only = client.get("/api/v1/hazards?resolution=on_the_spot", headers=f.auth(world["community"])).get_json()
    assert [ft["id"] for ft in only["features"]] == [body["id"]]


@pytest.mark.parametrize("missing", ["before", "after"])
def test_a_fix_without_a_photo_of_each_stage_is_refused_and_writes_nothing(client, db_session, world, missing):
    response = _fix(client, world["worker"], **{missing: ()})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "hazard_onspot_photo_required" and error["details"]["field"] == missing
    assert _count(db_session, "hazard") == 0 and _count(db_session, "hazard_photo") == 0


def test_the_same_photo_before_and_after_is_refused(client, db_session, world):
    response = _fix(client, world["worker"], before=(f.png(8),), after=(f.png(8),))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "hazard_onspot_photo_repeated"
    assert _count(db_session, "hazard") == 0


def test_a_bad_photo_refuses_the_whole_fix(client, db_session, world):
    response = _fix(client, world["worker"], after=(b"<svg onload=x>",))
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "hazard_photo_type"
    assert _count(db_session, "hazard") == 0 and _count(db_session, "hazard_event") == 0


@pytest.mark.parametrize("who", ["community", "admin"])
def test_only_a_grid_worker_records_a_fix_on_the_spot(client, db_session, world, who):
    response = _fix(client, world[who])
    assert response.status_code == 403
    assert _count(db_session, "hazard") == 0


def test_a_fix_outside_the_workers_grid_is_refused(client, db_session, world):
    response = _fix(client, world["worker_b"], where=IN_A)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "hazard_outside_scope"
    assert _count(db_session, "hazard") == 0 and _count(db_session, "hazard_photo") == 0


def test_bad_form_fields_are_a_400(client, db_session, world):
    assert _fix(client, world["worker"], lon="东经").status_code == 400
    assert _fix(client, world["worker"], description="a\x00b").status_code == 400
    assert _count(db_session, "hazard") == 0


def test_fixes_on_the_spot_have_their_column_in_the_safety_report(client, db_session, world):
    assert _fix(client, world["worker"]).status_code == 201
    assert _fix(client, world["worker"], before=(f.png(9),), after=(f.png(13),)).status_code == 201
    _closed_along_the_loop(client, db_session, world)
    body = client.get(f"/api/v1/reports/safety?within={f.STREET}", headers=f.auth(world["street"])).get_json()
    rows = {i["code"]: i for i in body["items"]}
    assert (rows[f.GRID_A]["found"], rows[f.GRID_A]["closed"], rows[f.GRID_A]["on_the_spot"]) == (3, 3, 2)
    assert rows[f.COMMUNITY]["on_the_spot"] == 2 and rows[f.STREET]["on_the_spot"] == 2
    assert rows[f.GRID_B]["on_the_spot"] == 0
    assert rows[f.GRID_A]["on_time_rate"] == 1.0
    csv_text = client.get(f"/api/v1/reports/safety?within={f.STREET}&format=csv",
                          headers=f.auth(world["street"])).get_data(as_text=True)
    assert "就地解决数" in csv_text.splitlines()[0]


def test_a_supervisor_samples_and_reopens_a_fix_which_goes_back_into_the_loop(client, db_session, world):
    ids = [_fix(client, world["worker"], before=(f.png(8 + i),), after=(f.png(20 + i),)).get_json()["id"]
           for i in range(3)]
    sample = client.get("/api/v1/hazards?resolution=on_the_spot&sample=2", headers=f.auth(world["community"]))
    assert sample.status_code == 200
    drawn = sample.get_json()
    assert drawn["total"] == 3 and len(drawn["features"]) == 2 and {ft["id"] for ft in drawn["features"]} <= set(ids)
    outsider = client.get("/api/v1/hazards?resolution=on_the_spot&sample=5", headers=f.auth(world["other_street"]))
    assert outsider.get_json()["total"] == 0 and outsider.get_json()["features"] == []
    assert client.get("/api/v1/hazards?resolution=loop", headers=f.auth(world["community"])).status_code == 400
    assert client.get("/api/v1/hazards?sample=0", headers=f.auth(world["community"])).status_code == 400
    hazard_id = ids[0]
    # The worker who fixed it cannot reopen it; a note is required; another street does not see it.
    assert _act(client, world["worker"], hazard_id, "reopen", note="再看看").status_code == 403
    assert _act(client, world["community"], hazard_id, "reopen").status_code == 422
    assert _act(client, world["other_street"], hazard_id, "reopen", note="x").status_code == 404
    reopened = _act(client, world["community"], hazard_id, "reopen", note="抽查发现杂物仍在")
    assert reopened.status_code == 200, reopened.get_json()
    body = reopened.get_json()
    assert (body["status"], body["resolution"], body["closed_at"], body["assignee"]) == ("reported", None, None, None)
    assert body["events"][-1]["action"] == "reopen" and body["events"][-1]["note"] == "抽查发现杂物仍在"
    assert body["events"][-1]["detail"] == {"resolution": "on_the_spot"}
    assert body["allowed_actions"] == ["accept", "reject", "escalate", "supervise"]
    # In the loop again: accepted like any report, and no longer counted as fixed on the spot.
    assert _act(client, world["community"], hazard_id, "accept").status_code == 200
    report = client.get(f"/api/v1/reports/safety?within={f.COMMUNITY}", headers=f.auth(world["community"])).get_json()
    assert {i["code"]: i for i in report["items"]}[f.GRID_A]["on_the_spot"] == 2


def test_a_hazard_closed_along_the_loop_cannot_be_reopened(client, db_session, world):
    hazard_id = _closed_along_the_loop(client, db_session, world)
    refused = _act(client, world["community"], hazard_id, "reopen", note="再看看")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "hazard_action_not_allowed"


def test_a_supervise_note_is_in_the_history_and_changes_no_status(client, db_session, world):
    hazard_id = service.report(db_session, Scope.everything(), category="fire", severity="normal", description="",
                               lon=IN_A[0], lat=IN_A[1], crs=None)["id"]
    assert _act(client, world["community"], hazard_id, "accept").status_code == 200
    assert _act(client, world["community"], hazard_id, "assign", assignee="worker-a").status_code == 200
    before = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(world["district"])).get_json()
    assert "supervise" in before["allowed_actions"]
    noted = _act(client, world["district"], hazard_id, "supervise", note="请本周内处置到位")
    assert noted.status_code == 200, noted.get_json()
    after = noted.get_json()
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    event = after["events"][-1]
    assert (event["action"], event["from_status"], event["to_status"], event["note"]) == (
        "supervise", "assigned", "assigned", "请本周内处置到位")
    assert event["actor"] == "supervisor" and event["at"]
    # Whose item it is, for the inbox: the event row carries the assignee at the time.
    worker_id = db_session.execute(text("SELECT id FROM app_user WHERE username = 'worker-a'")).scalar()
    assert event["detail"] == {"assignee_id": worker_id}
    # The version a handler read is still good: a note does not get in the way of the work.
    assert _act(client, world["worker"], hazard_id, "start", version=before["version"]).status_code == 200
    # The page shows it in the timeline.
    page = client.get(f"/hazards/{hazard_id}", headers=f.auth(world["street"])).get_data(as_text=True)
    assert 'data-action="supervise"' in page and "请本周内处置到位" in page


def test_supervise_is_refused_for_the_worker_without_a_note_out_of_scope_and_when_done(client, db_session, world):
    hazard_id = service.report(db_session, Scope.everything(), category="fire", severity="normal", description="",
                               lon=IN_A[0], lat=IN_A[1], crs=None)["id"]
    worker = _act(client, world["worker"], hazard_id, "supervise", note="催一下")
    assert worker.status_code == 403 and worker.get_json()["error"]["code"] == "hazard_action_forbidden"
    assert _act(client, world["other_street"], hazard_id, "supervise", note="催一下").status_code == 404
    assert _act(client, world["street"], hazard_id, "supervise").get_json()["error"]["code"] == "hazard_note_required"
    assert _act(client, world["street"], hazard_id, "supervise", note="请尽快受理").status_code == 200
    assert _act(client, world["community"], hazard_id, "reject", note="重复").status_code == 200
    done = _act(client, world["street"], hazard_id, "supervise", note="已结束")
    assert done.status_code == 409
    notes = db_session.execute(text("SELECT count(*) FROM hazard_event WHERE action = 'supervise'")).scalar()
    assert notes == 1


def test_photos_of_a_fix_lose_their_exif_like_any_hazard_photo(client, world):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (28.0, 27.0, 18.0), 3: "E", 4: (119.0, 53.0, 6.0)})
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG", exif=exif.tobytes())
    assert b"PhoneMaker" in out.getvalue()
    body = _fix(client, world["worker"], before=(out.getvalue(),)).get_json()
    served = client.get(body["photos"][0]["url"], headers=f.auth(world["worker"]))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"Exif" not in served.data and b"PhoneMaker" not in served.data
    assert not Image.open(io.BytesIO(served.data)).getexif()
