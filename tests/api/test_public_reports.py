"""The residents' form (居民吹哨, gridmap.public): a report lands in the grid's queue as
``source: resident`` with the normal deadlines and photos stripped of EXIF; the tracking code's
status (API and page) carries no person's data; abuse controls: proof of work (forged, expired,
unsolved, replayed), rate limits per client address and per phone, oversize bodies, photo count."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from gridmap.auth.scope import Scope
from gridmap.hazards import service as hazards
from gridmap.hazards.models import Hazard, HazardPhoto
from gridmap.public import challenge
from gridmap.public.models import PublicReport
from tests import factories as f
from tests.public_support import IN_A, report, solve, solved

STATUS_KEYS = {"tracking_code", "category", "category_name", "grid_name", "status", "status_name", "reply",
               "public_reply", "satisfaction",
               "reported_at", "deadlines", "overdue", "closed_at"}
PLANTED = ("王网格员", "gw-planted", "赵网格长", "钱住户", "13911112222", "13800000001")


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    f.household(db_session, "A1", *IN_A, w["grids"][f.GRID_A], head_name="钱住户", phone="13800000001",
                address="幸福小区3幢2单元301")
    f.household(db_session, "B1", 119.895, 28.455, w["grids"][f.GRID_B], head_name="孙邻居", phone="13800000002",
                address="幸福小区9幢1单元101")
    db_session.commit()
    return w


@pytest.fixture
def settings(app, monkeypatch):
    def use(**values):
        monkeypatch.setitem(app.config, "GRIDMAP", replace(app.config["GRIDMAP"], **values))
    return use


def _exif_jpeg() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (16, 16), "red")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_report_lands_in_the_grids_queue_as_a_residents(client, db_session, world):
    response = report(client, f.GRID_A, phone="139-1111-2222", address="幸福小区3幢",
                      files=[(io.BytesIO(_exif_jpeg()), "p.jpg")])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert len(body["tracking_code"]) == 16 and body["tracking_code"].isalnum() and body["similar_reports"] == 0
    hazard = db_session.scalar(select(Hazard).join(PublicReport).where(
        PublicReport.tracking_code == body["tracking_code"]))
    assert (hazard.source, hazard.grid_code, hazard.status, hazard.reporter_id) == ("resident", f.GRID_A, "reported", None)
    assert "幸福小区3幢" in hazard.description
    assert db_session.scalar(select(PublicReport.phone).where(PublicReport.hazard_id == hazard.id)) == "13911112222"
    photo = db_session.scalar(select(HazardPhoto).where(HazardPhoto.hazard_id == hazard.id))
    assert photo.content_type == "image/jpeg" and b"SecretCam" not in photo.data
    # the grid's own worker sees it in the queue, with the normal deadlines
    queue = client.get("/api/v1/hazards", headers=f.auth(f.token_for(db_session, "grid_worker", f.GRID_A)))
    (item,) = [x["properties"] for x in queue.get_json()["features"]]
    assert item["source"] == "resident" and item["deadlines"] == body["deadlines"]


def test_gcj02_phone_position_is_stored_as_wgs84(client, db_session, world):
    from gridmap.geo.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(*IN_A)
    response = report(client, f.GRID_A, lon=str(lon), lat=str(lat), crs="gcj02")
    assert response.status_code == 201, response.get_json()
    x, y = db_session.execute(select(func.ST_X(Hazard.geom), func.ST_Y(Hazard.geom))).one()
    assert abs(x - IN_A[0]) < 1e-6 and abs(y - IN_A[1]) < 1e-6


def test_the_status_shows_no_persons_data(client, db_session, world):
    code = report(client, f.GRID_A, phone="13911112222", description="王网格员 gw-planted 赵网格长 钱住户"
                  ).get_json()["tracking_code"]
    # staff act on it: a named worker accepts and is assigned, with notes naming people
    f.token_for(db_session, "grid_worker", f.GRID_A, username="gw-planted", display_name="王网格员")
    hazard_id = db_session.scalar(select(Hazard.id))
    boss = Scope(prefix="", role="admin")
    hazards.act(db_session, boss, hazard_id, "accept", note="赵网格长 联系 钱住户 13800000001")
    hazards.act(db_session, boss, hazard_id, "assign", assignee="gw-planted")
    api = client.get(f"/api/v1/public/reports/{code.lower()}")
    assert api.status_code == 200
    body = api.get_json()
    assert set(body) == STATUS_KEYS and set(body["deadlines"]) == {"accept_by", "resolve_by"}
    assert set(body["satisfaction"]) == {"can_answer", "answer", "answer_name"}
    assert body["status"] == "assigned"
    page = client.get(f"/r/status/{code}")
    assert page.status_code == 200
    for text in (api.get_data(as_text=True), page.get_data(as_text=True)):
        for planted in PLANTED:
            assert planted not in text, planted
        assert "1111" not in text  # not even the reporter's own phone in part


def test_an_unknown_tracking_code_is_404(client, world):
    assert client.get("/api/v1/public/reports/AAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/r/status/AAAAAAAAAAAAAAAA").status_code == 404


def test_the_form_page_opens_without_login_for_a_grid_only(client, world):
    page = client.get(f"/r/{f.GRID_A}")
    assert page.status_code == 200 and "居民吹哨" in page.get_data(as_text=True)
    assert client.get(f"/r/{f.COMMUNITY}").status_code == 404
    assert client.get("/r/999999999999999").status_code == 404


def test_a_place_outside_the_grid_is_refused(client, db_session, world):
    response = report(client, f.GRID_A, lon="119.895", lat="28.455")  # grid B
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "public_place_outside_grid"
    assert db_session.scalar(select(func.count()).select_from(Hazard)) == 0


def test_a_replayed_challenge_is_refused_and_changes_nothing(client, db_session, world):
    spent = solved(client)
    assert report(client, f.GRID_A, **spent).status_code == 201
    again = report(client, f.GRID_A, **spent)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "challenge_used"
    assert db_session.scalar(select(func.count()).select_from(Hazard)) == 1


def test_forged_expired_and_unsolved_challenges_are_refused(client, db_session, world):
    issued = challenge.issue("test-secret", 16, 600)["challenge"]
    forged = challenge.issue("another-secret", 16, 600)["challenge"]
    old = challenge.issue("test-secret", 16, 600, now=datetime.now(UTC) - timedelta(seconds=601))["challenge"]
    easy = challenge.issue("test-secret", 1, 600)["challenge"]
    tampered = issued[:-1] + ("1" if issued.endswith("0") else "0")  # the signature's last digit
    unsolved = next(str(n) for n in range(1000) if solve(issued, 16) != str(n))
    for token, nonce in ((forged, solve(forged, 16)), (old, solve(old, 16)), (easy, solve(easy, 1)),
                         (issued, unsolved), (tampered, solve(tampered, 16))):
        response = report(client, f.GRID_A, challenge=token, nonce=nonce)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "challenge_invalid", token
    assert db_session.scalar(select(func.count()).select_from(Hazard)) == 0


def test_rate_limit_per_client_address(client, db_session, world, settings):
    settings(public_reports_per_address=2)
    for _ in range(2):
        assert report(client, f.GRID_A).status_code == 201
    limited = report(client, f.GRID_A)
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "public_rate_limited"
    assert limited.headers["Retry-After"] == "3600"
    assert client.post("/api/v1/public/reports", data={**_data(client), "file": []},
                       environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 201
    assert db_session.scalar(select(func.count()).select_from(Hazard)) == 3


def _data(client) -> dict:
    from tests.public_support import form

    return {**form(f.GRID_A), **solved(client)}


def test_rate_limit_per_phone_across_addresses(client, db_session, world, settings):
    settings(public_reports_per_phone=1)
    assert report(client, f.GRID_A, phone="13911112222").status_code == 201
    response = client.post("/api/v1/public/reports", data={**_data(client), "phone": "139 1111 2222"},
                           environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert response.status_code == 429
    assert report(client, f.GRID_A, phone="13700000000").status_code == 201


def test_an_oversized_body_is_413_and_too_many_photos_422(client, db_session, world, settings):
    settings(hazard_photo_max_mb=0.01, public_photo_max_count=1)
    big = report(client, f.GRID_A, files=[(io.BytesIO(b"\xff\xd8\xff" + b"0" * 2 * 1024 * 1024), "big.jpg")])
    assert big.status_code == 413
    many = report(client, f.GRID_A, files=[(io.BytesIO(f.png()), "a.png"), (io.BytesIO(f.png(9)), "b.png")])
    assert many.status_code == 422 and many.get_json()["error"]["code"] == "hazard_photo_too_many"
    long = report(client, f.GRID_A, description="长" * 1001)
    assert long.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(Hazard)) == 0


def test_one_photo_over_its_limit_is_413_and_spends_neither_challenge_nor_quota(client, db_session, world, settings):
    settings(hazard_photo_max_mb=0.01, public_photo_max_count=3, public_reports_per_address=1)
    proof = solved(client)
    big = report(client, f.GRID_A, files=[(io.BytesIO(b"\xff\xd8\xff" + b"0" * 20 * 1024), "big.jpg")], **proof)
    assert (big.status_code, big.get_json()["error"]["code"]) == (413, "hazard_photo_too_large")
    assert db_session.scalar(select(func.count()).select_from(Hazard)) == 0
    assert report(client, f.GRID_A, **proof).status_code == 201  # refused: the challenge and the quota unspent
    assert report(client, f.GRID_A).status_code == 429  # the one accepted report spent the address's quota


def test_a_similar_report_nearby_is_hinted(client, world):
    assert report(client, f.GRID_A).get_json()["similar_reports"] == 0
    assert report(client, f.GRID_A, lon="119.8842").get_json()["similar_reports"] == 1  # ~20 m away
    assert report(client, f.GRID_A, category="noise").get_json()["similar_reports"] == 0


def test_the_public_address_search_sees_its_grid_and_no_names(client, world):
    response = client.get(f"/api/v1/public/grids/{f.GRID_A}/addresses", query_string={"q": "幸福小区"})
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["address"] for i in items] == ["幸福小区3幢"]  # the door plate, not the flat; grid B's 9幢 is not this grid's
    assert all(set(i) == {"address", "lon", "lat"} for i in items)
    assert "钱住户" not in response.get_data(as_text=True) and "13800000001" not in response.get_data(as_text=True)
    assert "301" not in response.get_data(as_text=True)  # which flats are lived in is nobody's business
    typo = client.get(f"/api/v1/public/grids/{f.GRID_A}/addresses", query_string={"q": "幸福小区3栋2单元301"})
    assert [i["address"] for i in typo.get_json()["items"]] == ["幸福小区3幢"]  # trigram, not substring


def test_staff_address_search_is_scoped(client, db_session, world):
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    body = client.get("/api/v1/addresses", query_string={"q": "幸福小区"}, headers=f.auth(worker)).get_json()
    assert [(i["address"], i["grid"], i["kind"]) for i in body["items"]] == [("幸福小区3幢2单元301", f.GRID_A, "household")]
    boss = f.token_for(db_session, "supervisor", f.STREET, username="boss")
    both = client.get("/api/v1/addresses", query_string={"q": "幸福小区"}, headers=f.auth(boss)).get_json()
    assert {i["grid"] for i in both["items"]} == {f.GRID_A, f.GRID_B}
    assert "孙邻居" not in str(both)


def test_a_public_post_needs_no_session_and_a_session_changes_nothing(client, db_session, world):
    # no cookie, no CSRF token: accepted (the challenge is what it must carry)
    assert report(client, f.GRID_A).status_code == 201
    # a logged-in staff member's browser: still no CSRF check, and the report is a resident's, not theirs
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    response = report(client, f.GRID_A, headers=f.auth(token))
    assert response.status_code == 201
    assert db_session.scalars(select(Hazard.reporter_id)).all() == [None, None]
    # the same with a login cookie (the session whose CSRF token a staff form would need)
    from tests.security.sessions_support import logged_in

    browser = logged_in(client.application, db_session, "public-csrf", role="grid_worker", scope=f.GRID_A)
    assert browser.get("/api/v1/areas").status_code == 200  # signed in by cookie
    assert report(browser, f.GRID_A).status_code == 201
    assert db_session.scalars(select(Hazard.reporter_id)).all() == [None, None, None]


def test_the_wall_map_and_handbook_carry_the_residents_qr_at_the_public_base_url(client, db_session, world, settings):
    settings(public_base_url="https://wg.example.cn")
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    for path in (f"/maps/grid/{f.GRID_A}/wall", f"/maps/grid/{f.GRID_A}/print"):
        html = client.get(path, headers=f.auth(token)).get_data(as_text=True)
        assert "居民扫码反映问题" in html and f"https://wg.example.cn/r/{f.GRID_A}" in html, path
        assert 'class="qr resident-qr"' in html or 'class="resident-qr"' in html


def test_the_public_address_search_gives_a_building_not_a_flat(client, db_session, world):
    grid = world["grids"][f.GRID_A]
    f.household(db_session, "SUN-1", 119.8830, 28.4540, grid, address="阳光苑5幢1单元101")
    f.household(db_session, "SUN-2", 119.8840, 28.4560, grid, address="阳光苑5幢2单元202")
    answers = [client.get(f"/api/v1/public/grids/{f.GRID_A}/addresses", query_string={"q": q}).get_json()["items"]
               for q in ("阳光苑5幢1单元101", "阳光苑5幢2单元202", "阳光苑5")]
    assert answers[0] == answers[1] == answers[2] == [{"address": "阳光苑5幢", "lon": 119.8835, "lat": 28.455}]


@pytest.mark.parametrize("field", ["description", "address", "category", "phone"])
def test_a_nul_character_in_the_form_is_a_400_and_no_report(client, db_session, world, field):
    response = report(client, f.GRID_A, **{field: "楼道\x00堆物"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "nul_character"
    assert db_session.execute(text("SELECT count(*) FROM hazard")).scalar() == 0
