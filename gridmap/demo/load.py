"""Load the demo district into the database (``gridmap demo-data``).

Areas and grids go in with ``INSERT … SELECT FROM unnest(…)``, households with COPY,
party members with one ``INSERT … SELECT``; then the households are re-assigned with
the shared assignment SQL (nothing may move: the generator already put each household
in its grid) and the demo users are created. Everything up to the first user is one
transaction; ``create_user`` commits, so the first user commits the whole load (a
failure before it leaves nothing behind). Then the year of life (gridmap.demo.year) is added in
a transaction of its own. Running it again without ``reset`` only re-creates demo users that are
missing, adds the year to a demo that has none, and prints the logins.
"""

from __future__ import annotations

import io
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

import gridmap.models  # noqa: F401  (every table in the metadata before the ORM flushes a user)
from gridmap.auth.roles import ADMIN, DEPARTMENT, GRID_WORKER, PARTY_MEMBER, PLANNER, SUPERVISOR
from gridmap.auth.service import create_user
from gridmap.clock import now as clock_now
from gridmap.db import raw_cursor
from gridmap.demo.district import (
    DISTRICT_CODE,
    FEATURED_COMMUNITY,
    FEATURED_GRID,
    FEATURED_STREET,
    SEED,
    District,
    build_district,
)
from gridmap.demo.handbook import insert_grid_staff, insert_key_places
from gridmap.demo.residents import Residents, build_residents
from gridmap.demo.year import delete_year, has_year, load_year
from gridmap.households.assignment import assign_near_grids

PREFIX = DISTRICT_CODE + "%"

Echo = Callable[..., object]


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    role_label: str
    scope: str
    display_name: str
    sees: str
    department: str = ""  # a department user's department (its code)


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("admin", "demo-admin-2026", ADMIN, "系统管理员", "", "系统管理员",
             "全部区域和数据；用户、导入、重新分配"),
    DemoUser("district", "demo-district-2026", SUPERVISOR, "区级督导", DISTRICT_CODE, "莲都区督导",
             "莲都区 6 个街道的网格、住户统计、问题和预警"),
    DemoUser("street", "demo-street-2026", SUPERVISOR, "街道督导", FEATURED_STREET, "万象街道督导",
             "万象街道的社区、网格和问题"),
    DemoUser("community", "demo-community-2026", SUPERVISOR, "社区督导", FEATURED_COMMUNITY, "府前社区督导",
             "府前社区的网格、住户和问题"),
    DemoUser("planner", "demo-planner-2026", PLANNER, "网格规划员", DISTRICT_CODE, "莲都区网格规划员",
             "莲都区网格边界：编辑、预览、版本"),
    DemoUser("gridworker", "demo-grid-2026", GRID_WORKER, "网格员", FEATURED_GRID, "周晓燕",
             "本网格的民情地图、住户（含姓名电话）、巡查打卡"),
    DemoUser("partymember", "demo-party-2026", PARTY_MEMBER, "党员", FEATURED_GRID, "党员",
             "自己联系的住户（府前社区第1网格）"),
    DemoUser("department", "demo-dept-2026", DEPARTMENT, "职能部门", DISTRICT_CODE, "莲都区消防救援大队",
             "吹哨交办给消防的本区事项：报到、反馈（不见住户信息）", "xiaofang"),
    DemoUser("chengguan", "demo-chengguan-2026", DEPARTMENT, "职能部门", DISTRICT_CODE, "莲都区综合行政执法局",
             "吹哨交办给城管的本区事项（乱搭乱建、占道经营、环境卫生）：报到、反馈", "chengguan"),
    DemoUser("paichusuo", "demo-police-2026", DEPARTMENT, "职能部门", FEATURED_STREET, "万象派出所",
             "吹哨交办给派出所的万象街道事项（治安、纠纷、噪声）：报到、反馈", "paichusuo"),
)
DEMO_USERNAMES = [u.username for u in DEMO_USERS]


