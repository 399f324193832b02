"""The OpenAPI document states what the code enforces, and the code enforces what it states
(issue 14 item 7): the gaps the schemathesis CLI found with more examples than the in-suite fuzz.

A blank planning reason and repeated merge codes are refused as the document says (400 naming
the field); geometry bodies are documented as GeoJSON shapes; a member the code ignores may
hold NUL (it never reaches PostgreSQL); a check-in batch item that is not an object makes the
whole batch malformed; refusals that depend on data are declared per operation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import func, select

from gridmap.patrol.models import Checkin
from tests import factories as f


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


def _body_schema(document, path: str, method: str) -> dict:
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def _checkin(**extra) -> dict:
    return {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 10,
            "recorded_at": datetime.now(UTC).isoformat(), **extra}


def _fields(response) -> list[str]:
    return [e["field"] for e in response.get_json()["error"]["details"]["errors"]]


def test_document_states_geometry_shapes_and_reasons(document):
    geometry = _body_schema(document, "/api/v1/grids/{code}/geometry", "put")
    kinds = [branch["properties"]["type"]["enum"] for branch in geometry["properties"]["geometry"]["oneOf"]]
    assert kinds == [["Polygon"], ["MultiPolygon"]]
    ring = geometry["properties"]["geometry"]["oneOf"][0]["properties"]["coordinates"]["items"]
    assert ring["minItems"] == 4 and ring["items"]["minItems"] == 2
    reason = geometry["properties"]["reason"]
    assert reason["minLength"] == 1 and "\\s" in reason["pattern"] and "reason" in geometry["required"]
    line = _body_schema(document, "/api/v1/grids/{code}/split", "post")["properties"]["line"]
    assert line["properties"]["type"]["enum"] == ["LineString"] and line["properties"]["coordinates"]["minItems"] == 2
    assert _body_schema(document, "/api/v1/grids/merge", "post")["properties"]["codes"]["uniqueItems"] is True


def test_document_declares_data_dependent_refusals(document):
    declared = {(path, method): set(op.get("x-data-dependent-errors", []))
                for path, ops in document["paths"].items() for method, op in ops.items()}
    assert {"proposal_targets_invalid", "proposal_not_community"} <= declared[("/api/v1/planning/proposals", "post")]
    assert {"ring_not_closed", "self_intersection", "grid_overlaps_sibling"} \
        <= declared[("/api/v1/grids/{code}/geometry", "put")]
    guards = {"archive_refused", "unsafe_file_content", "unreadable_file", "empty_file", "unsupported_file"}
    imports = [key for key in declared if key[0].startswith("/api/v1/imports/")]
    assert imports and all(guards <= declared[key] for key in imports)


def test_blank_reason_and_repeated_merge_codes_are_400(client, db_session):
    f.lishui(db_session)
    planner = f.auth(f.token_for(db_session, "planner", f.COMMUNITY))
    blank = client.put(f"/api/v1/grids/{f.GRID_A}/geometry", headers=planner, json={
        "geometry": mapping(box(119.875, 28.45, 119.885, 28.46)), "version": 1, "reason": " \t"})
    assert blank.status_code == 400 and _fields(blank) == ["reason"]
    merge = client.post("/api/v1/grids/merge", json={"codes": [f.GRID_A, f.GRID_A]}, headers=planner)
    assert merge.status_code == 400 and _fields(merge) == ["codes"]


def test_nul_in_an_ignored_geometry_member_is_not_refused(client, db_session):
    f.lishui(db_session)
    planner = f.auth(f.token_for(db_session, "planner", f.COMMUNITY))
    geometry = {**mapping(box(119.875, 28.45, 119.885, 28.46)), "bbox": "\u0000", "\u0000": 1}
    response = client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": geometry}, headers=planner)
    assert response.status_code == 200, response.get_json()


def test_checkin_nul_only_refused_where_it_would_be_stored(client, db_session):
    f.lishui(db_session)
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    ignored = client.post("/api/v1/checkins", json=_checkin(extra="\u0000"), headers=worker)
    assert ignored.status_code == 201, ignored.get_json()
    kept = client.post("/api/v1/checkins", json=_checkin(note="a\u0000b"), headers=worker)
    assert kept.status_code == 400 and kept.get_json()["error"]["code"] == "nul_character"
    assert db_session.scalar(select(func.count()).select_from(Checkin)) == 1


@pytest.mark.parametrize("stray", [1, "text", None, [], ["x"]])
def test_a_batch_item_that_is_not_an_object_refuses_the_batch(client, db_session, stray):
    f.lishui(db_session)
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    response = client.post("/api/v1/checkins", json={"items": [_checkin(), stray]}, headers=worker)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_failed"
    assert db_session.scalar(select(func.count()).select_from(Checkin)) == 0


def test_document_says_batch_items_are_judged_one_by_one(document):
    batch = _body_schema(document, "/api/v1/checkins", "post")["oneOf"][1]["properties"]["items"]
    assert batch["maxItems"] == 500 and batch["items"]["anyOf"][1]["type"] == "object"


def test_checkin_offset_postgresql_cannot_hold_is_stored_in_utc(client, db_session):
    f.lishui(db_session)
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    response = client.post("/api/v1/checkins", json=_checkin(recorded_at="2026-03-04T15:36:54+19:21"), headers=worker)
    assert response.status_code == 201, response.get_json()
    assert db_session.scalar(select(func.count()).select_from(Checkin)) == 1


def test_checkin_moment_is_text_as_documented(client, db_session):
    f.lishui(db_session)
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    response = client.post("/api/v1/checkins", json=_checkin(recorded_at=0), headers=worker)
    assert response.status_code == 400 and _fields(response) == ["recorded_at"]


def test_checkin_accuracy_is_a_number_not_a_boolean(client, db_session):
    f.lishui(db_session)
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    response = client.post("/api/v1/checkins", json=_checkin(accuracy_m=False), headers=worker)
    assert response.status_code == 400 and _fields(response) == ["accuracy_m"]
