"""The residents' form (居民吹哨): a grid's public page, a report landing in the grid's queue as
``source: resident`` with the normal deadlines, and what a tracking code shows.

A report is one transaction (gridmap.hazards.service.report with ``attach``): the hazard, its
photos, the tracking code, the spent challenge and the rate-limit hits, or nothing. The status a
tracking code reads holds no person: no staff name, no reporter, no phone, no description."""

from __future__ import annotations

import base64
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gridmap.areas.models import Grid
from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.clock import now as clock_now
from gridmap.coordinates import point_to_wgs84
from gridmap.errors import NotFound, Unprocessable
from gridmap.hazards import photos, revisit
from gridmap.hazards import service as hazards
from gridmap.hazards.models import OPEN_STATUSES, Hazard, HazardCategory
from gridmap.hazards.nearby import grid_at
from gridmap.hazards.workflow import RESIDENT
from gridmap.labels import label
from gridmap.messages import message
from gridmap.public import challenge, throttle
from gridmap.public.models import PublicReport

# "已有人反映": open reports of the same category in the grid this close, this recent.
SIMILAR_RADIUS_M = 100.0
SIMILAR_DAYS = 7


@dataclass(frozen=True)
class Rules:
    """The form's settings as values (the route reads them from config.Settings)."""

    secret: str
    pow_bits: int
    pow_ttl_s: int
    limits: throttle.Limits
    photos: photos.PhotoLimits


def public_url(base_url: str, url_root: str, grid_code: str) -> str:
    """The address a grid's QR code holds: GRIDMAP_PUBLIC_BASE_URL (the address residents reach),
    else the address the printing page was asked for."""
    return f"{(base_url or url_root).rstrip('/')}/r/{grid_code}"


def grid(session: Session, grid_code: str) -> dict[str, Any]:
    """A grid that takes reports (a map grid still in use) with its outline as a GeoJSON
    collection; 404 ``public_grid_not_found`` else."""
    row = session.execute(select(Grid.code, Grid.name, func.ST_AsGeoJSON(Grid.geom, 7).label("geometry")).where(
        Grid.code == grid_code, Grid.kind == "map", Grid.retired_at.is_(None))).first()
    if row is None:
        raise NotFound("public_grid_not_found")
    outline = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(row.geometry), "properties": {"code": row.code}}]}
    return {"code": row.code, "name": row.name, "outline": outline}


