"""Hazards: report, act on the loop, read, list (overdue first), and what the pages show
(the work queue, a hazard's page, the report form). Deadlines: gridmap.hazards.deadlines.

Services take a session and plain arguments and own their transaction. ``now`` is a
parameter wherever time matters, so tests can stand on any day of the calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from gridmap.areas.models import Grid
from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.clock import now as clock_now
from gridmap.coordinates import point_to_wgs84
from gridmap.db import transaction
from gridmap.errors import Conflict, Unprocessable
from gridmap.hazards import revisit, workflow
from gridmap.hazards.calendar import FALLBACK, OFFICIAL
from gridmap.hazards.daily_cells import record_hazard
from gridmap.hazards.deadlines import deadlines_for
from gridmap.hazards.models import OPEN_STATUSES, Hazard, HazardCategory, HazardEvent
from gridmap.hazards.nearby import grid_at, possible_duplicates
from gridmap.hazards.photos import list_photos
from gridmap.labels import label

Bbox = tuple[float, float, float, float]


# --------------------------------------------------------------------------- categories


def categories(session: Session) -> list[dict[str, str]]:
    rows = session.execute(select(HazardCategory.code, HazardCategory.name)
                           .where(HazardCategory.active.is_(True)).order_by(HazardCategory.sort_order)).all()
    return [{"code": c, "name": n} for c, n in rows]


def _category(session: Session, value: str) -> HazardCategory:
    row = session.scalar(select(HazardCategory).where(
        or_(HazardCategory.code == value, HazardCategory.name == value), HazardCategory.active.is_(True)))
    if row is None:
        raise Unprocessable("hazard_category_unknown", details={"field": "category", "choices": categories(session)},
                            category=value)
    return row


# --------------------------------------------------------------------------- reading


def _actor(scope: Scope) -> workflow.Actor:
    return workflow.Actor(role=scope.role, prefix=scope.prefix, user_id=scope.user_id)


def duty_reported(session: Session, hazard_id: int) -> bool:
    """Whether a department has 报到'd since the item was last whistled (its history says so)."""
    last_whistle = select(func.max(HazardEvent.id)).where(HazardEvent.hazard_id == hazard_id,
                                                          HazardEvent.action == "whistle").scalar_subquery()
    return bool(session.scalar(select(exists().where(
        HazardEvent.hazard_id == hazard_id, HazardEvent.action == "report_for_duty", HazardEvent.id > last_whistle))))


def _state(hazard: Hazard, session: Session | None = None) -> workflow.State:
    """The hazard as the workflow sees it; with ``session``, whether its verification has its 回访 answer
    and whether a department has 报到'd on its whistle."""
    return workflow.State(status=hazard.status, level=hazard.level, grid_code=hazard.grid_code,
                          assignee_id=hazard.assignee_id, resolution=hazard.resolution, source=hazard.source,
                          revisit_required=hazard.revisit_required,
                          answered=session is not None and revisit.answered(session, hazard),
                          duty_reported=(session is not None and hazard.status == "whistled"
                                         and duty_reported(session, hazard.id)))


def overdue_expr(now: datetime):
    """One SQL expression: open and past its accept (while unaccepted) or resolve deadline."""
    return and_(Hazard.status.in_(OPEN_STATUSES),
                or_(and_(Hazard.status == "reported", Hazard.accept_by < now), Hazard.resolve_by < now))


def next_deadline_expr():
    return case((Hazard.status == "reported", func.least(Hazard.accept_by, Hazard.resolve_by)),
                else_=Hazard.resolve_by)


def iso(value: datetime | None) -> str | None:
    return as_local(value).isoformat() if value is not None else None


REPORTER, ASSIGNEE = aliased(User), aliased(User)


def _hazard_select(now: datetime):
    return (
        select(Hazard, HazardCategory.name.label("category_name"), Grid.name.label("grid_name"),
               REPORTER.display_name.label("reporter_name"), ASSIGNEE.username.label("assignee_username"),
               ASSIGNEE.display_name.label("assignee_name"),
               func.ST_X(Hazard.geom).label("lon"), func.ST_Y(Hazard.geom).label("lat"),
               overdue_expr(now).label("overdue"), next_deadline_expr().label("next_deadline"))
        .join(HazardCategory, HazardCategory.code == Hazard.category_code)
        .outerjoin(Grid, Grid.id == Hazard.grid_id)
        .outerjoin(REPORTER, REPORTER.id == Hazard.reporter_id)
        .outerjoin(ASSIGNEE, ASSIGNEE.id == Hazard.assignee_id)
    )


