"""File imports over HTTP: every format, Chinese headers, CRS, all-or-nothing, skip."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from gridmap.areas.models import AdminUnit, Grid, GridVersion
from gridmap.households.models import Household
from tests import factories as f

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _post(client, token, url, filename, content: bytes, **form):
    data = {"file": (io.BytesIO(content), filename), **form}
    return client.post(url, data=data, headers=f.auth(token), content_type="multipart/form-data")


@pytest.fixture
def admin(db_session):
    return f.token_for(db_session, "admin")


def _units(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(AdminUnit))


def test_import_districts_streets_communities_from_csv_with_padded_codes(client, db_session, admin):
    district = "编码,名称\n331102000000,莲都区\n"
    r = _post(client, admin, "/api/v1/imports/areas", "d.csv", district.encode(), level="district")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["created"] == 1
    streets = "code,name,parent\n331102001000,紫金街道,331102\n331102002,岩泉街道,331102000000\n"
    r = _post(client, admin, "/api/v1/imports/areas", "s.csv", streets.encode(), level="street")
    assert r.get_json() == {"created": 2, "updated": 0, "errors": [], "error_count": 0}
    again = _post(client, admin, "/api/v1/imports/areas", "s.csv",
                  "code,name\n331102001,紫金街道（新）\n".encode(), level="street")
    assert again.get_json()["updated"] == 1
    names = dict(db_session.execute(select(AdminUnit.code, AdminUnit.name)).all())
    assert names == {"331102": "莲都区", "331102001": "紫金街道（新）", "331102002": "岩泉街道"}


def test_bad_rows_reject_the_whole_file_with_every_error_listed(client, db_session, admin):
    f.lishui(db_session)
    before = db_session.scalar(select(func.count()).select_from(Grid))
    content = (FIXTURES / "lishui_grids_bad.geojson").read_bytes()
    r = _post(client, admin, "/api/v1/imports/areas", "bad.geojson", content, level="grid")
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "import_rejected"
    by_feature = {e["feature"]: e["message"] for e in error["details"]["errors"]}
    assert set(by_feature) == {2, 3, 4, 5}
    assert "自相交" in by_feature[2]
    assert "闭合" in by_feature[3]
    assert "331102009001" in by_feature[4]
    assert "重复" in by_feature[5]
    assert db_session.scalar(select(func.count()).select_from(Grid)) == before


def test_on_error_skip_imports_the_good_rows_and_lists_the_rest(client, db_session, admin):
    f.lishui(db_session)
    content = (FIXTURES / "lishui_grids_bad.geojson").read_bytes()
    r = _post(client, admin, "/api/v1/imports/areas", "bad.geojson", content, level="grid", on_error="skip")
    body = r.get_json()
    assert r.status_code == 200 and body["created"] == 1 and len(body["errors"]) == 4
    assert db_session.scalar(select(Grid.name).where(Grid.code == "331102001001003")) == "好网格"


def test_grid_reimport_with_new_boundary_makes_a_version_and_moves_households(client, db_session, admin):
    world = f.lishui(db_session)
    f.household(db_session, "H-EDGE", 119.8925, 28.455, world["grids"][f.GRID_B])
    db_session.commit()
    # The shared border moves east from 119.890 to 119.895: H-EDGE (119.8925) passes to grid A.
    moved = (FIXTURES / "lishui_grids.geojson").read_text().replace("119.890", "119.895")
    r = _post(client, admin, "/api/v1/imports/areas", "g.geojson", moved.encode(), level="grid")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["updated"] == 2 and body["households"]["moved"] == 1
    versions = dict(db_session.execute(select(Grid.code, Grid.version)).all())
    assert versions[f.GRID_A] == 2 and versions[f.GRID_B] == 2
    history = db_session.scalar(select(func.count()).select_from(GridVersion)
                                .where(GridVersion.grid_id == world["grids"][f.GRID_A].id))
    assert history == 2
    assert db_session.scalar(select(Household.grid_id).where(Household.code == "H-EDGE")) == world["grids"][f.GRID_A].id


HOUSEHOLDS_CSV = """户号,地址,经度,纬度,户主,电话,人数,标签,风险等级
LD-1,丽水市莲都区中山街1号,119.885,28.455,张三,13812341234,3,孤寡老人;出租房,高
LD-2,丽水市莲都区中山街2号,119.895,28.455,李四,13912341234,2,,
LD-3,丽水市莲都区中山街3号,119.890,28.452,王五,,1,留守儿童,低
LD-4,城外,119.700,28.300,赵六,,4,,
"""


def test_household_csv_with_chinese_headers_is_imported_and_assigned(client, db_session, admin):
    world = f.lishui(db_session)
    r = _post(client, admin, "/api/v1/imports/households", "户.csv", HOUSEHOLDS_CSV.encode("utf-8"))
    body = r.get_json()
    assert r.status_code == 200, body
    assert (body["imported"], body["assigned"], body["outside_grids"], body["errors"]) == (4, 3, 1, [])
    rows = {h.code: h for h in db_session.scalars(select(Household))}
    assert rows["LD-1"].grid_id == world["grids"][f.GRID_A].id
    assert rows["LD-2"].grid_id == world["grids"][f.GRID_B].id
    assert rows["LD-3"].grid_id == world["grids"][f.GRID_A].id  # on the shared border
    assert rows["LD-4"].grid_id is None
    assert rows["LD-1"].tags == ["孤寡老人", "出租房"] and rows["LD-1"].risk_level == "high" and rows["LD-1"].size == 3


def test_imported_tags_take_their_one_spelling_and_a_look_alike_sensitive_tag_is_the_tag(client, db_session, admin):
    """As a field edit's (gridmap.auth.masking.normalise_tag): masked and counted as sensitive."""
    f.lishui(db_session)
    csv = ("户号,经度,纬度,标签\n"
           "LT-1,119.885,28.455,社區矯正，孤寡老人；孤寡老人 / 社区矫正\u3164\n"
           "LT-2,119.885,28.455,刑満釈放|ＡＢ\u200b独居\n")
    r = _post(client, admin, "/api/v1/imports/households", "tags.csv", csv.encode("utf-8"))
    assert r.status_code == 200, r.get_json()
    tags = dict(db_session.execute(select(Household.code, Household.tags).where(Household.code.like("LT-%"))).all())
    assert tags == {"LT-1": ["社区矫正", "孤寡老人"], "LT-2": ["刑满释放", "AB独居"]}


