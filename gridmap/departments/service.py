"""吹哨报到: a manager whistles an item to the departments that own it (分类归口交办); each
department 报到s (reports for duty) before its working-day deadline, then acts and feeds back
(note, optional photos); when the last one has, the item moves on to ``feedback`` and the
community verifies it in the usual loop. A missed 报到 is overdue on every read and, once the
sweep (``duty-sweep``) has seen it, a ``duty_overdue`` entry in the item's history.

Department users reach an assignment only when it is their department's, its grid lies in
their area and its category is one their department owns: 404 ``assignment_not_found`` else.
So that no item waits for a department nobody can 报到 for, a whistle is refused (422
``department_no_user``) unless every routed department has an active user whose area covers the
item. While no department has 报到'd, the manager may take the item back (``recall``, 撤回).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from gridmap.auth.models import User
from gridmap.auth.roles import DEPARTMENT
from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.clock import now as clock_now
from gridmap.db import transaction
from gridmap.departments.models import Department, HazardAssignment
from gridmap.departments.routing import route_for
from gridmap.errors import Conflict, NotFound, Unprocessable
from gridmap.hazards import photos
from gridmap.hazards.deadlines import work_calendar
from gridmap.hazards.models import Hazard, HazardCategory, HazardEvent
from gridmap.hazards.service import decide, decide_locked, get_hazard, lock_hazard
from gridmap.labels import label


def _iso(value: datetime | None) -> str | None:
    return as_local(value).isoformat() if value is not None else None


def whistle(session: Session, scope: Scope, hazard_id: int, *, note: str, default_days: int,
            version: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Send the item to its departments by category and area; each assignment's 报到 is due in
    its rule's working days (else ``default_days``). No rule: 422 ``department_no_route``."""
    now = now or clock_now()
    note = (note or "").strip()
    with transaction(session):
        hazard, decision = decide_locked(session, scope, hazard_id, "whistle", note, version)
        routed = route_for(session, hazard.category_code, hazard.grid_code)
        if not routed:
            category = session.get(HazardCategory, hazard.category_code)
            raise Unprocessable("department_no_route", details={"field": "category"},
                                category=category.name if category else hazard.category_code, area=hazard.grid_code)
        _require_users(session, [department for department, _ in routed], hazard.grid_code)
        calendar = work_calendar(session)
        sent = []
        for department, days in routed:
            due = calendar.add_working_days(now, default_days if days is None else days)
            session.add(HazardAssignment(hazard_id=hazard_id, department_id=department.id, whistled_at=now,
                                         whistled_by=scope.user_id, report_by=due.due, calendar=due.calendar))
            sent.append({"department": department.code, "name": department.name, "report_by": due.due.isoformat(),
                         "calendar": due.calendar})
        _move(session, hazard, decision.to_status, now)
        session.add(HazardEvent(hazard_id=hazard_id, from_status=decision.from_status, to_status=decision.to_status,
                                action="whistle", actor_id=scope.user_id, at=now, note=note,
                                detail={"departments": sent}))
    session.expire_all()
    return {**get_hazard(session, scope, hazard_id, now), "assignments": sent}


def _require_users(session: Session, routed: list[Department], grid_code: str) -> None:
    """422 ``department_no_user`` naming the routed departments without an active user whose area
    covers the grid (the route already guarantees each owns the category)."""
    covered = set(session.scalars(select(User.department_id).where(
        User.role == DEPARTMENT, User.active.is_(True), User.department_id.in_([d.id for d in routed]),
        func.strpos(grid_code, User.scope_code) == 1)))
    missing = [d for d in routed if d.id not in covered]
    if missing:
        raise Unprocessable("department_no_user", details={"field": "category",
                                                           "departments": [d.code for d in missing]},
                            departments="、".join(d.name for d in missing), area=grid_code)


def recall(session: Session, scope: Scope, hazard_id: int, *, note: str, version: int | None = None,
           now: datetime | None = None) -> dict[str, Any]:
    """撤回: take a whistled item back from its departments while none has 报到'd (409
    ``whistle_recall_reported`` naming those that have): its assignments of that whistle go, the
    item returns to the status it was whistled from, and the history keeps who, when, why and from
    which departments (the ``recall`` event)."""
    now = now or clock_now()
    note = (note or "").strip()
    with transaction(session):
        hazard = lock_hazard(session, scope, hazard_id, version)
        whistle_event = session.scalars(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id,
                                                                  HazardEvent.action == "whistle")
                                        .order_by(HazardEvent.id.desc()).limit(1)).first()
        rows = session.execute(
            select(HazardAssignment, Department).join(Department, Department.id == HazardAssignment.department_id)
            .where(HazardAssignment.hazard_id == hazard_id,
                   HazardAssignment.whistled_at == (whistle_event.at if whistle_event else None))
            .order_by(Department.sort_order, Department.code).with_for_update(of=HazardAssignment)).all()
        reported = [d.name for a, d in rows if a.reported_at is not None]
        if hazard.status == "whistled" and reported:  # said before the workflow's plainer refusal
            raise Conflict("whistle_recall_reported", details={"status": hazard.status}, departments="、".join(reported))
        decision = decide(session, scope, hazard, "recall", note)
        back_to = whistle_event.from_status if whistle_event and whistle_event.from_status else decision.to_status
        taken = [{"department": d.code, "name": d.name, "report_by": _iso(a.report_by)} for a, d in rows]
        session.execute(delete(HazardAssignment).where(HazardAssignment.id.in_([a.id for a, _ in rows])))
        _move(session, hazard, back_to, now)
        session.add(HazardEvent(hazard_id=hazard_id, from_status=decision.from_status, to_status=back_to,
                                action="recall", actor_id=scope.user_id, at=now, note=note,
                                detail={"departments": taken}))
    session.expire_all()
    return get_hazard(session, scope, hazard_id, now)


