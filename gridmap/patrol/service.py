"""Recording check-ins: one or a batch, idempotent by the client's UUID, set-wise SQL.

A batch is answered item by item. Bad items (malformed, bad coordinates, unknown
household) get their own error and are not stored; the good ones are. For the good
ones, three statements do all the work whatever the batch size:

1. the grid check: the grids near each point (GiST on ``grid_version.geom``), each at
   the version valid at ``recorded_at``, tested on geography against the reported
   accuracy (inside / near the border within the accuracy / outside);
2. the worker's previous stored check-in before each item (``impossible_speed``);
3. one ``INSERT … ON CONFLICT DO NOTHING`` into ``checkin_key`` feeding the
   ``INSERT`` into ``checkin`` in the same statement and transaction: the database, not
   a read-then-write, decides which sender was first. A re-send gets the stored answer.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.db import transaction
from gridmap.errors import PayloadTooLarge, Unprocessable
from gridmap.geo.crs import CrsError, parse_crs, to_wgs84
from gridmap.geo.validate import check_points
from gridmap.messages import message
from gridmap.patrol import flags as F
from gridmap.patrol.settings import PatrolRules

MAX_BATCH = 500


class CheckinItem(BaseModel):
    """One check-in as the phone sends it (API.md "Patrol")."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID = Field(description="手机端生成的 UUID（重复提交以此去重）")
    lon: float = Field(description="经度")
    lat: float = Field(description="纬度")
    crs: str | None = Field(None, description="wgs84（默认）、gcj02、bd09 或 EPSG:编号")
    accuracy_m: float = Field(ge=0, le=100_000, description="定位精度（米）")
    recorded_at: AwareDatetime = Field(description="打卡时间（ISO 8601，带时区）")
    household_code: str | None = Field(None, max_length=64, description="走访的住户户号")
    note: str = Field("", max_length=1000, description="备注")


