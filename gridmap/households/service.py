"""Reading households: a grid's list (masked by role, unmasked reads audited), and
the households that lie outside every grid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from gridmap.areas.models import AdminUnit
from gridmap.areas.service import grid_id_for
from gridmap.auth import audit
from gridmap.auth.masking import MASKED_TAG, SENSITIVE_TAGS, household_person, sees_unmasked, shows_masked_tag
from gridmap.auth.scope import Scope
from gridmap.db import transaction
from gridmap.errors import Forbidden
from gridmap.households.models import Household

# Who looks after which household: gridmap.party owns the table (party imports households, so
# households reads the table, not the model) for a party member's own-contacts scope.
_party_contact = table("party_contact", column("household_id"), column("party_member_id"))


def household_json(h: Household, lon: float, lat: float, unmasked: bool) -> dict[str, Any]:
    """A household as the API shows it: name, phone, sensitive tags and risk level masked unless ``unmasked``."""
    return {
        "code": h.code, "address": h.address, "lon": lon, "lat": lat, "size": h.size,
        **household_person(h.tags, h.head_name, h.phone, h.risk_level, unmasked=unmasked), "masked": not unmasked,
    }


def grid_households(session: Session, scope: Scope, grid_code: str, *, unmask: bool, tag: str | None,
                    limit: int, offset: int) -> dict[str, Any]:
    grid_id = grid_id_for(session, scope, grid_code)
    unmasked = sees_unmasked(scope, unmask)
    if tag in SENSITIVE_TAGS and not unmasked:
        raise Forbidden("forbidden")  # the filter alone would tell who carries the tag
    conditions = [Household.grid_id == grid_id]
    if scope.is_party_member:
        conditions.append(Household.id.in_(
            select(_party_contact.c.household_id)
            .where(_party_contact.c.party_member_id == scope.party_member_id)))
    if tag == MASKED_TAG and not unmasked:
        # what a masked viewer sees as 重点人员: any sensitive tag (the list and the grid's counts agree)
        conditions.append(shows_masked_tag(Household.tags))
    elif tag:
        conditions.append(Household.tags.any(tag))
    total = session.scalar(select(func.count()).select_from(Household).where(*conditions))
    rows = session.execute(
        select(Household, func.ST_X(Household.geom), func.ST_Y(Household.geom))
        .where(*conditions).order_by(Household.address, Household.code).limit(limit).offset(offset)
    ).all()
    items = [household_json(h, lon, lat, unmasked) for h, lon, lat in rows]
    if unmasked and items:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "grid_households", grid_code,
                         {"households": [i["code"] for i in items], "count": len(items)})
    return {"items": items, "total": total, "masked": not unmasked}


def outside_households(session: Session, scope: Scope, within: str | None, limit: int,
                       offset: int) -> dict[str, Any]:
    """Households no grid covers, inside the caller's area (its boundary decides)."""
    prefix = scope.narrow(within)
    conditions = [Household.grid_id.is_(None)]
    if prefix is None:
        return {"items": [], "total": 0, "masked": True}
    if prefix:
        area = select(AdminUnit.geom).where(AdminUnit.code == prefix[:12]).scalar_subquery()
        conditions.append(func.ST_Intersects(area, Household.geom))
    total = session.scalar(select(func.count()).select_from(Household).where(*conditions))
    rows = session.execute(
        select(Household, func.ST_X(Household.geom), func.ST_Y(Household.geom))
        .where(*conditions).order_by(Household.code).limit(limit).offset(offset)
    ).all()
    return {"items": [household_json(h, lon, lat, False) for h, lon, lat in rows], "total": total,
            "masked": True}
