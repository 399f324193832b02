"""Reporting helpers: duplicates before a report, and the /hazards/new page's prefill and roles."""

from __future__ import annotations

import json
import re

from gridmap.auth.scope import Scope
from gridmap.geo.crs import wgs84_to_gcj02
from gridmap.hazards import service
from tests import factories as f


def test_duplicates_before_reporting(client, db_session, monkeypatch):
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    f.lishui(db_session)
    existing = service.report(db_session, Scope.everything(), category="fire", severity="normal", description="",
                              lon=119.8850, lat=28.4550, crs=None)
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    lons, lats = wgs84_to_gcj02([119.8853], [28.4551])  # ~30 m away, sent as GCJ-02
    url = f"/api/v1/hazards/duplicates?category=消防&lon={lons[0]}&lat={lats[0]}&crs=gcj02"
    body = client.get(url, headers=worker).get_json()
    assert [d["code"] for d in body["items"]] == [existing["code"]] and 20 < body["items"][0]["distance_m"] < 40
    assert body["grid"]["code"] == f.GRID_A
    far = client.get("/api/v1/hazards/duplicates?category=fire&lon=119.8860&lat=28.4550", headers=worker).get_json()
    assert far["items"] == []  # ~98 m
    other = client.get("/api/v1/hazards/duplicates?category=noise&lon=119.8850&lat=28.4550", headers=worker)
    assert other.get_json()["items"] == []
    assert client.get("/api/v1/hazards/duplicates?category=nope&lon=119.885&lat=28.455",
                      headers=worker).status_code == 422
    assert client.get("/api/v1/hazards/duplicates?category=fire&lon=500&lat=28.455", headers=worker).status_code == 422


def test_new_page_prefills_a_clicked_position(client, db_session):
    from gridmap.auth.service import create_user

    f.lishui(db_session)
    create_user(db_session, "w", "pass-word-1", "grid_worker", f.GRID_A, "网格员")
    create_user(db_session, "planner", "pass-word-1", "planner", f.DISTRICT, "规划")
    assert client.get("/hazards/new").status_code == 302

    def login(name):
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        client.post("/login", data={"username": name, "password": "pass-word-1", "csrf_token": token})

    login("w")
    html = client.get("/hazards/new?lon=119.885&lat=28.455&crs=gcj02").get_data(as_text=True)
    assert "上报问题隐患" in html and "vendor/leaflet/1.9.4/dist/leaflet.js" in html and "消防" in html
    config = json.loads(re.search(r'id="report-config">(.*?)</script>', html, re.S).group(1))
    assert config["prefill"] == {"lon": 119.885, "lat": 28.455, "crs": "gcj02"}
    assert [g["properties"]["code"] for g in config["grids"]["features"]] == [f.GRID_A]
    assert 'href="/hazards/new"' in client.get("/patrol").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)})
    login("planner")
    assert client.get("/hazards/new").status_code == 403  # as POST /api/v1/hazards (gridmap.pages)
