"""What the phone's offline outbox re-sends is stored once: a hazard report, its photos, a household
added or edited, each with the client id the phone gave it. A replay answers with what was stored;
a new id is a new row; the id re-used with another request, or by another user, is a 409 that
shows nothing of the stored item; an id that is not a UUID is a 400."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import text

from tests import factories as f

HAZARD = {"category": "fire", "severity": "normal", "description": "楼道堆物", "lon": 119.885, "lat": 28.455}


def _jpeg(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    f.household(db_session, "A1", 119.882, 28.455, data["grids"][f.GRID_A], head_name="张三", phone="13812341234")
    db_session.commit()
    return {"worker": f.auth(f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-a")),
            "colleague": f.auth(f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-b")),
            "street": f.auth(f.token_for(db_session, "supervisor", f.STREET))}


def _count(db_session, sql, **params):
    return db_session.scalar(text(sql), params)


def test_a_replayed_hazard_report_is_stored_once_and_answered_the_same(client, db_session, world):
    client_id = str(uuid.uuid4())
    first = client.post("/api/v1/hazards", json={**HAZARD, "client_id": client_id}, headers=world["worker"])
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/hazards", json={**HAZARD, "client_id": client_id}, headers=world["worker"])
    assert again.status_code == 200, again.get_json()
    a, b = first.get_json(), again.get_json()
    assert (a.pop("replayed"), b.pop("replayed")) == (False, True)
    assert a == b
    assert _count(db_session, "SELECT count(*) FROM hazard WHERE client_id = :c", c=client_id) == 1
    other = client.post("/api/v1/hazards", json={**HAZARD, "client_id": str(uuid.uuid4())}, headers=world["worker"])
    assert other.status_code == 201 and other.get_json()["id"] != a["id"]
    plain = client.post("/api/v1/hazards", json=HAZARD, headers=world["worker"])  # no client id: as before
    assert plain.status_code == 201
    assert _count(db_session, "SELECT count(*) FROM hazard") == 3


def test_a_hazard_client_id_reused_or_someone_elses_is_refused_without_data(client, db_session, world):
    client_id = str(uuid.uuid4())
    assert client.post("/api/v1/hazards", json={**HAZARD, "client_id": client_id},
                       headers=world["worker"]).status_code == 201
    changed = client.post("/api/v1/hazards", json={**HAZARD, "description": "另一件事", "client_id": client_id},
                          headers=world["worker"])
    stolen = client.post("/api/v1/hazards", json={**HAZARD, "client_id": client_id}, headers=world["colleague"])
    for answer in (changed, stolen):
        body = answer.get_json()
        assert (answer.status_code, body["error"]["code"]) == (409, "client_id_taken"), body
        assert "HZ-" not in answer.get_data(as_text=True) and set(body) == {"error"}
    bad = client.post("/api/v1/hazards", json={**HAZARD, "client_id": "not-a-uuid"}, headers=world["worker"])
    assert bad.status_code == 400 and "client_id" in bad.get_data(as_text=True)
    assert _count(db_session, "SELECT count(*) FROM hazard") == 1


def _photo(client, headers, hazard_id, content, client_id):
    data = {"file": [(io.BytesIO(content), "p.jpg")], "client_id": client_id}
    return client.post(f"/api/v1/hazards/{hazard_id}/photos", data=data, content_type="multipart/form-data",
                       headers=headers)


def test_photos_resume_one_request_each_stored_once_per_client_id(client, db_session, world):
    hazard = client.post("/api/v1/hazards", json={**HAZARD, "client_id": str(uuid.uuid4())},
                         headers=world["worker"]).get_json()
    red, blue = _jpeg(), _jpeg((20, 30, 200))
    red_id, blue_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = _photo(client, world["worker"], hazard["id"], red, red_id)
    assert first.status_code == 201 and first.get_json()["items"][0]["duplicate"] is False
    # the connection dropped after the first photo: the sync resumes with the second, re-sending the first
    again = _photo(client, world["worker"], hazard["id"], red, red_id)
    assert again.status_code == 201
    assert again.get_json()["items"][0]["duplicate"] is True
    assert again.get_json()["items"][0]["n"] == first.get_json()["items"][0]["n"]
    assert _photo(client, world["worker"], hazard["id"], blue, blue_id).status_code == 201
    assert _count(db_session, "SELECT count(*) FROM hazard_photo WHERE hazard_id = :h", h=hazard["id"]) == 2
    swapped = _photo(client, world["worker"], hazard["id"], blue, red_id)  # the id with other bytes
    stolen = _photo(client, world["street"], hazard["id"], red, red_id)    # someone else's id
    for answer in (swapped, stolen):
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "client_id_taken")
        assert "sha256" not in answer.get_data(as_text=True)
    bad = _photo(client, world["worker"], hazard["id"], red, "nope")
    assert (bad.status_code, bad.get_json()["error"]["code"]) == (400, "client_id_invalid")
    two = {"file": [(io.BytesIO(red), "a.jpg"), (io.BytesIO(blue), "b.jpg")], "client_id": str(uuid.uuid4())}
    refused = client.post(f"/api/v1/hazards/{hazard['id']}/photos", data=two, content_type="multipart/form-data",
                          headers=world["worker"])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (422, "hazard_photo_client_id_one")
    assert _count(db_session, "SELECT count(*) FROM hazard_photo WHERE hazard_id = :h", h=hazard["id"]) == 2


def test_a_replayed_household_edit_answers_with_the_stored_outcome_not_a_409(client, db_session, world):
    client_id = str(uuid.uuid4())
    edit = {"version": 1, "address": "中山街1号之一", "client_id": client_id}
    first = client.patch("/api/v1/households/A1", json=edit, headers=world["worker"])
    assert first.status_code == 200, first.get_json()
    again = client.patch("/api/v1/households/A1", json=edit, headers=world["worker"])
    assert again.status_code == 200, again.get_json()  # without the client id this is a stale 409
    a, b = first.get_json(), again.get_json()
    assert (a.pop("replayed"), b.pop("replayed")) == (False, True)
    assert a == b and a["version"] == 2
    assert _count(db_session, "SELECT count(*) FROM household_change c JOIN household h ON h.id = c.household_id"
                              " WHERE h.code = 'A1'") == 1
    stale = client.patch("/api/v1/households/A1", json={**edit, "client_id": str(uuid.uuid4())},
                         headers=world["worker"])
    assert (stale.status_code, stale.get_json()["error"]["code"]) == (409, "household_version_stale")
    newer = client.patch("/api/v1/households/A1", json={**edit, "version": 2, "address": "中山街1号之二",
                                                         "client_id": str(uuid.uuid4())}, headers=world["worker"])
    assert newer.status_code == 200 and newer.get_json()["version"] == 3
    changed = client.patch("/api/v1/households/A1", json={**edit, "address": "别处"}, headers=world["worker"])
    stolen = client.patch("/api/v1/households/A1", json=edit, headers=world["colleague"])
    for answer in (changed, stolen):
        body = answer.get_json()
        assert (answer.status_code, body["error"]["code"]) == (409, "client_id_taken"), body
        assert "中山街" not in answer.get_data(as_text=True) and "张" not in answer.get_data(as_text=True)
    bad = client.patch("/api/v1/households/A1", json={**edit, "client_id": "1234"}, headers=world["worker"])
    assert bad.status_code == 400
    assert _count(db_session, "SELECT version FROM household WHERE code = 'A1'") == 3


def test_a_replayed_household_addition_is_stored_once(client, db_session, world):
    client_id = str(uuid.uuid4())
    body = {"code": "A9", "address": "中山街9号", "lon": 119.886, "lat": 28.457, "client_id": client_id}
    first = client.post("/api/v1/households", json=body, headers=world["worker"])
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/households", json=body, headers=world["worker"])
    assert again.status_code == 200, again.get_json()  # without the client id: 409 household_code_taken
    a, b = first.get_json(), again.get_json()
    assert (a.pop("replayed"), b.pop("replayed")) == (False, True) and a == b
    stolen = client.post("/api/v1/households", json=body, headers=world["colleague"])
    assert (stolen.status_code, stolen.get_json()["error"]["code"]) == (409, "client_id_taken")
    taken = client.post("/api/v1/households", json={**body, "client_id": str(uuid.uuid4())}, headers=world["worker"])
    assert (taken.status_code, taken.get_json()["error"]["code"]) == (409, "household_code_taken")
    assert _count(db_session, "SELECT count(*) FROM household WHERE code = 'A9'") == 1
    assert _count(db_session, "SELECT count(*) FROM household_client_write") == 1


def _fix(client, headers, client_id, before=None, after=None, **fields):
    data = {"category": "fire", "severity": "normal", "description": "楼道杂物已当场清理", "lon": "119.885",
            "lat": "28.455", "client_id": client_id, **fields,
            "before": [(io.BytesIO(before or _jpeg()), "before.jpg")],
            "after": [(io.BytesIO(after or _jpeg((20, 160, 40))), "after.jpg")]}
    return client.post("/api/v1/hazards/on-the-spot", data=data, content_type="multipart/form-data", headers=headers)


def test_a_replayed_fix_on_the_spot_is_stored_once_with_its_photos(client, db_session, world):
    client_id = str(uuid.uuid4())
    first = _fix(client, world["worker"], client_id)
    assert first.status_code == 201, first.get_json()
    again = _fix(client, world["worker"], client_id)  # the answer was lost: the outbox sends it again
    assert again.status_code == 200, again.get_json()
    a, b = first.get_json(), again.get_json()
    assert (a.pop("replayed"), b.pop("replayed")) == (False, True)
    assert a == b and a["resolution"] == "on_the_spot" and [p["stage"] for p in a["photos"]] == ["before", "after"]
    assert _count(db_session, "SELECT count(*) FROM hazard WHERE client_id = :c", c=client_id) == 1
    assert _count(db_session, "SELECT count(*) FROM hazard_photo WHERE hazard_id = :h", h=a["id"]) == 2
    assert _count(db_session, "SELECT count(*) FROM hazard_event WHERE hazard_id = :h", h=a["id"]) == 1
    other = _fix(client, world["worker"], str(uuid.uuid4()))
    assert other.status_code == 201 and other.get_json()["id"] != a["id"]


def test_a_fix_client_id_reused_or_someone_elses_is_refused_without_data(client, db_session, world):
    client_id = str(uuid.uuid4())
    assert _fix(client, world["worker"], client_id).status_code == 201
    changed = _fix(client, world["worker"], client_id, description="另一件事")
    other_photo = _fix(client, world["worker"], client_id, after=_jpeg((20, 30, 200)))
    stolen = _fix(client, world["colleague"], client_id)
    # a report's id is not a fix's: the same id on the other route is another request
    as_report = client.post("/api/v1/hazards", json={**HAZARD, "client_id": client_id}, headers=world["worker"])
    for answer in (changed, other_photo, stolen, as_report):
        body = answer.get_json()
        assert (answer.status_code, body["error"]["code"]) == (409, "client_id_taken"), body
        assert "HZ-" not in answer.get_data(as_text=True) and set(body) == {"error"}
    bad = _fix(client, world["worker"], "not-a-uuid")
    assert bad.status_code == 400 and "client_id" in bad.get_data(as_text=True)
    assert _count(db_session, "SELECT count(*) FROM hazard") == 1
    assert _count(db_session, "SELECT count(*) FROM hazard_photo") == 2
