"""What a grid's pages show, gathered from the services that own it: the party service's
sheet (households masked for the viewer, unmasked reads audited, a party member sees only
their own households), the grid's open hazards and its key places, shifted for the basemap.
Plain data out; the pages hand it to the map builder or the print template."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.apidoc import may_call
from gridmap.auth.scope import Scope
from gridmap.hazards.views import open_hazards_of_grid
from gridmap.maps.display import for_basemap
from gridmap.party.service import grid_sheet
from gridmap.places.service import list_key_places
from gridmap.printing import handbook

EMPTY = {"type": "FeatureCollection", "features": []}


def _open_hazards(session: Session, scope: Scope, code: str, tiles: str | None) -> dict:
    """Open hazards of the grid (not closed or rejected) for the map's hazard layer: none for a
    role the hazard API refuses (a party member), so the page shows no more than the API."""
    if not may_call("GET", "/hazards", scope.role):
        return EMPTY
    return for_basemap(open_hazards_of_grid(session, scope, code), tiles)


def minqing_data(session: Session, scope: Scope, code: str, *, action: str, unmask: bool, tiles: str | None,
                 public: bool = False) -> dict[str, Any]:
    """The grid's 民情地图 layers and counts; ``public`` masks households whatever the viewer
    may see (a wall map: see party.service.grid_sheet)."""
    sheet = grid_sheet(session, scope, code, unmask=unmask, action=action, public=public)
    hazards = _open_hazards(session, scope, code, tiles)
    places = for_basemap(list_key_places(session, scope, code), tiles)
    return {
        "grid": for_basemap({"type": "FeatureCollection", "features": [sheet["grid"]]}, tiles)["features"][0],
        "households": for_basemap(sheet["households"], tiles), "members": for_basemap(sheet["members"], tiles),
        "hazards": hazards, "key_places": places, "masked": sheet["masked"],
        "counts": {"members": len(sheet["members"]["features"]), "hazards": len(hazards["features"]),
                   "places": len(places["features"])},
    }


def handbook_data(session: Session, scope: Scope, code: str, *, unmask: bool) -> dict[str, Any]:
    """The contact handbook's and party-member cards' content."""
    sheet = grid_sheet(session, scope, code, unmask=unmask, action="grid_handbook")
    return {
        "grid": sheet["grid"]["properties"], "staff": sheet["staff"], "masked": sheet["masked"],
        "buildings": handbook.buildings(sheet["households"]),
        "cards": handbook.cards(sheet["households"], sheet["members"]),
        "households": len(sheet["households"]["features"]),
        "key_places": [f["properties"] for f in list_key_places(session, scope, code)["features"]],
    }
