"""Login page and the supervisor's grid overview, through the Flask test client."""

from __future__ import annotations

import re

from gridmap.auth.service import create_user
from gridmap.maps.assets import assert_offline
from tests import factories as f


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, username: str, password: str, next_path: str = ""):
    page = client.get("/login")
    url = "/login" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"username": username, "password": password,
                                  "csrf_token": _csrf(page.get_data(as_text=True))})


def test_pages_redirect_to_login_in_chinese(client, db_session):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and "用户名" in page and 'lang="zh-CN"' in page


def test_login_needs_csrf_and_right_password(client, db_session):
    create_user(db_session, "sup", "pass-word-1", "supervisor", f.DISTRICT)
    no_csrf = client.post("/login", data={"username": "sup", "password": "pass-word-1"})
    assert no_csrf.status_code == 400
    wrong = _login(client, "sup", "nope")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    ok = _login(client, "sup", "pass-word-1", next_path="//evil.example/")
    assert ok.status_code == 302 and ok.headers["Location"] == "/"


def test_supervisor_overview_map_is_offline_and_scoped(client, db_session):
    world = f.lishui(db_session)
    for i in range(3):
        f.household(db_session, f"P{i}", 119.885, 28.455, world["grids"][f.GRID_A])
    create_user(db_session, "street", "pass-word-1", "supervisor", f.STREET, "紫金街道督导")
    db_session.commit()
    _login(client, "street", "pass-word-1")
    home = client.get("/")
    assert home.headers["Location"].endswith(f"/maps/area/{f.STREET}")
    page = client.get(f"/maps/area/{f.STREET}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "网格总览 · 紫金街道" in html and "共 2 个网格" in html
    assert f.GRID_A in html and f.GRID_C not in html
    assert_offline(html)
    assert client.get(f"/maps/area/{f.OTHER_STREET}").status_code == 404


def test_logout(client, db_session):
    create_user(db_session, "sup2", "pass-word-1", "supervisor", f.DISTRICT)
    _login(client, "sup2", "pass-word-1")
    page = client.get("/login").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _csrf(page)})
    assert client.get("/").status_code == 302


def test_cookie_session_may_call_the_api_but_writes_need_the_csrf_token(client, db_session):
    f.lishui(db_session)
    create_user(db_session, "root", "pass-word-1", "admin")
    _login(client, "root", "pass-word-1")
    assert client.get("/api/v1/grids").status_code == 200
    assert client.post("/api/v1/assign").status_code == 400
    token = _csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/api/v1/assign", headers={"X-CSRF-Token": token}).status_code == 200


def test_audit_log_page_is_for_admins_and_shows_unmasked_reads(client, db_session):
    world = f.lishui(db_session)
    f.household(db_session, "AU-1", 119.885, 28.455, world["grids"][f.GRID_A], head_name="王二")
    worker = f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-a")
    client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(worker))
    create_user(db_session, "sup-audit", "pass-word-1", "supervisor", f.DISTRICT)
    create_user(db_session, "root-audit", "pass-word-1", "admin")
    _login(client, "sup-audit", "pass-word-1")
    assert client.get("/admin/audit").status_code == 403
    _login(client, "root-audit", "pass-word-1")
    page = client.get("/admin/audit?actor=worker-a").get_data(as_text=True)
    assert "审计日志" in page and "worker-a" in page and "AU-1" in page and "read_unmasked" in page
    empty = client.get("/admin/audit?actor=nobody").get_data(as_text=True)
    assert "没有符合条件的审计记录" in empty
    assert client.get("/admin/audit?since=not-a-date").status_code == 400


def test_session_cookie_flags(client, db_session):
    create_user(db_session, "cookie", "pass-word-1", "admin")
    response = _login(client, "cookie", "pass-word-1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_grid_worker_starts_at_the_grids_minqing_map(client, db_session):
    f.lishui(db_session)
    create_user(db_session, "worker-home", "pass-word-1", "grid_worker", f.GRID_A)
    _login(client, "worker-home", "pass-word-1")
    assert client.get("/").headers["Location"].endswith(f"/maps/grid/{f.GRID_A}")


def test_planners_overview_links_each_grid_to_the_boundary_editor(client, db_session):
    f.lishui(db_session)
    create_user(db_session, "plan-links", "pass-word-1", "planner", f.DISTRICT)
    _login(client, "plan-links", "pass-word-1")
    html = client.get(f"/maps/area/{f.DISTRICT}").get_data(as_text=True)
    assert f"/planner/{f.COMMUNITY}" in html
    create_user(db_session, "sup-links", "pass-word-1", "supervisor", f.DISTRICT)
    _login(client, "sup-links", "pass-word-1")
    assert "/planner/" not in client.get(f"/maps/area/{f.DISTRICT}").get_data(as_text=True)
