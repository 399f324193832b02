"""Solved on the spot (就地解决): a grid worker records a problem found and fixed in one step,
with photos before and after the fix (the photo pipeline of gridmap.hazards.photos: sniffed,
re-encoded without EXIF). It is stored as a hazard born closed with ``resolution:
on_the_spot`` — its first event ``on_the_spot`` goes from nothing to ``closed`` — and counted
in the 平安报表's own column. A supervisor samples them (``GET /hazards?resolution=on_the_spot
&sample=n``) and may ``reopen`` one (gridmap.hazards.workflow), which puts it into the loop.

Sent from the phone's offline outbox it carries a ``client_id``: stored once per author (with the
SHA-256 of its fields and photos, like a report), a re-send answers with the stored fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import now as clock_now
from gridmap.db import transaction
from gridmap.errors import Unprocessable
from gridmap.hazards import photos, service
from gridmap.hazards.models import ON_THE_SPOT, PHOTO_STAGES
from gridmap.labels import label


def _sent_meanwhile(session: Session, scope: Scope, client: tuple[str, str] | None) -> Any:
    """Two sends of one fix at once: the second waits for the first's transaction, then finds it."""
    if client is None:
        return None
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(client[0], 0))))
    return service.stored_by_client(session, scope, client)


def record(session: Session, scope: Scope, *, category: str, severity: str, description: str, lon: float,
           lat: float, crs: str | None, before: list[bytes], after: list[bytes], limits: photos.PhotoLimits,
           client: tuple[str, str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Store the fix, all or nothing: at least one photo of each stage, no photo twice, at most
    the per-hazard photo limit, a point in one of the caller's grids. With ``client`` (the phone's
    id and the digest of the request, photos included) a re-send answers with the stored fix and
    ``replayed: true``."""
    now = now or clock_now()
    if client is not None and (stored := service.stored_by_client(session, scope, client)) is not None:
        return {**service.get_hazard(session, scope, stored.id, now), "replayed": True}
    uploads = dict(zip(PHOTO_STAGES, (before, after)))
    for stage, files in uploads.items():
        if not files:
            raise Unprocessable("hazard_onspot_photo_required", details={"field": stage},
                                stage=label(stage, "photo_stage"))
    if len(before) + len(after) > limits.max_count:
        raise Unprocessable("hazard_photo_too_many", details={"max": limits.max_count}, max=limits.max_count)
    cat, grid, lon, lat = service.place_report(session, scope, category, lon, lat, crs)
    staged = [(stage, original, image) for stage, files in uploads.items()
              for original, image in photos.cleaned(files, limits)]
    if len({original for _, original, _ in staged}) < len(staged):
        raise Unprocessable("hazard_onspot_photo_repeated", details={"field": "after"})
    with transaction(session):
        if (stored := _sent_meanwhile(session, scope, client)) is not None:
            hazard_id, replayed = stored.id, True
        else:
            hazard = service.insert_hazard(
                session, scope, cat, grid, lon, lat, severity=severity, description=description, now=now,
                action=ON_THE_SPOT, status="closed", detail={"photos": {s: len(f) for s, f in uploads.items()}},
                resolution=ON_THE_SPOT, accepted_at=now, resolved_at=now, closed_at=now, assignee_id=scope.user_id,
                client_id=client[0] if client else None, client_digest=client[1] if client else None)
            hazard_id, replayed = hazard.id, False
            photos.attach_staged(session, hazard_id, staged, scope.user_id)
    return {**service.get_hazard(session, scope, hazard_id, now), "replayed": replayed}