def load_demo(session: Session, reset: bool = False, echo: Echo = print, *, months: int = 12, scale: float = 1.0,
              now: datetime | None = None) -> None:
    """Load the demo district (丽水市莲都区 331102) and ``months`` months of its life before ``now``
    (gridmap.demo.year; ``scale`` thins it out for tests); see the module docstring."""
    now = now or clock_now()
    exists = session.scalar(text("SELECT 1 FROM admin_unit WHERE code = :c"), {"c": DISTRICT_CODE})
    if exists and not reset:
        echo("演示数据已存在（莲都区 331102）；如需重新生成，请加 --reset。")
        _ensure_users(session)
        _insert_handbook_data(session)  # demos loaded before key places and staff existed
        session.commit()
        if months and not has_year(session, DISTRICT_CODE):  # demos loaded before they had a year of life
            district = build_district()
            _load_year(session, district, build_residents(district), months, scale, now, echo)
        _print_logins(session, echo)
        return

    started = time.monotonic()
    try:
        if exists:
            echo("正在删除原有演示数据……")
            _delete_demo(session)
        echo("正在生成演示数据：丽水市莲都区城区……")
        district = build_district()
        residents = build_residents(district)
        grid_ids = _insert_areas(session, district)
        _insert_households(session, residents, grid_ids)
        _insert_party_members(session, residents)
        session.execute(text("ANALYZE admin_unit, grid, grid_version, household, party_member"))
        result = assign_near_grids(session, list(grid_ids.values()))
        expected = sum(1 for code in residents.households.grid_code if code is not None)
        if (result.assigned, result.moved, result.newly_assigned, result.dropped) != (expected, 0, 0, 0):
            raise RuntimeError(f"demo households disagree with the grid assignment: {result.as_dict()}")
        from gridmap.party.service import contact_lists_for_grids
        contact_lists_for_grids(session, sorted(grid_ids.values()))  # 党员联系户: ten each, nearest overall
        _insert_handbook_data(session)
    except BaseException:
        session.rollback()
        raise
    _ensure_users(session)  # create_user commits: the whole load is committed here
    session.commit()

    households = residents.households
    echo(f"已生成：莲都区 {sum(a.level == 'street' for a in district.areas)} 个街道、"
         f"{sum(a.level == 'community' for a in district.areas)} 个社区、{len(district.grids)} 个网格、"
         f"{len(households):,} 户（{len(households) - expected} 户不在任何网格内）、"
         f"{len(residents.party_members):,} 名党员，用时 {time.monotonic() - started:.1f} 秒。")
    if months:
        _load_year(session, district, residents, months, scale, now, echo)
    _print_logins(session, echo)


def _load_year(session: Session, district: District, residents: Residents, months: int, scale: float,
               now: datetime, echo: Echo) -> None:
    echo(f"正在生成此前 {months} 个月的问题隐患、巡查和走访……")
    year = load_year(session, district, residents, prefix=DISTRICT_CODE, featured_grid=FEATURED_GRID,
                     featured_units=[DISTRICT_CODE, FEATURED_STREET, FEATURED_COMMUNITY], now=now, months=months,
                     scale=scale, seed=SEED)
    echo(f"已生成：{year.first:%Y-%m-%d} 至 {year.last:%Y-%m-%d} 的 {year.hazards:,} 条问题隐患"
         f"（{year.events:,} 条处置记录）、{year.checkins:,} 次巡查打卡（其中五必访走访 {year.visits:,} 次）、"
         f"党员走访联系户 {year.party_visits:,} 次，"
         f"用时 {year.seconds:.1f} 秒。")


# --- deleting ------------------------------------------------------------------------

_REFERENCING_SQL = """
SELECT c.conrelid::regclass::text, a.attname, f.attname
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]
WHERE c.contype = 'f' AND c.confrelid = CAST(:table AS regclass) AND c.confdeltype IN ('a', 'r')
  AND cardinality(c.conkey) = 1 AND c.conparentid = 0 AND c.conrelid <> c.confrelid
ORDER BY 1, 2
"""


