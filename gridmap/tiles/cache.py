"""The server-side tile cache (tables in gridmap.tiles.models, triggers in migration 0039).

A built tile is kept under its request key with the snapshot (``pg_current_snapshot()``) of the
statement that built it. It is current while no statement that wrote one of the tables it shows
(``tile_change.source``) belongs to a transaction that is committed now but was not in that
snapshot: the check reads the cache row by its key and the change log's index from the snapshot's
``xmin`` on, so a warm tile costs two index lookups whatever its size. A change by the reading
transaction itself always misses: a snapshot never lists its own transaction as running, so it
cannot tell the writes it saw from the ones made after it. A tile built in an older
snapshot than a concurrent one may overwrite a newer entry; that only costs a rebuild.

Upkeep, on each build and daily by ``tile-cache-prune`` (so the change log does not grow while
nobody opens a map): the household deltas are folded (``COMPACT_SQL``); entries older than
``MAX_AGE`` go; change rows older than ``CHANGE_AGE`` go, and with them every entry whose snapshot
may not have seen them (``snap_xmin`` at or below the newest pruned ``xid``). A change written by a transaction that stayed open longer than
``CHANGE_AGE`` could be pruned before a concurrent build stores its tile; transactions that long
do not happen here (the app's are seconds; imports minutes).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_AGE = "1 hour"
CHANGE_AGE = "1 day"

LOOKUP_SQL = text("""
SELECT c.tag, c.features, CASE WHEN c.tag = :known THEN NULL ELSE c.body END AS body FROM tile_cache c
 WHERE c.key = :key AND NOT EXISTS (
       SELECT 1 FROM tile_change ch
        WHERE ch.source = ANY(:sources) AND ch.xid >= c.snap_xmin
          AND (NOT pg_visible_in_snapshot(ch.xid, c.snap) OR ch.xid = pg_current_xact_id_if_assigned()))""")

STORE_SQL = text("""
INSERT INTO tile_cache (key, tag, features, body, snap, snap_xmin)
VALUES (:key, :tag, :features, :body, CAST(:snap AS pg_snapshot), pg_snapshot_xmin(CAST(:snap AS pg_snapshot)))
ON CONFLICT (key) DO UPDATE SET tag = EXCLUDED.tag, features = EXCLUDED.features, body = EXCLUDED.body,
       snap = EXCLUDED.snap, snap_xmin = EXCLUDED.snap_xmin, built_at = EXCLUDED.built_at""")

PRUNE_SQL = text(f"""
WITH gone AS (DELETE FROM tile_change WHERE at < now() - interval '{CHANGE_AGE}' RETURNING xid)
DELETE FROM tile_cache WHERE built_at < now() - interval '{MAX_AGE}' OR snap_xmin <= (SELECT max(xid) FROM gone)""")

# Folds each grid's household deltas (gridmap.tiles.models.TileGridHouseholds) into one row. Rows
# another transaction holds are skipped (SKIP LOCKED): two builds never wait for each other, and a
# row is summed by the one build that deleted it.
COMPACT_SQL = text("""
WITH d AS (
    DELETE FROM tile_grid_households WHERE id IN (
        SELECT id FROM tile_grid_households
         WHERE grid_id IN (SELECT grid_id FROM tile_grid_households GROUP BY grid_id HAVING count(*) > 1)
           FOR UPDATE SKIP LOCKED)
    RETURNING grid_id, n)
INSERT INTO tile_grid_households (grid_id, n) SELECT grid_id, sum(n) FROM d GROUP BY grid_id HAVING sum(n) <> 0""")


@dataclass(frozen=True)
class Cached:
    tag: str
    features: int
    body: bytes | None  # None: the caller's tag is this one


def lookup(session: Session, key: str, sources: tuple[str, ...], known: str | None) -> Cached | None:
    """The current cached tile under ``key`` (shown from ``sources``), or None."""
    row = session.execute(LOOKUP_SQL, {"key": key, "sources": list(sources), "known": known}).first()
    if row is None:
        return None
    return Cached(tag=row.tag, features=row.features, body=bytes(row.body) if row.body is not None else None)


def upkeep(session: Session) -> int:
    """Prune old change rows and the entries that may not have seen them, fold the household
    deltas; returns how many cache entries went."""
    gone = session.execute(PRUNE_SQL).rowcount
    session.execute(COMPACT_SQL)
    return gone


def store(session: Session, key: str, tag: str, features: int, body: bytes, snap: str) -> None:
    """Keep a tile built in snapshot ``snap`` (text of ``pg_current_snapshot()``) under ``key``."""
    upkeep(session)
    session.execute(STORE_SQL, {"key": key, "tag": tag, "features": features, "body": body, "snap": snap})