def _json(row: Any, scope: Scope, session: Session | None = None) -> dict[str, Any]:
    h: Hazard = row.Hazard
    return {
        "id": h.id, "code": h.code, "category": h.category_code, "category_name": row.category_name,
        "severity": h.severity, "description": h.description,
        "lon": round(row.lon, 7), "lat": round(row.lat, 7),
        "grid": {"code": h.grid_code, "name": row.grid_name}, "grid_version": h.grid_version,
        "status": h.status, "status_name": label(h.status, "hazard_status"),
        "level": h.level, "level_name": label(h.level, "level"),
        "deadlines": {"accept_by": iso(h.accept_by), "resolve_by": iso(h.resolve_by)},
        "next_deadline": iso(row.next_deadline), "calendar": h.calendar, "overdue": bool(row.overdue),
        "reporter": row.reporter_name, "source": h.source,
        "assignee": ({"username": row.assignee_username, "name": row.assignee_name}
                     if row.assignee_username else None),
        "created_at": iso(h.created_at), "accepted_at": iso(h.accepted_at), "resolved_at": iso(h.resolved_at),
        "closed_at": iso(h.closed_at), "version": h.version, "resolution": h.resolution,
        "public_reply": h.public_reply, "revisit_required": h.revisit_required,
        "allowed_actions": workflow.allowed_actions(_actor(scope), _state(h, session)),
    }


def events(session: Session, hazard_id: int) -> list[dict[str, Any]]:
    actor = aliased(User)
    rows = session.execute(
        select(HazardEvent, actor.display_name).outerjoin(actor, actor.id == HazardEvent.actor_id)
        .where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.at, HazardEvent.id)
    ).all()
    return [{
        "action": e.action, "action_name": label(e.action, "hazard_action"),
        "from_status": e.from_status, "to_status": e.to_status, "actor": name, "at": iso(e.at),
        "note": e.note, "detail": e.detail,
    } for e, name in rows]


def get_hazard(session: Session, scope: Scope, hazard_id: int, now: datetime | None = None) -> dict[str, Any]:
    row = session.execute(_hazard_select(now or clock_now()).where(Hazard.id == hazard_id)).first()
    scope.require(row.Hazard.grid_code if row else None, "hazard_not_found", id=hazard_id)
    result = _json(row, scope, session)
    result["events"] = events(session, hazard_id)
    result["photos"] = list_photos(session, hazard_id)
    return result