def test_a_first_large_household_import_answers_then_builds_the_address_index(client, db_session, admin,
                                                                              monkeypatch):
    from gridmap.households import address_index, writes

    monkeypatch.setattr(writes, "BULK_REBUILD_MIN_ROWS", 2)
    f.lishui(db_session)
    built, ensure = [], address_index.ensure

    def ensure_seen(session):
        built.append(address_index.present(session))
        return ensure(session)

    monkeypatch.setattr(address_index, "ensure", ensure_seen)
    r = _post(client, admin, "/api/v1/imports/households", "户.csv", HOUSEHOLDS_CSV.encode("utf-8"))
    assert r.status_code == 200 and r.get_json()["imported"] == 4
    assert built == [] and not address_index.present(db_session)  # answered before the build
    r.close()  # as the WSGI server does once the answer is sent
    assert built == [False] and address_index.present(db_session)


def test_household_import_agrees_with_sql_assignment(client, db_session, admin):
    from gridmap.households.assignment import assign_all

    f.lishui(db_session)
    _post(client, admin, "/api/v1/imports/households", "h.csv", HOUSEHOLDS_CSV.encode())
    before = dict(db_session.execute(select(Household.code, Household.grid_id)).all())
    result = assign_all(db_session)
    assert result.moved == 0 and result.newly_assigned == 0
    assert dict(db_session.execute(select(Household.code, Household.grid_id)).all()) == before