def similar(session: Session, grid_code: str, category: str, lon: float, lat: float, now: datetime) -> int:
    """How many open reports of this category lie near this point of the grid, recent ones."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    pad = SIMILAR_RADIUS_M * 1.2 / (111_320 * max(math.cos(math.radians(lat)), 0.1))
    return session.scalar(select(func.count()).select_from(Hazard).where(
        Hazard.geom.op("&&")(func.ST_Expand(point, pad)), Hazard.grid_code == grid_code,
        func.ST_DWithin(func.geography(Hazard.geom), func.geography(point), SIMILAR_RADIUS_M),
        Hazard.category_code == category, Hazard.status.in_(OPEN_STATUSES),
        Hazard.created_at > now - timedelta(days=SIMILAR_DAYS)))


def new_tracking_code() -> str:
    """16 characters of base32 (80 random bits): unguessable, and easy to read out and type."""
    return base64.b32encode(secrets.token_bytes(10)).decode()


def submit(session: Session, rules: Rules, *, grid_code: str, category: str, description: str, lon: float,
           lat: float, crs: str | None, address: str | None, phone: str | None, challenge_token: str, nonce: str,
           uploads: list[bytes], client_address: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or clock_now()
    challenge_id, expires_at = challenge.verify(rules.secret, challenge_token, nonce, bits=rules.pow_bits,
                                                ttl_s=rules.pow_ttl_s)
    grid(session, grid_code)
    if len(uploads) > rules.photos.max_count:
        raise Unprocessable("hazard_photo_too_many", details={"max": rules.photos.max_count},
                            max=rules.photos.max_count)
    cleaned = photos.cleaned(uploads, rules.photos)
    throttle.check(session, rules.limits, client_address, phone)
    wgs_lon, wgs_lat = point_to_wgs84(lon, lat, crs)
    here = grid_at(session, wgs_lon, wgs_lat)
    if here is None or here.code != grid_code:
        raise Unprocessable("public_place_outside_grid", details={"field": "lon"})
    category_code = session.scalar(select(HazardCategory.code).where(
        (HazardCategory.code == category) | (HazardCategory.name == category), HazardCategory.active.is_(True)))
    nearby = similar(session, grid_code, category_code, wgs_lon, wgs_lat, now) if category_code else 0
    code = new_tracking_code()
    text = description.strip()
    if address:
        text += "\n" + message("public_address_line", address=address.strip())

    def attach(hazard_id: int) -> None:
        challenge.spend(session, challenge_id, expires_at)
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(client_address))))
        throttle.check(session, rules.limits, client_address, phone)
        throttle.record(session, rules.limits, client_address, phone)
        session.add(PublicReport(tracking_code=code, hazard_id=hazard_id, phone=phone, created_at=now))
        if phone:  # someone to call back: the item waits for the 回访 answer before it closes
            session.execute(update(Hazard).where(Hazard.id == hazard_id).values(revisit_required=True))
        photos.attach_staged(session, hazard_id, [(None, original, image) for original, image in dict(cleaned).items()],
                             None)

    hazards.report(session, Scope(prefix=grid_code, role=RESIDENT, username=RESIDENT), category=category,
                   severity="normal", description=text, lon=wgs_lon, lat=wgs_lat, crs=None, now=now,
                   source=RESIDENT, attach=attach)
    return {**status(session, code, now=now), "similar_reports": nearby}


def status(session: Session, tracking_code: str, now: datetime | None = None) -> dict[str, Any]:
    """What a tracking code shows: category, status, deadlines, times, the progress sentence, the
    community's reply and the 回访 answer (whether the resident may give it now, which was given)."""
    now = now or clock_now()
    row = session.execute(
        select(PublicReport.tracking_code, Hazard.category_code, HazardCategory.name.label("category_name"),
               Hazard.status, Hazard.accept_by, Hazard.resolve_by, Hazard.created_at, Hazard.closed_at,
               Hazard.public_reply, Hazard.id.label("hazard_id"),
               Grid.name.label("grid_name"), hazards.overdue_expr(now).label("overdue"))
        .join(Hazard, Hazard.id == PublicReport.hazard_id)
        .join(HazardCategory, HazardCategory.code == Hazard.category_code)
        .outerjoin(Grid, Grid.id == Hazard.grid_id)
        .where(PublicReport.tracking_code == tracking_code.strip().upper())).first()
    if row is None:
        raise NotFound("public_report_not_found")
    hazard = session.get(Hazard, row.hazard_id)
    can_answer = row.status == "verified" and not revisit.answered(session, hazard)
    answer = revisit.last_answer(session, row.hazard_id)
    return {
        "tracking_code": row.tracking_code, "category": row.category_code, "category_name": row.category_name,
        "grid_name": row.grid_name, "status": row.status, "status_name": label(row.status, "hazard_status"),
        "reply": message("public_reply_awaiting_revisit" if can_answer else f"public_reply_{row.status}"),
        "public_reply": row.public_reply,
        "satisfaction": {"can_answer": can_answer, "answer": answer,
                         "answer_name": label(answer, "revisit_answer") if answer else None},
        "reported_at": as_local(row.created_at).isoformat(),
        "deadlines": {"accept_by": as_local(row.accept_by).isoformat(),
                      "resolve_by": as_local(row.resolve_by).isoformat()},
        "overdue": bool(row.overdue),
        "closed_at": as_local(row.closed_at).isoformat() if row.closed_at else None,
    }


def answer(session: Session, rules: Rules, tracking_code: str, *, answer: str, comment: str, challenge_token: str,
           nonce: str, client_address: str, now: datetime | None = None) -> dict[str, Any]:
    """The resident's 回访 answer on the status page: the proof of work first, then the tracking
    code (404), then once per verification (409); the challenge is spent and the client address
    counted (the reports' per-address limit) in the answer's transaction."""
    now = now or clock_now()
    challenge_id, expires_at = challenge.verify(rules.secret, challenge_token, nonce, bits=rules.pow_bits,
                                                ttl_s=rules.pow_ttl_s)
    code = tracking_code.strip().upper()
    hazard_id = session.scalar(select(PublicReport.hazard_id).where(PublicReport.tracking_code == code))
    if hazard_id is None:
        raise NotFound("public_report_not_found")
    throttle.check(session, rules.limits, client_address, None)

    def before_write() -> None:
        challenge.spend(session, challenge_id, expires_at)
        throttle.record(session, rules.limits, client_address, None)

    revisit.resident_answer(session, hazard_id, answer, comment.strip(), now, before_write)
    return status(session, code, now=now)
