"""The tile statements. One statement per tile: it finds the features in the tile (GiST filter on
the WGS-84 envelope), computes their version tag (a hash of what the tile shows), and only builds
the MVT when there are features and the caller does not already hold that version."""

from __future__ import annotations

EXTENT = 4096  # tile units per side (the MVT default)
BUFFER = 64    # tile units kept around the tile so strokes join across tile edges

# The tile in EPSG:3857, and the same tile with its buffer in WGS-84 for the index filter.
_BOUNDS = f"""
b AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS env,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), 4326) AS box
)"""

# Everything the tile shows goes into the tag, so an unchanged tile keeps it and any change to
# a boundary (version, updated_at), a household count or an asked-for figure gives a new one.
_TAG = "md5(coalesce(string_agg(concat_ws(':', {fields}), ',' ORDER BY code), ''))"

# OFFSET 0 keeps the inner query whole: flattened, ST_AsMVTGeom ran twice per feature (once for
# the IS NOT NULL filter, once for the tile).
_MVT = f"""
SELECT v.n, v.tag, pg_current_snapshot()::text AS snap, CASE WHEN v.n = 0 OR v.tag = :known THEN NULL ELSE (
    SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom') FROM (
        SELECT ST_AsMVTGeom({{geom}}, b.env, {EXTENT}, {BUFFER}, true) AS geom, {{columns}}
          FROM rows r, b OFFSET 0
    ) t WHERE t.geom IS NOT NULL
) END AS mvt
FROM v"""
# Areas are few: simplified (half a tile unit, :tolerance degrees) and projected per request.
_AREA_GEOM = "ST_Transform(ST_SimplifyPreserveTopology(r.geom, :tolerance), 3857)"
# Grids are many: their outlines come projected and simplified from the stored columns (migration
# 0031) up to z13; past it a tile holds a few dozen grids, projected here (no simplification
# needed: ST_AsMVTGeom snaps to the tile's 4096 units).
_GRID_GEOM = "CASE WHEN :z <= 11 THEN g.tile_geom_lo WHEN :z <= 13 THEN g.tile_geom_mid " \
             "ELSE ST_Transform(g.geom, 3857) END"

GRID_COLUMNS = ("r.code, r.name, r.community, r.households, r.target_min, r.target_max, "
                "CASE WHEN r.households = 0 THEN 'empty' WHEN r.households < r.target_min THEN 'under' "
                "WHEN r.households > r.target_max THEN 'over' ELSE 'within' END AS fill")
HAZARD_COLUMNS = ", r.hazards, CASE WHEN r.households > 0 THEN round(1000.0 * r.hazards / r.households, 2)::float8 END" \
                 " AS per_1000"
PATROL_COLUMNS = ", r.visited, CASE WHEN r.households > 0 THEN round(r.visited::numeric / r.households, 3)::float8 END" \
                 " AS coverage"


def grids_sql(hazards: bool, patrol: bool, category: bool = False) -> str:
    """The grids layer; hazards in [:hz_lo, :hz_hi) (of category :hz_category when ``category``) and
    households visited in [:pt_lo, :pt_hi) when asked."""
    parts = [_BOUNDS, f"""
g AS MATERIALIZED (
    SELECT g.id, g.code, g.name, g.version, g.updated_at, g.target_min, g.target_max, c.code AS community,
           {_GRID_GEOM} AS geom
      FROM grid g JOIN admin_unit c ON c.id = g.community_id, b
     WHERE g.code LIKE :prefix AND g.kind = 'map' AND g.retired_at IS NULL
       AND g.geom && b.box AND ST_Intersects(g.geom, b.box)
)"""]
    extra_select, extra_join, fields, columns = "", "", ["code", "version", "extract(epoch FROM updated_at)",
                                                         "households"], GRID_COLUMNS
    if hazards:
        parts.append("""
hz AS (SELECT grid_code, count(*)::int AS n FROM hazard
        WHERE grid_code IN (SELECT code FROM g) AND created_at >= :hz_lo AND created_at < :hz_hi"""
                     + (" AND category_code = :hz_category" if category else "") + " GROUP BY grid_code)")
        extra_select += ", coalesce(hz.n, 0) AS hazards"
        extra_join += " LEFT JOIN hz ON hz.grid_code = g.code"
        fields.append("hazards")
        columns += HAZARD_COLUMNS
    if patrol:
        parts.append("""
pt AS (SELECT grid_id, count(DISTINCT household_id)::int AS n FROM checkin
        WHERE grid_id IN (SELECT id FROM g) AND household_id IS NOT NULL
          AND recorded_at >= :pt_lo AND recorded_at < :pt_hi GROUP BY grid_id)""")
        extra_select += ", coalesce(pt.n, 0) AS visited"
        extra_join += " LEFT JOIN pt ON pt.grid_id = g.id"
        fields.append("visited")
        columns += PATROL_COLUMNS
    # Households per grid: the sum of its deltas (gridmap.tiles.models.TileGridHouseholds), about one
    # row, read per grid from the index (a join lets the planner, which expects one row of g, rescan
    # the whole aggregate per grid).
    parts.append(f"""
rows AS (
    SELECT g.*, coalesce(hh.n, 0) AS households{extra_select}
      FROM g CROSS JOIN LATERAL (SELECT sum(d.n)::int AS n FROM tile_grid_households d WHERE d.grid_id = g.id) hh{extra_join}
)""")
    parts.append(f"""
v AS (SELECT count(*) AS n, {_TAG.format(fields=", ".join(fields))} AS tag FROM rows)""")
    return "WITH" + ",".join(parts) + _MVT.format(geom="r.geom", columns=columns)


AREAS_SQL = "WITH" + ",".join([_BOUNDS, """
rows AS MATERIALIZED (
    SELECT a.code, a.name, a.level, a.updated_at, a.geom FROM admin_unit a, b
     WHERE a.code LIKE :prefix AND a.level = ANY(:levels) AND a.geom IS NOT NULL
       AND a.geom && b.box AND ST_Intersects(a.geom, b.box)
)""", f"""
v AS (SELECT count(*) AS n, {_TAG.format(fields="code, extract(epoch FROM updated_at)")} AS tag FROM rows)"""]) \
    + _MVT.format(geom=_AREA_GEOM, columns="r.code, r.name, r.level")
