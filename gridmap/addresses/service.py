"""Address search (地址检索): household and key-place addresses matching a typed text, by
substring or trigram word similarity (``pg_trgm``; GIN indexes on both address columns).

Staff search their scope and see where each address is (kind, grid, point, a household's code or
a key place's name) but no person; the public form searches one grid and gets only distinct
address texts and a point."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from gridmap.areas.models import Grid
from gridmap.auth.scope import Scope
from gridmap.households.models import Household
from gridmap.places.models import KeyPlace


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matches(text: str, grid_filter) -> Any:
    """Both sources as one subquery: kind, ref, name, address, grid code, lon, lat, score."""
    pattern = _like(text)

    def part(model, kind: str, ref, name, *extra):
        score = func.word_similarity(text, model.address)
        return (select(literal(kind).label("kind"), ref.label("ref"), name.label("name"),
                       model.address.label("address"), Grid.code.label("grid_code"),
                       func.ST_X(model.geom).label("lon"), func.ST_Y(model.geom).label("lat"), score.label("score"))
                .join(Grid, Grid.id == model.grid_id)
                .where(grid_filter, model.address != "", *extra,
                       model.address.ilike(pattern) | model.address.op("%>")(text)))

    households = part(Household, "household", Household.code, literal(None), Household.status == "active")
    places = part(KeyPlace, "key_place", func.cast(KeyPlace.id, Household.code.type), KeyPlace.name)
    return union_all(households, places).subquery()


def search(session: Session, scope: Scope, text: str, *, within: str | None = None,
           limit: int = 20) -> dict[str, Any]:
    """Addresses in the caller's area (narrowed by ``within``), best match first."""
    found = _matches(text.strip(), scope.where(Grid.code, within))
    rows = session.execute(select(found).order_by(found.c.score.desc(), found.c.address).limit(limit)).all()
    items = [{"kind": r.kind, "ref": r.ref, "name": r.name, "address": r.address, "grid": r.grid_code,
              "lon": round(r.lon, 7), "lat": round(r.lat, 7)} for r in rows]
    return {"items": items, "total": len(items)}


def search_grid(session: Session, grid_code: str, text: str, limit: int = 10) -> dict[str, Any]:
    """The public form's search: one grid's distinct addresses and a point of each, nothing else."""
    found = _matches(text.strip(), Grid.code == grid_code)
    best = (select(found.c.address, func.max(found.c.score).label("score"), func.min(found.c.lon).label("lon"),
                   func.min(found.c.lat).label("lat")).group_by(found.c.address).subquery())
    rows = session.execute(select(best).order_by(best.c.score.desc(), best.c.address).limit(limit)).all()
    items = [{"address": r.address, "lon": round(r.lon, 7), "lat": round(r.lat, 7)} for r in rows]
    return {"items": items, "total": len(items)}
