"""Reading patrols: the check-in list, per-worker daily tracks with coverage, and 五必访.

Who sees what: a grid worker sees only their own check-ins; others see the check-ins
of workers whose scope lies in their area, and any made in a grid of their area. Days
and months are China's (Asia/Shanghai). Everything is one SQL statement per request,
on the (user_id, recorded_at) and GiST indexes, pruned to the partitions of the period.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.areas import service as areas
from gridmap.auth.masking import sees_unmasked, visit_tags_shown
from gridmap.auth.scope import Scope
from gridmap.clock import CHINA, day_bounds, month_bounds, this_month
from gridmap.config import PatrolRules
from gridmap.errors import NotFound


def _cn(moment: datetime) -> str:
    """Times go out in China's time zone, with their offset (ISO 8601)."""
    return moment.astimezone(CHINA).isoformat()


def _filters(scope: Scope, within: str | None, username: str | None) -> tuple[str, dict[str, Any]]:
    """SQL conditions on ``c`` (checkin), ``u`` (its user) and ``g`` (its grid)."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return "false", {}
    conditions = ["(u.scope_code LIKE :prefix OR g.code LIKE :prefix)"]
    params: dict[str, Any] = {"prefix": pattern}
    if scope.is_grid_worker or scope.is_party_member:
        conditions.append("c.user_id = :self_id")
        params["self_id"] = scope.user_id
    if username:
        # A condition, not a lookup: an unknown username and one outside the caller's scope
        # both answer an empty list, so the filter tells nobody which accounts exist.
        conditions.append("u.username = :username")
        params["username"] = username
    return " AND ".join(conditions), params


LIST_SQL = """
SELECT c.id::text AS id, u.username, u.display_name, c.recorded_at, c.received_at, c.accuracy_m,
       g.code AS grid, g.name AS grid_name, c.grid_version, h.code AS household_code, c.note, c.flags,
       ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, count(*) OVER () AS total
  FROM checkin c
  JOIN app_user u ON u.id = c.user_id
  LEFT JOIN grid g ON g.id = c.grid_id
  LEFT JOIN household h ON h.id = c.household_id
 WHERE c.recorded_at >= :lo AND c.recorded_at < :hi AND {where}
 ORDER BY c.recorded_at, c.id
 LIMIT :limit OFFSET :offset
"""


def list_checkins(session: Session, scope: Scope, *, within: str | None, username: str | None, day: date,
                  limit: int, offset: int) -> dict[str, Any]:
    where, params = _filters(scope, within, username)
    lo, hi = day_bounds(day)
    rows = session.execute(text(LIST_SQL.format(where=where)),
                           {**params, "lo": lo, "hi": hi, "limit": limit, "offset": offset}).all()
    features = [{
        "type": "Feature", "id": r.id,
        "geometry": {"type": "Point", "coordinates": [round(r.lon, 7), round(r.lat, 7)]},
        "properties": {
            "id": r.id, "user": r.username, "display_name": r.display_name,
            "recorded_at": _cn(r.recorded_at), "received_at": _cn(r.received_at),
            "accuracy_m": r.accuracy_m, "grid": r.grid, "grid_name": r.grid_name, "grid_version": r.grid_version,
            "household_code": r.household_code, "note": r.note, "flags": list(r.flags or []),
        },
    } for r in rows]
    total = rows[0].total if rows else 0
    if not rows and offset:
        total = session.scalar(text(f"""
            SELECT count(*) FROM checkin c JOIN app_user u ON u.id = c.user_id LEFT JOIN grid g ON g.id = c.grid_id
             WHERE c.recorded_at >= :lo AND c.recorded_at < :hi AND {where}"""), {**params, "lo": lo, "hi": hi})
    return {"type": "FeatureCollection", "date": day.isoformat(), "features": features, "total": total}


TRACKS_SQL = """
WITH c AS (
    SELECT c.user_id, c.recorded_at, c.geom, c.flags, c.grid_id,
           lag(c.recorded_at) OVER w AS prev_at, lag(c.flags) OVER w AS prev_flags
      FROM checkin c
      JOIN app_user u ON u.id = c.user_id
      LEFT JOIN grid g ON g.id = c.grid_id
     WHERE c.recorded_at >= :lo AND c.recorded_at < :hi AND {where}
    WINDOW w AS (PARTITION BY c.user_id ORDER BY c.recorded_at)
), t AS (
    SELECT user_id, count(*) AS points, min(recorded_at) AS first_at, max(recorded_at) AS last_at,
           ST_MakeLine(geom ORDER BY recorded_at) AS line,
           (array_agg(geom ORDER BY recorded_at))[1] AS first_geom,
           -- time between two consecutive check-ins that were both in the worker's own grid
           coalesce(sum(extract(epoch FROM recorded_at - prev_at)) FILTER (
               WHERE prev_at IS NOT NULL AND NOT 'outside_grid' = ANY(flags)
                 AND NOT 'outside_grid' = ANY(prev_flags)), 0) AS inside_s,
           count(*) FILTER (WHERE cardinality(flags) > 0) AS flagged,
           mode() WITHIN GROUP (ORDER BY grid_id) AS usual_grid
      FROM c GROUP BY user_id
), w AS (
    SELECT t.*, u.username, u.display_name, u.role,
           coalesce(own.id, t.usual_grid) AS grid_id,
           CASE WHEN t.points > 1 THEN t.line ELSE t.first_geom END AS track
      FROM t JOIN app_user u ON u.id = t.user_id
      LEFT JOIN grid own ON u.role = 'grid_worker' AND own.code = u.scope_code
)
SELECT w.user_id, w.username, w.display_name, w.role, w.points, w.first_at, w.last_at, w.inside_s, w.flagged,
       g.code AS grid, g.name AS grid_name,
       CASE WHEN w.points > 1 THEN ST_Length(w.track::geography) ELSE 0 END AS distance_m,
       ST_AsGeoJSON(w.track, 7) AS geometry, hh.households, hh.passed
  FROM w
  LEFT JOIN grid g ON g.id = w.grid_id
  LEFT JOIN LATERAL (
      SELECT count(*) AS households,
             count(*) FILTER (WHERE ST_DWithin(h.geom::geography, w.track::geography, :radius)) AS passed
        FROM household h WHERE h.grid_id = w.grid_id
  ) hh ON true
 ORDER BY w.username