def _error(index: int, item_id: str | None, error_code: str, status: int,
           details: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    return {"index": index, "id": item_id, "status": "error", "http_status": status,
            "error": {"code": error_code, "message": message(error_code, **params), "details": details or {}}}


def _validation_details(exc: ValidationError) -> dict[str, Any]:
    return {"errors": [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                       for e in exc.errors(include_url=False)]}


GRID_CHECK_SQL = text("""
WITH p AS (
    SELECT t.idx, t.rec, t.acc, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS pt,
           -- degrees that surely cover ``acc`` metres around the point (index prefilter only)
           (t.acc + 1.0) / 110000.0 / greatest(cos(radians(t.lat)), 0.05) AS deg
      FROM unnest(CAST(:idx AS int[]), CAST(:lon AS float8[]), CAST(:lat AS float8[]),
                  CAST(:acc AS float8[]), CAST(:rec AS timestamptz[])) AS t(idx, lon, lat, acc, rec)
)
SELECT p.idx, g.id AS grid_id, g.code, g.name, v.version,
       ST_Intersects(v.geom, p.pt) AS inside,
       CASE WHEN ST_Intersects(v.geom, p.pt) THEN 0.0
            ELSE ST_Distance(v.geom::geography, p.pt::geography) END AS distance_m
  FROM p
  CROSS JOIN LATERAL (SELECT DISTINCT gv.grid_id FROM grid_version gv
                       WHERE gv.geom && ST_Expand(p.pt, p.deg)) c
  JOIN grid g ON g.id = c.grid_id AND g.kind = 'map'
  -- the version valid at recorded_at; before a grid's first version, that first version
  CROSS JOIN LATERAL (SELECT gv.version, gv.geom FROM grid_version gv
                       WHERE gv.grid_id = c.grid_id AND (gv.valid_to IS NULL OR gv.valid_to > p.rec)
                       ORDER BY (gv.valid_from <= p.rec) DESC, gv.version LIMIT 1) v
 WHERE ST_DWithin(v.geom::geography, p.pt::geography, p.acc)
""")

PREVIOUS_SQL = text("""
SELECT t.idx, c.lon, c.lat, c.acc, extract(epoch FROM c.recorded_at) AS at
  FROM unnest(CAST(:idx AS int[]), CAST(:rec AS timestamptz[])) AS t(idx, rec)
  CROSS JOIN LATERAL (SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, accuracy_m AS acc, recorded_at
                        FROM checkin WHERE user_id = :user_id AND recorded_at < t.rec
                       ORDER BY recorded_at DESC LIMIT 1) c
""")

HOUSEHOLD_SQL = text("""
SELECT h.id, h.code, g.code AS grid_code
  FROM household h LEFT JOIN grid g ON g.id = h.grid_id
 WHERE h.code = ANY(CAST(:codes AS text[]))
""")

INSERT_SQL = text("""
WITH i AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:rec AS timestamptz[]), CAST(:lon AS float8[]),
                         CAST(:lat AS float8[]), CAST(:acc AS float8[]), CAST(:grid AS int[]),
                         CAST(:version AS int[]), CAST(:household AS int[]), CAST(:note AS text[]),
                         CAST(:answer AS jsonb[]))
             AS t(id, rec, lon, lat, acc, grid_id, grid_version, household_id, note, answer)
), k AS (
    INSERT INTO checkin_key (id, user_id, recorded_at, answer, received_at)
    SELECT id, :user_id, rec, answer, :now FROM i
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
INSERT INTO checkin (id, recorded_at, user_id, grid_id, grid_version, geom, accuracy_m, received_at,
                     household_id, note, flags)
SELECT i.id, i.rec, :user_id, i.grid_id, i.grid_version, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326), i.acc,
       :now, i.household_id, i.note, ARRAY(SELECT jsonb_array_elements_text(i.answer -> 'flags'))
  FROM i JOIN k ON k.id = i.id
RETURNING id
""")

STORED_SQL = text("SELECT id::text, user_id, answer FROM checkin_key WHERE id = ANY(CAST(:ids AS uuid[]))")


def _own_prefix(scope: Scope) -> str:
    return scope.prefix


def _grid_check(session: Session, scope: Scope, idx, lon, lat, acc, rec) -> dict[int, dict[str, Any]]:
    """Per item index: grid, grid_id, version, position (inside/near/outside) and in_own_grid."""
    rows = session.execute(GRID_CHECK_SQL, {"idx": idx, "lon": lon, "lat": lat, "acc": acc, "rec": rec}).all()
    by_item: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_item[row.idx].append(row)
    own = _own_prefix(scope)
    result = {}
    for i in idx:
        candidates = by_item.get(i, [])
        mine = [r for r in candidates if r.code.startswith(own)]
        inside_mine = sorted((r for r in mine if r.inside), key=lambda r: r.code)
        if inside_mine:
            best, position = inside_mine[0], "inside"
        elif mine:
            best, position = min(mine, key=lambda r: (r.distance_m, r.code)), "near"
        else:
            inside_any = sorted((r for r in candidates if r.inside), key=lambda r: r.code)
            best, position = (inside_any[0] if inside_any else None), "outside"
        result[i] = {
            "grid": best.code if best else None, "grid_name": best.name if best else None,
            "grid_id": best.grid_id if best else None, "grid_version": best.version if best else None,
            "position": position, "in_own_grid": position != "outside",
        }
    return result


def _previous(session: Session, user_id: int, idx: list[int], rec: list[datetime]) -> dict[int, tuple]:
    rows = session.execute(PREVIOUS_SQL, {"idx": idx, "rec": rec, "user_id": user_id}).all()
    return {r.idx: (r.lon, r.lat, float(r.acc), float(r.at)) for r in rows}


def record_checkins(session: Session, scope: Scope, raw_items: list[Any], *, rules: PatrolRules | None = None,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """Answer every item: created, duplicate (the first answer, nothing written) or error."""
    if len(raw_items) > MAX_BATCH:
        raise PayloadTooLarge("too_many_checkins", limit=MAX_BATCH, count=len(raw_items))
    rules = rules or PatrolRules()
    now = now or datetime.now(UTC)
    if scope.user_id is None:
        raise Unprocessable("unprocessable")
    results: list[dict[str, Any] | None] = [None] * len(raw_items)
    items: dict[int, CheckinItem] = {}
    first_of: dict[str, int] = {}
    repeats: dict[int, int] = {}

    # 1. Each item on its own: shape, then its coordinates (vectorised per declared CRS).
    for i, raw in enumerate(raw_items):
        raw_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else None
        try:
            item = CheckinItem.model_validate(raw)
        except ValidationError as exc:
            results[i] = _error(i, raw_id, "validation_failed", 400, _validation_details(exc))
            continue
        key = str(item.id)
        if key in first_of:
            repeats[i] = first_of[key]
            continue
        first_of[key] = i
        items[i] = item
    by_crs: dict[str, list[int]] = defaultdict(list)
    for i, item in items.items():
        try:
            by_crs[parse_crs(item.crs)].append(i)
        except CrsError:
            results[i] = _error(i, str(item.id), "invalid_crs", 422, {"crs": item.crs}, crs=item.crs)
    wgs: dict[int, tuple[float, float]] = {}
    for crs, members in by_crs.items():
        lons = np.array([items[i].lon for i in members], dtype=float)
        lats = np.array([items[i].lat for i in members], dtype=float)
        x, y = to_wgs84(lons, lats, crs)
        problems = check_points(x, y)
        for k, i in enumerate(members):
            problem = problems[k]
            if problem is None:
                wgs[i] = (float(x[k]), float(y[k]))
            else:
                results[i] = _error(i, str(items[i].id), problem.code, 422,
                                    {"lon": items[i].lon, "lat": items[i].lat, "crs": crs}, **problem.params)

    # 2. Households: known, and inside the caller's area.
    codes = sorted({items[i].household_code for i in wgs if items[i].household_code})
    households: dict[str, int] = {}
    if codes:
        for row in session.execute(HOUSEHOLD_SQL, {"codes": codes}):
            if scope.prefix == "" or (row.grid_code is not None and scope.covers(row.grid_code)):
                households[row.code] = row.id
    for i in list(wgs):
        code = items[i].household_code
        if code and code not in households:
            results[i] = _error(i, str(items[i].id), "household_not_found", 422, {"household_code": code}, code=code)
            del wgs[i]

    good = sorted(wgs)
    if good:
        rec = [items[i].recorded_at for i in good]
        lon = [wgs[i][0] for i in good]
        lat = [wgs[i][1] for i in good]
        acc = [float(items[i].accuracy_m) for i in good]
        grids = _grid_check(session, scope, good, lon, lat, acc, rec)

        # 3. impossible_speed against the previous position: the stored one or the batch's own.
        stored_prev = _previous(session, scope.user_id, good, rec)
        order = sorted(range(len(good)), key=lambda k: rec[k])
        prev = np.full((len(good), 4), np.nan)
        last = None
        for k in order:
            candidates = [c for c in (stored_prev.get(good[k]),) if c is not None]
            if last is not None and rec[last] <= rec[k]:
                candidates.append((lon[last], lat[last], acc[last], rec[last].timestamp()))
            if candidates:
                prev[k] = max(candidates, key=lambda c: c[3])
            last = k
        fast = F.impossible_speed(prev[:, 0], prev[:, 1], prev[:, 2], prev[:, 3], lon, lat, acc,
                                  [r.timestamp() for r in rec], rules.max_speed_kmh)

        answers = []
        for k, i in enumerate(good):
            g = grids[i]
            flags = []
            if g["position"] == "outside":
                flags.append(F.OUTSIDE_GRID)
            if acc[k] > rules.low_accuracy_m:
                flags.append(F.LOW_ACCURACY)
            if fast[k]:
                flags.append(F.IMPOSSIBLE_SPEED)
            flags += F.time_flags(rec[k], now, rules)
            answers.append({
                "id": str(items[i].id), "status": "created", "grid": g["grid"], "grid_name": g["grid_name"],
                "in_own_grid": g["in_own_grid"], "position": g["position"], "flags": flags,
                "recorded_at": rec[k].isoformat(), "household_code": items[i].household_code,
            })

        # 4. One statement: keys first (the database decides who was first), then the rows.
        ids = [a["id"] for a in answers]
        with transaction(session):
            created = {str(r[0]) for r in session.execute(INSERT_SQL, {
                "ids": ids, "rec": rec, "lon": lon, "lat": lat, "acc": acc,
                "grid": [grids[i]["grid_id"] for i in good], "version": [grids[i]["grid_version"] for i in good],
                "household": [households.get(items[i].household_code) if items[i].household_code else None
                              for i in good],
                "note": [items[i].note for i in good], "answer": [json.dumps(a, ensure_ascii=False) for a in answers],
                "user_id": scope.user_id, "now": now,
            })}
            missing = [a["id"] for a in answers if a["id"] not in created]
            stored = {r.id: r for r in session.execute(STORED_SQL, {"ids": missing})} if missing else {}
        for k, i in enumerate(good):
            answer = answers[k]
            if answer["id"] in created:
                results[i] = {"index": i, **answer}
                continue
            first = stored.get(answer["id"])
            if first is None or first.user_id != scope.user_id:
                results[i] = _error(i, answer["id"], "checkin_id_taken", 409, {"id": answer["id"]},
                                    id=answer["id"])
            else:
                results[i] = {"index": i, **first.answer, "status": "duplicate"}

    for i, first in repeats.items():
        earlier = results[first]
        if earlier is not None and earlier["status"] in ("created", "duplicate"):
            results[i] = {**earlier, "index": i, "status": "duplicate"}
        else:
            results[i] = {**earlier, "index": i} if earlier else _error(i, None, "unprocessable", 422)
    return [r for r in results if r is not None]
