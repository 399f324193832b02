"""The print page's staff editor: admins and supervisors replace the grid's staff list
through a CSRF-protected form; others see no form and may not post; an empty list says
how to fill it (the form, or PUT /api/v1/grids/<code>/staff)."""

from __future__ import annotations

import re

import pytest

from gridmap.auth.service import create_user
from tests import factories as f
from tests.api.test_pages import _login


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    create_user(db_session, "sup", "pass-word-1", "supervisor", f.COMMUNITY, "城北社区督导")
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "周晓燕")
    db_session.commit()
    return data


FORM = {"role": ["grid_leader", "grid_worker", "police", "department"],
        "name": ["林建华", "周晓燕", "陈警官", ""], "phone": ["13900000001", "13800000002", "0578-2100110", ""],
        "organisation": ["城北社区居委会", "", "城北派出所", ""], "duty": ["", "日常巡查", "", ""]}


def test_supervisor_edits_staff_with_csrf(client, world):
    _login(client, "sup", "pass-word-1")
    page = client.get(f"/maps/grid/{f.GRID_A}/print").get_data(as_text=True)
    assert "保存网格干部" in page and f"PUT /api/v1/grids/{f.GRID_A}/staff" in page and "尚未登记网格长" in page
    url = f"/maps/grid/{f.GRID_A}/staff"
    assert client.post(url, data=FORM).status_code == 400  # no CSRF token
    r = client.post(url, data={**FORM, "csrf_token": _csrf(page)})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/maps/grid/{f.GRID_A}/print?saved=1")
    staff = client.get(f"/api/v1/grids/{f.GRID_A}/staff").get_json()["items"]
    assert [(s["role"], s["name"]) for s in staff] == [("grid_leader", "林建华"), ("grid_worker", "周晓燕"),
                                                       ("police", "陈警官")]
    handbook = client.get(f"/maps/grid/{f.GRID_A}/print?saved=1").get_data(as_text=True)
    assert "已保存" in handbook and "网格民警" in handbook and "城北派出所" in handbook
    bad = client.post(url, data={**FORM, "role": ["chief", "grid_worker", "police", "department"],
                                 "csrf_token": _csrf(page)})
    assert bad.status_code == 400
    assert client.post(f"/maps/grid/{f.GRID_C}/staff", data={**FORM, "csrf_token": _csrf(page)}).status_code == 404
    assert len(client.get(f"/api/v1/grids/{f.GRID_A}/staff").get_json()["items"]) == 3


def test_grid_worker_sees_no_editor_and_may_not_post(client, world):
    _login(client, "worker", "pass-word-1")
    page = client.get(f"/maps/grid/{f.GRID_A}/print").get_data(as_text=True)
    assert "保存网格干部" not in page and f"PUT /api/v1/grids/{f.GRID_A}/staff" in page
    token = _csrf(client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True))
    r = client.post(f"/maps/grid/{f.GRID_A}/staff", data={**FORM, "csrf_token": token})
    assert r.status_code == 403
