"""The demo's other staff: a grid worker for every grid, a supervisor for every community and
street besides the demo logins', and a district-wide account for every department (``dp-<code>``,
who 报到s where no demo login of its department does), so every grid has someone who patrols it,
every hazard someone who handles it and every whistle someone who 报到s. Their accounts cannot log in (no password: the hash ``!`` matches
nothing); only the printed demo logins can. Names: the grid's 专职网格员 from its handbook
staff (gridmap.demo.handbook), the unit's name with 督导 for supervisors. One INSERT … SELECT
each; existing accounts are kept.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.demo.hazard_story import Person, Staff

NO_PASSWORD = "!"
# Usernames of the colleagues (gw-<grid code>, sv-<street or community code>, dp-<department code>):
# how reset finds them.
USERNAME_PATTERN = "^((gw|sv)-[0-9]+|dp-[a-z][a-z0-9_]*)$"

_WORKERS_SQL = """
INSERT INTO app_user (username, password_hash, role, scope_code, display_name)
SELECT 'gw-' || g.code, :nopass, 'grid_worker', g.code, coalesce(s.name, g.name || '网格员')
FROM grid g LEFT JOIN grid_staff s ON s.grid_id = g.id AND s.role = 'grid_worker'
WHERE g.code LIKE :prefix AND g.kind = 'map' AND g.code <> :featured_grid
ORDER BY g.code
ON CONFLICT (username) DO NOTHING
"""

_SUPERVISORS_SQL = """
INSERT INTO app_user (username, password_hash, role, scope_code, display_name)
SELECT 'sv-' || a.code, :nopass, 'supervisor', a.code, a.name || '督导'
FROM admin_unit a
WHERE a.code LIKE :prefix AND a.level IN ('street', 'community') AND a.code <> ALL(:featured_units)
ORDER BY a.code
ON CONFLICT (username) DO NOTHING
"""


_DEPARTMENTS_SQL = """
INSERT INTO app_user (username, password_hash, role, scope_code, display_name, department_id)
SELECT 'dp-' || d.code, :nopass, 'department', :district, :district_name || d.name, d.id
FROM department d WHERE d.active ORDER BY d.sort_order, d.code
ON CONFLICT (username) DO NOTHING
"""


def insert_colleagues(session: Session, prefix: str, featured_grid: str, featured_units: list[str]) -> None:
    """Accounts for the grids, communities and streets under ``prefix`` (a code) other than the
    featured ones, whose demo logins already exist."""
    params = {"prefix": prefix + "%", "nopass": NO_PASSWORD, "featured_grid": featured_grid,
              "featured_units": featured_units}
    session.execute(text(_WORKERS_SQL), params)
    session.execute(text(_SUPERVISORS_SQL), params)
    district = session.execute(text("SELECT code, name FROM admin_unit WHERE code = :p AND level = 'district'"),
                               {"p": prefix}).first()
    if district is not None:
        session.execute(text(_DEPARTMENTS_SQL), {"nopass": NO_PASSWORD, "district": district.code,
                                                 "district_name": district.name})


def staff_of_grids(session: Session, grid_codes: list[str], district: str) -> list[Staff]:
    """For each grid: its worker and the supervisors of its community, street and district (the
    active account with exactly that scope; the demo logins' first where both exist)."""
    rows = session.execute(text("""
        SELECT DISTINCT ON (scope_code, role) id, username, role, scope_code FROM app_user
        WHERE active AND role IN ('grid_worker', 'supervisor') AND scope_code LIKE :prefix
        ORDER BY scope_code, role, username ~ :pattern, id
    """), {"prefix": district + "%", "pattern": USERNAME_PATTERN}).all()
    people = {(r.role, r.scope_code): Person(r.id, r.username, r.role, r.scope_code) for r in rows}
    return [Staff(worker=people[("grid_worker", code)], community=people[("supervisor", code[:12])],
                  street=people[("supervisor", code[:9])], district=people[("supervisor", district)])
            for code in grid_codes]
