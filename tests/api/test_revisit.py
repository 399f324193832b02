"""回访 and satisfaction (#18 item 2): a resident's verified item awaits the reporter's answer —
recorded by community staff after a phone call (the ``revisit`` action, the phone unmasked and
audited for them only) or by the resident once on the status page —; 不满意 sends it back into
the loop with the answer in its history; a reporter who left a phone must have answered before
it closes; staff-reported items skip it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridmap.auth.models import AuditLog
from gridmap.hazards.models import Hazard, HazardRevisit
from gridmap.public.models import PublicReport
from tests import factories as f
from tests.public_support import IN_A, report, solved


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    tokens = {"admin": f.token_for(db_session, "admin", username="admin-all"),
              "community": f.token_for(db_session, "supervisor", f.COMMUNITY, display_name="赵社区"),
              "other": f.token_for(db_session, "supervisor", f.OTHER_STREET),
              "worker": f.token_for(db_session, "grid_worker", f.GRID_A, username="gw-a", display_name="王网格员")}
    db_session.commit()
    return {**w, "tokens": tokens}


def _act(client, token, hazard_id, action, expect=200, **body):
    answer = client.post(f"/api/v1/hazards/{hazard_id}/actions", json={"action": action, **body},
                         headers=f.auth(token))
    assert answer.status_code == expect, answer.get_json()
    return answer.get_json()


def _verified(client, db_session, world, phone="13911112222", reply=None):
    """A resident's report walked to verified by the admin; (tracking code, hazard id)."""
    code = report(client, f.GRID_A, phone=phone).get_json()["tracking_code"]
    hazard_id = db_session.scalar(select(PublicReport.hazard_id).where(PublicReport.tracking_code == code))
    admin = world["tokens"]["admin"]
    _act(client, admin, hazard_id, "accept")
    _act(client, admin, hazard_id, "assign", assignee="gw-a")
    _act(client, world["tokens"]["worker"], hazard_id, "start")
    _act(client, world["tokens"]["worker"], hazard_id, "feedback", note="已清理")
    _act(client, admin, hazard_id, "verify", **({"reply": reply} if reply else {}))
    return code, hazard_id


def _answer(client, code, answer="satisfied", comment="", **extra):
    return client.post(f"/api/v1/public/reports/{code}/satisfaction",
                       json={"answer": answer, "comment": comment, **solved(client), **extra})


def test_community_staff_revisit_by_phone_then_close(client, db_session, world):
    _code, hazard_id = _verified(client, db_session, world)
    community, worker = world["tokens"]["community"], world["tokens"]["worker"]
    # the phone is unmasked (and audited) for the community, masked for nobody else allowed in
    phone = client.get(f"/api/v1/hazards/{hazard_id}/reporter-phone", headers=f.auth(community)).get_json()
    assert phone == {"hazard_id": hazard_id, "phone": "13911112222", "masked": False}
    audit = db_session.scalars(select(AuditLog).where(AuditLog.object_type == "hazard_reporter_phone")).all()
    assert [a.object_id for a in audit] == [str(hazard_id)]
    assert client.get(f"/api/v1/hazards/{hazard_id}/reporter-phone", headers=f.auth(worker)).status_code == 403
    assert client.get(f"/api/v1/hazards/{hazard_id}/reporter-phone",
                      headers=f.auth(world["tokens"]["other"])).status_code == 404
    # a reporter with a phone: no close before the answer
    refused = _act(client, community, hazard_id, "close", expect=409)
    assert refused["error"]["code"] == "hazard_revisit_required" and "revisit" in refused["error"]["details"]["allowed"]
    # a grid worker may not record the answer; an answer is required
    assert _act(client, worker, hazard_id, "revisit", expect=403, answer="satisfied")["error"]["code"] == \
        "hazard_action_forbidden"
    assert _act(client, community, hazard_id, "revisit", expect=422)["error"]["code"] == \
        "hazard_revisit_answer_required"
    done = _act(client, community, hazard_id, "revisit", answer="basically_satisfied", note="电话回访，居民认可")
    assert done["status"] == "verified" and "revisit" not in done["allowed_actions"]
    assert done["events"][-1]["detail"] == {"answer": "basically_satisfied", "channel": "phone"}
    # answered: the phone is masked again, and a second answer is refused
    again = client.get(f"/api/v1/hazards/{hazard_id}/reporter-phone", headers=f.auth(community)).get_json()
    assert again["phone"] == "139****2222" and again["masked"] is True
    _act(client, community, hazard_id, "revisit", expect=409, answer="satisfied")
    assert _act(client, community, hazard_id, "close")["status"] == "closed"