def list_hazards(session: Session, scope: Scope, *, within: str | None = None, statuses: list[str] | None = None,
                 category: str | None = None, overdue: bool | None = None, bbox: Bbox | None = None,
                 since: datetime | None = None, until: datetime | None = None, resolution: str | None = None,
                 sample: int | None = None, limit: int = 100, offset: int = 0,
                 now: datetime | None = None) -> dict[str, Any]:
    """Scoped hazards, overdue first, then by the next deadline; a GeoJSON FeatureCollection.
    ``resolution``: only those closed that way (on_the_spot); ``sample``: that many of the
    matching ones, drawn at random (抽查), ``total`` still counting them all."""
    now = now or clock_now()
    conditions = [scope.where(Hazard.grid_code, within)]
    if statuses:
        conditions.append(Hazard.status.in_(statuses))
    if resolution:
        conditions.append(Hazard.resolution == resolution)
    if category:
        conditions.append(or_(Hazard.category_code == category,
                              Hazard.category_code == select(HazardCategory.code)
                              .where(HazardCategory.name == category).scalar_subquery()))
    if overdue is not None:
        conditions.append(overdue_expr(now) if overdue else ~overdue_expr(now))
    if bbox is not None:
        conditions.append(Hazard.geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    if since is not None:
        conditions.append(Hazard.created_at >= since)
    if until is not None:
        conditions.append(Hazard.created_at < until)
    total = session.scalar(select(func.count()).select_from(Hazard).where(*conditions))
    order = (func.random(),) if sample else (overdue_expr(now).desc(), next_deadline_expr(), Hazard.id)
    rows = session.execute(
        _hazard_select(now).where(*conditions).order_by(*order)
        .limit(min(limit, sample) if sample else limit).offset(offset)
    ).all()
    features = []
    for row in rows:
        props = _json(row, scope, session if row.Hazard.status in ("verified", "whistled") else None)
        features.append({"type": "Feature", "id": props["id"],
                         "geometry": {"type": "Point", "coordinates": [props["lon"], props["lat"]]},
                         "properties": props})
    return {"type": "FeatureCollection", "features": features, "total": total}


# --------------------------------------------------------------------------- reporting


def check_duplicates(session: Session, scope: Scope, *, category: str, lon: float, lat: float,
                     crs: str | None) -> dict[str, Any]:
    """What a report here would be shown as possible duplicates, before it is made."""
    lon, lat = point_to_wgs84(lon, lat, crs)
    cat = _category(session, category)
    grid = grid_at(session, lon, lat)
    items = possible_duplicates(session, scope, cat.code, lon, lat)
    return {"items": items, "total": len(items), "lon": lon, "lat": lat,
            "grid": {"code": grid.code, "name": grid.name} if grid is not None and scope.covers(grid.code) else None}


def stored_by_client(session: Session, scope: Scope, client: tuple[str, str]) -> Hazard | None:
    """The hazard first sent with this client id (a report or a fix on the spot), or None. Another
    author's id, or the same id with another request, is a 409 that says nothing of the stored one."""
    hazard = session.scalars(select(Hazard).where(Hazard.client_id == client[0])).first()
    if hazard is not None and (hazard.reporter_id != scope.user_id or hazard.client_digest != client[1]
                               or not scope.covers(hazard.grid_code)):
        raise Conflict("client_id_taken")
    return hazard


def _stored_report(session: Session, scope: Scope, client: tuple[str, str]) -> dict[str, Any] | None:
    """The report first sent with this client id, answered as then (with ``replayed: true``), or None."""
    hazard = stored_by_client(session, scope, client)
    if hazard is None:
        return None
    grid = session.get(Grid, hazard.grid_id) if hazard.grid_id else None
    lon, lat = session.execute(select(func.ST_X(Hazard.geom), func.ST_Y(Hazard.geom)).where(Hazard.id == hazard.id)).one()
    return {
        "id": hazard.id, "code": hazard.code, "grid": {"code": hazard.grid_code, "name": grid.name if grid else None},
        "status": hazard.status, "level": hazard.level, "category": hazard.category_code, "severity": hazard.severity,
        "lon": lon, "lat": lat, "calendar": hazard.calendar, "replayed": True,
        "deadlines": {"accept_by": as_local(hazard.accept_by).isoformat(),
                      "resolve_by": as_local(hazard.resolve_by).isoformat()},
        "possible_duplicates": possible_duplicates(session, scope, hazard.category_code, lon, lat, hazard.id),
    }


def place_report(session: Session, scope: Scope, category: str, lon: float, lat: float,
                 crs: str | None) -> tuple[HazardCategory, Any, float, float]:
    """A report's category, grid and WGS-84 point, or the 422 that refuses them (no category,
    no grid there, a grid outside the caller's scope)."""
    lon, lat = point_to_wgs84(lon, lat, crs)
    cat = _category(session, category)
    grid = grid_at(session, lon, lat)
    if grid is None:
        raise Unprocessable("not_in_any_grid", details={"lon": lon, "lat": lat})
    if not scope.covers(grid.code):
        raise Unprocessable("hazard_outside_scope")
    return cat, grid, lon, lat


def insert_hazard(session: Session, scope: Scope, cat: HazardCategory, grid: Any, lon: float, lat: float, *,
                  severity: str, description: str, now: datetime, action: str = "report", status: str = "reported",
                  detail: dict[str, Any] | None = None, **values: Any) -> Hazard:
    """Insert a hazard and its first event (``action``, to ``status``) inside the caller's
    transaction; ``values``: further columns (a hazard born closed carries its times)."""
    accept, resolve = deadlines_for(session, cat.code, severity, now)
    hazard_id = session.scalar(select(func.nextval(func.pg_get_serial_sequence("hazard", "id"))))
    hazard = Hazard(
        id=hazard_id, code=f"HZ-{as_local(now):%Y%m%d}-{hazard_id:06d}", category_code=cat.code, severity=severity,
        description=description, geom=func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), grid_id=grid.id,
        grid_version=grid.version, grid_code=grid.code, status=status, level="grid", accept_by=accept.due,
        resolve_by=resolve.due, calendar=FALLBACK if FALLBACK in (accept.calendar, resolve.calendar) else OFFICIAL,
        reporter_id=scope.user_id, created_at=now, updated_at=now, **values,
    )
    session.add(hazard)
    session.flush()
    session.add(HazardEvent(hazard_id=hazard_id, from_status=None, to_status=status, action=action,
                            actor_id=scope.user_id, at=now, note=description[:500],
                            detail={"lon": lon, "lat": lat, "grid": grid.code, **(detail or {})}))
    session.flush()
    record_hazard(session, hazard_id)
    return hazard


