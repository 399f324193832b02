"""Address search (地址检索): household and key-place addresses matching a typed text, by
substring or trigram word similarity (``pg_trgm``; GIN indexes on both address columns).

Staff search their scope and see where each address is (kind, grid, point, a household's code or
a key place's name) but no person; the public form searches one grid and gets only door plates (building or
house number, never the unit or room) and a point."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from gridmap.addresses.parts import door_plate
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


_GRID_ADDRESSES = """
SELECT h.address, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat FROM household h JOIN grid g ON g.id = h.grid_id
 WHERE g.code = :grid AND h.status = 'active' AND h.address <> ''
UNION ALL
SELECT p.address, ST_X(p.geom), ST_Y(p.geom) FROM key_place p JOIN grid g ON g.id = p.grid_id
 WHERE g.code = :grid AND p.address <> ''
"""
_RANK_PLATES = """
SELECT plate FROM unnest(CAST(:plates AS text[])) AS plate
 WHERE plate ILIKE :pattern OR plate %> :text
 ORDER BY word_similarity(:text, plate) DESC, plate LIMIT :limit
"""


def search_grid(session: Session, grid_code: str, text: str, limit: int = 10) -> dict[str, Any]:
    """The public form's search: one grid's door plates (a building, or a street and house number)
    matching the text, each at the middle of what it holds. Never a unit or room, nor one
    household's point, and the unit typed does not change what is found: nobody learns which
    flats are lived in, or where."""
    points: dict[str, list[tuple[float, float]]] = {}
    for row in session.execute(sql_text(_GRID_ADDRESSES), {"grid": grid_code}):
        plate = door_plate(row.address)
        if plate:
            points.setdefault(plate, []).append((row.lon, row.lat))
    query = door_plate(text) or text.strip()  # a typed unit or room is not searched for
    ranked = session.execute(sql_text(_RANK_PLATES), {"plates": list(points), "pattern": _like(query), "text": query,
                                                      "limit": limit}).scalars().all() if points else []
    items = [{"address": plate, "lon": round(sum(p[0] for p in points[plate]) / len(points[plate]), 6),
              "lat": round(sum(p[1] for p in points[plate]) / len(points[plate]), 6)} for plate in ranked]
    return {"items": items, "total": len(items)}
