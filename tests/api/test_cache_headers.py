"""Answers that may hold personal data are never stored by a browser or a proxy; static assets
may be, and routes that version their answers (tiles, photos) say so themselves."""

from __future__ import annotations

from tests import factories as f


def test_personal_data_answers_and_pages_are_not_stored(client, db_session):
    f.lishui(db_session)
    headers = f.auth(f.token_for(db_session, "admin"))
    for path in (f"/api/v1/grids/{f.GRID_A}/households", f"/api/v1/grids/{f.GRID_A}", "/api/v1/openapi.json"):
        assert client.get(path, headers=headers).headers["Cache-Control"] == "private, no-store", path
    assert client.get("/login").headers["Cache-Control"] == "private, no-store"
    assert client.get("/api/v1/no-such-thing", headers=headers).headers["Cache-Control"] == "private, no-store"


def test_static_assets_keep_their_caching(client):
    response = client.get("/static/css/gridmap.css")
    assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")