def report(session: Session, scope: Scope, *, category: str, severity: str, description: str, lon: float,
           lat: float, crs: str | None, client: tuple[str, str] | None = None,
           now: datetime | None = None, source: str = "staff",
           attach: Callable[[int], None] | None = None) -> dict[str, Any]:
    """A new hazard in the grid at the point. With ``client`` (the phone's id and the request's
    digest, gridmap.schemas.client_request) it is stored once: a re-sent report answers with the
    stored one and ``replayed: true``. ``source``: staff, or a resident (the public form);
    ``attach(hazard_id)`` adds what the caller keeps with it in the same transaction."""
    now = now or clock_now()
    if client is not None and (stored := _stored_report(session, scope, client)) is not None:
        return stored
    cat, grid, lon, lat = place_report(session, scope, category, lon, lat, crs)
    with transaction(session):
        if client is not None:  # two sends of one report at once: the second waits, then finds the first
            session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(client[0], 0))))
            if (stored := _stored_report(session, scope, client)) is not None:
                return stored
        duplicates = possible_duplicates(session, scope, cat.code, lon, lat)
        hazard = insert_hazard(session, scope, cat, grid, lon, lat, severity=severity, description=description,
                               now=now, source=source, client_id=client[0] if client else None,
                               client_digest=client[1] if client else None)
        hazard_id, code, calendar = hazard.id, hazard.code, hazard.calendar
        accept_by, resolve_by = as_local(hazard.accept_by), as_local(hazard.resolve_by)
        if attach is not None:
            attach(hazard_id)
    return {
        "id": hazard_id, "code": code, "grid": {"code": grid.code, "name": grid.name}, "status": "reported",
        "level": "grid", "category": cat.code, "severity": severity, "lon": lon, "lat": lat,
        "deadlines": {"accept_by": accept_by.isoformat(), "resolve_by": resolve_by.isoformat()},
        "calendar": calendar, "possible_duplicates": duplicates, "replayed": False,
    }


# --------------------------------------------------------------------------- the loop


def _assignee(session: Session, value: str | int, grid_code: str) -> User:
    query = select(User).where(User.active.is_(True), User.role.in_(("admin", "supervisor", "grid_worker")))
    if isinstance(value, int) or str(value).isdigit():
        query = query.where(or_(User.id == int(value), User.username == str(value)))
    else:
        query = query.where(User.username == str(value))
    user = session.scalars(query).first()
    if user is None or not grid_code.startswith(user.scope_code):
        raise Unprocessable("hazard_assignee_invalid", details={"field": "assignee"}, assignee=value)
    return user


def lock_hazard(session: Session, scope: Scope, hazard_id: int, version: int | None) -> Hazard:
    """Inside the caller's transaction: the hazard locked (SELECT … FOR UPDATE; 404 outside the
    scope) and the version it was read at checked (409)."""
    hazard = session.scalars(select(Hazard).where(Hazard.id == hazard_id).with_for_update()).first()
    scope.require(hazard.grid_code if hazard else None, "hazard_not_found", id=hazard_id)
    if version is not None and version != hazard.version:
        raise Conflict("hazard_stale", details={"version": hazard.version})
    return hazard


def decide(session: Session, scope: Scope, hazard: Hazard, action: str, note: str) -> workflow.Decision:
    """The workflow's decision on ``action`` by the caller for the (locked) hazard."""
    return workflow.decide(_actor(scope), _state(hazard, session), action, note)


