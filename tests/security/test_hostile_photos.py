"""Hostile files against the hazard photo uploads (the API route and the detail page's form),
as every role that may add photos.

Every file of the import catalogue (tests/security/hostile_files.py) and a few image-specific
ones (SVG and HTML with script, GIF, a decompression bomb, a truncated JPEG) must be refused
with a 4xx and store nothing. A JPEG carrying HTML and a comment after its image data is
accepted as a photo, but what is stored and served is the re-encoded picture alone.
"""

from __future__ import annotations

import io
import re
import zlib

import pytest
from PIL import Image
from sqlalchemy import text

from gridmap.apidoc import OPERATIONS
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service
from tests import factories as f
from tests.security.hostile_files import catalogue
from tests.security.upload_support import ROLE_SCOPES, api_blueprints

SECRET = "/nonexistent/gridmap-photo-secret.txt"
SCRIPT = "<script>window.__pwned(1)</script>"


GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
       b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _png_bomb() -> bytes:
    """A PNG whose header claims 60,000 × 60,000 pixels (3.6 gigapixels) in a few hundred bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    header = (60_000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\x00" * (60_001 * 64), 9)  # 64 rows of zeros; the rest is missing
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def image_catalogue() -> dict[str, tuple[str, bytes]]:
    jpeg = _jpeg()
    return {
        "svg_with_script": ("photo.svg", f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}</svg>'.encode()),
        "svg_named_jpg": ("photo.jpg", f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}</svg>'.encode()),
        "html_named_png": ("photo.png", f"<html><body>{SCRIPT}</body></html>".encode()),
        "gif": ("photo.gif", GIF),
        "png_decompression_bomb": ("photo.png", _png_bomb()),
        "truncated_jpeg": ("photo.jpg", jpeg[: len(jpeg) // 3]),
        "jpeg_magic_only": ("photo.jpg", b"\xff\xd8\xff" + b"\x00" * 64),
    }


IMPORT_CASES = list(catalogue(SECRET, 1))
IMAGE_CASES = list(image_catalogue())


def photo_roles() -> list[str]:
    api_blueprints()
    [operation] = [op for op in OPERATIONS if op.method == "POST" and op.path.endswith("/photos")]
    return list(operation.roles)


ROLES = photo_roles()


@pytest.fixture
def hazard_id(db_session):
    f.lishui(db_session)
    hazard = service.report(db_session, Scope.everything(), category="fire", severity="normal",
                            description="电动车楼道充电", lon=119.885, lat=28.455, crs=None)
    return hazard["id"]


def _photo_rows(db_session, hazard_id: int) -> int:
    return db_session.execute(text("SELECT count(*) FROM hazard_photo WHERE hazard_id = :h"), {"h": hazard_id}).scalar()


def _api_upload(client, db_session, role: str, hazard_id: int, filename: str, data: bytes):
    token = f.token_for(db_session, role, ROLE_SCOPES[role])
    return client.post(f"/api/v1/hazards/{hazard_id}/photos", headers=f.auth(token),
                       data={"file": [(io.BytesIO(data), filename)]}, content_type="multipart/form-data")


def test_the_matrix_covers_every_role_that_may_add_photos():
    assert sorted(ROLES) == ["admin", "grid_worker", "supervisor"]
    cases = len(IMPORT_CASES) + len(IMAGE_CASES)
    print(f"\nhostile photos: {cases} files x {len(ROLES)} roles = {cases * len(ROLES)} API uploads"
          f" + {len(IMAGE_CASES)} through the page form")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", IMPORT_CASES + IMAGE_CASES)
def test_hostile_file_is_no_photo(client, db_session, hazard_id, case, role):
    filename, data = {**catalogue(SECRET, 1), **image_catalogue()}[case]
    response = _api_upload(client, db_session, role, hazard_id, filename, data)
    assert response.status_code in (400, 413, 422), (case, response.status_code, response.get_data(as_text=True)[:300])
    assert _photo_rows(db_session, hazard_id) == 0, case


@pytest.mark.parametrize("case", IMAGE_CASES)
def test_hostile_file_through_the_page_form_is_no_photo(client, db_session, hazard_id, case):
    """The detail page's form (a logged-in grid worker, CSRF token sent) refuses the same files."""
    filename, data = image_catalogue()[case]
    create_user(db_session, "photo-page-worker", "pass-word-1", "grid_worker", f.GRID_A)
    client.get("/login")
    with client.session_transaction() as browser_session:
        csrf = browser_session["csrf"]
    login = client.post("/login", data={"username": "photo-page-worker", "password": "pass-word-1", "csrf_token": csrf})
    assert login.status_code == 302
    assert client.get(f"/hazards/{hazard_id}").status_code == 200  # the page that carries the form
    with client.session_transaction() as browser_session:
        csrf = browser_session["csrf"]
    response = client.post(f"/hazards/{hazard_id}/photos", content_type="multipart/form-data",
                           data={"csrf_token": csrf, "file": [(io.BytesIO(data), filename)]})
    assert response.status_code in (400, 413, 422), (case, response.status_code)
    assert _photo_rows(db_session, hazard_id) == 0, case


