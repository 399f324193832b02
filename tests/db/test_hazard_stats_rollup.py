"""The heatmap's zoom pyramid (hazard_heat_rollup): kept by triggers on every write, rebuilt by
the refresh command, and giving exactly the cells of counting the hazards — for any range,
bbox, zoom, category and scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text

from gridmap.auth.scope import Scope
from gridmap.hazards import service
from gridmap.hazard_stats.cells import (
    DAY_LEVEL_MAX,
    FINE_PERIOD_KINDS,
    PERIOD_KINDS,
    ROLLUP_LEVELS,
    cell_level,
    cell_size,
    plan_periods,
)
from gridmap.hazard_stats.heatmap import heatmap_cells
from gridmap.hazard_stats.refresh import refresh_rollup
from gridmap.hazards.models import HazardHeatLevel, HazardHeatRollup
from tests import factories as f

CN = "+08:00"
GRIDS = {f.GRID_A: f.BOXES[f.GRID_A], f.GRID_B: f.BOXES[f.GRID_B], f.GRID_C: f.BOXES[f.GRID_C]}
CATEGORIES = ("fire", "noise", "sanitation")


def _insert_hazards(db_session, n: int, seed: int) -> None:
    """n hazards in one INSERT (one trigger call), over three grids of two streets, Jan–Jul 2026;
    some exactly on cell borders (x.5 cells at levels 12 and 13) and at Beijing midnights."""
    rng = np.random.default_rng(seed)
    codes = np.array(list(GRIDS))[rng.integers(0, len(GRIDS), n)]
    boxes = np.array([GRIDS[c] for c in codes])
    lon = boxes[:, 0] + rng.uniform(0.0001, 0.9999, n) * (boxes[:, 2] - boxes[:, 0])
    lat = boxes[:, 1] + rng.uniform(0.0001, 0.9999, n) * (boxes[:, 3] - boxes[:, 1])
    for k in range(0, n, 10):  # on a border between two cells of levels 12 / 13
        size = cell_size((12, 13)[k % 20 == 0])
        lon[k] = (np.floor(lon[k] / size) + 0.5) * size
    start = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    seconds = rng.integers(0, 200 * 86400, n)
    seconds[::7] -= seconds[::7] % 86400  # Beijing midnights
    created = [start + timedelta(seconds=int(s)) for s in seconds]
    cats = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)]
    db_session.execute(text("""
        INSERT INTO hazard (code, category_code, severity, geom, grid_version, grid_code, accept_by, resolve_by,
                            created_at)
        SELECT 'HZ-T-' || i, cat, 'normal', ST_SetSRID(ST_MakePoint(x, y), 4326), 1, g, t, t, t
          FROM unnest(CAST(:cats AS text[]), CAST(:xs AS float8[]), CAST(:ys AS float8[]), CAST(:gs AS text[]),
                      CAST(:ts AS timestamptz[])) WITH ORDINALITY AS u(cat, x, y, g, t, i)
    """), {"cats": cats.tolist(), "xs": lon.tolist(), "ys": lat.tolist(), "gs": codes.tolist(), "ts": created})


def _cells(result):
    return {(round(lat, 7), round(lon, 7)): n for lat, lon, n in result["cells"]}


def _snapshot(db_session):
    r = HazardHeatRollup
    return sorted(db_session.execute(select(r.level, r.period_kind, r.category_code, r.period, r.street, r.ix,
                                            r.iy, r.n).where(r.n != 0)).all())


def test_levels_are_the_sizes_the_api_picks(db_session):
    stored = dict(db_session.execute(select(HazardHeatLevel.level, HazardHeatLevel.size)).all())
    assert stored == {z: cell_size(z) for z in ROLLUP_LEVELS}


def test_periods_split_into_years_months_days_and_spans():
    def at(s):
        return datetime.fromisoformat(s + CN)

    assert plan_periods(None, None) == ([("y", None, None)], [])
    # 2025-12-30 10:00 .. 2027-04-15 17:00: 2026 whole; Jan–Mar 2027; days Dec 31 and Apr 1–14;
    # a fragment of under a day at each end.
    periods, spans = plan_periods(at("2025-12-30T10:00:00"), at("2027-04-15T17:00:00"))
    assert periods == [("y", date(2026, 1, 1), date(2027, 1, 1)), ("m", date(2027, 1, 1), date(2027, 4, 1)),
                       ("d", date(2025, 12, 31), date(2026, 1, 1)), ("d", date(2027, 4, 1), date(2027, 4, 15))]
    assert spans == [(at("2025-12-30T10:00:00"), at("2025-12-31T00:00:00")),
                     (at("2027-04-15T00:00:00"), at("2027-04-15T17:00:00"))]
    # Without days (the fine levels), the days beside the months join the fragments.
    assert plan_periods(at("2025-12-30T10:00:00"), at("2027-04-15T17:00:00"), FINE_PERIOD_KINDS) == (
        periods[:2], [(at("2025-12-30T10:00:00"), at("2026-01-01T00:00:00")),
                      (at("2027-04-01T00:00:00"), at("2027-04-15T17:00:00"))])
    # Open ends: every year before 2026, then months and days up to Mar 10.
    assert plan_periods(None, at("2026-03-10T00:00:00")) == ([
        ("y", None, date(2026, 1, 1)), ("m", date(2026, 1, 1), date(2026, 3, 1)),
        ("d", date(2026, 3, 1), date(2026, 3, 10))], [])
    assert plan_periods(at("2026-11-20T00:00:00"), None) == ([
        ("y", date(2027, 1, 1), None), ("m", date(2026, 12, 1), date(2027, 1, 1)),
        ("d", date(2026, 11, 20), date(2026, 12, 1))], [])
    # One week (the time slider): seven daily rows per cell, or at a level without days no whole
    # period at all (counted from the hazards).
    week = (at("2026-03-09T00:00:00"), at("2026-03-16T00:00:00"))
    assert plan_periods(*week) == ([("d", date(2026, 3, 9), date(2026, 3, 16))], [])
    assert plan_periods(*week, FINE_PERIOD_KINDS) == ([], [week])
    assert plan_periods(at("2026-03-10T08:00:00"), at("2026-03-10T09:00:00")) == (
        [], [(at("2026-03-10T08:00:00"), at("2026-03-10T09:00:00"))])
    assert plan_periods(at("2026-03-10T09:00:00"), at("2026-03-10T08:00:00")) == ([], [])
    # Whatever the bounds, the periods and spans tile [since, until) exactly once.
    rng = np.random.default_rng(4)
    for trial in range(300):
        lo = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(hours=int(rng.integers(0, 24 * 800)))
        hi = lo + timedelta(hours=int(rng.integers(1, 24 * 500)))
        kinds = (PERIOD_KINDS, FINE_PERIOD_KINDS)[trial % 2]
        periods, spans = plan_periods(lo, hi, kinds)
        days = []
        for kind, first, end in periods:
            d = first
            while d < end:
                days.append(d)
                d += timedelta(days=1)
        covered = sum((b - a for a, b in spans), timedelta()) + timedelta(days=len(days))
        assert covered == hi - lo and len(set(days)) == len(days), (lo, hi)
        assert all(a < b for a, b in spans) and all(b < c for (_, b), (c, _) in zip(spans, spans[1:]))
        # What is left for the hazards: under a day (under a month without days) at each end, or
        # everything when the range holds no whole period.
        limit = timedelta(days=1) if "d" in kinds else timedelta(days=31)
        assert len(spans) <= 2 and (all(b - a < limit for a, b in spans) or spans == [(lo, hi)]), (lo, hi)


def test_rollup_answers_exactly_as_counting_the_hazards(db_session):
    f.lishui(db_session)
    _insert_hazards(db_session, 600, seed=5)
    admin, street, other = Scope.everything(), Scope(prefix=f.STREET), Scope(prefix=f.OTHER_STREET)
    rng = np.random.default_rng(11)
    checked = set()
    for trial in range(60):
        x0, y0 = rng.uniform(119.86, 119.95), rng.uniform(28.43, 28.47)
        bbox = None if trial % 6 == 0 else (x0, y0, x0 + rng.uniform(0.004, 0.1), y0 + rng.uniform(0.004, 0.05))
        zoom = int(rng.integers(6, 19))
        lo = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=int(rng.integers(-30 * 1440, 200 * 1440)))
        if trial % 3 == 0:
            lo = lo.replace(hour=16, minute=0)  # a Beijing midnight
        hi = lo + timedelta(minutes=int(rng.integers(60, 150 * 1440)))
        since, until = [(lo, hi), (None, hi), (lo, None), (None, None)][trial % 4]
        category = [None, "fire", "噪声", "sanitation"][trial % 4 if trial % 5 else 0]
        scope = (admin, street, other)[trial % 3]
        level = cell_level(zoom, bbox)
        if level not in ROLLUP_LEVELS:
            continue
        kwargs = {"bbox": bbox, "zoom": zoom, "since": since, "until": until, "category": category}
        rolled = heatmap_cells(db_session, scope, **kwargs)
        counted = heatmap_cells(db_session, scope, daily=False, rollup=False, **kwargs)
        assert counted["source"] == "hazards" and rolled["source"] in ("rollup", "hazards"), kwargs
        assert _cells(rolled) == _cells(counted) and rolled["total"] == counted["total"], kwargs
        checked.add((rolled["source"], counted["total"] > 0, level))
    assert {("rollup", True)} <= {c[:2] for c in checked}
    assert len({c[2] for c in checked if c[0] == "rollup"}) >= 4  # several levels were exercised
    # A community's scope is narrower than the rollup's street key: counted instead.
    community = Scope(prefix=f.COMMUNITY)
    assert heatmap_cells(db_session, community, bbox=None, zoom=12)["source"] != "rollup"


def test_rollup_equals_a_direct_count_of_the_hazard_table(db_session):
    """The oracle is independent of the heatmap's SQL: every hazard read back, its cell computed in
    numpy (rint, as ST_SnapToGrid), kept when its cell touches the bbox and its time is in range."""
    f.lishui(db_session)
    _insert_hazards(db_session, 800, seed=21)
    rows = db_session.execute(text("SELECT ST_X(geom), ST_Y(geom), created_at, category_code, grid_code "
                                    "FROM hazard")).all()
    lon, lat = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    created = np.array([r[2] for r in rows])
    cats, codes = np.array([r[3] for r in rows]), np.array([r[4] for r in rows])
    rng = np.random.default_rng(17)
    sources = set()
    for trial in range(80):
        zoom = int(rng.integers(10, 16))
        x0, y0 = rng.uniform(119.86, 119.95), rng.uniform(28.43, 28.47)
        bbox = (x0, y0, x0 + rng.uniform(0.002, 0.08), y0 + rng.uniform(0.002, 0.04))
        level = cell_level(zoom, bbox)
        size = cell_size(level)
        lo = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=int(rng.integers(-20 * 1440, 190 * 1440)))
        if trial % 2:
            lo = lo.replace(hour=16, minute=0)  # a Beijing midnight
        hi = lo + timedelta(minutes=int(rng.integers(30, 120 * 1440)))
        since, until = [(lo, hi), (None, hi), (lo, None), (lo, hi), (None, None)][trial % 5]
        category = [None, "fire", "noise"][trial % 3]  # every pairing with the two scopes
        scope = (Scope.everything(), Scope(prefix=f.STREET))[trial % 2]
        got = heatmap_cells(db_session, scope, bbox=bbox, zoom=zoom, since=since, until=until, category=category)
        sources.add(got["source"])
        ix, iy = np.rint(lon / size).astype(int), np.rint(lat / size).astype(int)
        keep = ((ix >= np.floor(bbox[0] / size + 0.5)) & (ix <= np.floor(bbox[2] / size + 0.5))
                & (iy >= np.floor(bbox[1] / size + 0.5)) & (iy <= np.floor(bbox[3] / size + 0.5))
                & np.array([c.startswith(scope.prefix) for c in codes]))
        if since is not None:
            keep &= created >= since
        if until is not None:
            keep &= created < until
        if category:
            keep &= cats == category
        expected: dict[tuple[int, int], int] = {}
        for y, x in zip(iy[keep], ix[keep]):
            expected[(int(y), int(x))] = expected.get((int(y), int(x)), 0) + 1
        assert {(round(a / size), round(o / size)): n for a, o, n in got["cells"]} == expected, (trial, got["source"])
        assert got["total"] == int(keep.sum())
    assert "rollup" in sources


def test_triggers_follow_every_change_and_match_the_rebuild(app, db_session):
    f.lishui(db_session)
    _insert_hazards(db_session, 200, seed=8)
    service.report(db_session, Scope.everything(), category="fire", severity="normal", description="",
                   lon=119.885, lat=28.455, crs=None, now=datetime(2026, 3, 3, 2, tzinfo=UTC))
    # Moves, re-dates, re-categorises and deletes; an update of other fields changes nothing.
    db_session.execute(text("UPDATE hazard SET geom = ST_SetSRID(ST_MakePoint(119.93, 28.45), 4326), "
                            "grid_code = :c WHERE id % 9 = 0"), {"c": f.GRID_C})
    db_session.execute(text("UPDATE hazard SET created_at = created_at + interval '40 days' WHERE id % 7 = 1"))
    db_session.execute(text("UPDATE hazard SET category_code = 'noise' WHERE id % 5 = 2"))
    db_session.execute(text("UPDATE hazard SET status = 'accepted' WHERE id % 4 = 3"))
    db_session.execute(text("DELETE FROM hazard WHERE id % 11 = 4"))
    kept = _snapshot(db_session)
    assert sum(row.n for row in kept if row.level == 13 and row.period_kind == "m" and not row.category_code) == \
        db_session.scalar(text("SELECT count(*) FROM hazard"))
    refresh_rollup(db_session)
    assert _snapshot(db_session) == kept
    # Days are kept at the coarse levels only (finer ones count them from the hazards).
    assert {row.level for row in kept if row.period_kind == "d"} == set(range(min(ROLLUP_LEVELS), DAY_LEVEL_MAX + 1))
    assert {row.level for row in kept if row.period_kind == "m"} == set(ROLLUP_LEVELS)
    # A partial rebuild touches only its year, month and day; the command rebuilds everything.
    db_session.execute(HazardHeatRollup.__table__.update().values(n=99))
    refresh_rollup(db_session, date(2026, 3, 3), date(2026, 3, 4))  # the reported one (a Tuesday)
    rebuilt = {(r.period_kind, r.period) for r in _snapshot(db_session) if r.n != 99}
    assert rebuilt == {("y", date(2026, 1, 1)), ("m", date(2026, 3, 1)), ("d", date(2026, 3, 3))}
    db_session.execute(HazardHeatRollup.__table__.delete())
    result = app.test_cli_runner().invoke(args=["hazard-heatmap-refresh"])
    assert result.exit_code == 0, result.output
    assert "分级汇总" in result.output and _snapshot(db_session) == kept


def test_gaode_display_shifts_bbox_and_cells(client, db_session, monkeypatch):
    from gridmap.geo.crs import from_wgs84

    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    f.lishui(db_session)
    headers = f.auth(f.token_for(db_session, "admin"))
    _insert_hazards(db_session, 100, seed=3)
    # A view whose east edge cuts through the hazards: read in the wrong CRS, it would hold others.
    x0, y0, x1, y1 = 119.86, 28.43, (f.BOXES[f.GRID_A][0] + f.BOXES[f.GRID_A][2]) / 2, 28.49
    plain = client.get(f"/api/v1/hazards/heatmap?zoom=13&bbox={x0},{y0},{x1},{y1}", headers=headers).get_json()
    # The same ground in GCJ-02 (what a Gaode map's getBounds() gives): shifted corners.
    (gx0, gx1), (gy0, gy1) = from_wgs84([x0, x1], [y0, y1], "gcj02")
    shifted = client.get(f"/api/v1/hazards/heatmap?zoom=13&display=gcj02&bbox={gx0},{gy0},{gx1},{gy1}",
                         headers=headers).get_json()
    unread = client.get(f"/api/v1/hazards/heatmap?zoom=13&bbox={gx0},{gy0},{gx1},{gy1}", headers=headers).get_json()
    assert shifted["total"] == plain["total"] and 0 < plain["total"] < 100
    assert unread["total"] != plain["total"]
    lon, lat = from_wgs84([c[1] for c in plain["cells"]], [c[0] for c in plain["cells"]], "gcj02")
    expected = np.array(sorted((float(a), float(o), c[2]) for a, o, c in zip(lat, lon, plain["cells"])))
    got = np.array(sorted(shifted["cells"]))
    assert got.shape == expected.shape and np.allclose(got, expected, rtol=0, atol=2e-7)
    assert not np.allclose(np.array(sorted(plain["cells"])), expected, rtol=0, atol=1e-4)  # really moved
    bad = client.get("/api/v1/hazards/heatmap?zoom=13&display=bd09", headers=headers)
    assert bad.status_code == 400


@pytest.mark.parametrize("zoom", [10, 13, 18])
def test_city_wide_views_at_any_zoom_use_the_pyramid(db_session, zoom):
    city = (118.20, 34.95, 118.55, 35.25)
    level = cell_level(zoom, city)
    assert level in ROLLUP_LEVELS
    assert heatmap_cells(db_session, Scope.everything(), bbox=city, zoom=zoom)["source"] == "rollup"