def _move(session: Session, hazard: Hazard, status: str, now: datetime) -> None:
    updated = session.execute(update(Hazard).where(Hazard.id == hazard.id, Hazard.version == hazard.version)
                              .values(status=status, version=hazard.version + 1, updated_at=now)).rowcount
    if updated != 1:
        raise Conflict("hazard_stale")


def _mine(session: Session, scope: Scope, assignment_id: int) -> tuple[HazardAssignment, Hazard, Department]:
    """The caller's department's assignment, its hazard locked; 404 outside area, category or department."""
    row = session.execute(
        select(HazardAssignment, Hazard, Department)
        .join(Hazard, Hazard.id == HazardAssignment.hazard_id)
        .join(Department, Department.id == HazardAssignment.department_id)
        .where(HazardAssignment.id == assignment_id)
        .with_for_update(of=(HazardAssignment, Hazard))).first()
    if (row is None or row[0].department_id != scope.department_id or not scope.covers(row[1].grid_code)
            or row[1].category_code not in row[2].categories):
        raise NotFound("assignment_not_found", id=assignment_id)
    return row[0], row[1], row[2]


def report_for_duty(session: Session, scope: Scope, assignment_id: int, now: datetime | None = None) -> dict[str, Any]:
    """报到: the department accepts the item (late ones are recorded as late, not refused)."""
    now = now or clock_now()
    with transaction(session):
        assignment, hazard, department = _mine(session, scope, assignment_id)
        if assignment.reported_at is not None:
            raise Conflict("assignment_already_reported")
        assignment.reported_at, assignment.reported_by = now, scope.user_id
        session.add(HazardEvent(hazard_id=hazard.id, from_status=hazard.status, to_status=hazard.status,
                                action="report_for_duty", actor_id=scope.user_id, at=now,
                                detail={"department": department.code, "name": department.name,
                                        "on_time": now <= assignment.report_by}))
    return queue_item(session, scope, assignment_id, now)


def feed_back(session: Session, scope: Scope, assignment_id: int, *, note: str, uploads: list[bytes],
              limits: photos.PhotoLimits, now: datetime | None = None) -> dict[str, Any]:
    """The department's feedback (what it did, with optional photos), all or nothing; the last
    department's moves the item from ``whistled`` to ``feedback`` for the community to verify."""
    now = now or clock_now()
    note = (note or "").strip()
    if not note:
        raise Unprocessable("assignment_feedback_required", details={"field": "note"})
    images = photos.cleaned(uploads, limits)
    with transaction(session):
        assignment, hazard, department = _mine(session, scope, assignment_id)
        if assignment.reported_at is None:
            raise Conflict("assignment_not_reported")
        if assignment.fed_back_at is not None:
            raise Conflict("assignment_already_fed_back")
        added = photos.append_cleaned(session, hazard.id, images, scope.user_id, limits) if images else []
        assignment.fed_back_at, assignment.fed_back_by, assignment.feedback = now, scope.user_id, note
        session.flush()
        waiting = session.scalar(select(func.count()).select_from(HazardAssignment).where(
            HazardAssignment.hazard_id == hazard.id, HazardAssignment.fed_back_at.is_(None)))
        to_status = "feedback" if waiting == 0 and hazard.status == "whistled" else hazard.status
        session.add(HazardEvent(hazard_id=hazard.id, from_status=hazard.status, to_status=to_status,
                                action="duty_feedback", actor_id=scope.user_id, at=now, note=note,
                                detail={"department": department.code, "name": department.name,
                                        "photos": [p["n"] for p in added if not p["duplicate"]],
                                        "waiting": waiting}))
        if to_status != hazard.status:
            _move(session, hazard, to_status, now)
    session.expire_all()
    return queue_item(session, scope, assignment_id, now)


# --------------------------------------------------------------------------- reading


def _overdue(now: datetime):
    return and_(HazardAssignment.reported_at.is_(None), HazardAssignment.report_by < now)


