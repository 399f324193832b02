"""The departments and the routing rules an administrator edits (分类归口交办): category × area
prefix → department(s). For a hazard, the rules of its category whose prefix starts its grid's
code are candidates and the longest prefix wins: every department of that prefix is sent the
item. A department may only be routed the categories it owns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gridmap.areas.models import AdminUnit
from gridmap.db import transaction
from gridmap.departments.models import Department, DepartmentRoute
from gridmap.errors import NotFound, Unprocessable
from gridmap.hazards.models import HazardCategory


def departments(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Department).where(Department.active.is_(True))
                           .order_by(Department.sort_order, Department.code)).all()
    return [{"id": d.id, "code": d.code, "name": d.name, "categories": list(d.categories)} for d in rows]


def department_id(session: Session, code: str) -> int:
    found = session.scalar(select(Department.id).where(Department.code == code, Department.active.is_(True)))
    if found is None:
        raise Unprocessable("department_unknown", details={"field": "department"}, department=code)
    return found


def _route_json(route: DepartmentRoute, department: Department, category_name: str) -> dict[str, Any]:
    return {"id": route.id, "category": route.category_code, "category_name": category_name,
            "area": route.area_prefix, "department": department.code, "department_name": department.name,
            "name": route.name, "report_working_days": route.report_working_days}


def _routes(session: Session, *conditions) -> list[dict[str, Any]]:
    rows = session.execute(
        select(DepartmentRoute, Department, HazardCategory.name)
        .join(Department, Department.id == DepartmentRoute.department_id)
        .join(HazardCategory, HazardCategory.code == DepartmentRoute.category_code)
        .where(*conditions)
        .order_by(DepartmentRoute.category_code, func.length(DepartmentRoute.area_prefix), DepartmentRoute.area_prefix,
                  Department.sort_order, Department.code)).all()
    return [_route_json(r, d, n) for r, d, n in rows]


def list_routes(session: Session, category: str | None = None) -> dict[str, Any]:
    items = _routes(session, *([DepartmentRoute.category_code == category] if category else []))
    return {"items": items, "total": len(items)}


def set_routes(session: Session, *, category: str, area: str, department_codes: list[str], name: str,
               report_working_days: int | None) -> dict[str, Any]:
    """Replace the rules of (category, area) by one per department, all or nothing; an empty
    list removes them."""
    if session.scalar(select(HazardCategory.code).where(HazardCategory.code == category)) is None:
        raise Unprocessable("hazard_category_unknown", details={"field": "category"}, category=category)
    if len(area) >= 6 and session.scalar(select(AdminUnit.id).where(AdminUnit.code == area)) is None:
        raise Unprocessable("department_route_area_unknown", details={"field": "area"}, code=area)
    chosen = []
    for code in dict.fromkeys(department_codes):
        department = session.scalar(select(Department).where(Department.code == code, Department.active.is_(True)))
        if department is None:
            raise Unprocessable("department_unknown", details={"field": "departments"}, department=code)
        if category not in department.categories:
            raise Unprocessable("department_category_not_owned", details={"field": "departments"},
                                department=department.name, category=category)
        chosen.append(department)
    with transaction(session):
        session.execute(delete(DepartmentRoute).where(DepartmentRoute.category_code == category,
                                                      DepartmentRoute.area_prefix == area))
        session.add_all(DepartmentRoute(category_code=category, area_prefix=area, department_id=d.id, name=name,
                                        report_working_days=report_working_days) for d in chosen)
    return list_routes_at(session, category, area)


def list_routes_at(session: Session, category: str, area: str) -> dict[str, Any]:
    items = _routes(session, DepartmentRoute.category_code == category, DepartmentRoute.area_prefix == area)
    return {"items": items, "total": len(items)}


def delete_route(session: Session, route_id: int) -> None:
    with transaction(session):
        if not session.execute(delete(DepartmentRoute).where(DepartmentRoute.id == route_id)).rowcount:
            raise NotFound("department_route_not_found", id=route_id)


def route_for(session: Session, category: str, grid_code: str) -> list[tuple[Department, int | None]]:
    """The departments the most specific rule sends this category in this grid to, with each
    rule's 报到 working days (None: the setting's default); [] when no rule matches."""
    rows = session.execute(
        select(Department, DepartmentRoute.report_working_days, func.length(DepartmentRoute.area_prefix))
        .join(DepartmentRoute, DepartmentRoute.department_id == Department.id)
        .where(DepartmentRoute.category_code == category, func.strpos(grid_code, DepartmentRoute.area_prefix) == 1,
               Department.active.is_(True), DepartmentRoute.category_code == func.any(Department.categories))
        .order_by(func.length(DepartmentRoute.area_prefix).desc(), Department.sort_order, Department.code)).all()
    if not rows:
        return []
    longest = rows[0][2]
    return [(d, days) for d, days, length in rows if length == longest]
