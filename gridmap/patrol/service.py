"""Recording check-ins: one or a batch, idempotent by the client's UUID, set-wise SQL.

A batch is answered item by item. Bad items (malformed, bad coordinates, unknown
household) get their own error and are not stored; the good ones are. For the good
ones ONE statement (``CHECKIN_SQL``) does all the work whatever the batch size — the
grid check at the version valid at ``recorded_at`` against the reported accuracy
(inside / near the border within the accuracy / outside), the worker's previous
check-in (``impossible_speed``), the flags, and one ``INSERT … ON CONFLICT DO NOTHING``
into ``checkin_key`` (which keeps what the answer says) feeding the ``INSERT`` into
``checkin``: the database, not a read-then-write, decides which sender was first. The
answer is built in Python (``answer``) from what the statement returns; a re-send gets
the stored one, read by one more statement only when the batch has re-sends (``STORED_SQL``). A single
check-in without a household is one statement plus the commit; a household adds one
lookup for the whole batch.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
from psycopg2.errorcodes import UNIQUE_VIOLATION
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.config import PatrolRules
from gridmap.coordinates import points_to_wgs84
from gridmap.db import Prepared, transaction
from gridmap.errors import Unprocessable
from gridmap.geo.crs import CrsError, parse_crs
from gridmap.messages import message
from gridmap.patrol import flags as F
from gridmap.patrol.items import CheckinItem, parse_items
from gridmap.patrol.models import PARTITION_SCHEMA

MAX_BATCH = 500


def _error(index: int, item_id: str | None, error_code: str, status: int,
           details: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    return {"index": index, "id": item_id, "status": "error", "http_status": status,
            "error": {"code": error_code, "message": message(error_code, **params), "details": details or {}}}


def _validation_details(exc: ValidationError) -> dict[str, Any]:
    return {"errors": [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                       for e in exc.errors(include_url=False)]}


# Everything about the good items in ONE statement (one round trip whatever the batch
# size): the grid check, the previous position, the flags, the key insert (with what the
# answer says) that decides who was first, the check-in rows, and per item what the answer
# needs and whether it was created.
#
# * ``s``/``i``: the items (one JSON array) and the worker's stored check-ins around them
#   on one time line; each item's previous position (``q_*``) is the one just before it,
#   the stored one on a tie (ties between items in item order): a batch sent after a day
#   offline is checked against itself and against what the worker's other phone sent
#   meanwhile. ``impossible_speed`` compares with it: the geodesic distance on the WGS-84
#   spheroid minus both accuracies, over the time between (computed only where a cheap
#   upper bound of the distance cannot rule the flag out).
# * the grid check, per item the best grid by rank: 0 one of the caller's grids containing the
#   point (by code), 1 one of the caller's grids within the reported accuracy of it on
#   geography (the nearest; position "near"), 2 another grid containing it (by code), 3 none
#   of these (no grid; another grid merely near the point is not looked for). Each grid at
#   the version valid at ``recorded_at`` (before a grid's first version, that first version).
#   - ``o``: the caller's grids whose box (of any version) meets the batch's, with all their
#     versions: one GiST search for the whole batch, and for a grid worker one or two grids.
#     Each item tests those (the same polygon item after item: PostGIS keeps it prepared),
#     not every grid near it. The price is a scan of ``o`` per item: an administrator's
#     batch spread over a whole city of 3,000 grids took 0.3 s, against 0.06 s before;
#   - ``og``: ranks 0 and 1 from ``o``, the whole batch in one join and one sort (a subquery
#     per item with a sort of its own cost about 1.5 µs more per item of PostgreSQL's CPU).
#     A grid's version at ``recorded_at`` is picked by a filter, not by a sort per grid: its
#     versions follow one another without overlap (one's ``valid_to`` is the next one's
#     ``valid_from``), so only one has ``valid_from <= recorded_at < valid_to``; before the
#     first one's ``valid_from``, the filter lets only the first version through;
#   - ``gx`` (in ``a``): only for an item with neither, rank 2 (GiST on
#     ``grid_version.geom``). Where grids tile a city this was most of the statement: a GiST
#     search per item, each candidate's version and an unprepared point-in-polygon test.
#     Each candidate's version is one indexed lookup (the earliest not yet ended, one already
#     begun first): the version ``og``'s filter picks, without ``o``'s first versions.
# * ``k``/``ins``: ``INSERT … ON CONFLICT DO NOTHING`` into ``checkin_key`` feeds the
#   ``checkin`` insert: the database, not a read-then-write, decides which sender was first.
# * it reads nothing back from ``checkin_key``: the first answer of items not created is
#   read by STORED_SQL afterwards (also those a concurrent sender committed while this ran).
#   A read of ``checkin_key`` in this prepared statement would be planned once per
#   connection for the table's size at the time: a scan planned while it was empty stays
#   a scan as it grows (until the next ANALYZE).
CHECKIN_SQL = """
WITH t AS (
    -- a member at its default (no household, an empty note, a flag not raised) is left out;
    -- an item's index is its place in the array
    SELECT CAST(t.n - 1 AS int) AS idx, t.id, CAST(t.at AS timestamptz) AS rec, t.lon, t.lat, t.acc,
           t.household_id, t.household_code, coalesce(t.note, '') AS note, t.low, t.future, t.stale
      FROM ROWS FROM (json_to_recordset(CAST(:items AS json))
                      AS (id uuid, at text, lon float8, lat float8, acc float8, household_id int,
                          household_code text, note text, low bool, future bool, stale bool))
           WITH ORDINALITY AS t(id, at, lon, lat, acc, household_id, household_code, note, low, future, stale, n)
), s AS (
    -- the worker's stored check-ins an item may follow: those within the batch's time span,
    -- and the latest one before it (within the horizon: older than that nothing can be too
    -- fast). Two range scans of the (user_id, recorded_at) index for the whole batch, both
    -- in its order (so that index is the cheapest path whatever the statistics); the
    -- partitions outside [since, until) are pruned once, when the statement starts.
    (SELECT c.recorded_at AS rec, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.accuracy_m::float8 AS acc
       FROM checkin c
      WHERE c.user_id = :user_id AND c.recorded_at >= :first AND c.recorded_at < :until
      ORDER BY c.recorded_at)
    UNION ALL
    (SELECT c.recorded_at, ST_X(c.geom), ST_Y(c.geom), c.accuracy_m::float8
       FROM checkin c
      WHERE c.user_id = :user_id AND c.recorded_at < :first AND c.recorded_at >= :since
      ORDER BY c.recorded_at DESC LIMIT 1)
), i AS (
    -- ``deg``: degrees that surely cover ``acc`` metres around the point, on each axis and so
    -- also as a planar distance (a degree of latitude is over 110 km, of longitude over 110 km
    -- times the cosine of the latitude), and ``reach`` that box: prefilters only, never a result
    SELECT line.*, p.pt, d.deg, ST_Expand(p.pt, d.deg) AS reach
      FROM (SELECT t.*, lag(t.lon) OVER w AS q_lon, lag(t.lat) OVER w AS q_lat, lag(t.acc) OVER w AS q_acc,
                   lag(t.rec) OVER w AS q_rec
              -- the batch's items and the stored check-ins on one time line: each item's
              -- previous position is the one just before it, the stored one on a tie
              FROM (SELECT t.*, false AS stored FROM t
                    UNION ALL
                    SELECT NULL, NULL, s.rec, s.lon, s.lat, s.acc, NULL, NULL, NULL, NULL, NULL, NULL, true
                      FROM s) t
            WINDOW w AS (ORDER BY t.rec, t.stored, t.idx)) line
      CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(line.lon, line.lat), 4326) AS pt) p
      CROSS JOIN LATERAL (SELECT (line.acc + 1.0) / 110000.0 / greatest(cos(radians(line.lat)), 0.05) AS deg) d
     WHERE NOT line.stored
), o AS MATERIALIZED (
    SELECT gv.grid_id, gr.code, gr.name, gv.version, gv.geom, gv.valid_from, gv.valid_to,
           ST_Extent(gv.geom) OVER (PARTITION BY gv.grid_id)::geometry AS box,
           min(gv.version) OVER (PARTITION BY gv.grid_id) AS first_version
      FROM (SELECT DISTINCT gv.grid_id FROM grid_version gv
             WHERE gv.geom && (SELECT ST_Extent(i.reach) FROM i)) near
      JOIN grid gr ON gr.id = near.grid_id AND gr.kind = 'map' AND starts_with(gr.code, :own)
      JOIN grid_version gv ON gv.grid_id = near.grid_id
), og AS (
    SELECT DISTINCT ON (i.idx) i.idx, o.grid_id, o.code, o.name, o.version, x.rank
      FROM i JOIN o ON o.box && i.reach AND (o.valid_to IS NULL OR o.valid_to > i.rec)
                   AND (o.valid_from <= i.rec OR o.version = o.first_version)
     CROSS JOIN LATERAL (SELECT CASE WHEN ST_Intersects(o.geom, i.pt) THEN 0 ELSE 1 END AS rank) x
     WHERE x.rank = 0 OR (ST_DWithin(o.geom, i.pt, i.deg) AND ST_DWithin(o.geom::geography, i.pt::geography, i.acc))
     ORDER BY i.idx, x.rank, CASE WHEN x.rank = 1 THEN ST_Distance(o.geom::geography, i.pt::geography) END, o.code
), a AS (
    SELECT i.idx, i.id, i.rec, i.pt, i.acc, i.household_id, i.household_code, i.note, rk.rank,
           coalesce(go.grid_id, gx.grid_id) AS grid_id, coalesce(go.version, gx.version) AS grid_version,
           coalesce(go.code, gx.code) AS grid_code, coalesce(go.name, gx.name) AS grid_name,
           f.flags, sp.fast
      FROM i
      LEFT JOIN og go ON go.idx = i.idx
      -- an item in none of the caller's grids, nor near one: another grid containing it. Each
      -- candidate's grid by its key (LIMIT keeps it a lookup: joined, the generic plan hashed
      -- every grid of the city for every call). The test of ``go.rank`` gates the whole lookup
      -- (OFFSET 0 keeps it there, as a one-time filter): lower down, every other item still
      -- set up its sorts, about 1 µs of PostgreSQL's CPU an item.
      LEFT JOIN LATERAL (SELECT g.* FROM (
          SELECT c.grid_id, gr.code, gr.name, v.version
            FROM (SELECT DISTINCT gv.grid_id FROM grid_version gv WHERE gv.geom && i.pt) c
           CROSS JOIN LATERAL (SELECT gr.code, gr.name FROM grid gr
                                WHERE gr.id = c.grid_id AND gr.kind = 'map' LIMIT 1) gr
           CROSS JOIN LATERAL (SELECT gv.version, gv.geom FROM grid_version gv
                                WHERE gv.grid_id = c.grid_id AND (gv.valid_to IS NULL OR gv.valid_to > i.rec)
                                ORDER BY (gv.valid_from <= i.rec) DESC, gv.version LIMIT 1) v
           WHERE ST_Intersects(v.geom, i.pt)
           ORDER BY gr.code
           LIMIT 1) g WHERE go.rank IS NULL OFFSET 0) gx ON true
      CROSS JOIN LATERAL (SELECT coalesce(go.rank, CASE WHEN gx.grid_id IS NOT NULL THEN 2 END, 3) AS rank) rk
      CROSS JOIN LATERAL (SELECT extract(epoch FROM i.rec - i.q_rec)::float8 AS dt,
                                 -- an upper bound of the geodesic distance: along the parallel nearer
                                 -- the equator, then the meridian, both with the largest radius of
                                 -- curvature of the WGS-84 ellipsoid (a / sqrt(1 - e²)), 1/1000 spare
                                 6399594.0 * 1.001 * (abs(radians(i.lat - i.q_lat))
                                     + least(abs(radians(i.lon - i.q_lon)), 2 * pi() - abs(radians(i.lon - i.q_lon)))
                                       * cos(radians(least(abs(i.lat), abs(i.q_lat))))) AS bound) b
      -- the geodesic distance only where the bound cannot rule the flag out
      CROSS JOIN LATERAL (SELECT CASE WHEN i.q_rec IS NULL OR b.bound <= i.q_acc + i.acc + :max_speed_ms * greatest(b.dt, 0.0)
                                      THEN 0.0
                                      ELSE greatest(ST_Distance(ST_SetSRID(ST_MakePoint(i.q_lon, i.q_lat), 4326)::geography,
                                                                i.pt::geography) - i.q_acc - i.acc, 0.0)
                                 END AS moved, b.dt) m
      CROSS JOIN LATERAL (SELECT m.moved > 0 AND (m.dt <= 0 OR m.moved / m.dt > :max_speed_ms) AS fast) sp
      -- in the order of gridmap.patrol.flags.ORDER
      CROSS JOIN LATERAL (SELECT array_remove(ARRAY[
               CASE WHEN rk.rank >= 2 THEN 'outside_grid' END,
               CASE WHEN i.low THEN 'low_accuracy' END,
               CASE WHEN sp.fast THEN 'impossible_speed' END,
               CASE WHEN i.future THEN 'future_time' END,
               CASE WHEN i.stale THEN 'stale' END], NULL) AS flags) f
), k AS (
    INSERT INTO checkin_key (id, user_id, recorded_at, received_at, rank, grid, grid_name, flags, household_code)
    SELECT id, :user_id, rec, :now, rank, grid_code, grid_name, flags, household_code FROM a
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), ins AS (
    INSERT INTO checkin (id, recorded_at, user_id, grid_id, grid_version, geom, accuracy_m, received_at,
                         household_id, note, flags)
    SELECT a.id, a.rec, :user_id, a.grid_id, a.grid_version, a.pt, a.acc, :now, a.household_id, a.note, a.flags
      FROM a JOIN k ON k.id = a.id
    -- a row there already without its key (gridmap.patrol.keys) is kept, and now has one
    ON CONFLICT DO NOTHING
)
-- Per item, all in one order, what the answer needs that Python does not know: its rank, its
-- grid's code and name, and whether it moved impossibly fast (Python knows the other flags); and,
-- only when some key was there before (a re-send), the keys written now. As arrays (psycopg2
-- reads them in C): a JSON array per item cost 2 µs of PostgreSQL's CPU an item, most of it in
-- json_build_array. (Each grid's name once, by a DISTINCT subquery, cost a single check-in 55 µs.)
SELECT array_agg(a.idx), array_agg(a.rank), array_agg(a.grid_code), array_agg(a.grid_name), array_agg(a.fast),
       CASE WHEN count(*) > (SELECT count(*) FROM k)
            THEN coalesce((SELECT array_agg(CAST(k.id AS text)) FROM k), '{}') END
  FROM a
"""


CHECKIN_TYPES = {"items": "json", "own": "text", "max_speed_ms": "float8", "user_id": "int", "first": "timestamptz",
                 "since": "timestamptz", "until": "timestamptz", "now": "timestamptz"}
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
# For this transaction only, with the call:
# * the generic plan: a custom plan would be planned again at every call (PostgreSQL's "auto"
#   mode keeps choosing one for small arrays);
# * no sequential scans: the generic plan is kept while the month's partition grows, until the
#   next ANALYZE of it. One planned while the partition was nearly empty (a new month, or
#   autovacuum busy elsewhere) would otherwise read the whole partition for every batch;
#   scripts/bench/checkins --big-table caught single check-ins at half speed right after a bulk
#   load kept autovacuum busy.
# * no JIT: a plan whose estimate passes jit_above_cost is compiled by LLVM at every run
#   (~100 ms, against ~15 ms for running a batch of 500 check-ins), and the estimate of the
#   check-in statement's generic plan sits near that line: one more column in it took the batch
#   sync from 35 to 210 µs of PostgreSQL's CPU per row.
CHECKIN_SETTINGS = ("SET LOCAL plan_cache_mode = force_generic_plan", "SET LOCAL enable_seqscan = off",
                    "SET LOCAL jit = off")
CHECKIN = Prepared("gridmap_checkin", CHECKIN_SQL, CHECKIN_TYPES, CHECKIN_SETTINGS)
# A batch's keys are all new but for a re-send. So the statement is first run with a plain
# INSERT of the keys (ON CONFLICT's speculative insertion cost 1.3 µs more of PostgreSQL's CPU an
# item), every item's check-in row then written without joining the keys written, and no list
# of them answered (all were written), behind a savepoint sent in the same round trip; a key
# there before (a re-send, or a concurrent sender's, once committed) fails it whole, and the
# batch runs again as CHECKIN.
_NEW_KEYS = "gridmap_checkin_new_keys"


def _for_new_keys(sql: str) -> str:
    """CHECKIN_SQL without what only a key there before needs."""
    for part, instead in (("    ON CONFLICT (id) DO NOTHING\n", ""),
                          (("      FROM a JOIN k ON k.id = a.id\n"
                            "    -- a row there already without its key (gridmap.patrol.keys) is kept, and now has one\n"
                            "    ON CONFLICT DO NOTHING\n"), "      FROM a\n"),
                          (("CASE WHEN count(*) > (SELECT count(*) FROM k)\n"
                            "            THEN coalesce((SELECT array_agg(CAST(k.id AS text)) FROM k), '{}') END"),
                           "NULL")):
        if sql.count(part) != 1:
            raise ValueError(f"CHECKIN_SQL has not one {part.strip()!r}")
        sql = sql.replace(part, instead)
    return sql


CHECKIN_NEW_KEYS = Prepared(_NEW_KEYS, _for_new_keys(CHECKIN_SQL), CHECKIN_TYPES,
                            (f"SAVEPOINT {_NEW_KEYS}", *CHECKIN_SETTINGS))

HOUSEHOLD_SQL = text("""
SELECT h.id, h.code, g.code AS grid_code
  FROM household h LEFT JOIN grid g ON g.id = h.grid_id
 WHERE h.code = ANY(CAST(:codes AS text[]))
""")

STORED_SQL = text("""
SELECT id::text, user_id, answer, recorded_at, rank, grid, grid_name, flags, household_code
  FROM checkin_key WHERE id = ANY(CAST(:ids AS uuid[]))
""")
POSITIONS = ("inside", "near")  # by rank; "outside" past them


def answer(index: int, item_id: str, recorded_at: datetime, rank: int, grid: str | None, grid_name: str | None,
           flags: list[str], household_code: str | None) -> dict[str, Any]:
    """The batch's item ``index``: a check-in's first answer from what the statement found and
    stored in ``checkin_key`` (rank 0: inside one of the caller's grids, 1: near one, 2: inside
    another grid, 3: none; ``recorded_at`` in UTC: orjson writes it as ``isoformat`` does, in a
    fifth of the time)."""
    return {"index": index, "id": item_id, "status": "created", "grid": grid, "grid_name": grid_name,
            "in_own_grid": rank < 2, "position": POSITIONS[rank] if rank < len(POSITIONS) else "outside",
            "flags": flags, "recorded_at": recorded_at, "household_code": household_code}


def _first_answer(index: int, key: Any) -> dict[str, Any]:
    """The first answer of a stored key, for the batch's item ``index``: its columns, or (keys
    stored before migration 0041) its document."""
    if key.answer is not None:
        return {**key.answer, "index": index}
    return answer(index, key.id, key.recorded_at.astimezone(UTC), key.rank, key.grid, key.grid_name,
                  list(key.flags), key.household_code)


def _statement_item(item: CheckinItem, wgs: tuple[float, float], households: dict[str, int],
                    low: bool, future: bool, stale: bool) -> dict[str, Any]:
    """One item as CHECKIN_SQL reads it (its index is its place), without the members at their
    default (a third of the text that PostgreSQL lexes and parses for a typical batch)."""
    row: dict[str, Any] = {"id": item["id"], "at": item["recorded_at"], "lon": wgs[0], "lat": wgs[1],
                           "acc": item["accuracy_m"]}
    code = item.get("household_code")
    if code:
        row["household_id"] = households[code]
        row["household_code"] = code
    if item.get("note"):
        row["note"] = item["note"]
    if low:
        row["low"] = True
    if future:
        row["future"] = True
    if stale:
        row["stale"] = True
    return row


def _checkin(session: Session, params: dict[str, Any]) -> tuple[Any, ...]:
    """The check-in statement's row: CHECKIN_NEW_KEYS, or CHECKIN when a key was there before."""
    try:
        found = CHECKIN_NEW_KEYS.first(session, params)
    except IntegrityError as exc:  # the driver's errors come out as SQLAlchemy's (db.dbapi_cursor)
        # a unique index: the key's, or the check-in row's (its id and time: a key stored with
        # it), whichever of the two inserts met it first
        diag = exc.orig.diag
        if exc.orig.pgcode != UNIQUE_VIOLATION or (diag.constraint_name != "pk_checkin_key"
                                                    and diag.schema_name != PARTITION_SCHEMA):
            raise
        session.execute(text(f"ROLLBACK TO SAVEPOINT {_NEW_KEYS}"))
        found = CHECKIN.first(session, params)
    assert found is not None  # an aggregate's one row
    return found