def _queue_select(scope: Scope, now: datetime):
    """A department user's assignments: their department's, in their area, in its categories.
    What a department needs to act — category, place, description, deadlines, the whistle's
    note, photos — and no reporter, assignee or resident's personal data."""
    return (
        select(HazardAssignment, Hazard.code, Hazard.status, Hazard.category_code, HazardCategory.name,
               Hazard.severity, Hazard.description, Hazard.grid_code, Hazard.resolve_by,
               func.ST_X(Hazard.geom), func.ST_Y(Hazard.geom), _overdue(now).label("overdue"),
               select(HazardEvent.note).where(HazardEvent.hazard_id == Hazard.id, HazardEvent.action == "whistle",
                                              HazardEvent.at == HazardAssignment.whistled_at)
               .limit(1).scalar_subquery().label("whistle_note"))
        .join(Hazard, Hazard.id == HazardAssignment.hazard_id)
        .join(HazardCategory, HazardCategory.code == Hazard.category_code)
        .join(Department, Department.id == HazardAssignment.department_id)
        .where(HazardAssignment.department_id == scope.department_id, scope.where(Hazard.grid_code),
               Hazard.category_code == func.any(Department.categories))
    )


def _item(row, photo_list: list[dict[str, Any]]) -> dict[str, Any]:
    a: HazardAssignment = row[0]
    code, status, category, category_name, severity, description, grid, resolve_by, lon, lat, overdue, note = row[1:]
    state = "fed_back" if a.fed_back_at else "reported" if a.reported_at else "waiting"
    return {
        "id": a.id, "hazard_id": a.hazard_id, "hazard_code": code, "hazard_status": status,
        "hazard_status_name": label(status, "hazard_status"), "category": category, "category_name": category_name,
        "severity": severity, "description": description, "grid": grid, "lon": round(lon, 7), "lat": round(lat, 7),
        "state": state, "state_name": label(state, "duty_state"), "whistle_note": note or "",
        "whistled_at": _iso(a.whistled_at), "report_by": _iso(a.report_by), "calendar": a.calendar,
        "reported_at": _iso(a.reported_at), "fed_back_at": _iso(a.fed_back_at), "feedback": a.feedback,
        "resolve_by": _iso(resolve_by), "overdue": bool(overdue),
        "photos": [{"n": p["n"], "url": f"/api/v1/department/assignments/{a.id}/photos/{p['n']}"} for p in photo_list],
    }


def queue(session: Session, scope: Scope, *, done: bool = False, limit: int = 200,
          now: datetime | None = None) -> dict[str, Any]:
    """Open assignments (overdue 报到 first, then by 报到 deadline), or with ``done`` those fed back."""
    now = now or clock_now()
    query = _queue_select(scope, now).where(
        HazardAssignment.fed_back_at.is_not(None) if done else HazardAssignment.fed_back_at.is_(None))
    order = ((HazardAssignment.fed_back_at.desc(),) if done
             else (_overdue(now).desc(), HazardAssignment.reported_at.is_not(None), HazardAssignment.report_by))
    rows = session.execute(query.order_by(*order, HazardAssignment.id).limit(limit)).all()
    items = [_item(row, photos.list_photos(session, row[0].hazard_id)) for row in rows]
    return {"items": items, "total": len(items)}


def queue_item(session: Session, scope: Scope, assignment_id: int, now: datetime | None = None) -> dict[str, Any]:
    row = session.execute(_queue_select(scope, now or clock_now()).where(HazardAssignment.id == assignment_id)).first()
    if row is None:
        raise NotFound("assignment_not_found", id=assignment_id)
    return _item(row, photos.list_photos(session, row[0].hazard_id))


def photo(session: Session, scope: Scope, assignment_id: int, n: int) -> tuple[bytes, str, str]:
    """A photo of an assigned item, for its department (the hazard's scope is the department's)."""
    item = queue_item(session, scope, assignment_id)
    return photos.get_photo(session, Scope(prefix=item["grid"]), item["hazard_id"], n)


def department_name(session: Session, scope: Scope) -> str:
    return session.scalar(select(Department.name).where(Department.id == scope.department_id)) or ""


# --------------------------------------------------------------------------- the overdue sweep


def sweep_overdue(session: Session, now: datetime | None = None) -> int:
    """Record each 报到 now past its deadline, once, in its item's history (``duty_overdue``,
    for the whistling supervisors and the 平安报表); returns how many."""
    now = now or clock_now()
    with transaction(session):
        rows = session.execute(
            select(HazardAssignment, Hazard.status, Department.code, Department.name)
            .join(Hazard, Hazard.id == HazardAssignment.hazard_id)
            .join(Department, Department.id == HazardAssignment.department_id)
            .where(_overdue(now), HazardAssignment.escalated_at.is_(None), HazardAssignment.fed_back_at.is_(None))
            .with_for_update(of=HazardAssignment, skip_locked=True)).all()
        for assignment, status, code, name in rows:
            assignment.escalated_at = now
            session.add(HazardEvent(hazard_id=assignment.hazard_id, from_status=status, to_status=status,
                                    action="duty_overdue", at=now,
                                    detail={"department": code, "name": name,
                                            "report_by": _iso(assignment.report_by)}))
    return len(rows)