def test_dissatisfied_reopens_with_the_answer_in_the_history(client, db_session, world):
    _code, hazard_id = _verified(client, db_session, world)
    before = db_session.scalar(select(Hazard.resolve_by).where(Hazard.id == hazard_id))
    body = _act(client, world["tokens"]["community"], hazard_id, "revisit", answer="dissatisfied", note="居民说杂物还在")
    assert body["status"] == "in_progress" and body["assignee"]["username"] == "gw-a"
    last = body["events"][-1]
    assert (last["action"], last["from_status"], last["to_status"], last["note"]) == \
        ("revisit", "verified", "in_progress", "居民说杂物还在")
    assert last["detail"]["answer"] == "dissatisfied"
    db_session.expire_all()
    hazard = db_session.get(Hazard, hazard_id)
    assert hazard.resolved_at is None and hazard.resolve_by >= before  # counted again from the answer
    # back through the loop: the new verification asks again
    _act(client, world["tokens"]["worker"], hazard_id, "feedback", note="再次清理")
    again = _act(client, world["tokens"]["admin"], hazard_id, "verify")
    assert "revisit" in again["allowed_actions"] and "close" not in again["allowed_actions"]


def test_the_resident_answers_once_on_the_status_page(client, db_session, world):
    code = report(client, f.GRID_A, phone="13911112222").get_json()["tracking_code"]
    status = client.get(f"/api/v1/public/reports/{code}").get_json()
    assert status["satisfaction"] == {"can_answer": False, "answer": None, "answer_name": None}
    refused = _answer(client, code)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "satisfaction_not_open"
    hazard_id = db_session.scalar(select(PublicReport.hazard_id).where(PublicReport.tracking_code == code))
    for action, extra in (("accept", {}), ("assign", {"assignee": "gw-a"}), ("start", {}), ("feedback", {}),
                          ("verify", {"reply": "杂物已清走，消防通道已畅通。"})):
        _act(client, world["tokens"]["admin"], hazard_id, action, **extra)
    status = client.get(f"/r/status/{code}")
    assert "杂物已清走" in status.get_data(as_text=True) and 'id="satisfaction-form"' in status.get_data(as_text=True)
    assert _answer(client, "AAAAAAAAAAAAAAAA").status_code == 404
    assert _answer(client, code, answer="great").status_code == 400
    version = db_session.scalar(select(Hazard.version).where(Hazard.id == hazard_id))
    first = _answer(client, code.lower(), answer="satisfied", comment="谢谢社区")
    assert first.status_code == 200, first.get_json()
    db_session.expire_all()
    assert db_session.scalar(select(Hazard.version).where(Hazard.id == hazard_id)) == version + 1  # staff see a change
    body = first.get_json()
    assert body["satisfaction"] == {"can_answer": False, "answer": "satisfied", "answer_name": "满意"}
    assert body["public_reply"] == "杂物已清走，消防通道已畅通。" and body["status"] == "verified"
    second = _answer(client, code, answer="dissatisfied")
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "satisfaction_already_answered"
    (row,) = db_session.scalars(select(HazardRevisit)).all()
    assert (row.answer, row.channel, row.note, row.actor_id) == ("satisfied", "status_page", "谢谢社区", None)
    # staff see the answer in the history and may close; a phone answer is no longer asked for
    detail = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(world["tokens"]["community"])).get_json()
    assert "revisit" not in detail["allowed_actions"] and "close" in detail["allowed_actions"]
    assert detail["events"][-1]["detail"] == {"answer": "satisfied", "channel": "status_page"}


def test_a_replayed_challenge_cannot_answer_twice(client, db_session, world):
    (code, _), (other, other_id) = _verified(client, db_session, world), _verified(client, db_session, world)
    proof = solved(client)
    assert _answer(client, code, **proof).status_code == 200
    assert _answer(client, other, **proof).get_json()["error"]["code"] == "challenge_used"
    assert not db_session.scalars(select(HazardRevisit).where(HazardRevisit.hazard_id == other_id)).all()


def test_a_challenge_spent_on_a_report_cannot_answer_a_revisit(client, db_session, world):
    code, hazard_id = _verified(client, db_session, world)
    proof = solved(client)
    assert report(client, f.GRID_A, **proof).status_code == 201
    replayed = _answer(client, code, **proof)
    assert (replayed.status_code, replayed.get_json()["error"]["code"]) == (409, "challenge_used")
    assert not db_session.scalars(select(HazardRevisit).where(HazardRevisit.hazard_id == hazard_id)).all()


