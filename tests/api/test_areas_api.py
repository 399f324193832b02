"""Areas, grids and locate through the HTTP contract (API.md)."""

from __future__ import annotations

import pytest

from tests import factories as f


@pytest.fixture
def world(db_session):
    return f.lishui(db_session)


def test_requests_without_token_are_401_with_chinese_message(client, world):
    response = client.get("/api/v1/grids")
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "unauthorized"
    assert "登录" in error["message"]


def test_token_login_and_bad_password(client, db_session, world):
    from gridmap.auth.service import create_user

    create_user(db_session, "zhang", "right-password", "supervisor", f.DISTRICT)
    ok = client.post("/api/v1/auth/token", json={"username": "zhang", "password": "right-password"})
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["user"]["role"] == "supervisor" and body["token"] and body["expires_at"]
    bad = client.post("/api/v1/auth/token", json={"username": "zhang", "password": "wrong"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_credentials"
    malformed = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert malformed.status_code == 400


def test_areas_children_of_a_parent_and_top_of_scope(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    top = client.get("/api/v1/areas", headers=f.auth(admin)).get_json()
    assert [a["code"] for a in top["items"]] == [f.DISTRICT]
    children = client.get(f"/api/v1/areas?parent={f.DISTRICT}", headers=f.auth(admin)).get_json()
    assert [(a["code"], a["level"], a["parent_code"]) for a in children["items"]] == [
        (f.STREET, "street", f.DISTRICT), (f.OTHER_STREET, "street", f.DISTRICT)]
    assert children["total"] == 2
    street_supervisor = f.token_for(db_session, "supervisor", f.STREET)
    own = client.get("/api/v1/areas", headers=f.auth(street_supervisor)).get_json()
    assert [a["code"] for a in own["items"]] == [f.STREET]
    siblings = client.get(f"/api/v1/areas?parent={f.DISTRICT}", headers=f.auth(street_supervisor)).get_json()
    assert [a["code"] for a in siblings["items"]] == [f.STREET]


def test_grids_feature_collection_with_counts_and_filters(client, db_session, world):
    grid_a = world["grids"][f.GRID_A]
    for i in range(3):
        f.household(db_session, f"H{i}", 119.885, 28.455, grid_a)
    token = f.token_for(db_session, "admin")
    body = client.get("/api/v1/grids", headers=f.auth(token)).get_json()
    assert body["type"] == "FeatureCollection" and body["total"] == 3
    props = {feat["properties"]["code"]: feat["properties"] for feat in body["features"]}
    assert props[f.GRID_A]["households"] == 3 and props[f.GRID_B]["households"] == 0
    assert props[f.GRID_A]["community_code"] == f.COMMUNITY
    assert (props[f.GRID_A]["target_min"], props[f.GRID_A]["target_max"], props[f.GRID_A]["version"]) == (300, 500, 1)
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    within = client.get(f"/api/v1/grids?within={f.OTHER_STREET}", headers=f.auth(token)).get_json()
    assert [x["properties"]["code"] for x in within["features"]] == [f.GRID_C]
    bbox = client.get("/api/v1/grids?bbox=119.881,28.451,119.884,28.454", headers=f.auth(token)).get_json()
    assert [x["properties"]["code"] for x in bbox["features"]] == [f.GRID_A]
    paged = client.get("/api/v1/grids?limit=1&offset=1", headers=f.auth(token)).get_json()
    assert paged["total"] == 3 and [x["properties"]["code"] for x in paged["features"]] == [f.GRID_B]


@pytest.mark.parametrize("query", ["bbox=1,2,3", "bbox=a,b,c,d", "limit=0", "limit=abc", "within=33x", "bbox=1,2,3,4,5",
                                   "bbox=181,10,5,5"])
def test_bad_list_parameters_are_400(client, db_session, world, query):
    token = f.token_for(db_session, "admin")
    response = client.get(f"/api/v1/grids?{query}", headers=f.auth(token))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["errors"]


def test_scope_hides_other_areas_and_404s_single_objects(client, db_session, world):
    token = f.token_for(db_session, "supervisor", f.STREET)
    listed = client.get("/api/v1/grids", headers=f.auth(token)).get_json()
    assert {x["properties"]["code"] for x in listed["features"]} == {f.GRID_A, f.GRID_B}
    outside = client.get(f"/api/v1/grids?within={f.OTHER_STREET}", headers=f.auth(token)).get_json()
    assert outside["features"] == [] and outside["total"] == 0
    assert client.get(f"/api/v1/grids/{f.GRID_C}", headers=f.auth(token)).status_code == 404
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    mine = client.get("/api/v1/grids", headers=f.auth(worker)).get_json()
    assert [x["properties"]["code"] for x in mine["features"]] == [f.GRID_A]
    assert client.get(f"/api/v1/grids/{f.GRID_B}", headers=f.auth(worker)).status_code == 404


def test_grid_detail_counts_by_tag_and_risk(client, db_session, world):
    grid_a = world["grids"][f.GRID_A]
    f.household(db_session, "H1", 119.885, 28.455, grid_a, tags=["孤寡老人", "出租房"], risk_level="high", size=1)
    f.household(db_session, "H2", 119.886, 28.455, grid_a, tags=["出租房"], size=3)
    token = f.token_for(db_session, "admin")
    body = client.get(f"/api/v1/grids/{f.GRID_A}", headers=f.auth(token)).get_json()
    props = body["properties"]
    assert props["households"] == 2 and props["residents"] == 4
    assert props["tag_counts"] == {"出租房": 2, "孤寡老人": 1}
    assert props["risk_counts"] == {"high": 1}
    assert 1_000_000 < props["area_m2"] < 1_200_000  # 0.01° x 0.01° at 28.45°N ≈ 1.09 km²
    missing = client.get("/api/v1/grids/331102001001999", headers=f.auth(token))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "grid_not_found"


def test_locate_finds_grid_and_its_chain(client, db_session, world):
    token = f.token_for(db_session, "admin")
    body = client.get("/api/v1/locate?lon=119.885&lat=28.455", headers=f.auth(token)).get_json()
    assert body["grid"]["code"] == f.GRID_A
    assert body["community"] == {"code": f.COMMUNITY, "name": "城北社区"}
    assert body["street"]["code"] == f.STREET and body["district"]["code"] == f.DISTRICT


def test_locate_on_a_shared_border_picks_the_smaller_code(client, db_session, world):
    token = f.token_for(db_session, "admin")
    body = client.get("/api/v1/locate?lon=119.89&lat=28.455", headers=f.auth(token)).get_json()
    assert body["grid"]["code"] == f.GRID_A


def test_locate_converts_gcj02(client, db_session, world):
    from gridmap.geo.crs import from_wgs84

    lon, lat = from_wgs84(119.887, 28.455, "gcj02")
    token = f.token_for(db_session, "admin")
    # Read as WGS-84 the GCJ-02 point lies ~550 m off, across the border in grid B.
    as_wgs = client.get(f"/api/v1/locate?lon={float(lon)}&lat={float(lat)}", headers=f.auth(token)).get_json()
    assert as_wgs["grid"]["code"] != f.GRID_A
    as_gcj = client.get(f"/api/v1/locate?lon={float(lon)}&lat={float(lat)}&crs=gcj02", headers=f.auth(token))
    assert as_gcj.get_json()["grid"]["code"] == f.GRID_A


@pytest.mark.parametrize("query, status, code", [
    ("lon=119.97&lat=28.40", 404, "not_in_any_grid"),
    ("lon=28.455&lat=119.885", 422, "coordinate_swapped"),
    ("lon=2.35&lat=48.85", 422, "coordinate_outside_china"),
    ("lon=119.885&lat=28.455&crs=EPSG:999999", 422, "invalid_crs"),
    ("lon=119.885&lat=28.455&crs=mars", 400, "validation_failed"),
    ("lon=abc&lat=28", 400, "validation_failed"),
])
def test_locate_errors(client, db_session, world, query, status, code):
    token = f.token_for(db_session, "admin")
    response = client.get(f"/api/v1/locate?{query}", headers=f.auth(token))
    assert response.status_code == status
    if code:
        assert response.get_json()["error"]["code"] == code


def test_openapi_document_lists_every_operation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/grids", "/api/v1/grids/{code}", "/api/v1/locate", "/api/v1/areas",
                 "/api/v1/grids/{code}/households", "/api/v1/imports/areas", "/api/v1/imports/households",
                 "/api/v1/assign", "/api/v1/auth/token"]:
        assert path in spec["paths"], path
    grid_params = {p["name"] for p in spec["paths"]["/api/v1/grids"]["get"]["parameters"]}
    assert {"within", "bbox", "limit", "offset"} <= grid_params


def test_every_registered_api_route_is_documented(app):
    spec_paths = set()
    from gridmap.apidoc import build_openapi
    for path, ops in build_openapi()["paths"].items():
        for method in ops:
            spec_paths.add((method.upper(), path))
    import re
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in spec_paths, (method, path)
