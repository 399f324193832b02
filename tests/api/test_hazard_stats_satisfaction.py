"""The 平安报表's 回访 satisfaction rate: (满意 + 基本满意) ÷ answered in the month, per grid,
community and street, coloured against the target — exactly at the target is green."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gridmap.auth.scope import Scope
from gridmap.config import PatrolRules
from gridmap.hazard_stats import safety
from gridmap.hazards import service
from gridmap.hazards.models import HazardRevisit
from tests import factories as f

ADMIN = Scope.everything()
MARCH = datetime(2026, 3, 2, 1, tzinfo=UTC)


def _answers(db_session, where, answers, at=MARCH):
    hazard_id = service.report(db_session, ADMIN, category="fire", severity="normal", description="",
                               lon=where[0], lat=where[1], crs=None, now=at)["id"]
    for n, answer in enumerate(answers):  # one answer per verification: a verification each
        db_session.add(HazardRevisit(hazard_id=hazard_id, verified_at=at + timedelta(minutes=n), answer=answer,
                                     channel="phone", at=at + timedelta(days=1, minutes=n)))
    db_session.commit()


def _report(db_session, target=0.95):
    result = safety.safety_report(db_session, ADMIN, within=f.DISTRICT, month="2026-03", patrol_rules=PatrolRules(),
                                  now=MARCH + timedelta(days=40), satisfaction_target=target)
    return {i["code"]: i for i in result["items"]}


def test_the_rate_is_pinned_and_coloured_against_the_target_at_its_edge(db_session):
    f.lishui(db_session)
    # grid A: 19 of 20 satisfied or basically satisfied = 95% exactly; grid B: 18 of 19 = 94.7%
    _answers(db_session, (119.885, 28.455), ["satisfied"] * 10 + ["basically_satisfied"] * 9 + ["dissatisfied"])
    _answers(db_session, (119.895, 28.455), ["satisfied"] * 18 + ["dissatisfied"])
    _answers(db_session, (119.885, 28.455), ["dissatisfied"], at=MARCH + timedelta(days=31))  # April: not counted
    items = _report(db_session)
    a, b = items[f.GRID_A], items[f.GRID_B]
    assert (a["satisfaction_answered"], a["satisfaction_rate"], a["satisfaction_colour"]) == (20, 0.95, "green")
    assert (b["satisfaction_answered"], b["satisfaction_rate"], b["satisfaction_colour"]) == (19, 0.9474, "red")
    community = items[f.COMMUNITY]
    assert (community["satisfaction_answered"], community["satisfaction_rate"]) == (39, 0.9487)
    assert community["satisfaction_colour"] == "red"
    assert items[f.GRID_C]["satisfaction_rate"] is None and items[f.GRID_C]["satisfaction_colour"] is None
    # a configured target moves the edge
    assert _report(db_session, target=0.9474)[f.GRID_B]["satisfaction_colour"] == "green"
    assert _report(db_session, target=0.9501)[f.GRID_A]["satisfaction_colour"] == "red"


def test_the_target_is_a_setting_the_api_and_page_show(app, client, db_session, monkeypatch):
    f.lishui(db_session)
    _answers(db_session, (119.885, 28.455), ["satisfied"] * 9 + ["dissatisfied"])
    token = f.token_for(db_session, "admin")
    db_session.commit()
    monkeypatch.setitem(app.config, "GRIDMAP", replace(app.config["GRIDMAP"], satisfaction_target=0.9))
    body = client.get("/api/v1/reports/safety?month=2026-03", headers=f.auth(token)).get_json()
    assert body["satisfaction_target"] == 0.9
    (grid_a,) = [i for i in body["items"] if i["code"] == f.GRID_A]
    assert (grid_a["satisfaction_rate"], grid_a["satisfaction_colour"]) == (0.9, "green")
    page = client.get("/reports/safety?month=2026-03", headers=f.auth(token)).get_data(as_text=True)
    assert 'data-column="satisfaction_rate" data-colour="green">90.0%' in page and "回访满意率" in page
    csv = client.get("/api/v1/reports/safety?month=2026-03&format=csv", headers=f.auth(token)).get_data(as_text=True)
    assert "回访满意率" in csv and "90.0%" in csv