def decide_locked(session: Session, scope: Scope, hazard_id: int, action: str, note: str,
                  version: int | None) -> tuple[Hazard, workflow.Decision]:
    """``lock_hazard``, then ``decide``."""
    hazard = lock_hazard(session, scope, hazard_id, version)
    return hazard, decide(session, scope, hazard, action, note)


def act(session: Session, scope: Scope, hazard_id: int, action: str, note: str = "",
        assignee: str | int | None = None, version: int | None = None, now: datetime | None = None,
        answer: str | None = None, reply: str | None = None) -> dict[str, Any]:
    """Apply one action. The row is locked (SELECT … FOR UPDATE) and the UPDATE checks the
    version it read, so of two concurrent actions on one hazard only one can win. ``answer``:
    the reporter's 回访 answer (revisit); ``reply``: the public reply (verify or close of a resident's item)."""
    now = now or clock_now()
    note = (note or "").strip()
    with transaction(session):
        hazard, decision = decide_locked(session, scope, hazard_id, action, note, version)
        if action in workflow.DEPARTMENT_ACTIONS:  # 吹哨 creates the departments' assignments there
            raise Unprocessable("hazard_action_elsewhere", details={"field": "action"},
                                action=label(action, "hazard_action"))
        detail: dict[str, Any] = {}
        if reply and (action not in ("verify", "close") or hazard.source != workflow.RESIDENT):
            raise Unprocessable("hazard_reply_not_allowed", details={"field": "reply"})
        if action == "revisit":
            decision = revisit.record(session, hazard, decision, answer=answer, channel="phone", note=note,
                                      actor_id=scope.user_id, now=now, detail=detail)
        if action in workflow.NOTE_ONLY:
            if hazard.assignee_id is not None:  # whose inbox a 督办 note is for
                detail["assignee_id"] = hazard.assignee_id
        else:
            _transition(session, hazard, decision, assignee, now, detail, reply)
        session.add(HazardEvent(hazard_id=hazard_id, from_status=decision.from_status, to_status=decision.to_status,
                                action=action, actor_id=scope.user_id, at=now, note=note, detail=detail))
    session.expire_all()
    return get_hazard(session, scope, hazard_id, now)


def _transition(session: Session, hazard: Hazard, decision: workflow.Decision, assignee: str | int | None,
                now: datetime, detail: dict[str, Any], reply: str | None = None) -> None:
    """Write the decided change of status (and what goes with it) on the locked row; what the
    event should remember goes into ``detail``."""
    action = decision.action
    values: dict[str, Any] = {"status": decision.to_status, "level": decision.to_level,
                              "version": hazard.version + 1, "updated_at": now}
    if action == "assign":
        if assignee in (None, ""):
            raise Unprocessable("hazard_assignee_required", details={"field": "assignee"})
        user = _assignee(session, assignee, hazard.grid_code)
        values["assignee_id"] = user.id
        detail["assignee"] = user.username
    if action == "accept":
        values["accepted_at"] = now
    if decision.to_status == "verified" != decision.from_status:
        values["resolved_at"] = now
    if decision.to_status in ("closed", "rejected"):
        values["closed_at"] = now
    if action == "reject" and decision.from_status == "assigned":
        values["assignee_id"] = None
    if action in ("escalate", "reopen"):  # back to "reported": the deadlines run from now
        accept, resolve = deadlines_for(session, hazard.category_code, hazard.severity, now)
        values.update(assignee_id=None, accepted_at=None, accept_by=accept.due, resolve_by=resolve.due,
                      calendar=FALLBACK if FALLBACK in (accept.calendar, resolve.calendar) else OFFICIAL)
    if action == "revisit" and decision.to_status != decision.from_status:  # 不满意: back into the loop
        values.update(revisit.reopen_values(session, hazard, now))
    if reply:
        values["public_reply"] = detail["reply"] = reply
    if action == "escalate":
        detail.update(from_level=decision.from_level, to_level=decision.to_level)
    if action == "reopen":  # a fix on the spot that did not hold: into the loop, no longer counted as one
        values.update(resolution=None, resolved_at=None, closed_at=None)
        detail["resolution"] = hazard.resolution
    updated = session.execute(
        update(Hazard).where(Hazard.id == hazard.id, Hazard.version == hazard.version).values(**values)
    ).rowcount
    if updated != 1:
        raise Conflict("hazard_stale")