def _delete_where(session: Session, table: str, condition: str, params: dict, depth: int = 0) -> None:
    """Delete rows of ``table``, first deleting rows of other tables (check-ins, hazards…)
    that reference them without ON DELETE CASCADE / SET NULL."""
    if depth > 6:
        raise RuntimeError(f"foreign keys nest too deep under {table}")
    for child, column, referenced in session.execute(text(_REFERENCING_SQL), {"table": table}).all():
        _delete_where(session, child, f"{column} IN (SELECT {referenced} FROM {table} WHERE {condition})",
                      params, depth + 1)
    session.execute(text(f"DELETE FROM {table} WHERE {condition}"), params)


def _delete_demo(session: Session) -> None:
    """Everything under code 331102, and the demo users."""
    delete_year(session, DISTRICT_CODE)
    params = {"prefix": PREFIX, "usernames": DEMO_USERNAMES}
    grids = "SELECT id FROM grid WHERE code LIKE :prefix"
    households = f"SELECT id FROM household WHERE code LIKE :prefix OR grid_id IN ({grids})"
    members = f"SELECT id FROM party_member WHERE grid_id IN ({grids}) OR household_id IN ({households})"
    # A party_member user cannot outlive its party member (check constraint), so they go first.
    _delete_where(session, "app_user",
                  f"username = ANY(:usernames) OR (role = 'party_member' AND party_member_id IN ({members}))",
                  params)
    _delete_where(session, "party_member", f"id IN ({members})", params)
    _delete_where(session, "household", f"id IN ({households})", params)
    _delete_where(session, "grid", "code LIKE :prefix", params)
    for level in ("community", "street", "district"):
        _delete_where(session, "admin_unit", "code LIKE :prefix AND level = :level", {**params, "level": level})


# --- inserting -----------------------------------------------------------------------

def _wkb(geoms) -> list[str]:
    return [str(w) for w in shapely.to_wkb(np.asarray(geoms, dtype=object), hex=True)]


def _insert_areas(session: Session, district: District) -> dict[str, int]:
    for level in ("district", "street", "community"):
        rows = [a for a in district.areas if a.level == level]
        session.execute(text("""
            INSERT INTO admin_unit (code, name, level, parent_id, geom)
            SELECT u.code, u.name, :level, p.id, ST_GeomFromWKB(decode(u.wkb, 'hex'), 4326)
            FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:parents AS text[]),
                        CAST(:wkbs AS text[])) WITH ORDINALITY AS u(code, name, parent, wkb, n)
            LEFT JOIN admin_unit p ON p.code = u.parent
            ORDER BY u.n
        """), {"level": level, "codes": [a.code for a in rows], "names": [a.name for a in rows],
               "parents": [a.parent_code for a in rows], "wkbs": _wkb([a.geom for a in rows])})
    grids = district.grids
    session.execute(text("""
        INSERT INTO grid (code, name, community_id, kind, geom, version, target_min, target_max)
        SELECT g.code, g.name, c.id, 'map', ST_GeomFromWKB(decode(g.wkb, 'hex'), 4326), 1, 300, 500
        FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:communities AS text[]),
                    CAST(:wkbs AS text[])) WITH ORDINALITY AS g(code, name, community, wkb, n)
        JOIN admin_unit c ON c.code = g.community
        ORDER BY g.n
    """), {"codes": [g.code for g in grids], "names": [g.name for g in grids],
           "communities": [g.community_code for g in grids], "wkbs": _wkb([g.geom for g in grids])})
    session.execute(text("""
        INSERT INTO grid_version (grid_id, version, geom, reason)
        SELECT id, 1, geom, '演示数据：初始划分' FROM grid WHERE code LIKE :prefix ORDER BY code
    """), {"prefix": PREFIX})
    return dict(session.execute(text("SELECT code, id FROM grid WHERE code LIKE :prefix"),
                                {"prefix": PREFIX}).all())