def record_checkins(session: Session, scope: Scope, raw_items: list[Any], *, rules: PatrolRules,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """Answer every item: created, duplicate (the first answer, nothing written) or error."""
    if len(raw_items) > MAX_BATCH:
        raise Unprocessable("too_many_checkins", limit=MAX_BATCH, count=len(raw_items))
    now = now or datetime.now(UTC)
    if scope.user_id is None:
        raise Unprocessable("unprocessable")
    results: list[dict[str, Any] | None] = [None] * len(raw_items)
    items: dict[int, CheckinItem] = {}
    first_of: dict[str, int] = {}
    repeats: dict[int, int] = {}
    by_crs: dict[str | None, list[int]] = defaultdict(list)  # by the CRS as declared: parsed once each

    # 1. Each item on its own: shape, then its coordinates (vectorised per declared CRS).
    for i, (raw, item) in enumerate(zip(raw_items, parse_items(raw_items), strict=True)):
        if isinstance(item, ValidationError):
            raw_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else None
            results[i] = _error(i, raw_id, "validation_failed", 400, _validation_details(item))
            continue
        if item["id"] in first_of:
            repeats[i] = first_of[item["id"]]
            continue
        first_of[item["id"]] = i
        items[i] = item
        by_crs[item.get("crs")].append(i)
    wgs: dict[int, tuple[float, float]] = {}
    for declared, members in by_crs.items():
        try:
            crs = parse_crs(declared)
        except CrsError:
            for i in members:
                results[i] = _error(i, items[i]["id"], "invalid_crs", 422, {"crs": declared}, crs=declared)
            continue
        x, y, problems = points_to_wgs84(np.array([items[i]["lon"] for i in members], dtype=float),
                                         np.array([items[i]["lat"] for i in members], dtype=float), crs)
        for i, lon, lat, problem in zip(members, x.tolist(), y.tolist(), problems, strict=True):
            if problem is None:
                wgs[i] = (lon, lat)
            else:
                results[i] = _error(i, items[i]["id"], problem.code, 422,
                                    {"lon": items[i]["lon"], "lat": items[i]["lat"], "crs": crs}, **problem.params)

    # 2. Households: known, and inside the caller's area.
    codes = sorted({code for i in wgs if (code := items[i].get("household_code"))})
    households: dict[str, int] = {}
    if codes:
        for row in session.execute(HOUSEHOLD_SQL, {"codes": codes}):
            if scope.prefix == "" or (row.grid_code is not None and scope.covers(row.grid_code)):
                households[row.code] = row.id
        for i in list(wgs):
            code = items[i].get("household_code")
            if code and code not in households:
                results[i] = _error(i, items[i]["id"], "household_not_found", 422, {"household_code": code}, code=code)
                del wgs[i]

    good = sorted(wgs)
    if good:
        rec = [items[i]["recorded_at"] for i in good]
        acc = [float(items[i]["accuracy_m"]) for i in good]
        future_after, stale_before = F.time_limits(now, rules)
        low = [a > rules.low_accuracy_m for a in acc]
        future = [r > future_after for r in rec]
        stale = [r < stale_before for r in rec]
        max_speed_ms = rules.max_speed_kmh / 3.6
        horizon = timedelta(seconds=2.1e7 / max_speed_ms) if max_speed_ms >= 0.01 else None
        since = min(rec) - horizon if horizon is not None and min(rec) - EARLIEST > horizon else EARLIEST
        with transaction(session):
            found = _checkin(session, {
                # one JSON document for the whole batch: cheaper to build, send and parse than
                # a dozen adapted arrays; orjson writes it ten times faster than json.dumps
                "items": orjson.dumps([_statement_item(items[i], wgs[i], households, low[k], future[k], stale[k])
                                       for k, i in enumerate(good)]).decode(),
                "own": scope.prefix, "max_speed_ms": max_speed_ms, "user_id": scope.user_id,
                "first": min(rec), "since": since, "until": max(rec), "now": now,
            })
            order, ranks, grids, names, fast, written = found
            # Stored before (not written now): by this worker (a re-send, its first answer) or by
            # another (409); a new statement sees also what a concurrent sender committed meanwhile.
            written_now = None if written is None else set(written)
            resent = [] if written_now is None else [items[i]["id"] for i in good if items[i]["id"] not in written_now]
            stored = {r.id: r for r in session.execute(STORED_SQL, {"ids": resent})} if resent else {}
        for k, rank, grid, grid_name, moved_too_fast in zip(order, ranks, grids, names, fast, strict=True):
            i = good[k]
            item_id = items[i]["id"]
            if written_now is None or item_id in written_now:
                flags = F.named(rank >= 2, low[k], moved_too_fast, future[k], stale[k])
                results[i] = answer(i, item_id, rec[k], rank, grid, grid_name, flags,
                                    items[i].get("household_code"))
                continue
            first = stored.get(item_id)
            if first is None or first.user_id != scope.user_id:
                results[i] = _error(i, item_id, "checkin_id_taken", 409, {"id": item_id}, id=item_id)
            else:
                results[i] = {**_first_answer(i, first), "status": "duplicate"}

    for i, first in repeats.items():
        earlier = results[first]
        if earlier is not None and earlier["status"] in ("created", "duplicate"):
            results[i] = {**earlier, "index": i, "status": "duplicate"}
        else:
            results[i] = {**earlier, "index": i} if earlier else _error(i, None, "unprocessable", 422)
    return [r for r in results if r is not None]
