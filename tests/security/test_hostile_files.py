"""Hostile files against every import route, as every role that may call it.

Each file of the catalogue (tests/security/hostile_files.py: OGR VRTs disguised as every type,
/vsicurl/ and /vsizip/ names, zip bombs, XXE and billion laughs, traversal names, wrong magic)
is posted to each import route found in gridmap.apidoc.OPERATIONS, by each role its
declaration allows. Every time: a 4xx (never a 500), no row written, the local secret file's
content in no response and no row, and no request to the local HTTP server. Then the body
limits: each route refuses a body just over its own limit, and JSON routes a multi-MB body.
"""

from __future__ import annotations

import io
import re
import secrets

import pytest

from gridmap.party.models import PartyMember
from tests import factories as f
from tests.security.hostile_files import PLACES_CSV, catalogue, hostile_crs
from tests.security.upload_support import ROLE_SCOPES, Listener, route_roles, snapshot, upload_operations

ROUTE_ROLES = route_roles()
# The catalogue's names (files are generated once per module, below, with the secret and the port).
FILE_CASES = list(catalogue("/nonexistent/secret.txt", 1))
CRS_CASES = list(hostile_crs("/nonexistent/secret.txt", 1))


@pytest.fixture(scope="module")
def listener(tmp_path_factory):
    server = Listener(str(tmp_path_factory.mktemp("listener") / "requests.log"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def secret(tmp_path_factory):
    value = f"GRIDMAP-SECRET-{secrets.token_hex(8)}"
    path = tmp_path_factory.mktemp("secret") / "gridmap_secret.txt"
    path.write_text(value + "\n")
    return str(path), value


@pytest.fixture(scope="module")
def files(secret, listener):
    return catalogue(secret[0], listener.port)


def _post(client, db_session, route: str, role: str, filename: str, data: bytes, form: dict | None = None):
    token = f.token_for(db_session, role, ROLE_SCOPES[role])
    fields = {"file": (io.BytesIO(data), filename), **(form or {})}
    if route.endswith("/areas"):
        fields.setdefault("level", "grid")
    return client.post(route, headers=f.auth(token), data=fields, content_type="multipart/form-data")


def _assert_refused(response, before, after, secret_value, listener, seen, what):
    body = response.get_data(as_text=True)
    assert response.status_code in (400, 413, 422), (what, response.status_code, body[:500])
    assert secret_value not in body, what
    assert after == before, (what, before, after)
    assert not any(leaked for _, leaked in after.values()), what
    assert listener.requests[seen:] == [], (what, listener.requests[seen:])


def test_the_matrix_is_what_the_declarations_say():
    """Every import route is covered with every role it allows (and the count is printed)."""
    paths = sorted({op.path for op in upload_operations()})
    assert paths == ["/api/v1/imports/areas", "/api/v1/imports/households", "/api/v1/imports/key-places",
                     "/api/v1/imports/party-members"]
    print(f"\nhostile files: {len(FILE_CASES)} files x {len(paths)} routes, {len(ROUTE_ROLES)} route-role pairs"
          f" = {len(FILE_CASES) * len(ROUTE_ROLES)} uploads; {len(CRS_CASES)} CRS strings x {len(ROUTE_ROLES)}"
          f" = {len(CRS_CASES) * len(ROUTE_ROLES)}")


@pytest.mark.parametrize("route, role", ROUTE_ROLES, ids=[f"{p.rsplit('/', 1)[1]}-{r}" for p, r in ROUTE_ROLES])
@pytest.mark.parametrize("case", FILE_CASES)
def test_hostile_file_is_refused(client, db_session, files, secret, listener, case, route, role):
    f.lishui(db_session)
    filename, data = files[case]
    before, seen = snapshot(db_session, secret[1]), len(listener.requests)
    response = _post(client, db_session, route, role, filename, data)
    _assert_refused(response, before, snapshot(db_session, secret[1]), secret[1], listener, seen, (case, route, role))


@pytest.mark.parametrize("route, role", ROUTE_ROLES, ids=[f"{p.rsplit('/', 1)[1]}-{r}" for p, r in ROUTE_ROLES])
@pytest.mark.parametrize("case", CRS_CASES)
def test_hostile_crs_string_is_refused(client, db_session, secret, listener, case, route, role):
    """A valid key-place file with a CRS that is not wgs84/gcj02/bd09/EPSG:n: a 4xx, nothing
    written, nothing fetched."""
    f.lishui(db_session)
    crs = hostile_crs(secret[0], listener.port)[case]
    before, seen = snapshot(db_session, secret[1]), len(listener.requests)
    response = _post(client, db_session, route, role, "places.csv", PLACES_CSV, {"crs": crs})
    _assert_refused(response, before, snapshot(db_session, secret[1]), secret[1], listener, seen, (case, route, role))


def test_the_valid_twin_of_the_catalogue_imports(client, db_session):
    """The files are refused for what they carry: the same key place as a plain CSV imports."""
    f.lishui(db_session)
    response = _post(client, db_session, "/api/v1/imports/key-places", "grid_worker", "places.csv", PLACES_CSV)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["imported"] == 1


# --- body limits -----------------------------------------------------------------------


def _route_limit(app, op) -> int:
    with app.test_request_context():
        limit = op.max_body() if callable(op.max_body) else op.max_body
    return limit if limit is not None else app.config["MAX_CONTENT_LENGTH"]


@pytest.mark.parametrize("route", ["/api/v1/imports/areas", "/api/v1/imports/key-places"])
def test_an_import_body_just_over_its_limit_is_413(app, client, db_session, route):
    op = next(o for o in upload_operations() if o.path == route)
    saved = app.config["IMPORT_MAX_CONTENT_LENGTH"]
    app.config["IMPORT_MAX_CONTENT_LENGTH"] = 64 * 1024  # the setting, made small to stay quick
    try:
        limit = _route_limit(app, op)
        assert limit == 64 * 1024
        token = f.token_for(db_session, "admin")
        body = b"x" * (limit + 1)
        response = client.post(route, headers={**f.auth(token), "Content-Type": "multipart/form-data; boundary=b"},
                               data=body)
        under = client.post(route, headers=f.auth(token), content_type="multipart/form-data",
                            data={"file": (io.BytesIO(b"x" * (limit - 2048)), "p.csv")})
    finally:
        app.config["IMPORT_MAX_CONTENT_LENGTH"] = saved
    error = response.get_json()["error"]
    assert response.status_code == 413 and error["code"] == "payload_too_large"
    assert error["details"]["limit_bytes"] == limit and "0.1 MB" in error["message"]
    assert under.status_code == 422  # within the limit the file is read (and refused as no key places)


def test_import_limit_is_the_setting(app):
    """GRIDMAP_MAX_UPLOAD_MB stays the import routes' limit; nothing else gets it."""
    import_limit = app.config["IMPORT_MAX_CONTENT_LENGTH"]
    assert import_limit == app.config["GRIDMAP"].max_upload_mb * 1024 * 1024
    for op in upload_operations():
        assert _route_limit(app, op) == import_limit, op.path


def test_json_routes_refuse_a_multi_megabyte_body(app, client, db_session):
    from gridmap.apidoc import OPERATIONS

    tokens: dict[str, str] = {"admin": f.token_for(db_session, "admin")}

    def token_of(op) -> str:  # a role the operation takes, so the body is read (not refused at the door)
        role = "admin" if "admin" in op.roles or "*" in op.roles else op.roles[0]
        if role not in tokens:
            extra = {}
            if role == "party_member":  # a party member's account is linked to their record
                member = PartyMember(name="大包党员")
                db_session.add(member)
                db_session.flush()
                extra = {"party_member_id": member.id}
            tokens[role] = (f.department_token(db_session, "xiaofang", f.STREET) if role == "department" else
                            f.token_for(db_session, role, f.GRID_A, username=f"big-{role}", **extra))
        return tokens[role]

    big = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    checked = 0
    for op in OPERATIONS:
        if op.body is None or op.method not in ("POST", "PUT", "PATCH"):
            continue
        assert _route_limit(app, op) <= 16 * 1024 * 1024, op.path
        if _route_limit(app, op) > len(big):
            continue  # boundaries (planning) allow 16 MB: checked with a body over it below
        path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", op.path.replace("<code>", f.GRID_A))  # every other id: 1
        response = client.open(path, method=op.method, headers=f.auth(token_of(op)), data=big,
                               content_type="application/json")
        assert response.status_code == 413, (op.method, op.path, response.status_code)
        assert response.get_json()["error"]["details"]["limit_bytes"] == app.config["MAX_CONTENT_LENGTH"]
        checked += 1
    assert checked >= 10
    response = client.put(f"/api/v1/grids/{f.GRID_A}/geometry", headers=f.auth(tokens["admin"]),
                          data=b"[" + b" " * (16 * 1024 * 1024) + b"]", content_type="application/json")
    assert response.status_code == 413


def test_a_page_form_has_the_small_limit_and_the_photo_page_its_own(app, client, db_session):
    response = client.post("/login", data={"username": "x" * (2 * 1024 * 1024), "password": "y"})
    assert response.status_code == 413
    from gridmap.hazards import photos

    photo_limit = photos.PhotoLimits.of(app.config["GRIDMAP"]).body
    assert photo_limit > app.config["MAX_CONTENT_LENGTH"]
    token = f.token_for(db_session, "admin")
    over = client.post("/api/v1/hazards/1/photos", headers={**f.auth(token),
                       "Content-Type": "multipart/form-data; boundary=b"}, data=b"x" * (photo_limit + 1))
    assert over.status_code == 413 and over.get_json()["error"]["details"]["limit_bytes"] == photo_limit
    small = client.post("/api/v1/hazards/1/photos", headers=f.auth(token), content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"x" * (2 * 1024 * 1024)), "a.jpg")})
    assert small.status_code != 413  # 2 MB is over the default but within the photo route's limit