def _insert_households(session: Session, residents: Residents, grid_ids: dict[str, int]) -> None:
    h = residents.households
    points = shapely.set_srid(shapely.points(h.lonlat), 4326)
    ewkb = shapely.to_wkb(points, hex=True, include_srid=True)
    buffer = io.StringIO()
    for i, code in enumerate(h.code):
        grid = h.grid_code[i]
        buffer.write("\t".join((
            code, h.address[i], ewkb[i], str(grid_ids[grid]) if grid else r"\N", str(int(h.size[i])),
            "{" + ",".join(h.tags[i]) + "}", h.risk_level[i] or r"\N", h.head_name[i], h.phone[i],
        )))
        buffer.write("\n")
    buffer.seek(0)
    session.flush()
    cursor = raw_cursor(session)
    try:
        cursor.copy_expert(
            "COPY household (code, address, geom, grid_id, size, tags, risk_level, head_name, phone) "
            "FROM STDIN", buffer)
    finally:
        cursor.close()


def _insert_party_members(session: Session, residents: Residents) -> None:
    p = residents.party_members
    session.execute(text("""
        INSERT INTO party_member (name, phone, branch, geom, grid_id, household_id)
        SELECT p.name, p.phone, p.branch, h.geom, h.grid_id, h.id
        FROM unnest(CAST(:households AS text[]), CAST(:names AS text[]), CAST(:phones AS text[]),
                    CAST(:branches AS text[])) WITH ORDINALITY AS p(household, name, phone, branch, n)
        JOIN household h ON h.code = p.household
        ORDER BY p.n
    """), {"households": p.household_code, "names": p.name, "phones": p.phone, "branches": p.branch})


def _insert_handbook_data(session: Session) -> None:
    """Key places and grid staff of every demo grid (idempotent: existing ones are kept)."""
    worker = next(u for u in DEMO_USERS if u.username == "gridworker")
    insert_key_places(session, DISTRICT_CODE)
    insert_grid_staff(session, DISTRICT_CODE, FEATURED_GRID, worker.display_name)


# --- users ---------------------------------------------------------------------------

def _featured_party_member(session: Session) -> tuple[int, str] | None:
    row = session.execute(text("""
        SELECT pm.id, pm.name FROM party_member pm JOIN grid g ON g.id = pm.grid_id
        WHERE g.code = :grid ORDER BY pm.id LIMIT 1
    """), {"grid": FEATURED_GRID}).first()
    return (row[0], row[1]) if row else None


def _ensure_users(session: Session) -> None:
    """Create the demo users that do not exist yet (existing ones keep their passwords)."""
    existing = set(session.scalars(text("SELECT username FROM app_user WHERE username = ANY(:u)"),
                                   {"u": DEMO_USERNAMES}))
    for user in DEMO_USERS:
        if user.username in existing:
            continue
        party_member_id, display_name = None, user.display_name
        if user.role == PARTY_MEMBER:
            member = _featured_party_member(session)
            if member is None:
                raise RuntimeError("the demo grid has no party member to link the demo party-member user to")
            party_member_id, display_name = member[0], f"党员 {member[1]}"
        department_id = (session.scalar(text("SELECT id FROM department WHERE code = :c"), {"c": user.department})
                         if user.role == DEPARTMENT else None)
        create_user(session, user.username, user.password, user.role, user.scope, display_name,
                    party_member_id=party_member_id, department_id=department_id)


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * (width - _width(s))


def _print_logins(session: Session, echo: Echo) -> None:
    names = dict(session.execute(text("SELECT code, name FROM admin_unit WHERE code LIKE :p"),
                                 {"p": PREFIX}).all())
    names.update(session.execute(text("SELECT code, name FROM grid WHERE code = :g"), {"g": FEATURED_GRID}).all())
    header = ("用户名", "密码", "角色", "范围", "可以看到")
    rows = [(u.username, u.password, u.role_label,
             f"{u.scope} {names.get(u.scope, '')}".strip() if u.scope else "全部", u.sees) for u in DEMO_USERS]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    echo("")
    echo("演示账号（仅用于演示，请勿在生产环境使用）：")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        echo("  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
    echo("")
    echo("服务启动后，在浏览器打开它打印的地址，用以上任一账号登录。")