def test_the_answers_share_the_reports_limit_per_address(client, db_session, world, app, monkeypatch):
    code, hazard_id = _verified(client, db_session, world)  # one report from 127.0.0.1 counted
    monkeypatch.setitem(app.config, "GRIDMAP", replace(app.config["GRIDMAP"], public_reports_per_address=1))
    limited = _answer(client, code)
    assert (limited.status_code, limited.get_json()["error"]["code"]) == (429, "public_rate_limited")
    assert limited.headers["Retry-After"]
    assert not db_session.scalars(select(HazardRevisit).where(HazardRevisit.hazard_id == hazard_id)).all()
    elsewhere = client.post(f"/api/v1/public/reports/{code}/satisfaction",
                            json={"answer": "satisfied", **solved(client)}, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert elsewhere.status_code == 200, elsewhere.get_json()


def test_an_oversized_comment_is_a_400_and_no_answer(client, db_session, world):
    code, hazard_id = _verified(client, db_session, world)
    assert _answer(client, code, comment="长" * 501).status_code == 400
    assert not db_session.scalars(select(HazardRevisit).where(HazardRevisit.hazard_id == hazard_id)).all()
    assert client.get(f"/api/v1/public/reports/{code}").get_json()["satisfaction"]["can_answer"] is True


def test_a_resident_without_phone_may_answer_but_close_does_not_wait(client, db_session, world):
    code, hazard_id = _verified(client, db_session, world, phone=None)
    detail = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(world["tokens"]["community"])).get_json()
    assert {"revisit", "close"} <= set(detail["allowed_actions"]) and detail["revisit_required"] is False
    assert client.get(f"/api/v1/hazards/{hazard_id}/reporter-phone",
                      headers=f.auth(world["tokens"]["community"])).get_json()["phone"] is None
    _act(client, world["tokens"]["community"], hazard_id, "close", reply="已处理完毕")
    status = _answer(client, code)
    assert status.status_code == 409 and status.get_json()["error"]["code"] == "satisfaction_not_open"
    assert client.get(f"/api/v1/public/reports/{code}").get_json()["public_reply"] == "已处理完毕"


def test_staff_items_skip_the_revisit_and_take_no_reply(client, db_session, world):
    admin = world["tokens"]["admin"]
    hazard = client.post("/api/v1/hazards", json={"category": "fire", "lon": IN_A[0], "lat": IN_A[1]},
                         headers=f.auth(admin)).get_json()
    for action, extra in (("accept", {}), ("assign", {"assignee": "gw-a"}), ("start", {}), ("feedback", {})):
        _act(client, admin, hazard["id"], action, **extra)
    assert _act(client, admin, hazard["id"], "verify", expect=422, reply="x")["error"]["code"] == \
        "hazard_reply_not_allowed"
    verified = _act(client, admin, hazard["id"], "verify")
    assert "revisit" not in verified["allowed_actions"] and "close" in verified["allowed_actions"]
    _act(client, admin, hazard["id"], "revisit", expect=409, answer="satisfied")
    assert client.get(f"/api/v1/hazards/{hazard['id']}/reporter-phone", headers=f.auth(admin)).get_json() == \
        {"hazard_id": hazard["id"], "phone": None, "masked": True}


def test_the_revisit_page_shows_the_phone_to_whoever_calls_back(client, db_session, world):
    _code, hazard_id = _verified(client, db_session, world)
    page = client.get(f"/hazards/{hazard_id}/revisit", headers=f.auth(world["tokens"]["community"]))
    assert page.status_code == 200 and "13911112222" in page.get_data(as_text=True)
    detail = client.get(f"/hazards/{hazard_id}", headers=f.auth(world["tokens"]["community"])).get_data(as_text=True)
    assert f'/hazards/{hazard_id}/revisit' in detail and "13911112222" not in detail


def test_outsiders_reach_nothing(client, db_session, world):
    code, hazard_id = _verified(client, db_session, world)
    other = world["tokens"]["other"]
    assert _act(client, other, hazard_id, "revisit", expect=404, answer="dissatisfied")["error"]["code"] == \
        "hazard_not_found"
    assert client.get(f"/hazards/{hazard_id}/revisit", headers=f.auth(other)).status_code == 404
    assert db_session.scalars(select(HazardRevisit)).all() == []
    assert client.get(f"/api/v1/public/reports/{code}").get_json()["satisfaction"]["can_answer"] is True


def test_hazard_retention_clears_the_reply_the_comment_and_the_note(client, db_session, world):
    from datetime import datetime

    from gridmap.hazards.models import HazardEvent
    from gridmap.hazards.retention import redact_finished

    code, hazard_id = _verified(client, db_session, world, reply="已清理，联系人张三 13900000000")
    assert _answer(client, code, answer="satisfied", comment="李四很满意").status_code == 200
    _act(client, world["tokens"]["community"], hazard_id, "close", reply="办结，谢谢张三")
    redact_finished(db_session, 36, now=datetime.now().astimezone() + timedelta(days=365 * 4))
    db_session.expire_all()
    assert db_session.get(Hazard, hazard_id).public_reply is None
    assert db_session.scalar(select(HazardRevisit.note).where(HazardRevisit.hazard_id == hazard_id)) == ""
    events = db_session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)).all()
    assert all(e.note == "" and "reply" not in e.detail for e in events)
    assert db_session.scalar(select(HazardRevisit.answer).where(HazardRevisit.hazard_id == hazard_id)) == "satisfied"
