"""Who moves when boundaries change: what a boundary would do (``measure``: households moved
in and out, overlaps, gaps, every grid's count), the rules a save must keep (``check_rules``),
and the write itself (``apply_changes``).

In one transaction the changed grids get new versions (the previous one closed with
``valid_to``), the households those grids can affect are re-assigned
(``assign_near_grids``), and the party-member contacts of the households that moved are
marked ``needs_review``. Check-ins and hazards are never touched: they keep the grid
version they were made under. A retired grid (``Change.geom`` None) keeps its code and
history; its geometry becomes empty so no spatial query matches it any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.errors import Unprocessable
from gridmap.geo.validate import BOUNDARY_TOLERANCE_M
from gridmap.households.assignment import assign_near_grids

MOVED_CODES_CAP = 200
OVERLAP_TOLERANCE_M2 = 1.0


def wkb(geom: Any) -> str:
    return shapely.to_wkb(geom, hex=True)



# Households the proposed boundary changes, set-wise on the GiST indexes:
#  moved in  = inside the new boundary, assigned elsewhere (or nowhere) now, and not covered
#              by another map grid with a smaller code (the assignment's tie-break);
#  moved out = assigned here now and outside the new boundary.
# Overlaps are measured against every other live map grid (m² on the geography); the gap
# is the community minus the union of its grids after the change.
PREVIEW_SQL = text("""
WITH g AS (SELECT CAST(:grid_id AS integer) AS id, CAST(:code AS text) AS code,
                  CAST(:community_id AS integer) AS community_id),
n AS (SELECT ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326) AS geom),
inside AS (
    SELECT h.id, h.code, h.grid_id, h.geom FROM household h, n
     WHERE ST_Intersects(n.geom, h.geom) AND h.status = 'active'  -- moved-out households have no grid
),
moved_in AS (
    SELECT i.id, i.code, i.grid_id FROM inside i, g
     WHERE (i.grid_id IS DISTINCT FROM g.id OR g.id IS NULL)
       AND NOT EXISTS (SELECT 1 FROM grid o WHERE ST_Intersects(o.geom, i.geom)
                          AND o.kind = 'map' AND o.id IS DISTINCT FROM g.id AND o.code < g.code)
),
moved_out AS (
    SELECT h.id, h.code FROM household h, g, n
     WHERE h.grid_id = g.id AND NOT ST_Intersects(n.geom, h.geom)
),
sibling_overlap AS (
    SELECT o.code, ST_Area(ST_Intersection(o.geom, n.geom)::geography) AS area_m2
      FROM grid o, n, g
     WHERE o.id IS DISTINCT FROM g.id AND o.kind = 'map' AND ST_Intersects(o.geom, n.geom)
       AND NOT ST_Touches(o.geom, n.geom)
),
community AS (
    SELECT c.geom FROM admin_unit c, g WHERE c.id = g.community_id
)
SELECT
    (SELECT count(*) FROM household h, g WHERE h.grid_id = g.id) AS households_before,
    (SELECT count(*) FROM moved_in) AS moved_in,
    (SELECT count(*) FROM moved_out) AS moved_out,
    (SELECT coalesce(array_agg(code ORDER BY code), '{}')
       FROM (SELECT code FROM moved_in ORDER BY code LIMIT :cap) s) AS moved_in_codes,
    (SELECT coalesce(array_agg(code ORDER BY code), '{}')
       FROM (SELECT code FROM moved_out ORDER BY code LIMIT :cap) s) AS moved_out_codes,
    (SELECT coalesce(json_object_agg(coalesce(o.code, ''), s.n), '{}')
       FROM (SELECT grid_id, count(*) AS n FROM moved_in GROUP BY grid_id) s
       LEFT JOIN grid o ON o.id = s.grid_id) AS moved_in_from,
    (SELECT coalesce(json_agg(json_build_object('code', code, 'area_m2', round(area_m2::numeric, 1))
                              ORDER BY code), '[]')
       FROM sibling_overlap WHERE area_m2 > 0.01) AS overlap_list,
    (SELECT ST_Area(ST_Difference(n.geom, community.geom)::geography) FROM community, n) AS outside_community_m2,
    (SELECT ST_CoveredBy(n.geom, ST_Buffer(community.geom::geography, :tolerance)::geometry)
       FROM community, n) AS within_community,
    (SELECT ST_Area(ST_Difference(
                community.geom,
                ST_Union(n.geom, coalesce((SELECT ST_Union(o.geom) FROM grid o, g
                                            WHERE o.community_id = g.community_id AND o.id IS DISTINCT FROM g.id
                                              AND o.kind = 'map' AND o.retired_at IS NULL),
                                           'SRID=4326;POLYGON EMPTY'::geometry)))::geography)
       FROM community, n) AS gap_area_m2,
    (SELECT ST_Area(n.geom::geography) FROM n) AS area_m2
""")

COMMUNITY_COUNTS_SQL = text("""
SELECT o.code, o.target_min, o.target_max, count(h.id) AS households
  FROM grid o LEFT JOIN household h ON h.grid_id = o.id
 WHERE o.community_id = :community_id AND o.retired_at IS NULL
 GROUP BY o.id ORDER BY o.code
