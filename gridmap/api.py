"""Mount every JSON blueprint under /api/v1 (OGC API – Features under /ogc, the vector tiles at
the root) and serve the generated OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from gridmap.apidoc import API_PREFIX, AreaCodeConverter, build_openapi

spec_bp = Blueprint("openapi", __name__)


@spec_bp.get("/openapi.json")
def openapi():
    return jsonify(build_openapi())


def api_blueprints() -> tuple[Blueprint, ...]:
    """Every JSON blueprint; importing them registers their operations (gridmap.apidoc)."""
    from gridmap.accounts.api import bp as accounts_bp
    from gridmap.addresses.api import bp as addresses_bp
    from gridmap.areas.api import bp as areas_bp
    from gridmap.departments.api import bp as departments_bp
    from gridmap.handover.api import bp as handover_bp
    from gridmap.hazard_stats.api import bp as hazard_stats_bp
    from gridmap.hazards.api import bp as hazards_bp
    from gridmap.households.api import bp as households_bp
    from gridmap.households.edit_api import bp as household_edits_bp
    from gridmap.imports.api import bp as imports_bp
    from gridmap.inbox.api import bp as inbox_bp
    from gridmap.ogc.api import bp as ogc_bp
    from gridmap.party.api import bp as party_bp
    from gridmap.party.visits_api import bp as party_visits_bp
    from gridmap.patrol.api import bp as patrol_bp
    from gridmap.patrol_plan.api import bp as patrol_plan_bp
    from gridmap.places.api import bp as places_bp
    from gridmap.planning.api import bp as planning_bp
    from gridmap.public.api import bp as public_bp
    from gridmap.tiles.api import bp as tiles_bp

    return (accounts_bp, areas_bp, households_bp, household_edits_bp, imports_bp, party_bp, party_visits_bp, places_bp,
            patrol_bp, patrol_plan_bp, hazards_bp, hazard_stats_bp, planning_bp, addresses_bp, public_bp, inbox_bp,
            spec_bp, ogc_bp, tiles_bp, handover_bp, departments_bp)


def register_api(app: Flask) -> None:
    app.url_map.converters["code"] = AreaCodeConverter
    from gridmap.ogc.api import PREFIX as OGC_PREFIX
    from gridmap.tiles.api import TILES_PREFIX

    # Mounted elsewhere than /api/v1: OGC API – Features (QGIS, GDAL) and the vector tiles.
    mounts = {"ogc": OGC_PREFIX, "tiles": TILES_PREFIX}
    for bp in api_blueprints():
        app.register_blueprint(bp, url_prefix=mounts.get(bp.name, API_PREFIX))