def test_a_jpeg_carrying_html_is_stored_as_its_picture_alone(client, db_session, hazard_id):
    polyglot = _jpeg() + f"<html>{SCRIPT}</html>".encode()
    polyglot = polyglot[:2] + b"\xff\xfe\x00\x10" + b"<svg onload=x>" + polyglot[2:]  # a COM segment too
    response = _api_upload(client, db_session, "grid_worker", hazard_id, "photo.jpg", polyglot)
    assert response.status_code == 201, response.get_data(as_text=True)
    token = f.token_for(db_session, "grid_worker", f.GRID_A, username="photo-reader")
    served = client.get(f"/api/v1/hazards/{hazard_id}/photos/1", headers=f.auth(token))
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert not re.search(rb"<html|<script|<svg|onload", served.data)
    assert Image.open(io.BytesIO(served.data)).size == (32, 24)


@pytest.mark.parametrize("stage", ["before", "after"])
@pytest.mark.parametrize("case", IMPORT_CASES + IMAGE_CASES)
def test_hostile_file_is_no_photo_of_a_fix_on_the_spot(client, db_session, case, stage):
    """POST /hazards/on-the-spot (grid workers only): a hostile file in either stage refuses the
    whole fix — no hazard, no event, no photo."""
    f.lishui(db_session)
    filename, data = {**catalogue(SECRET, 1), **image_catalogue()}[case]
    good = ("good.jpg", _jpeg())
    files = {"before": good, "after": good, stage: (filename, data)}
    token = f.token_for(db_session, "grid_worker", ROLE_SCOPES["grid_worker"])
    response = client.post("/api/v1/hazards/on-the-spot", headers=f.auth(token), content_type="multipart/form-data",
                           data={"category": "fire", "lon": "119.885", "lat": "28.455",
                                 **{k: (io.BytesIO(content), name) for k, (name, content) in files.items()}})
    assert response.status_code in (400, 413, 422), (case, response.status_code, response.get_data(as_text=True)[:300])
    counts = db_session.execute(text("SELECT (SELECT count(*) FROM hazard), (SELECT count(*) FROM hazard_event), "
                                     "(SELECT count(*) FROM hazard_photo)")).one()
    assert tuple(counts) == (0, 0, 0), case


@pytest.mark.parametrize("case", IMPORT_CASES + IMAGE_CASES)
def test_hostile_file_through_the_residents_form_is_no_report(client, db_session, case):
    """The residents' form (POST /api/v1/public/reports, no login): the same files are refused and
    the report is not made either (one transaction)."""
    from tests.public_support import report

    f.lishui(db_session)
    filename, data = {**catalogue(SECRET, 1), **image_catalogue()}[case]
    response = report(client, f.GRID_A, files=[(io.BytesIO(_jpeg()), "good.jpg"), (io.BytesIO(data), filename)])
    assert response.status_code in (400, 413, 422), (case, response.status_code, response.get_data(as_text=True)[:300])
    assert db_session.execute(text("SELECT count(*) FROM hazard")).scalar() == 0, case
    assert db_session.execute(text("SELECT count(*) FROM hazard_photo")).scalar() == 0, case


@pytest.mark.parametrize("case", IMPORT_CASES + IMAGE_CASES)
def test_hostile_file_is_no_department_feedback_photo(client, db_session, hazard_id, case):
    """A department's feedback (POST /department/assignments/<id>/feedback) takes photos through the
    same pipeline: a hostile file refuses the whole feedback — no photo, the assignment still open."""
    from gridmap.departments import service as departments

    filename, data = {**catalogue(SECRET, 1), **image_catalogue()}[case]
    service.act(db_session, Scope.everything(), hazard_id, "accept")
    token = f.department_token(db_session, "xiaofang", f.STREET)  # before the whistle: someone to 报到
    departments.whistle(db_session, Scope.everything(), hazard_id, note="", default_days=1)  # to 消防
    assignment = db_session.scalar(text("SELECT id FROM hazard_assignment WHERE hazard_id = :h"), {"h": hazard_id})
    assert client.post(f"/api/v1/department/assignments/{assignment}/report", headers=f.auth(token)).status_code == 200
    response = client.post(f"/api/v1/department/assignments/{assignment}/feedback", headers=f.auth(token),
                           data={"note": "已处理", "file": [(io.BytesIO(data), filename)]},
                           content_type="multipart/form-data")
    assert response.status_code in (400, 413, 422), (case, response.status_code, response.get_data(as_text=True)[:300])
    assert _photo_rows(db_session, hazard_id) == 0, case
    assert db_session.scalar(text("SELECT fed_back_at FROM hazard_assignment WHERE id = :a"), {"a": assignment}) is None
