"""Key places (重点场所): the grid's list and manual adds (scoped, staff write), the file
import (all or nothing, on_error=skip, point layers, re-import updates), and where they
show: the 民情地图 and the printed handbook."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from gridmap.auth.service import create_user
from gridmap.places.models import KeyPlace
from tests import factories as f
from tests.api.test_pages import _login

IMPORT_URL = "/api/v1/imports/key-places"


def _url(code: str = f.GRID_A) -> str:
    return f"/api/v1/grids/{code}/key-places"


@pytest.fixture
def world(db_session):
    return f.lishui(db_session)


def _count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(KeyPlace))


def test_staff_add_and_everyone_in_scope_lists(client, db_session, world):
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    r = client.post(_url(), json={"name": "城北社区党群服务中心", "kind": "党群服务中心", "lon": 119.885,
                                  "lat": 28.455, "address": "丽阳街8号", "note": "周一至周五开放"},
                    headers=f.auth(worker))
    assert r.status_code == 201, r.get_json()
    place = r.get_json()
    assert place["properties"]["kind"] == "party_centre" and place["properties"]["kind_name"] == "党群服务中心"
    assert place["geometry"]["coordinates"] == [119.885, 28.455]
    # A hydrant on the street just outside the boundary (about 50 m east of lon 119.890) is accepted.
    assert client.post(_url(), json={"name": "1号消防栓", "kind": "hydrant", "lon": 119.8905, "lat": 28.455},
                       headers=f.auth(worker)).status_code == 201
    listed = client.get(_url(), headers=f.auth(worker)).get_json()
    assert listed["total"] == 2 and [p["properties"]["kind"] for p in listed["features"]] == ["party_centre", "hydrant"]
    member = f.token_for(db_session, "party_member", f.GRID_A, party_member_id=_member(db_session, world))
    assert client.get(_url(), headers=f.auth(member)).get_json()["total"] == 2
    assert client.post(_url(), json={"name": "x", "kind": "school", "lon": 119.885, "lat": 28.455},
                       headers=f.auth(member)).status_code == 403
    assert client.get(_url(f.GRID_B), headers=f.auth(worker)).status_code == 404
    assert client.post(_url(f.GRID_B), json={"name": "x", "kind": "school", "lon": 119.895, "lat": 28.455},
                       headers=f.auth(worker)).status_code == 404


def _member(db_session, world) -> int:
    from gridmap.party.models import PartyMember

    member = PartyMember(name="王建国", phone="13700001111", grid_id=world["grids"][f.GRID_A].id)
    db_session.add(member)
    db_session.flush()
    return member.id


def test_bad_adds_are_4xx_and_write_nothing(client, db_session, world):
    sup = f.token_for(db_session, "supervisor", f.STREET)
    base = {"name": "实验小学", "kind": "school", "lon": 119.885, "lat": 28.455}
    r = client.post(_url(), json={**base, "kind": "游乐场"}, headers=f.auth(sup))
    assert r.status_code == 422 and "类型" in r.get_json()["error"]["message"]
    r = client.post(_url(), json={**base, "lon": 119.93}, headers=f.auth(sup))  # another grid, 4 km away
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "key_place_outside_grid"
    assert client.post(_url(), json={**base, "lat": 128.0}, headers=f.auth(sup)).status_code == 422
    assert client.post(_url(), json={"kind": "school"}, headers=f.auth(sup)).status_code == 400
    assert _count(db_session) == 0
    assert client.post(_url(), json=base, headers=f.auth(sup)).status_code == 201
    r = client.post(_url(), json=base, headers=f.auth(sup))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "key_place_exists"
    assert _count(db_session) == 1


def _upload(client, token, filename, content: bytes, **form):
    data = {"file": (io.BytesIO(content), filename), **form}
    return client.post(IMPORT_URL, data=data, headers=f.auth(token), content_type="multipart/form-data")


GOOD = """名称,类型,经度,纬度,地址,说明
丽景花园出租房集中点,出租房集中点,119.883,28.452,丽阳街8号,32 户出租
城北加油站,gas_station,119.888,28.458,丽阳街20号,
紫金小学,学校,119.895,28.455,丽阳街40号,城北2网格
"""


def test_import_csv_assigns_grids_and_reimport_updates(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    r = _upload(client, admin, "重点场所.csv", GOOD.encode("utf-8"))
    body = r.get_json()
    assert r.status_code == 200, body
    assert (body["imported"], body["created"], body["updated"], body["errors"]) == (3, 3, 0, [])
    grids = {p.name: p.grid_id for p in db_session.scalars(select(KeyPlace))}
    assert grids == {"丽景花园出租房集中点": world["grids"][f.GRID_A].id, "城北加油站": world["grids"][f.GRID_A].id,
                     "紫金小学": world["grids"][f.GRID_B].id}
    again = _upload(client, admin, "重点场所.csv", GOOD.replace("32 户出租", "40 户出租").encode("utf-8")).get_json()
    assert (again["created"], again["updated"]) == (0, 3)
    db_session.expire_all()
    assert _count(db_session) == 3
    assert db_session.scalar(select(KeyPlace.note).where(KeyPlace.name == "丽景花园出租房集中点")) == "40 户出租"


def test_reimport_without_a_column_keeps_what_that_column_held(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    assert _upload(client, admin, "重点场所.csv", GOOD.encode("utf-8")).status_code == 200
    moved = "名称,类型,经度,纬度\n城北加油站,加油站,119.887,28.457\n"  # no 地址, no 说明
    body = _upload(client, admin, "移位.csv", moved.encode("utf-8")).get_json()
    assert (body["created"], body["updated"]) == (0, 1)
    db_session.expire_all()
    station = db_session.scalars(select(KeyPlace).where(KeyPlace.name == "城北加油站")).one()
    assert station.address == "丽阳街20号" and station.note == ""  # as the first file left them
    rented = db_session.scalars(select(KeyPlace).where(KeyPlace.name == "丽景花园出租房集中点")).one()
    assert rented.note == "32 户出租"
    # the point moved: the file's own column
    assert db_session.scalar(select(func.ST_X(KeyPlace.geom)).where(KeyPlace.id == station.id)) == pytest.approx(119.887)
    blanked = "名称,类型,经度,纬度,说明\n丽景花园出租房集中点,出租房集中点,119.883,28.452,\n"
    assert _upload(client, admin, "清空说明.csv", blanked.encode("utf-8")).get_json()["updated"] == 1
    db_session.expire_all()
    assert db_session.scalar(select(KeyPlace.note).where(KeyPlace.name == "丽景花园出租房集中点")) in ("", None)


BAD = """名称,类型,经度,纬度,地址
好的消防栓,消防栓,119.884,28.451,
,学校,119.885,28.455,
无类型,游乐场,119.885,28.455,
坐标不对,学校,abc,28.455,
网格外,学校,119.700,28.300,
别人的网格,学校,119.895,28.455,
好的消防栓,消防栓,119.886,28.452,
"""


def test_import_is_all_or_nothing_with_row_errors_and_scope(client, db_session, world):
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    r = _upload(client, worker, "places.csv", BAD.encode("utf-8"))
    assert r.status_code == 422
    errors = r.get_json()["error"]["details"]["errors"]
    assert [e["row"] for e in errors] == [3, 4, 5, 6, 7, 8]
    assert "名称" in errors[0]["message"] and "游乐场" in errors[1]["message"]
    assert "不在任何网格内" in errors[3]["message"] and f.GRID_B in errors[4]["message"]
    assert "重复" in errors[5]["message"]
    assert _count(db_session) == 0
    skipped = _upload(client, worker, "places.csv", BAD.encode("utf-8"), on_error="skip").get_json()
    assert skipped["imported"] == 1 and len(skipped["errors"]) == 6
    assert _count(db_session) == 1
    member = f.token_for(db_session, "party_member", f.GRID_A, party_member_id=_member(db_session, world))
    assert _upload(client, member, "places.csv", GOOD.encode("utf-8")).status_code == 403


def test_import_geojson_points(client, db_session, world):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.884, 28.453]},
         "properties": {"名称": "社区卫生服务站", "类型": "医疗机构", "地址": "丽阳街12号"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [119.887, 28.457]},
         "properties": {"名称": "东门消防栓", "类型": "hydrant"}},
    ]}
    admin = f.token_for(db_session, "admin")
    r = _upload(client, admin, "places.geojson", json.dumps(collection, ensure_ascii=False).encode("utf-8"))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["imported"] == 2
    kinds = dict(db_session.execute(select(KeyPlace.name, KeyPlace.kind)).all())
    assert kinds == {"社区卫生服务站": "medical", "东门消防栓": "hydrant"}


def test_key_places_on_the_map_and_in_the_handbook(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    assert _upload(client, admin, "重点场所.csv", GOOD.encode("utf-8")).status_code == 200
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "城北1网格员")
    db_session.commit()
    _login(client, "worker", "pass-word-1")
    html = client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
    assert _shown("城北加油站", html) and _shown("丽景花园出租房集中点", html)
    assert not _shown("紫金小学", html)  # another grid's
    assert "重点场所" in html
    handbook = client.get(f"/maps/grid/{f.GRID_A}/print").get_data(as_text=True)
    assert "<h2>重点场所</h2>" in handbook and "城北加油站" in handbook and "加油站" in handbook
    assert "32 户出租" in handbook and "紫金小学" not in handbook


def _shown(text: str, html: str) -> bool:
    return text in html or json.dumps(text)[1:-1] in html