"""


def daily_tracks(session: Session, scope: Scope, *, within: str | None, username: str | None, day: date,
                 rules: PatrolRules) -> dict[str, Any]:
    """Per worker on ``day``: ordered track, distance, time in the grid and household coverage."""
    where, params = _filters(scope, within, username)
    lo, hi = day_bounds(day)
    rows = session.execute(text(TRACKS_SQL.format(where=where)),
                           {**params, "lo": lo, "hi": hi, "radius": rules.coverage_radius_m}).all()
    items = []
    for r in rows:
        households = int(r.households or 0)
        passed = int(r.passed or 0)
        items.append({
            "user": r.username, "display_name": r.display_name, "role": r.role,
            "grid": r.grid, "grid_name": r.grid_name, "points": r.points,
            "first_at": _cn(r.first_at), "last_at": _cn(r.last_at),
            "distance_m": round(float(r.distance_m), 1), "inside_s": int(r.inside_s), "flagged": r.flagged,
            "coverage": {"households": households, "passed": passed,
                         "share": round(passed / households, 4) if households else None,
                         "radius_m": rules.coverage_radius_m},
            "track": json.loads(r.geometry),
        })
    return {"date": day.isoformat(), "items": items, "total": len(items)}


# A whole district has too many grids to outline: past this many, only the grids patrolled that day.
OUTLINED_GRIDS_MAX = 300
# The patrol map draws every track and check-in of the day (a district's day stays far below).
DAY_ROWS_MAX = 20000


def day_overview(session: Session, scope: Scope, *, within: str | None, day: date,
                 rules: PatrolRules, outlines: bool = True) -> dict[str, Any]:
    """What the patrol map shows of ``day``: every worker's track (``daily_tracks`` items),
    the day's check-ins, the grid outlines (none unless ``outlines``: the map draws them from
    tiles) and the area's name. 404 for a ``within`` outside the caller's area."""
    if within is not None and scope.narrow(within) is None:
        raise NotFound("area_not_found", code=within)
    workers = daily_tracks(session, scope, within=within, username=None, day=day, rules=rules)["items"]
    checkins = list_checkins(session, scope, within=within, username=None, day=day, limit=DAY_ROWS_MAX, offset=0)
    grids = (areas.list_grids(session, scope, within, None, limit=DAY_ROWS_MAX, offset=0) if outlines
             else {"type": "FeatureCollection", "features": [], "total": 0})
    if len(grids["features"]) > OUTLINED_GRIDS_MAX:
        patrolled = {w["grid"] for w in workers if w["grid"]}
        grids = {**grids, "features": [g for g in grids["features"] if g["properties"]["code"] in patrolled]}
    return {"date": day.isoformat(), "area_name": areas.area_label(session, within or scope.prefix),
            "workers": workers, "checkins": checkins, "grids": grids, "coverage_radius_m": rules.coverage_radius_m}


COVERAGE_SQL = """
WITH req AS (
    SELECT h.id, h.code, h.address,
           ARRAY(SELECT unnest(h.tags) INTERSECT SELECT unnest(CAST(:tags AS text[]))) AS visit_tags,
           g.id AS grid_id, g.code AS grid_code, g.name AS grid_name
      FROM household h JOIN grid g ON g.id = h.grid_id
     WHERE h.tags && CAST(:tags AS text[]) AND g.code LIKE :prefix {extra}
), v AS (
    SELECT c.household_id, min(c.recorded_at) AS first_at, array_agg(DISTINCT c.user_id) AS users
      FROM checkin c
     WHERE c.recorded_at >= :lo AND c.recorded_at < :hi AND c.household_id IN (SELECT id FROM req)
     GROUP BY c.household_id
)
SELECT req.grid_code, req.grid_name, count(*) AS required, count(v.household_id) AS visited,
       coalesce(json_agg(json_build_object('code', req.code, 'address', req.address, 'tags', req.visit_tags)
                ORDER BY req.code) FILTER (WHERE v.household_id IS NULL), '[]') AS due,
       coalesce(json_agg(json_build_object('household', req.code, 'users', v.users))
                FILTER (WHERE v.household_id IS NOT NULL), '[]') AS visits
  FROM req LEFT JOIN v ON v.household_id = req.id
 GROUP BY req.grid_code, req.grid_name
 ORDER BY req.grid_code
