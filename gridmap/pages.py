"""Mount the HTML page blueprints (Chinese UI)."""

from __future__ import annotations

from flask import Flask


def register_pages(app: Flask) -> None:
    from gridmap.auth.pages import bp as auth_pages
    from gridmap.hazards.pages import bp as hazard_pages
    from gridmap.maps.grid_pages import bp as grid_pages
    from gridmap.maps.pages import bp as map_pages
    from gridmap.patrol.pages import bp as patrol_pages
    from gridmap.planning.pages import bp as planning_pages

    for bp in (auth_pages, map_pages, hazard_pages, patrol_pages, grid_pages, planning_pages):
        app.register_blueprint(bp)
