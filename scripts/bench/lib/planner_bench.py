"""Planner benchmark: the preview of an edit touching N households (p50/p95) against a
SELECT count(*) of those households in the same run, and a partition proposal for a
community of M households (time, grids within bounds) against fetching its points.

    scripts/bench/planner [--touch 5000] [--community 10000] [--repeat 30] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from benchlib import (
    Table,
    bench_url,
    ensure_database,
    fresh_schema,
    log,
    machine_info,
    percentiles,
    verdict,
    write_json,
)
from shapely.geometry import box, mapping
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.db import sqlalchemy_url
from gridmap.planning import proposals, service

DB = "gridmap_bench_planner"
STREET = "331102001"
EDIT_COMMUNITY = "331102001001"
NEW_COMMUNITY = "331102001002"
GRID_A, GRID_B = EDIT_COMMUNITY + "001", EDIT_COMMUNITY + "002"


def load(session: Session, touch: int, community: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    session.execute(text("""
        INSERT INTO admin_unit (code, name, level, geom) VALUES ('331102', '莲都区', 'district', NULL);
        INSERT INTO admin_unit (code, name, level, parent_id, geom)
            SELECT '331102001', '紫金街道', 'street', id, NULL FROM admin_unit WHERE code = '331102';
        INSERT INTO admin_unit (code, name, level, parent_id, geom)
            SELECT '331102001001', '城北社区', 'community', id,
                   ST_Multi(ST_MakeEnvelope(119.870, 28.440, 119.900, 28.470, 4326))
              FROM admin_unit WHERE code = '331102001';
        INSERT INTO admin_unit (code, name, level, parent_id, geom)
            SELECT '331102001002', '新城社区', 'community', id,
                   ST_Multi(ST_MakeEnvelope(119.900, 28.440, 119.940, 28.470, 4326))
              FROM admin_unit WHERE code = '331102001';
        INSERT INTO grid (code, name, community_id, geom)
            SELECT :a, '城北社区第1网格', id, ST_Multi(ST_MakeEnvelope(119.870, 28.440, 119.885, 28.470, 4326))
              FROM admin_unit WHERE code = '331102001001'
            UNION ALL
            SELECT :b, '城北社区第2网格', id, ST_Multi(ST_MakeEnvelope(119.885, 28.440, 119.900, 28.470, 4326))
              FROM admin_unit WHERE code = '331102001001';
        INSERT INTO grid_version (grid_id, version, geom) SELECT id, 1, geom FROM grid;
    """), {"a": GRID_A, "b": GRID_B})
    # The edit: A grows east to 119.888 — it holds 80% of `touch` and takes 20% from B.
    n_a, n_b_taken = int(touch * 0.8), touch - int(touch * 0.8)
    lon = np.concatenate([rng.uniform(119.8701, 119.8849, n_a), rng.uniform(119.8851, 119.8879, n_b_taken),
                          rng.uniform(119.8881, 119.8999, touch),
                          np.clip(rng.normal(119.915, 0.006, community), 119.9001, 119.9399)])
    lat = np.concatenate([rng.uniform(28.4401, 28.4699, n_a + n_b_taken + touch),
                          np.clip(rng.normal(28.455, 0.005, community), 28.4401, 28.4699)])
    session.execute(text("""
        INSERT INTO household (code, geom)
        SELECT 'H' || i, ST_SetSRID(ST_MakePoint(x, y), 4326)
          FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS t(x, y, i)"""),
        {"lon": lon.tolist(), "lat": lat.tolist()})
    session.execute(text("UPDATE household h SET grid_id = g.id FROM grid g WHERE ST_Intersects(g.geom, h.geom)"))
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--touch", type=int, default=5000)
    parser.add_argument("--community", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    url = bench_url(os.environ.get("DATABASE_URL", "postgresql://gridmap@127.0.0.1:54320/gridmap"), DB)
    ensure_database(url)
    log("fresh schema")
    fresh_schema(url)
    engine = create_engine(sqlalchemy_url(url))
    session = Session(engine)
    log(f"loading {args.touch * 2:,} + {args.community:,} households")
    load(session, args.touch, args.community, args.seed)

    edit = box(119.870, 28.440, 119.888, 28.470)
    geometry = mapping(edit)
    scope = Scope.everything()
    result = service.preview(session, scope, GRID_A, geometry, None)
    touched = result["households_before"] + result["moved_in"]
    count_sql = text("SELECT count(*) FROM household WHERE ST_Intersects(ST_GeomFromText(:wkt, 4326), geom)")
    preview_s, count_s = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        service.preview(session, scope, GRID_A, geometry, None)
        preview_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        session.execute(count_sql, {"wkt": edit.wkt}).scalar_one()
        session.rollback()
        count_s.append(time.perf_counter() - t)
    p_prev, p_count = percentiles(preview_s), percentiles(count_s)

    log("proposal")
    t = time.perf_counter()
    fetched = session.execute(text("""
        SELECT array_agg(ST_X(h.geom)), array_agg(ST_Y(h.geom)) FROM household h JOIN admin_unit c
            ON ST_Intersects(c.geom, h.geom) WHERE c.code = :c"""), {"c": NEW_COMMUNITY}).one()
    fetch_s = time.perf_counter() - t
    session.rollback()
    t = time.perf_counter()
    proposal = proposals.propose(session, scope, NEW_COMMUNITY, 300, 500)
    propose_s = time.perf_counter() - t
    counts = [f["properties"]["households"] for f in proposal["features"]]
    within = sum(300 <= c <= 500 for c in counts)

    table = Table()
    table.section(f"preview of an edit touching {touched:,} households ({args.repeat} runs)")
    table.add("preview p50", p_prev["p50"])
    table.add("preview p95", p_prev["p95"], note=f"{verdict(p_prev['p95'] <= 0.25)} (≤ 0.25 s)")
    table.add("SELECT count(*) p95 (baseline)", p_count["p95"],
              note=f"preview / count = {p_prev['p95'] / p_count['p95']:.1f}×")
    table.section(f"proposal for a community of {len(fetched[0]):,} households")
    table.add("fetch the points (baseline)", fetch_s)
    table.add("propose", propose_s, note=f"{verdict(propose_s <= 10)} (≤ 10 s); {within}/{len(counts)} grids "
              f"within 300–500 (sizes {min(counts)}–{max(counts)}); propose / fetch = {propose_s / fetch_s:.1f}×")
    print(table.render())
    path = write_json("planner", {
        "touched": touched, "preview": p_prev, "count": p_count, "proposal_s": propose_s, "fetch_s": fetch_s,
        "grids": len(counts), "within": within, "sizes": counts, "machine": machine_info()})
    log(f"wrote {path}")
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main()
