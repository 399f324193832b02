"""The demo district (gridmap.demo): geometry that tiles, households where they belong,
plausible rates, one login per role, idempotent and deterministic loading."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from gridmap.auth.service import authenticate
from gridmap.clock import CHINA
from gridmap.demo.district import DISTRICT_CODE, FEATURED_GRID
from gridmap.demo.load import DEMO_USERS, load_demo
from gridmap.demo.residents import TAG_RATES

P = {"p": DISTRICT_CODE + "%"}


def _one(session, sql: str, **params):
    return session.execute(text(sql), {**P, **params}).scalar_one()


def _counts(session) -> tuple:
    return session.execute(text("""
        SELECT (SELECT count(*) FROM admin_unit WHERE code LIKE :p),
               (SELECT count(*) FROM grid WHERE code LIKE :p),
               (SELECT count(*) FROM grid_version v JOIN grid g ON g.id = v.grid_id WHERE g.code LIKE :p),
               (SELECT count(*) FROM household WHERE code LIKE :p),
               (SELECT count(*) FROM party_member pm JOIN household h ON h.id = pm.household_id
                 WHERE h.code LIKE :p),
               (SELECT count(*) FROM app_user WHERE username = ANY(:u))
    """), {**P, "u": [u.username for u in DEMO_USERS]}).one()


def _fingerprint(session) -> tuple:
    return session.execute(text("""
        SELECT (SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code))
                  FROM admin_unit WHERE code LIKE :p),
               (SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code))
                  FROM grid WHERE code LIKE :p),
               (SELECT md5(string_agg(h.code || h.address || ST_AsEWKB(h.geom)::text || coalesce(g.code, '-')
                                      || h.size || array_to_string(h.tags, '/') || coalesce(h.risk_level, '-')
                                      || h.head_name || h.phone, ',' ORDER BY h.code))
                  FROM household h LEFT JOIN grid g ON g.id = h.grid_id WHERE h.code LIKE :p),
               (SELECT md5(string_agg(h.code || pm.name || pm.phone || pm.branch, ',' ORDER BY h.code))
                  FROM party_member pm JOIN household h ON h.id = pm.household_id WHERE h.code LIKE :p)
    """), P).one()


def test_demo_district_is_consistent(db_session):
    s = db_session
    out: list[str] = []
    load_demo(s, reset=False, echo=lambda *a, **k: out.append(" ".join(map(str, a))), months=0)  # the year: test_demo_year

    levels = dict(s.execute(text(
        "SELECT level, count(*) FROM admin_unit WHERE code LIKE :p GROUP BY level"), P).all())
    assert levels["district"] == 1
    assert 6 <= levels["street"] <= 8
    assert levels["street"] * 3 <= levels["community"] <= levels["street"] * 6
    grids = _one(s, "SELECT count(*) FROM grid WHERE code LIKE :p")
    assert 60 <= grids <= 120

    # Codes: 6 / 9 / 12 digits, grids 15, each extending its parent's code.
    assert _one(s, """SELECT count(*) FROM admin_unit c JOIN admin_unit p ON p.id = c.parent_id
                      WHERE c.code LIKE :p AND left(c.code, length(p.code)) <> p.code""") == 0
    assert _one(s, """SELECT count(*) FROM grid g JOIN admin_unit c ON c.id = g.community_id
                      WHERE g.code LIKE :p AND (g.code !~ '^[0-9]{15}$' OR left(g.code, 12) <> c.code
                                                OR c.level <> 'community')""") == 0

    # Valid MultiPolygons in EPSG:4326 around Lishui.
    assert _one(s, """SELECT count(*) FROM (SELECT geom FROM admin_unit WHERE code LIKE :p
                                           UNION ALL SELECT geom FROM grid WHERE code LIKE :p) x
                      WHERE NOT ST_IsValid(geom) OR GeometryType(geom) <> 'MULTIPOLYGON'
                         OR ST_SRID(geom) <> 4326""") == 0
    lon, lat = s.execute(text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM admin_unit "
                              "WHERE code = :d) x"), {"d": DISTRICT_CODE}).one()
    assert abs(lon - 119.92) < 0.05 and abs(lat - 28.45) < 0.05
    district_km2 = _one(s, "SELECT ST_Area(geom::geography) / 1e6 FROM admin_unit WHERE code = :d",
                        d=DISTRICT_CODE)
    assert 20 < district_km2 < 80

    # Each grid within its community, each unit within its parent (1 m² tolerance).
    assert _one(s, """SELECT coalesce(max(ST_Area(ST_Difference(g.geom, c.geom)::geography)), 0)
                      FROM grid g JOIN admin_unit c ON c.id = g.community_id WHERE g.code LIKE :p""") < 1.0
    assert _one(s, """SELECT coalesce(max(ST_Area(ST_Difference(c.geom, p.geom)::geography)), 0)
                      FROM admin_unit c JOIN admin_unit p ON p.id = c.parent_id WHERE c.code LIKE :p""") < 1.0
    # No two grids overlap (shared borders only), and no two sibling units.
    assert _one(s, """SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
                      FROM grid a JOIN grid b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
                      WHERE a.code LIKE :p AND b.code LIKE :p""") < 1.0
    assert _one(s, """SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
                      FROM admin_unit a JOIN admin_unit b ON a.parent_id = b.parent_id AND a.id < b.id
                      WHERE a.code LIKE :p AND ST_Intersects(a.geom, b.geom)""") < 1.0
    # No gaps: a community's grids add up to the community.
    assert _one(s, """SELECT max(abs(ST_Area(c.geom::geography) - x.area)) FROM admin_unit c
                      JOIN (SELECT community_id, sum(ST_Area(geom::geography)) area FROM grid
                            WHERE code LIKE :p GROUP BY community_id) x ON x.community_id = c.id""") < 5.0

    # One current version per grid.
    assert _one(s, """SELECT count(*) FROM grid g JOIN grid_version v ON v.grid_id = g.id
                      WHERE g.code LIKE :p AND v.version = 1 AND v.valid_to IS NULL
                        AND ST_Equals(v.geom, g.geom)""") == grids

    # Households: most grids 300–500, some under, some over, one empty, ~20 outside.
    per_grid = [n for (n,) in s.execute(text("""
        SELECT count(h.id) FROM grid g LEFT JOIN household h ON h.grid_id = g.id
        WHERE g.code LIKE :p GROUP BY g.id"""), P)]
    assert sum(300 <= n <= 500 for n in per_grid) >= 0.8 * grids
    assert any(0 < n < 300 for n in per_grid) and any(n > 500 for n in per_grid) and 0 in per_grid
    total = _one(s, "SELECT count(*) FROM household WHERE code LIKE :p")
    assert 25_000 <= total <= 50_000
    outside = _one(s, "SELECT count(*) FROM household WHERE code LIKE :p AND grid_id IS NULL")
    assert 10 <= outside <= 30
    assert _one(s, """SELECT count(*) FROM household h WHERE h.code LIKE :p AND h.grid_id IS NULL
                      AND EXISTS (SELECT 1 FROM grid g WHERE ST_Intersects(g.geom, h.geom))""") == 0
    assert _one(s, """SELECT count(*) FROM household h JOIN grid g ON g.id = h.grid_id
                      WHERE h.code LIKE :p AND (NOT ST_Covers(g.geom, h.geom) OR left(h.code, 15) <> g.code)""") == 0
    assert _one(s, """SELECT count(*) FROM household WHERE code LIKE :p AND (size NOT BETWEEN 1 AND 6
                      OR head_name = '' OR phone !~ '^1[0-9]{10}$' OR address NOT LIKE '丽水市莲都区%')""") == 0

    # Tags and risk levels at plausible rates.
    rates = dict(s.execute(text("""SELECT tag, count(*)::float / :n FROM household, unnest(tags) tag
                                   WHERE code LIKE :p GROUP BY tag"""), {**P, "n": total}).all())
    assert set(rates) <= set(TAG_RATES)
    for tag, rate in TAG_RATES.items():
        assert 0.5 * rate <= rates.get(tag, 0.0) <= 1.6 * rate + 0.002, tag
    risk = dict(s.execute(text("""SELECT risk_level, count(*)::float / :n FROM household
                                  WHERE code LIKE :p AND risk_level IS NOT NULL GROUP BY risk_level"""),
                          {**P, "n": total}).all())
    assert 0.002 <= risk["high"] <= 0.007 and 0.004 <= risk["medium"] <= 0.011
    assert _one(s, "SELECT count(*) FROM household WHERE code LIKE :p AND '孤寡老人' = ANY(tags) AND size <> 1") == 0

    # Party members: about one per ten households, living in a household of their grid.
    members = _one(s, """SELECT count(*) FROM party_member pm JOIN household h ON h.id = pm.household_id
                         WHERE h.code LIKE :p AND pm.grid_id = h.grid_id AND ST_Equals(pm.geom, h.geom)
                           AND pm.branch LIKE '%社区第%党支部'""")
    assert 0.08 * total <= members <= 0.12 * total
    # Contact lists (gridmap.party.service): at most ten households each, inside their own grid.
    assert _one(s, "SELECT count(*) FROM party_contact") >= 0.9 * min(total, 10 * members)
    assert _one(s, """SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM party_contact
                      GROUP BY party_member_id) c""") <= 10
    assert _one(s, """SELECT count(*) FROM party_contact pc JOIN party_member pm ON pm.id = pc.party_member_id
                      JOIN household h ON h.id = pc.household_id WHERE pm.grid_id <> h.grid_id""") == 0

    # Handbook data (gridmap.demo.handbook): key places in every grid, the featured grid's staff.
    assert _one(s, """SELECT count(DISTINCT g.id) FROM key_place k JOIN grid g ON g.id = k.grid_id
                      WHERE g.code LIKE :p AND ST_Covers(g.geom, k.geom)""") == grids
    staff = _one(s, """SELECT string_agg(s.role || ':' || s.name, ',' ORDER BY s.sort_order) FROM grid_staff s
                       JOIN grid g ON g.id = s.grid_id WHERE g.code = :g""", g=FEATURED_GRID)
    assert staff.startswith("grid_leader:") and "grid_worker:周晓燕,police:" in staff

    # One login per role, passwords as printed.
    for user in DEMO_USERS:
        row = authenticate(s, user.username, user.password)
        assert (row.role, row.scope_code) == (user.role, user.scope)
        assert user.username in "\n".join(out) and user.password in "\n".join(out)
    assert {u.role for u in DEMO_USERS} == {"admin", "supervisor", "planner", "grid_worker", "party_member",
                                            "department"}
    assert _one(s, "SELECT d.code FROM app_user u JOIN department d ON d.id = u.department_id "
                   "WHERE u.username = 'department'") == "xiaofang"
    party_user = authenticate(s, "partymember", "demo-party-2026")
    assert _one(s, "SELECT g.code FROM party_member pm JOIN grid g ON g.id = pm.grid_id WHERE pm.id = :i",
                i=party_user.party_member_id) == FEATURED_GRID
    assert any("账号登录" in line for line in out)

    # Idempotent: a second call changes nothing and says so.
    before = _counts(s)
    again: list[str] = []
    load_demo(s, reset=False, echo=lambda *a, **k: again.append(" ".join(map(str, a))), months=0)
    assert any("演示数据已存在" in line for line in again)
    assert any("partymember" in line for line in again)
    assert _counts(s) == before


def _year_fingerprint(session) -> tuple:
    """The year's hazards, events and check-ins, without ids the sequences hand out."""
    return session.execute(text("""
        SELECT (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
                    SELECT concat_ws('|', grid_code, category_code, severity, status, level, created_at, accept_by,
                                     resolve_by, closed_at, description, ST_AsEWKB(geom)) AS x FROM hazard) h),
               (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
                    SELECT concat_ws('|', e.action, e.at, e.note, e.to_status, u.username) AS x
                    FROM hazard_event e JOIN app_user u ON u.id = e.actor_id) e),
               (SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
                    SELECT concat_ws('|', c.id, c.recorded_at, c.received_at, u.username, ST_AsEWKB(c.geom), c.accuracy_m,
                                     h.code, c.note, c.flags) AS x
                    FROM checkin c JOIN app_user u ON u.id = c.user_id LEFT JOIN household h ON h.id = c.household_id) c),
               (SELECT count(*) FROM hazard), (SELECT count(*) FROM checkin)
    """)).one()


def test_demo_reset_reloads_the_same_data(db_session):
    s = db_session
    quiet = lambda *a, **k: None  # noqa: E731
    now = datetime(2026, 3, 9, 11, 0, tzinfo=CHINA)
    load_demo(s, reset=False, echo=quiet, scale=0.02, now=now)
    counts, fingerprint, year = _counts(s), _fingerprint(s), _year_fingerprint(s)
    assert year[3] > 0 and year[4] > 0
    s.execute(text("UPDATE household SET address = 'x' WHERE code LIKE :p"), P)
    s.execute(text("DELETE FROM app_user WHERE username = 'planner'"))

    load_demo(s, reset=True, echo=quiet, scale=0.02, now=now)
    assert _counts(s) == counts
    assert _fingerprint(s) == fingerprint  # fixed seeds: the same district every time
    assert _year_fingerprint(s) == year  # and the same year before the same moment
    assert authenticate(s, "planner", "demo-planner-2026").scope_code == DISTRICT_CODE