def test_household_gbk_csv_and_gcj02(client, db_session, admin):
    from gridmap.geo.crs import from_wgs84

    world = f.lishui(db_session)
    lon, lat = from_wgs84(119.885, 28.455, "gcj02")
    csv = f"户号,地址,经度,纬度\nG-1,莲都区,{float(lon)},{float(lat)}\n"
    r = _post(client, admin, "/api/v1/imports/households", "gbk.csv", csv.encode("gb18030"), crs="gcj02")
    assert r.status_code == 200, r.get_json()
    stored = db_session.execute(select(Household.grid_id, func.ST_X(Household.geom))).one()
    assert stored[0] == world["grids"][f.GRID_A].id and abs(stored[1] - 119.885) < 1e-6


def test_household_xlsx(client, db_session, admin):
    import openpyxl

    f.lishui(db_session)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["户号", "地址", "经度", "纬度", "户主", "电话", "人数", "标签"])
    sheet.append(["X-1", "莲都区", 119.885, 28.455, "钱七", "13800000000", 2, "残疾人"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = _post(client, admin, "/api/v1/imports/households", "h.xlsx", buffer.getvalue())
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["imported"] == 1


def test_household_bad_rows_are_all_reported_and_nothing_written(client, db_session, admin):
    f.lishui(db_session)
    csv = ("户号,经度,纬度,人数,风险等级\n"
           "B-1,119.885,28.455,2,高\n"
           ",119.885,28.455,2,\n"
           "B-3,28.455,119.885,2,\n"
           "B-4,abc,28.455,2,\n"
           "B-5,2.35,48.85,2,\n"
           "B-6,119.885,28.455,200,\n"
           "B-7,119.885,28.455,2,很高\n"
           "B-1,119.885,28.455,2,\n")
    r = _post(client, admin, "/api/v1/imports/households", "bad.csv", csv.encode())
    assert r.status_code == 422
    errors = r.get_json()["error"]["details"]["errors"]
    assert [e["row"] for e in errors] == [3, 4, 5, 6, 7, 8, 9]
    messages = " ".join(e["message"] for e in errors)
    for fragment in ("户号", "填反", "数字", "中国境内", "人数", "风险等级", "重复"):
        assert fragment in messages, fragment
    assert db_session.scalar(select(func.count()).select_from(Household)) == 0


@pytest.mark.parametrize("filename, content, code", [
    ("h.txt", b"hello", "unsupported_file"),
    ("h.csv", b"", "empty_file"),
    ("h.csv", "地址,经度\n莲都区,119.8\n".encode(), "missing_field"),
    ("h.xlsx", b"not a workbook", "unreadable_file"),
])
def test_household_file_level_errors(client, db_session, admin, filename, content, code):
    r = _post(client, admin, "/api/v1/imports/households", filename, content)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["code"] == code


def test_import_requires_file_and_valid_level_and_role(client, db_session, admin):
    r = client.post("/api/v1/imports/areas", data={"level": "grid"}, headers=f.auth(admin),
                    content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "file_required"
    r = _post(client, admin, "/api/v1/imports/areas", "a.csv", b"code,name\n1,x\n", level="city")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_level"
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    assert _post(client, worker, "/api/v1/imports/households", "h.csv", HOUSEHOLDS_CSV.encode()).status_code == 403


def test_planner_imports_only_inside_scope(client, db_session):
    f.lishui(db_session)
    planner = f.token_for(db_session, "planner", f.STREET)
    content = (FIXTURES / "lishui_grids.geojson").read_text().replace("331102001001002", "331102002001002")
    r = _post(client, planner, "/api/v1/imports/areas", "g.geojson", content.encode(), level="grid")
    assert r.status_code == 422
    assert [e["feature"] for e in r.get_json()["error"]["details"]["errors"]] == [2]


@pytest.mark.parametrize("filename", ["grids_lishui.gpkg", "grids_lishui_shp.zip", "grids_lishui.kml"])
def test_grid_files_in_every_format_use_the_files_own_crs(client, db_session, admin, filename):
    """The GeoPackage is CGCS2000 (EPSG:4490), the Shapefile CGCS2000 / 3-degree GK (EPSG:4549)."""
    f.lishui(db_session)
    content = (FIXTURES / "geo" / filename).read_bytes()
    r = _post(client, admin, "/api/v1/imports/areas", filename, content, level="grid")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["updated"] == 2
    bounds = db_session.execute(select(func.ST_XMin(Grid.geom), func.ST_YMin(Grid.geom), func.ST_XMax(Grid.geom))
                                .where(Grid.code == f.GRID_A)).one()
    assert bounds == pytest.approx((119.91, 28.45, 119.92), abs=1e-6)
    assert db_session.scalar(select(Grid.name).where(Grid.code == f.GRID_A)) == "白云山第一网格"


def test_xlsx_title_row_does_not_shift_reported_row_numbers(client, db_session, admin):
    import openpyxl

    f.lishui(db_session)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["莲都区住户登记表"])
    sheet.append(["户号", "经度", "纬度"])
    sheet.append(["T-1", 119.885, 28.455])
    sheet.append(["T-2", "东经", 28.455])
    buffer = io.BytesIO()
    book.save(buffer)
    r = _post(client, admin, "/api/v1/imports/households", "t.xlsx", buffer.getvalue())
    assert r.status_code == 422
    assert [e["row"] for e in r.get_json()["error"]["details"]["errors"]] == [4]


def test_out_of_area_grid_needs_no_polygon_but_a_map_grid_does(client, db_session, admin):
    f.lishui(db_session)
    csv = ("编码,名称,类型\n"
           "331102001001900,城北社区域外网格,域外\n"
           "331102001001901,没有边界的网格,\n")
    r = _post(client, admin, "/api/v1/imports/areas", "g.csv", csv.encode(), level="grid", on_error="skip")
    body = r.get_json()
    assert r.status_code == 200 and body["created"] == 1
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "geometry")]
    kind, geom = db_session.execute(select(Grid.kind, Grid.geom).where(Grid.code == "331102001001900")).one()
    assert kind == "out_of_area" and geom is None


