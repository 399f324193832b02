"""Days, months and moments in queries go through one validated type (gridmap.schemas): a
year outside 2000-2100 or a day that does not exist is the sender's 400 on the API, never a
500 (issue 14: GET /api/v1/reports/safety?month=0000-01 was one)."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.mark.parametrize("query", [
    "/api/v1/reports/safety?month=0000-01", "/api/v1/reports/safety?month=9999-12",
    "/api/v1/patrol/coverage?month=0000-01", "/api/v1/checkins?date=0001-01-01", "/api/v1/patrol/tracks?date=2026-02-30",
    "/api/v1/hazards?since=0001-01-01T00:00:00", "/api/v1/hazards/heatmap?until=2026-02-30T00:00:00Z",
    "/api/v1/calendar/deadline?start=0001-01-01T00:00:00&working_days=1",
    # the red team's, as a grid worker on the demo (each was a 500)
    "/api/v1/patrol/tracks?date=9999-12-31", "/api/v1/checkins?date=9999-12-31", "/api/v1/patrol/coverage?month=9999-12",
    "/api/v1/calendar/deadline?start=9999-12-31&working_days=5",
    "/api/v1/reports/safety?period=0000-Q1", "/api/v1/reports/safety?period=9999-W01",
    "/api/v1/reports/safety/trend?until=2101-01", "/api/v1/reports/safety/trend?kind=year&until=1999",
])
def test_out_of_range_dates_are_400(client, db_session, query):
    token = f.token_for(db_session, "admin")
    response = client.get(query, headers=f.auth(token))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "validation_failed"



@pytest.mark.parametrize("query", ["/maps/patrol?date=9999-12-31", "/maps/patrol?date=0001-01-01",
                                   "/maps/patrol?date=2026-02-30", "/reports/safety?month=9999-12"])
def test_out_of_range_dates_on_pages_are_400(client, db_session, query):
    from gridmap.auth.service import create_user

    f.lishui(db_session)
    create_user(db_session, "dates-district", "pass-word-1", "supervisor", f.DISTRICT)
    client.get("/login")
    with client.session_transaction() as browser_session:
        csrf = browser_session["csrf"]
    client.post("/login", data={"username": "dates-district", "password": "pass-word-1", "csrf_token": csrf})
    response = client.get(query)
    assert response.status_code == 400, (query, response.status_code)
