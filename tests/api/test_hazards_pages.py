"""The work queue, a hazard's timeline with CSRF-protected action forms, the hazard map page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service
from gridmap.maps.assets import assert_offline
from tests import factories as f


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, username: str):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": "pass-word-1",
                                       "csrf_token": _csrf(page.get_data(as_text=True))})


def _world(db_session):
    f.lishui(db_session)
    create_user(db_session, "community", "pass-word-1", "supervisor", f.COMMUNITY, "城北社区督导")
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员小王")
    admin = Scope.everything()
    old = service.report(db_session, admin, category="fire", severity="normal", description="消防通道堵塞",
                         lon=119.885, lat=28.455, crs=None, now=datetime(2026, 3, 2, 1, tzinfo=UTC))
    new = service.report(db_session, admin, category="noise", severity="urgent", description="夜间施工噪声",
                         lon=119.886, lat=28.456, crs=None)
    other = service.report(db_session, admin, category="noise", severity="normal", description="别处的问题",
                           lon=119.93, lat=28.45, crs=None)
    return old, new, other


def test_queue_lists_overdue_first_scoped_and_filtered(client, db_session):
    old, new, other = _world(db_session)
    assert client.get("/hazards").status_code == 302
    _login(client, "community")
    html = client.get("/hazards").get_data(as_text=True)
    assert "问题工作台" in html and "共 2 件" in html
    assert html.index(old["code"]) < html.index(new["code"]) and other["code"] not in html
    assert 'class="overdue"' in html and "已超期" in html
    filtered = client.get("/hazards?category=noise").get_data(as_text=True)
    assert new["code"] in filtered and old["code"] not in filtered
    overdue = client.get("/hazards?overdue=1").get_data(as_text=True)
    assert old["code"] in overdue and new["code"] not in overdue


def test_queue_shows_the_fallback_calendar_note(client, db_session):
    _world(db_session)
    admin = Scope.everything()
    late = service.report(db_session, admin, category="fire", severity="normal", description="年底上报",
                          lon=119.885, lat=28.455, crs=None, now=datetime(2026, 12, 31, 2, tzinfo=UTC))
    assert late["calendar"] == "fallback"
    _login(client, "community")
    html = client.get("/hazards").get_data(as_text=True)
    assert "2027 年的法定节假日尚未发布或导入，期限暂按仅双休日计算" in html
    detail = client.get(f"/hazards/{late['id']}").get_data(as_text=True)
    assert "仅双休日" in detail


def test_detail_timeline_and_action_forms_need_csrf(client, db_session):
    old, _, other = _world(db_session)
    _login(client, "community")
    page = client.get(f"/hazards/{old['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "流转记录" in html and "上报" in html
    assert re.findall(r'data-action="(\w+)"', html)[:3] == ["accept", "reject", "escalate"]
    token = _csrf(html)
    assert client.post(f"/hazards/{old['id']}/actions", data={"action": "accept"}).status_code == 400
    done = client.post(f"/hazards/{old['id']}/actions", data={"action": "accept", "csrf_token": token})
    assert done.status_code == 302
    html = client.get(f"/hazards/{old['id']}").get_data(as_text=True)
    assert "已受理" in html and 'data-action="assign"' in html and "网格员小王" in html
    refused = client.post(f"/hazards/{old['id']}/actions", data={"action": "close", "csrf_token": token})
    assert refused.status_code == 409 and "不能执行" in refused.get_data(as_text=True)
    assigned = client.post(f"/hazards/{old['id']}/actions",
                           data={"action": "assign", "assignee": "worker", "csrf_token": token, "note": "请处理"})
    assert assigned.status_code == 302
    assert "承办人 worker" in client.get(f"/hazards/{old['id']}").get_data(as_text=True)
    assert client.get(f"/hazards/{other['id']}").status_code == 404


def test_hazard_map_page_is_offline(client, db_session):
    _world(db_session)
    _login(client, "community")
    page = client.get("/maps/hazards")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "问题隐患热力图" in html and "未办结 2 件" in html
    assert "leaflet_heat" in html and "markercluster" in html.lower()
    assert_offline(html)
