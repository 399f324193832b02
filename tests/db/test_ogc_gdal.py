"""GDAL's OAPIF driver (Debian's gdal-bin, as QGIS uses it) reads every collection of /ogc from a
live server with a bearer token, and finds every feature the database holds in the caller's scope."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from gridmap.areas.models import AdminUnit, Grid
from gridmap.auth.scope import Scope
from gridmap.hazards import service as hazards
from gridmap.hazards.models import Hazard
from tests import factories as f
from tests.browser.conftest import live_db, live_server  # noqa: F401 - the fixtures

OGRINFO = shutil.which("ogrinfo")
pytestmark = pytest.mark.skipif(OGRINFO is None, reason="gdal-bin is installed by scripts/lib/setup.sh")


@pytest.fixture(scope="module")
def world(live_db):  # noqa: F811
    f.lishui(live_db)
    for i in range(25):  # more than one of GDAL's pages below
        hazards.report(live_db, Scope.everything(), category="fire", severity="normal", description=f"描述{i}",
                       lon=119.881 + i * 0.0007, lat=28.455, crs=None)  # 13 in grid A, 12 in grid B
    live_db.commit()
    return live_db


def _ogrinfo(base: str, token: str, *args: str) -> str:
    # A clean environment: the server process's GDAL lockdown (gridmap.geo.lockdown) skips OAPIF.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}", "GDAL_HTTP_TIMEOUT": "60",
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    done = subprocess.run([OGRINFO, "-ro", "-oo", "PAGE_SIZE=10", f"OAPIF:{base}/ogc", *args],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _count(session, collection: str, prefix: str) -> int:
    scope = Scope(prefix=prefix)
    if collection == "grids":
        return session.scalar(select(func.count()).select_from(Grid).where(scope.where(Grid.code),
                                                                           Grid.retired_at.is_(None)))
    if collection == "hazards":
        return session.scalar(select(func.count()).select_from(Hazard).where(scope.where(Hazard.grid_code)))
    level = {"districts": "district", "streets": "street", "communities": "community"}[collection]
    return session.scalar(select(func.count()).select_from(AdminUnit)
                          .where(AdminUnit.level == level, scope.where(AdminUnit.code)))


@pytest.mark.parametrize("role, prefix", [("admin", ""), ("supervisor", f.STREET), ("grid_worker", f.GRID_A)])
def test_ogrinfo_reads_every_feature_of_every_collection(live_server, world, role, prefix):  # noqa: F811
    token = f.token_for(world, role, prefix, username=f"gdal-{role}")
    world.commit()
    layers = _ogrinfo(live_server, token, "-so")
    names = re.findall(r"^\d+: (\w+)", layers, flags=re.M)
    assert names == ["districts", "streets", "communities", "grids", "hazards"], layers
    for name in names:
        features = _ogrinfo(live_server, token, "-al", "-geom=SUMMARY", name)
        expected = _count(world, name, prefix)
        assert len(re.findall(r"^OGRFeature\(", features, flags=re.M)) == expected, (name, features[-1500:])
        codes = re.findall(r"^\s+code \(String\) = (\S+)", features, flags=re.M)
        assert len(codes) == expected and all(code.startswith(prefix) or name == "hazards" for code in codes)
    assert expected == (13 if role == "grid_worker" else 25)  # hazards, the last layer: its pages were followed
