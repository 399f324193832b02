"""Open hazards on the 民情地图: an open hazard of the grid is drawn with its category,
severity and deadline; a closed or rejected one, or one of another grid, is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import update

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service, views
from gridmap.hazards.models import Hazard
from tests import factories as f
from tests.api.test_pages import _login


def _report(db_session, category, severity, description, lon, lat=28.455, **kw):
    return service.report(db_session, Scope.everything(), category=category, severity=severity,
                          description=description, lon=lon, lat=lat, crs=None, **kw)


def test_open_hazards_of_grid_are_scoped_and_open_only(db_session):
    f.lishui(db_session)
    open_one = _report(db_session, "fire", "urgent", "电动车楼道充电", 119.885)
    closed = _report(db_session, "noise", "normal", "已处理的噪声", 119.886)
    rejected = _report(db_session, "noise", "normal", "重复上报", 119.887)
    _report(db_session, "fire", "normal", "隔壁网格", 119.895)
    db_session.execute(update(Hazard).where(Hazard.id == closed["id"]).values(status="closed"))
    db_session.execute(update(Hazard).where(Hazard.id == rejected["id"]).values(status="rejected"))
    layer = views.open_hazards_of_grid(db_session, Scope(prefix=f.GRID_A, role="grid_worker"), f.GRID_A)
    assert [h["properties"]["code"] for h in layer["features"]] == [open_one["code"]]
    props = layer["features"][0]["properties"]
    assert props["severity"] == "urgent" and props["status"] == "reported"  # codes: the map names them
    assert props["category"] == "消防" and props["deadline"].endswith("+08:00") and not props["overdue"]
    assert layer["features"][0]["geometry"]["coordinates"] == [119.885, 28.455]
    outside = views.open_hazards_of_grid(db_session, Scope(prefix=f.GRID_B, role="grid_worker"), f.GRID_A)
    assert outside["features"] == []


def test_minqing_map_shows_open_hazards_with_deadline(client, db_session):
    f.lishui(db_session)
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "城北1网格员")
    late = _report(db_session, "fire", "complex", "消防通道堵塞", 119.885, now=datetime(2026, 3, 2, 1, tzinfo=UTC))
    closed = _report(db_session, "noise", "normal", "夜间施工噪声", 119.886)
    db_session.execute(update(Hazard).where(Hazard.id == closed["id"]).values(status="closed"))
    db_session.commit()
    _login(client, "worker", "pass-word-1")
    html = client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
    assert late["code"] in html and closed["code"] not in html
    assert _shown("消防通道堵塞", html) and not _shown("夜间施工噪声", html)
    assert all(_shown(text, html) for text in ("办结时限", "紧急程度", "复杂", "已超期", "未办结隐患"))


def _shown(text: str, html: str) -> bool:
    """Map data is embedded as JSON, where Chinese may be \\u-escaped."""
    return text in html or json.dumps(text)[1:-1] in html
