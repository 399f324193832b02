"""The 民情地图 wall map (挂图): an A3-landscape PNG and a one-page A3 PDF rendered by
headless Chromium with title, legend, north arrow, scale and date; 503 in Chinese when
Chromium is missing."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.maps.assets import assert_offline
from gridmap.party.models import PartyMember
from gridmap.party.service import build_contact_lists
from gridmap.printing.handbook import pdf_page_count
from gridmap.printing.wallmap import PAGE_PX, SCALE, png_size
from tests import factories as f
from tests.api.test_pages import _login

pytestmark = pytest.mark.browser


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    grid = data["grids"][f.GRID_A]
    for i in range(20):
        f.household(db_session, f"W-{i:02d}", 119.881 + (i % 5) * 0.0018, 28.451 + (i // 5) * 0.002, grid,
                    head_name=f"欧阳{i:02d}", phone=f"1390000{i:04d}", risk_level="high" if i == 3 else None,
                    address=f"丽水市莲都区丽阳街8号丽景花园{i // 5 + 1}幢1单元{101 + i}")
    db_session.add(PartyMember(name="王建国", phone="13700001111", branch="一支部", grid_id=grid.id,
                               geom=from_shape(Point(119.885, 28.455), srid=4326)))
    db_session.flush()
    build_contact_lists(db_session, Scope.everything(), f.GRID_A, 10)
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "周晓燕")
    db_session.commit()
    return data


def test_wall_page_has_title_legend_north_arrow_scale_and_date_masked(client, world):
    _login(client, "worker", "pass-word-1")
    minqing = client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
    assert f"/maps/grid/{f.GRID_A}/wall.png" in minqing and f"/maps/grid/{f.GRID_A}/wall.pdf" in minqing
    html = client.get(f"/maps/grid/{f.GRID_A}/wall").get_data(as_text=True)
    assert_offline(html)
    assert "<h1>民情地图</h1>" in html and "城北社区第1网格" in html and "指北针" in html
    assert "风险等级" in html and "mq-legend" in html and "L.control.scale" in html
    assert f"制图日期 {datetime.now(ZoneInfo('Asia/Shanghai')).date().isoformat()}" in html
    assert "size: 420mm 297mm" in html
    assert not re.search(r"欧阳\d\d|\\u6b27\\u9633\d\d", html)  # a wall map is public: names masked
    assert "13900000003" not in html


def test_wall_png_and_pdf(client, world, artifacts):
    _login(client, "worker", "pass-word-1")
    png = client.get(f"/maps/grid/{f.GRID_A}/wall.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png_size(png.data) == (PAGE_PX[0] * SCALE, PAGE_PX[1] * SCALE)
    (artifacts / "minqing-wall.png").write_bytes(png.data)
    pdf = client.get(f"/maps/grid/{f.GRID_A}/wall.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    (artifacts / "minqing-wall.pdf").write_bytes(pdf.data)
    assert pdf_page_count(pdf.data) == 1
    width, height = _media_box(pdf.data)
    assert abs(width - 420 / 25.4 * 72) < 2 and abs(height - 297 / 25.4 * 72) < 2  # A3 landscape in points


def _media_box(data: bytes) -> tuple[float, float]:
    box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    return x1 - x0, y1 - y0


def test_wall_export_without_chromium_is_503_in_chinese(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "GRIDMAP", dataclasses.replace(app.config["GRIDMAP"],
                                                                   chromium="/nonexistent/chromium"))
    _login(client, "worker", "pass-word-1")
    for ext in ("png", "pdf"):
        r = client.get(f"/maps/grid/{f.GRID_A}/wall.{ext}")
        assert r.status_code == 503 and "无法生成民情地图挂图" in r.get_data(as_text=True)
    assert client.get(f"/maps/grid/{f.GRID_B}/wall.png").status_code == 404
