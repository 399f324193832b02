"""The phone page, its service worker and the nearby-households list it uses."""

from __future__ import annotations

from tests import factories as f


def _login(client, db_session, role, scope):
    from gridmap.auth.service import create_user

    create_user(db_session, f"{role}-page", "pass-word-1", role, scope)
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    response = client.post("/login", data={"username": f"{role}-page", "password": "pass-word-1", "csrf_token": csrf})
    assert response.status_code == 302
    client.get("/patrol")
    with client.session_transaction() as session:
        return session.get("csrf", csrf)


def test_patrol_page_needs_login_and_a_patrolling_role(client, db_session):
    f.lishui(db_session)
    assert "/login" in client.get("/patrol").headers["Location"]
    _login(client, db_session, "grid_worker", f.GRID_A)
    page = client.get("/patrol")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "打卡" in html and "待上传" in html and 'name="csrf-token"' in html
    assert "https://" not in html and "http://" not in html


def test_planner_may_not_patrol(client, db_session):
    f.lishui(db_session)
    _login(client, db_session, "planner", f.DISTRICT)
    assert client.get("/patrol").status_code == 403


def test_service_worker_scope_covers_the_page(client):
    response = client.get("/patrol/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/patrol"
    assert "no-cache" in response.headers["Cache-Control"]
    assert "/static/js/patrol/app.js" in response.get_data(as_text=True)


def test_cookie_checkins_need_the_csrf_token(client, db_session):
    f.lishui(db_session)
    csrf = _login(client, db_session, "grid_worker", f.GRID_A)
    item = {"id": "5d1c1b4e-4f7a-4b59-9a43-6a1d3f0f0a01", "lon": 119.885, "lat": 28.455, "accuracy_m": 5,
            "recorded_at": "2026-11-27T10:00:00+08:00"}
    assert client.post("/api/v1/checkins", json=item).status_code == 400
    assert client.post("/api/v1/checkins", json=item, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_nearby_households_nearest_first_within_own_grid(client, db_session):
    world = f.lishui(db_session)
    f.household(db_session, "N-FAR", 119.889, 28.459, world["grids"][f.GRID_A])
    f.household(db_session, "N-NEAR", 119.8851, 28.4551, world["grids"][f.GRID_A], tags=["社区矫正", "出租房"])
    f.household(db_session, "N-B", 119.8905, 28.455, world["grids"][f.GRID_B])
    headers = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    body = client.get("/api/v1/patrol/households?lon=119.885&lat=28.455", headers=headers).get_json()
    assert [h["code"] for h in body["items"]] == ["N-NEAR", "N-FAR"]
    assert body["items"][0]["visit_tags"] == ["社区矫正"] and body["items"][0]["visited_this_month"] is False
    assert body["items"][0]["distance_m"] < 20
    assert "head_name" not in body["items"][0]
    bad = client.get("/api/v1/patrol/households?lon=2.35&lat=48.85", headers=headers)
    assert bad.status_code == 422
