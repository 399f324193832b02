"""The patrol map builder: a colour per worker, flagged check-ins marked, offline assets."""

from __future__ import annotations

from gridmap.maps.assets import render_html
from gridmap.maps.patrol import PALETTE, build_patrol_map, worker_colours


def _track(user, coords):
    return {"user": user, "display_name": f"{user}网格员", "points": len(coords), "distance_m": 1234.0,
            "track": {"type": "LineString", "coordinates": coords} if len(coords) > 1
            else {"type": "Point", "coordinates": coords[0]}}


def _checkin(user, lon, lat, flags=()):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"user": user, "display_name": f"{user}网格员", "recorded_at": "2026-11-27T09:30:00+08:00",
                           "grid_name": "城北社区第1网格", "accuracy_m": 12.0, "household_code": None,
                           "note": "<script>x</script>", "flags": list(flags)}}


def test_each_worker_has_its_colour_and_flagged_checkins_are_marked():
    tracks = [_track("li", [[119.885, 28.455], [119.887, 28.455]]), _track("wang", [[119.93, 28.45]])]
    checkins = {"type": "FeatureCollection", "features": [
        _checkin("li", 119.885, 28.455), _checkin("li", 119.887, 28.455, ["outside_grid", "low_accuracy"]),
        _checkin("wang", 119.93, 28.45)]}
    colours = worker_colours(tracks)
    assert colours == {"li": PALETTE[0], "wang": PALETTE[1]}
    html = render_html(build_patrol_map(tracks, checkins, None, title="巡查轨迹"))
    assert html.count("L.circleMarker(") == 3 and html.count("L.polyline(") == 1
    assert html.count('"patrol-checkin flagged"') == 1
    assert "不在本网格、定位精度差" in html
    assert PALETTE[0] in html and PALETTE[1] in html
    assert "<script>x</script>" not in html        # notes are escaped
    assert "fitBounds" in html


def test_an_empty_day_still_renders_offline():
    html = render_html(build_patrol_map([], {"type": "FeatureCollection", "features": []}, None, title="巡查轨迹"))
    assert "L.map(" in html