""")


def measure(session: Session, grid: Any, geom: shapely.MultiPolygon) -> dict[str, Any]:
    """What saving ``geom`` as ``grid`` (a grid row, or a ``NewGrid`` not written yet) would do."""
    row = session.execute(PREVIEW_SQL, {"grid_id": grid.id, "code": grid.code, "community_id": grid.community_id,
                                        "wkb": wkb(geom), "cap": MOVED_CODES_CAP,
                                        "tolerance": BOUNDARY_TOLERANCE_M}).one()
    after = row.households_before + row.moved_in - row.moved_out
    moved_in_from = dict(row.moved_in_from or {})
    grids = []
    for other in session.execute(COMMUNITY_COUNTS_SQL, {"community_id": grid.community_id}):
        count = after if other.code == grid.code else other.households - moved_in_from.get(other.code, 0)
        grids.append({"code": other.code, "households": count, "target_min": other.target_min,
                      "target_max": other.target_max,
                      "within_target": other.target_min <= count <= other.target_max})
    if grid.id is None:  # a grid not drawn yet: it joins the community's list
        grids.append({"code": grid.code, "households": after, "target_min": grid.target_min,
                      "target_max": grid.target_max, "within_target": grid.target_min <= after <= grid.target_max,
                      "new": True})
    overlaps = list(row.overlap_list or [])
    return {
        "code": grid.code,
        "version": grid.version,
        "households_before": row.households_before,
        "households_after": after,
        "moved_in": row.moved_in,
        "moved_out": row.moved_out,
        "moved_in_codes": list(row.moved_in_codes),
        "moved_out_codes": list(row.moved_out_codes),
        "moved_in_from": {k or "unassigned": v for k, v in moved_in_from.items()},
        "overlaps": overlaps,
        "overlap_area_m2": round(sum(float(o["area_m2"]) for o in overlaps), 1),
        "gap_area_m2": round(float(row.gap_area_m2 or 0), 1),
        "outside_community_m2": round(float(row.outside_community_m2 or 0), 1),
        "within_community": bool(row.within_community),
        "area_m2": round(float(row.area_m2 or 0), 1),
        "target_min": grid.target_min,
        "target_max": grid.target_max,
        "within_target": grid.target_min <= after <= grid.target_max,
        "grids": grids,
    }


def check_rules(preview_result: dict[str, Any], force: bool) -> None:
    if not preview_result["within_community"]:
        raise Unprocessable("grid_outside_community", details={"outside_community_m2":
                                                               preview_result["outside_community_m2"]},
                            area_m2=preview_result["outside_community_m2"])
    big = [o for o in preview_result["overlaps"] if float(o["area_m2"]) > OVERLAP_TOLERANCE_M2]
    if big and not force:
        area = round(sum(float(o["area_m2"]) for o in big), 1)
        raise Unprocessable("grid_overlaps_sibling", details={"overlaps": big},
                            codes="、".join(o["code"] for o in big), area_m2=area)


@dataclass
class Change:
    grid_id: int
    geom: Any  # WGS-84 MultiPolygon; None retires the grid


SNAPSHOT_SQL = """
CREATE TEMP TABLE IF NOT EXISTS planning_before (id bigint PRIMARY KEY, grid_id int) ON COMMIT DROP;
TRUNCATE planning_before;
INSERT INTO planning_before (id, grid_id)
SELECT h.id, h.grid_id FROM household h
 WHERE h.grid_id = ANY(:grid_ids)
    OR EXISTS (SELECT 1 FROM grid_version v WHERE v.grid_id = ANY(:grid_ids) AND ST_Intersects(v.geom, h.geom));
"""

REVIEW_SQL = text("""
WITH moved AS (
    SELECT b.id FROM planning_before b JOIN household h ON h.id = b.id
     WHERE h.grid_id IS DISTINCT FROM b.grid_id
), marked AS (
    UPDATE party_contact pc SET needs_review = true FROM moved m WHERE pc.household_id = m.id
    RETURNING pc.household_id
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM marked)
""")

WRITE_VERSION_SQL = text("""
WITH updated AS (
    UPDATE grid SET geom = ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326),
                    version = version + 1, updated_at = now()
     WHERE id = :grid_id
    RETURNING id, version, geom
), closed AS (
    UPDATE grid_version v SET valid_to = greatest(now(), v.valid_from)
      FROM updated u WHERE v.grid_id = u.id AND v.valid_to IS NULL
)
INSERT INTO grid_version (grid_id, version, geom, valid_from, changed_by, reason)
SELECT id, version, geom, now(), :user_id, :reason FROM updated
RETURNING version
""")

RETIRE_SQL = text("""
WITH retired AS (
    UPDATE grid SET geom = 'SRID=4326;MULTIPOLYGON EMPTY'::geometry, retired_at = now(), updated_at = now()
     WHERE id = :grid_id RETURNING id
)
UPDATE grid_version v SET valid_to = greatest(now(), v.valid_from)
  FROM retired r WHERE v.grid_id = r.id AND v.valid_to IS NULL
""")


def apply_changes(session: Session, changes: list[Change], reason: str, user_id: int | None) -> dict[str, Any]:
    """Write ``changes`` (inside the caller's transaction) and move the households."""
    versions: dict[int, int] = {}
    for change in changes:
        if change.geom is None:
            session.execute(RETIRE_SQL, {"grid_id": change.grid_id})
        else:
            versions[change.grid_id] = session.execute(WRITE_VERSION_SQL, {
                "grid_id": change.grid_id, "wkb": wkb(change.geom), "user_id": user_id, "reason": reason,
            }).scalar_one()
    grid_ids = [c.grid_id for c in changes]
    session.execute(text(SNAPSHOT_SQL), {"grid_ids": grid_ids})
    assigned = assign_near_grids(session, grid_ids)
    moved, review = session.execute(REVIEW_SQL).one()
    return {"versions": versions, "households": assigned.as_dict(), "moved": int(moved),
            "contacts_marked_for_review": int(review)}

