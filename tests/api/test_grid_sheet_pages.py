"""The 民情地图 page and the printed handbook: offline, scoped, masked by role, audited."""

from __future__ import annotations

import json
import re

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from gridmap.auth.models import AuditLog
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.maps.assets import assert_offline
from gridmap.party.models import GridStaff, PartyMember
from gridmap.party.service import build_contact_lists
from tests import factories as f
from tests.api.test_pages import _login


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    grid = data["grids"][f.GRID_A]
    for i in range(12):
        f.household(db_session, f"M-{i:02d}", 119.881 + i * 0.0006, 28.455, grid, head_name=f"欧阳{i:02d}",
                    phone=f"1390000{i:04d}", address=f"丽水市莲都区丽阳街8号丽景花园{i // 6 + 1}幢1单元{101 + i}",
                    tags=["孤寡老人"] if i == 0 else [], risk_level="high" if i == 1 else None)
    for name, lon in (("王建国", 119.881), ("李红梅", 119.888)):
        db_session.add(PartyMember(name=name, phone="13700001111", branch="一支部", grid_id=grid.id,
                                   geom=from_shape(Point(lon, 28.4552), srid=4326)))
    db_session.add(GridStaff(grid_id=grid.id, role="police", name="陈警官", phone="0578-2100110",
                             organisation="城北派出所"))
    db_session.flush()
    build_contact_lists(db_session, Scope.everything(), f.GRID_A, 6)
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "城北1网格员")
    create_user(db_session, "sup", "pass-word-1", "supervisor", f.STREET, "紫金街道督导")
    create_user(db_session, "plan", "pass-word-1", "planner", f.STREET, "规划员")
    member = db_session.scalar(select(PartyMember).where(PartyMember.name == "王建国"))
    create_user(db_session, "pm", "pass-word-1", "party_member", f.GRID_A, "党员王建国", party_member_id=member.id)
    db_session.commit()
    return data


def _audits(db_session, object_type):
    return db_session.scalars(select(AuditLog).where(AuditLog.object_type == object_type)).all()


def test_grid_worker_sees_the_minqing_map_unmasked_and_offline(client, db_session, world):
    _login(client, "worker", "pass-word-1")
    page = client.get(f"/maps/grid/{f.GRID_A}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert_offline(html)
    assert "民情地图 · 城北社区第1网格" in html and "风险等级" in html and "关爱对象" in html
    assert _names_in(html)  # names reach the popup data
    assert "搜索户号或地址" in html and "gridmapLayers" in html
    assert len(_audits(db_session, "grid_map")) == 1
    assert client.get(f"/maps/grid/{f.GRID_B}").status_code == 404


def _names_in(html: str) -> bool:
    return "欧阳00" in html or json.dumps("欧阳00")[1:-1] in html


def test_supervisor_sees_masked_unless_asking_planner_may_not_unmask(client, db_session, world):
    _login(client, "sup", "pass-word-1")
    html = client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
    assert not _names_in(html) and "已按权限脱敏" in html and "显示完整信息" in html
    assert _audits(db_session, "grid_map") == []
    unmasked = client.get(f"/maps/grid/{f.GRID_A}?unmask=1").get_data(as_text=True)
    assert _names_in(unmasked) and len(_audits(db_session, "grid_map")) == 1
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)})
    _login(client, "plan", "pass-word-1")
    assert client.get(f"/maps/grid/{f.GRID_A}?unmask=1").status_code == 403
    assert not _names_in(client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True))


def test_party_member_map_shows_only_their_households(client, db_session, world):
    _login(client, "pm", "pass-word-1")
    html = client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
    codes = set(re.findall(r"M-\d\d", html))
    assert codes == {f"M-{i:02d}" for i in range(6)}  # the western six are 王建国's


def test_print_handbook_and_cards(client, db_session, world):
    _login(client, "worker", "pass-word-1")
    page = client.get(f"/maps/grid/{f.GRID_A}/print")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "网格干部联系手册" in html and "陈警官" in html and "网格民警" in html
    # the staff map's QR and the residents' form's (gridmap.public) on the handbook and on each card
    assert html.count('class="pm-card"') == 2 and html.count("<svg") == 6
    assert html.count("扫码反映问题") == 3 and f"/r/{f.GRID_A}" in html
    assert "丽景花园1幢" in html and "丽景花园2幢" in html and "欧阳00" in html
    assert f"/maps/grid/{f.GRID_A}" in html
    assert_offline(html)
    assert len(_audits(db_session, "grid_handbook")) == 1


def test_overview_links_to_the_minqing_map(client, db_session, world):
    _login(client, "sup", "pass-word-1")
    html = client.get(f"/maps/area/{f.STREET}").get_data(as_text=True)
    assert f"/maps/grid/{f.GRID_A}" in html