def test_grids_from_csv_with_wkt_geometry(client, db_session, admin):
    f.lishui(db_session)
    csv = ('code,name,wkt\n'
           '331102001001003,WKT网格,"POLYGON((119.880 28.460,119.890 28.460,119.890 28.465,119.880 28.465,119.880 28.460))"\n')
    r = _post(client, admin, "/api/v1/imports/areas", "g.csv", csv.encode(), level="grid")
    assert r.status_code == 200, r.get_json()
    assert db_session.scalar(select(func.ST_GeometryType(Grid.geom)).where(Grid.code == "331102001001003")) == "ST_MultiPolygon"


def test_reimport_updates_existing_households_and_adds_new_ones(client, db_session, admin):
    world = f.lishui(db_session)
    _post(client, admin, "/api/v1/imports/households", "h.csv", HOUSEHOLDS_CSV.encode())
    again = ('户号,地址,经度,纬度,户主,标签\n'
             'LD-1,新地址,119.895,28.455,张三,"有""引号"";出租房"\n'
             'LD-9,丽水市莲都区中山街9号,119.885,28.455,孙九,\n')
    r = _post(client, admin, "/api/v1/imports/households", "h2.csv", again.encode())
    body = r.get_json()
    assert r.status_code == 200, body
    assert (body["created"], body["updated"]) == (1, 1)
    ld1 = db_session.scalar(select(Household).where(Household.code == "LD-1"))
    db_session.refresh(ld1)
    assert ld1.address == "新地址" and ld1.grid_id == world["grids"][f.GRID_B].id
    assert ld1.tags == ['有"引号"', "出租房"]
    assert db_session.scalar(select(func.count()).select_from(Household)) == 5