"""


def visit_coverage(session: Session, scope: Scope, *, within: str | None, month: date,
                   rules: PatrolRules, until: datetime | None = None) -> dict[str, Any]:
    """五必访 for ``month``: per grid the households whose tags require a monthly visit,
    how many were visited (a check-in naming the household) and the list still due;
    per grid worker the same for their grid, with the visits they made themselves.
    A party member sees only the households they look after; for supervisors and planners
    (masked viewers) all of it counts only the visit tags that are not sensitive
    (gridmap.auth.masking.visit_tags_shown), so no figure or list reveals 社区矫正."""
    pattern = scope.like_pattern(within)
    lo, hi = month_bounds(month)
    hi = min(hi, until) if until else hi  # the month so far, up to ``until``
    tags = visit_tags_shown(rules.visit_tags, unmasked=sees_unmasked(scope, False))
    result: dict[str, Any] = {"month": f"{month:%Y-%m}", "tags": tags, "grids": [],
                              "workers": [], "required": 0, "visited": 0}
    if pattern is None:
        return result
    extra, due_params = "", {"tags": tags, "prefix": pattern, "lo": lo, "hi": hi}
    if scope.is_party_member:
        extra = "AND h.id IN (SELECT household_id FROM party_contact WHERE party_member_id = :me)"
        due_params["me"] = scope.party_member_id
    rows = session.execute(text(COVERAGE_SQL.format(extra=extra)), due_params).all()
    users_sql = "SELECT id, username, display_name, scope_code FROM app_user WHERE role = 'grid_worker' AND active"
    params: dict[str, Any] = {"prefix": pattern}
    users_sql += " AND scope_code LIKE :prefix"
    if scope.is_grid_worker:
        users_sql += " AND id = :self_id"
        params["self_id"] = scope.user_id
    workers = session.execute(text(users_sql + " ORDER BY username"), params).all()
    by_grid = {}
    for r in rows:
        grid = {"code": r.grid_code, "name": r.grid_name, "required": r.required, "visited": r.visited,
                "share": round(r.visited / r.required, 4) if r.required else None, "due": r.due}
        by_grid[r.grid_code] = (grid, r.visits)
        result["grids"].append(grid)
        result["required"] += r.required
        result["visited"] += r.visited
    for w in workers:
        grid, visits = by_grid.get(w.scope_code, (None, []))
        mine = sum(1 for v in visits if w.id in v["users"])
        result["workers"].append({
            "user": w.username, "display_name": w.display_name, "grid": w.scope_code,
            "required": grid["required"] if grid else 0, "visited": grid["visited"] if grid else 0,
            "visited_by_worker": mine, "due": len(grid["due"]) if grid else 0,
        })
    result["share"] = round(result["visited"] / result["required"], 4) if result["required"] else None
    return result


NEARBY_SQL = """
SELECT h.code, h.address, g.code AS grid,
       ARRAY(SELECT unnest(h.tags) INTERSECT SELECT unnest(CAST(:tags AS text[]))) AS visit_tags,
       ST_Distance(h.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS distance_m,
       EXISTS (SELECT 1 FROM checkin c WHERE c.household_id = h.id
                 AND c.recorded_at >= :lo AND c.recorded_at < :hi) AS visited
  FROM household h JOIN grid g ON g.id = h.grid_id
 WHERE g.code LIKE :prefix
 ORDER BY h.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
 LIMIT :limit
"""


def nearby_households(session: Session, scope: Scope, lon: float, lat: float, crs: str | None, limit: int,
                      rules: PatrolRules) -> dict[str, Any]:
    """The caller's households nearest a point (KNN on the GiST index): code, address,
    the tags that require a visit and whether it was visited this month. No names or
    phones (nothing audited); for supervisors and planners no sensitive visit tag at all
    (gridmap.auth.masking.visit_tags_shown)."""
    from gridmap.coordinates import point_to_wgs84

    lon, lat = point_to_wgs84(lon, lat, crs)
    lo, hi = month_bounds(this_month())
    tags = visit_tags_shown(rules.visit_tags, unmasked=sees_unmasked(scope, False))
    rows = session.execute(text(NEARBY_SQL), {"tags": tags, "lon": lon, "lat": lat,
                                              "prefix": scope.like_pattern(), "lo": lo, "hi": hi,
                                              "limit": limit}).all()
    items = [{"code": r.code, "address": r.address, "grid": r.grid, "visit_tags": list(r.visit_tags),
              "distance_m": round(float(r.distance_m), 1), "visited_this_month": r.visited} for r in rows]
    return {"items": items, "total": len(items)}
