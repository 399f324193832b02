"""Test data around Lishui 莲都区 (Zhejiang), built with the ORM. Coordinates are real."""

from __future__ import annotations

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy.orm import Session

from gridmap.areas.models import AdminUnit, Grid, GridVersion
from gridmap.auth.models import User
from gridmap.auth.service import issue_token
from gridmap.households.models import Household

DISTRICT = "331102"
STREET = "331102001"
COMMUNITY = "331102001001"
GRID_A = "331102001001001"
GRID_B = "331102001001002"
OTHER_STREET = "331102002"
OTHER_COMMUNITY = "331102002001"
GRID_C = "331102002001001"

# Two grids of 城北社区 share the border at lon 119.890.
BOXES = {
    DISTRICT: (119.860, 28.430, 119.960, 28.490),
    STREET: (119.860, 28.430, 119.910, 28.490),
    COMMUNITY: (119.870, 28.440, 119.900, 28.470),
    GRID_A: (119.880, 28.450, 119.890, 28.460),
    GRID_B: (119.890, 28.450, 119.900, 28.460),
    OTHER_STREET: (119.910, 28.430, 119.960, 28.490),
    OTHER_COMMUNITY: (119.920, 28.440, 119.950, 28.470),
    GRID_C: (119.920, 28.440, 119.950, 28.470),
}


def multipolygon(bounds: tuple[float, float, float, float]):
    return from_shape(MultiPolygon([box(*bounds)]), srid=4326)


def admin_unit(session: Session, code: str, name: str, level: str, parent: AdminUnit | None) -> AdminUnit:
    unit = AdminUnit(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                     geom=multipolygon(BOXES[code]))
    session.add(unit)
    session.flush()
    return unit


def grid(session: Session, code: str, name: str, community: AdminUnit, bounds=None) -> Grid:
    row = Grid(code=code, name=name, community_id=community.id, geom=multipolygon(bounds or BOXES[code]),
               kind="map", version=1, target_min=300, target_max=500)
    session.add(row)
    session.flush()
    session.add(GridVersion(grid_id=row.id, version=1, geom=row.geom))
    session.flush()
    return row


def lishui(session: Session) -> dict[str, object]:
    """A district with two streets, two communities and three grids."""
    district = admin_unit(session, DISTRICT, "莲都区", "district", None)
    street = admin_unit(session, STREET, "紫金街道", "street", district)
    community = admin_unit(session, COMMUNITY, "城北社区", "community", street)
    other_street = admin_unit(session, OTHER_STREET, "岩泉街道", "street", district)
    other_community = admin_unit(session, OTHER_COMMUNITY, "丽阳社区", "community", other_street)
    grids = {
        GRID_A: grid(session, GRID_A, "城北社区第1网格", community),
        GRID_B: grid(session, GRID_B, "城北社区第2网格", community),
        GRID_C: grid(session, GRID_C, "丽阳社区第1网格", other_community),
    }
    session.commit()
    return {"district": district, "street": street, "community": community, "grids": grids}


def household(session: Session, code: str, lon: float, lat: float, grid: Grid | None = None, **fields) -> Household:
    row = Household(code=code, address=fields.pop("address", f"丽水市莲都区中山街{code}号"),
                    geom=from_shape(Point(lon, lat), srid=4326), grid_id=grid.id if grid else None,
                    tags=fields.pop("tags", []), **fields)
    session.add(row)
    session.flush()
    return row


def token_for(session: Session, role: str, scope: str = "", username: str | None = None, **extra) -> str:
    """A bearer token for a new user that has no usable password (skips the slow Argon2 hash)."""
    user = User(username=username or f"{role}-{scope or 'all'}", password_hash="!token-only", role=role,
                scope_code=scope, display_name=extra.pop("display_name", role), **extra)
    session.add(user)
    session.flush()
    token, _ = issue_token(session, user, 1)
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def png(size: int = 8) -> bytes:
    """A small valid PNG, e.g. a hazard photo."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def department_token(session: Session, department: str, scope: str, username: str | None = None) -> str:
    """A bearer token for a user of the seeded department ``department`` (城管 chengguan, 住建 zhujian…)."""
    from sqlalchemy import select

    from gridmap.departments.models import Department

    department_id = session.scalar(select(Department.id).where(Department.code == department))
    return token_for(session, "department", scope, username=username or f"{department}-{scope}",
                     department_id=department_id)