def test_planner_boundary_must_lie_within_their_area(client, db_session):
    f.lishui(db_session)
    planner = f.token_for(db_session, "planner", f.OTHER_STREET)
    x0, y0, x1, y1 = f.BOXES[f.GRID_A]  # grid A's land, in the other street
    feature = {"type": "Feature", "properties": {"code": "331102002001002", "name": "丽阳社区第2网格",
                                                 "parent": f.OTHER_COMMUNITY},
               "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}
    content = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    r = _post(client, planner, "/api/v1/imports/areas", "g.geojson", content, level="grid")
    assert r.status_code == 422
    assert [(e["feature"], e["field"], e["message"]) for e in r.get_json()["error"]["details"]["errors"]] == \
        [(1, "geometry", "331102002001002 的边界超出您的管辖范围 331102002（允许误差 1 米）。")]
    # no boundary in the street nor under it: nothing to check against
    db_session.execute(update(AdminUnit).where(AdminUnit.code.startswith(f.OTHER_STREET)).values(geom=None))
    db_session.execute(update(Grid).where(Grid.code.startswith(f.OTHER_STREET)).values(geom=None, kind="out_of_area"))
    r = _post(client, planner, "/api/v1/imports/areas", "g.geojson", content, level="grid")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "scope_area_without_boundary"
    assert db_session.scalar(select(func.count()).select_from(Grid).where(Grid.code == "331102002001002")) == 0


def _grid_feature(code: str, parent: str, box, **properties) -> bytes:
    x0, y0, x1, y1 = box
    feature = {"type": "Feature", "properties": {"code": code, "name": "新网格", "parent": parent, **properties},
               "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def test_a_city_wide_planner_is_checked_against_the_highest_boundaries_under_their_prefix(client, db_session):
    f.lishui(db_session)
    city = f.DISTRICT[:4]  # no unit of its own: the district's boundary is the area
    planner = f.token_for(db_session, "planner", city)
    inside = _grid_feature("331102001001007", f.COMMUNITY, f.BOXES[f.GRID_A])
    assert _post(client, planner, "/api/v1/imports/areas", "g.geojson", inside, level="grid").status_code == 200
    x0, y0, x1, y1 = f.BOXES[f.DISTRICT]
    outside = _grid_feature("331102001001008", f.COMMUNITY, (x1 + 0.01, y0, x1 + 0.02, y1))
    r = _post(client, planner, "/api/v1/imports/areas", "g.geojson", outside, level="grid")
    assert r.status_code == 422 and r.get_json()["error"]["details"]["errors"][0]["field"] == "geometry"


def test_an_out_of_area_grid_is_not_held_to_the_importers_land(client, db_session):
    f.lishui(db_session)
    planner = f.token_for(db_session, "planner", f.OTHER_STREET)
    # residents of the other street who live on grid A's land: their 域外网格 takes no households
    content = _grid_feature("331102002001900", f.OTHER_COMMUNITY, f.BOXES[f.GRID_A], kind="域外")
    r = _post(client, planner, "/api/v1/imports/areas", "g.geojson", content, level="grid")
    assert r.status_code == 200, r.get_json()
    assert db_session.scalar(select(Grid.kind).where(Grid.code == "331102002001900")) == "out_of_area"


QGIS_SHP = FIXTURES / "geo" / "grids_qgis_utf8_shp.zip"  # UTF-8 names cut mid-character at 10 bytes


def test_a_qgis_utf8_shapefile_with_cut_field_names_imports_by_the_names_as_read(client, db_session, admin):
    f.lishui(db_session)
    r = _post(client, admin, "/api/v1/imports/areas", QGIS_SHP.name, QGIS_SHP.read_bytes(), level="grid",
              code_field="网格编", name_field="网格名", parent_field="上级编")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["updated"] == 2
    assert db_session.scalar(select(Grid.name).where(Grid.code == f.GRID_A)) == "白云山第一网格"


def test_an_unknown_field_lists_the_files_cut_field_names(client, db_session, admin):
    f.lishui(db_session)
    r = _post(client, admin, "/api/v1/imports/areas", QGIS_SHP.name, QGIS_SHP.read_bytes(), level="grid",
              code_field="网格编码号码", name_field="网格名")
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "unknown_field"
    assert error["details"] == {"field": "网格编码号码", "available": ["网格编", "网格名", "上级编"]}
    assert "网格编、网格名、上级编" in error["message"]
