"""The heatmap's daily pre-aggregation: kept on write, rebuilt by the command, and giving the
same cells as counting the hazards when the range is whole days."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from gridmap.auth.scope import Scope
from gridmap.hazards import service
from gridmap.hazard_stats.cells import whole_day
from gridmap.hazard_stats.heatmap import heatmap_cells
from gridmap.hazard_stats.refresh import refresh_daily
from gridmap.hazards.daily_cells import FINE_CELL
from gridmap.hazards.models import HazardDailyCell
from tests import factories as f




def _cells(result):
    return {(round(lat, 6), round(lon, 6)): n for lat, lon, n in result["cells"]}


def _snapshot(db_session):
    return sorted(db_session.execute(select(HazardDailyCell.day, HazardDailyCell.grid_code,
                                            HazardDailyCell.category_code, HazardDailyCell.ix, HazardDailyCell.iy,
                                            HazardDailyCell.n)).all())


def test_daily_cells_match_the_hazards_and_the_rebuild(db_session):
    f.lishui(db_session)
    admin, street = Scope.everything(), Scope(prefix=f.STREET)
    rng = np.random.default_rng(3)
    # Points on fine-cell centres (away from every view-cell border) over grids A, B and C, on several days.
    for k in range(60):
        lon = round(rng.uniform(*((119.881, 119.899), (119.921, 119.949))[k % 3 == 0]) / FINE_CELL) * FINE_CELL
        lat = round(rng.uniform(28.451, 28.459) / FINE_CELL) * FINE_CELL
        day = datetime(2026, 5, 1 + k % 20, 1 + k % 10, tzinfo=UTC)
        service.report(db_session, admin, category=("fire", "noise")[k % 2], severity="normal", description="",
                       lon=lon, lat=lat, crs=None, now=day)
    on_write = _snapshot(db_session)
    assert sum(row.n for row in on_write) == 60
    refresh_daily(db_session)
    assert _snapshot(db_session) == on_write
    since, until = datetime.fromisoformat("2026-05-05T00:00:00+08:00"), datetime.fromisoformat("2026-05-15T00:00:00+08:00")
    assert whole_day(since) and whole_day(until) and not whole_day(datetime.fromisoformat("2026-05-05T08:00:00+08:00"))
    # Zoom 11: cells of 0.011° = 22 fine cells (even: fine centres never sit on a view border).
    for kwargs in ({}, {"since": since, "until": until}, {"category": "噪声"}, {"bbox": (119.88, 28.45, 119.92, 28.46)}):
        for scope in (admin, street):
            daily = heatmap_cells(db_session, scope, zoom=11, daily=True, **{"bbox": None, **kwargs})
            raw = heatmap_cells(db_session, scope, zoom=11, daily=False, **{"bbox": None, **kwargs})
            assert _cells(daily) == _cells(raw) and daily["total"] == raw["total"] > 0, kwargs
    # The zoom pyramid answers a street or wider (test_hazard_stats_rollup.py); the daily cells a narrower scope.
    grid_scope = Scope(prefix=f.GRID_A)
    chosen = heatmap_cells(db_session, grid_scope, bbox=None, zoom=11, since=since)
    assert chosen["source"] == "daily"
    assert heatmap_cells(db_session, grid_scope, bbox=None, zoom=11,
                         since=datetime.fromisoformat("2026-05-05T08:00:00+08:00"))["source"] == "hazards"
    assert heatmap_cells(db_session, admin, bbox=None, zoom=16)["source"] == "hazards"  # finer than the table


def test_refresh_rebuilds_only_the_given_days(db_session):
    f.lishui(db_session)
    admin = Scope.everything()
    for day in (3, 4, 5):
        service.report(db_session, admin, category="fire", severity="normal", description="", lon=119.885,
                       lat=28.455, crs=None, now=datetime(2026, 5, day, 2, tzinfo=UTC))
    db_session.execute(HazardDailyCell.__table__.update().values(n=99))
    from datetime import date

    result = refresh_daily(db_session, date(2026, 5, 4), date(2026, 5, 5))
    assert result == {"deleted": 1, "cells": 1}
    assert [row.n for row in _snapshot(db_session)] == [99, 1, 99]


def test_refresh_command(app, db_session):
    f.lishui(db_session)
    service.report(db_session, Scope.everything(), category="fire", severity="normal", description="", lon=119.885,
                   lat=28.455, crs=None, now=datetime(2026, 5, 3, 2, tzinfo=UTC))
    db_session.execute(HazardDailyCell.__table__.delete())
    result = app.test_cli_runner().invoke(args=["hazard-heatmap-refresh", "--since", "2026-05-01",
                                                "--until", "2026-06-01"])
    assert result.exit_code == 0, result.output
    assert "1 个格网日" in result.output and [row.n for row in _snapshot(db_session)] == [1]
