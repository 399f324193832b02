"""Hazard photos: JPEG/PNG only (sniffed), size-limited, EXIF stripped, checksummed, scoped."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace

import pytest
from PIL import Image, PngImagePlugin

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.config import Settings
from gridmap.hazards import service
from tests import factories as f

GPS_IFD = 0x8825


def jpeg_with_gps(size=(64, 48), colour=(200, 30, 30)) -> bytes:
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° when shown
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (28.0, 27.0, 18.0), 3: "E", 4: (119.0, 53.0, 6.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "28.455,119.885")
    out = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 128, 0, 255)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


@pytest.fixture
def world(db_session, monkeypatch):
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    f.lishui(db_session)
    hazard = service.report(db_session, Scope.everything(), category="fire", severity="normal",
                            description="电动车楼道充电", lon=119.885, lat=28.455, crs=None)
    return {"hazard": hazard,
            "worker": f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-a"),
            "street": f.token_for(db_session, "supervisor", f.STREET),
            "other": f.token_for(db_session, "supervisor", f.OTHER_STREET)}


def _upload(client, token, hazard_id, *files):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/api/v1/hazards/{hazard_id}/photos", data=data, content_type="multipart/form-data",
                       headers=f.auth(token))


def test_photos_are_stripped_checksummed_and_served_scoped(client, world):
    hazard_id = world["hazard"]["id"]
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the fixture really has a position
    response = _upload(client, world["worker"], hazard_id, ("现场.jpg", original), ("图.png", png_with_text()))
    assert response.status_code == 201, response.get_json()
    items = response.get_json()["items"]
    assert [(i["n"], i["content_type"]) for i in items] == [(1, "image/jpeg"), (2, "image/png")]
    served = client.get(items[0]["url"], headers=f.auth(world["street"]))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert hashlib.sha256(served.data).hexdigest() == items[0]["sha256"] == served.headers["ETag"].strip('"')
    image = Image.open(io.BytesIO(served.data))
    assert not image.getexif() and b"Exif" not in served.data and b"PhoneMaker" not in served.data
    assert image.size == (48, 64) == (items[0]["width"], items[0]["height"])  # turned upright before stripping
    png = client.get(items[1]["url"], headers=f.auth(world["street"]))
    assert png.mimetype == "image/png" and b"Location" not in png.data and b"119.885" not in png.data
    assert client.get(items[0]["url"], headers={**f.auth(world["street"]), "If-None-Match": served.headers["ETag"]}
                      ).status_code == 304
    # Kept by the browser, asked for again before each showing: never shown from its cache alone.
    assert served.headers["Cache-Control"] == "private, no-cache"
    # Scoped like the hazard: another street sees neither the photo nor that it exists.
    assert client.get(items[0]["url"], headers=f.auth(world["other"])).status_code == 404
    assert client.get(items[0]["url"], headers={**f.auth(world["other"]), "If-None-Match": served.headers["ETag"]}
                      ).status_code == 404  # its tag tells nothing either
    assert _upload(client, world["other"], hazard_id, ("x.jpg", original)).status_code == 404
    assert client.get(f"/api/v1/hazards/{hazard_id}/photos/9", headers=f.auth(world["street"])).status_code == 404
    detail = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(world["street"])).get_json()
    assert [p["sha256"] for p in detail["photos"]] == [i["sha256"] for i in items]
    # The same upload again is recognised, not stored twice.
    again = _upload(client, world["worker"], hazard_id, ("again.jpg", original)).get_json()["items"]
    assert again[0]["duplicate"] is True and again[0]["n"] == 1


def test_files_that_are_not_jpeg_or_png_are_refused(client, world):
    hazard_id = world["hazard"]["id"]
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for name, content in [("photo.jpg", b"<html>not an image</html>"), ("photo.png", gif.getvalue()),
                          ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200),
                          ("broken.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)]:
        response = _upload(client, world["worker"], hazard_id, (name, content))
        assert response.status_code == 422, (name, response.get_json())
        assert response.get_json()["error"]["code"] in ("hazard_photo_type", "hazard_photo_invalid")
    # All or nothing: a good photo with a bad one stores neither.
    mixed = _upload(client, world["worker"], hazard_id, ("ok.jpg", jpeg_with_gps()), ("bad.jpg", b"nope"))
    assert mixed.status_code == 422
    detail = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(world["street"])).get_json()
    assert detail["photos"] == []
    assert _upload(client, world["worker"], hazard_id).status_code == 422


def test_photo_size_limit_is_configurable_and_a_413(app, client, world, monkeypatch):
    monkeypatch.setenv("GRIDMAP_HAZARD_PHOTO_MAX_MB", "0.001")  # about 1 KB
    limit = Settings().hazard_photo_max_mb
    monkeypatch.setitem(app.config, "GRIDMAP", replace(app.config["GRIDMAP"], hazard_photo_max_mb=limit))
    big = jpeg_with_gps(size=(400, 400))
    assert len(big) > 1100
    response = _upload(client, world["worker"], world["hazard"]["id"], ("big.jpg", big))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "hazard_photo_too_large"


def test_closed_hazards_take_no_more_photos(client, db_session, world):
    hazard_id = world["hazard"]["id"]
    service.act(db_session, Scope.everything(), hazard_id, "reject", note="重复上报")
    assert _upload(client, world["worker"], hazard_id, ("x.jpg", jpeg_with_gps())).status_code == 409


def test_detail_page_shows_and_uploads_photos(client, db_session, world, monkeypatch):
    monkeypatch.undo()  # this user logs in with a real password
    create_user(db_session, "community", "pass-word-1", "supervisor", f.COMMUNITY, "城北社区督导")
    hazard_id = world["hazard"]["id"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "community", "password": "pass-word-1", "csrf_token": token})
    html = client.get(f"/hazards/{hazard_id}").get_data(as_text=True)
    assert "照片" in html and "<img" not in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    done = client.post(f"/hazards/{hazard_id}/photos", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(jpeg_with_gps()), "a.jpg")})
    assert done.status_code == 302
    html = client.get(f"/hazards/{hazard_id}").get_data(as_text=True)
    src = re.search(r'<img src="([^"]+)"', html).group(1)
    assert src == f"/api/v1/hazards/{hazard_id}/photos/1"
    assert client.get(src).status_code == 200  # the page's own session may read it
    refused = client.post(f"/hazards/{hazard_id}/photos", content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(b"text"), "a.jpg")})
    assert refused.status_code == 422 and "JPEG 或 PNG" in refused.get_data(as_text=True)
