"""OGC API – Features under /ogc: the documents, paging, bbox, datetime, errors, and the API's
scope and masking (a grid worker sees their grid, a district supervisor their district, no
hazard carries a person or free text). GDAL reading it live: tests/db/test_ogc_gdal.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from gridmap.auth.scope import Scope
from gridmap.hazards import service as hazards
from gridmap.hazards.models import Hazard
from tests import factories as f

GEOJSON = "application/geo+json"


@pytest.fixture
def world(db_session):
    f.lishui(db_session)
    everything = Scope.everything()
    ids = {}
    for name, lon, moment in (("a", 119.884, datetime(2026, 3, 1, 2, tzinfo=UTC)),
                              ("b", 119.895, datetime(2026, 3, 5, 2, tzinfo=UTC)),
                              ("c", 119.930, datetime(2026, 3, 9, 2, tzinfo=UTC))):
        hazard = hazards.report(db_session, everything, category="fire", severity="normal",
                                description=f"张三 13800000001 说 {name}", lon=lon, lat=28.455, crs=None)["id"]
        db_session.execute(update(Hazard).where(Hazard.id == hazard).values(created_at=moment))
        ids[name] = hazard
    db_session.commit()
    return ids


def _get(client, token, url, status=200, **query):
    response = client.get(url, query_string=query, headers=f.auth(token))
    assert response.status_code == status, (url, response.get_data(as_text=True)[:400])
    return response


def _ids(body) -> list:
    return [feature["id"] for feature in body["features"]]


def test_landing_conformance_and_collections_link_to_each_other(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    landing = _get(client, admin, "/ogc").get_json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["conformance"].endswith("/ogc/conformance") and rels["data"].endswith("/ogc/collections")
    assert rels["service-desc"].endswith("/ogc/api")
    conformance = _get(client, admin, "/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    document = _get(client, admin, "/ogc/api")
    assert document.mimetype == "application/vnd.oai.openapi+json"
    paths = document.get_json()["paths"]
    assert "/ogc/collections/{collection_id}/items" in paths and not any(p.startswith("/api/") for p in paths)
    limit = next(p for p in paths["/ogc/collections/hazards/items"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000
    listed = _get(client, admin, "/ogc/collections").get_json()["collections"]
    assert [c["id"] for c in listed] == ["districts", "streets", "communities", "grids", "hazards"]
    grids = _get(client, admin, "/ogc/collections/grids").get_json()
    assert {link["rel"] for link in grids["links"]} == {"self", "items"}
    assert _get(client, admin, "/ogc/collections/hazards").get_json()["id"] == "hazards"
    assert _get(client, admin, "/ogc/collections/parks", status=404).get_json()["error"]["code"] \
        == "ogc_collection_not_found"


def test_items_are_geojson_pages_with_next_and_prev_links(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    first = _get(client, admin, "/ogc/collections/grids/items", limit=2)
    assert first.mimetype == GEOJSON
    body = first.get_json()
    assert (_ids(body), body["numberMatched"], body["numberReturned"]) == ([f.GRID_A, f.GRID_B], 3, 2)
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "prev" not in links and "limit=2" in links["next"] and "offset=2" in links["next"]
    second = client.get(links["next"], headers=f.auth(admin)).get_json()
    assert (_ids(second), second["numberReturned"]) == ([f.GRID_C], 1)
    second_links = {link["rel"]: link["href"] for link in second["links"]}
    assert "next" not in second_links and "offset=0" in second_links["prev"]
    beyond = _get(client, admin, "/ogc/collections/grids/items", offset=3).get_json()
    assert (beyond["features"], beyond["numberMatched"]) == ([], 3)


@pytest.mark.parametrize("collection, expected", [
    ("districts", [f.DISTRICT]), ("streets", [f.STREET, f.OTHER_STREET]),
    ("communities", [f.COMMUNITY, f.OTHER_COMMUNITY]),
])
def test_each_admin_level_is_a_collection(client, db_session, world, collection, expected):
    admin = f.token_for(db_session, "admin")
    body = _get(client, admin, f"/ogc/collections/{collection}/items").get_json()
    assert _ids(body) == expected
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    one = _get(client, admin, f"/ogc/collections/{collection}/items/{expected[0]}")
    assert one.mimetype == GEOJSON and one.get_json()["properties"]["code"] == expected[0]
    assert _get(client, admin, f"/ogc/collections/{collection}/items/{f.GRID_A}", status=404)


def test_bbox_keeps_the_features_it_touches(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    # a box inside grid A only (grid B starts at lon 119.890)
    inside_a = "119.881,28.451,119.885,28.452"
    assert _ids(_get(client, admin, "/ogc/collections/grids/items", bbox=inside_a).get_json()) == [f.GRID_A]
    assert _ids(_get(client, admin, "/ogc/collections/hazards/items", bbox="119.880,28.450,119.890,28.460",
                     **{"bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}).get_json()) == [world["a"]]


@pytest.mark.parametrize("query", [
    {"bbox": "1,2,3"}, {"bbox": "a,b,c,d"}, {"bbox": "119,28,120,29", "bbox-crs": "EPSG:4490"},
    {"limit": "0"}, {"limit": "10001"}, {"offset": "-1"}, {"datetime": "yesterday"},
    {"datetime": "2026-03-09/2026-03-01"}, {"datetime": ".."}, {"datetime": "1999-01-01"},
    {"colour": "red"},
])
def test_a_bad_parameter_is_a_400(client, db_session, world, query):
    admin = f.token_for(db_session, "admin")
    body = _get(client, admin, "/ogc/collections/hazards/items", status=400, **query).get_json()
    assert body["error"]["code"] == ("unknown_parameter" if "colour" in query else "validation_failed")


@pytest.mark.parametrize("moment, expected", [
    ("2026-03-01T02:00:00Z", ["a"]),                      # an instant
    ("2026-03-05", ["b"]),                                # a day (Beijing)
    ("2026-03-02T00:00:00+08:00/2026-03-09T10:00:00+08:00", ["b", "c"]),  # both ends inclusive
    ("../2026-03-05T02:00:00Z", ["a", "b"]), ("2026-03-05T02:00:01Z/..", ["c"]), ("/2026-03-01", ["a"]),
    ("2026-03-05T10:00:00 08:00", ["b"]),                 # "+" sent unencoded
    ("2026-03-06T02:00:00+18:00/..", ["c"]),              # RFC 3339 allows offsets PostgreSQL does not
])
def test_datetime_filters_hazards_by_report_time(client, db_session, world, moment, expected):
    admin = f.token_for(db_session, "admin")
    body = _get(client, admin, "/ogc/collections/hazards/items", datetime=moment).get_json()
    assert _ids(body) == [world[name] for name in expected]
    # collections without time ignore it
    assert len(_get(client, admin, "/ogc/collections/grids/items", datetime=moment).get_json()["features"]) == 3


def test_hazards_carry_no_person_and_no_free_text(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    body = _get(client, admin, "/ogc/collections/hazards/items").get_json()
    one = _get(client, admin, f"/ogc/collections/hazards/items/{world['a']}").get_json()
    for feature in [*body["features"], one]:
        assert set(feature["properties"]) == {"code", "category", "category_name", "severity", "status", "level",
                                              "grid_code", "created_at", "accept_by", "resolve_by", "closed_at"}
    text = str(body) + str(one)
    assert "张三" not in text and "13800000001" not in text


def test_a_grid_worker_sees_their_grid_only(client, db_session, world):
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    assert _ids(_get(client, worker, "/ogc/collections/grids/items").get_json()) == [f.GRID_A]
    assert _ids(_get(client, worker, "/ogc/collections/hazards/items").get_json()) == [world["a"]]
    for collection in ("districts", "streets", "communities"):
        assert _get(client, worker, f"/ogc/collections/{collection}/items").get_json()["numberMatched"] == 0
    _get(client, worker, f"/ogc/collections/grids/items/{f.GRID_B}", status=404)
    _get(client, worker, f"/ogc/collections/hazards/items/{world['b']}", status=404)


def test_a_supervisor_sees_their_area_only(client, db_session, world):
    street = f.token_for(db_session, "supervisor", f.STREET)
    assert _ids(_get(client, street, "/ogc/collections/grids/items").get_json()) == [f.GRID_A, f.GRID_B]
    assert _ids(_get(client, street, "/ogc/collections/streets/items").get_json()) == [f.STREET]
    assert _ids(_get(client, street, "/ogc/collections/hazards/items").get_json()) == [world["a"], world["b"]]
    _get(client, street, f"/ogc/collections/streets/items/{f.OTHER_STREET}", status=404)
    district = f.token_for(db_session, "supervisor", f.DISTRICT)
    assert _get(client, district, "/ogc/collections/grids/items").get_json()["numberMatched"] == 3
    assert _ids(_get(client, district, "/ogc/collections/hazards/items").get_json()) == list(world.values())
    assert _get(client, district, "/ogc/collections/grids/items", within=f.OTHER_STREET).get_json()["numberMatched"] == 1


def test_a_party_member_has_no_hazards_collection(client, db_session, world):
    from gridmap.areas.models import Grid
    from gridmap.party.models import PartyMember

    grid_id = db_session.query(Grid.id).filter(Grid.code == f.GRID_A).scalar()
    row = PartyMember(name="党员甲", grid_id=grid_id)
    db_session.add(row)
    db_session.flush()
    member = f.token_for(db_session, "party_member", f.GRID_A, party_member_id=row.id)
    listed = _get(client, member, "/ogc/collections").get_json()["collections"]
    assert "hazards" not in [c["id"] for c in listed]
    _get(client, member, "/ogc/collections/hazards/items", status=403)
    _get(client, member, "/ogc/collections/hazards/items/abc", status=404)  # not a hazard route: no hint
    assert _ids(_get(client, member, "/ogc/collections/grids/items").get_json()) == [f.GRID_A]


def test_without_login_it_is_401_as_json_and_the_login_cookie_works(client, db_session, world):
    import re

    from gridmap.auth.service import create_user

    assert client.get("/ogc/collections").status_code == 401
    assert client.get("/ogc").get_json()["error"]["code"] == "unauthorized"
    create_user(db_session, "worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员小王")
    db_session.commit()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "worker", "password": "pass-word-1", "csrf_token": csrf})
    body = client.get("/ogc/collections/grids/items").get_json()
    assert [feature["id"] for feature in body["features"]] == [f.GRID_A]
