"""gridmap: grid-based community governance (网格化管理) on Flask and PostGIS."""

from __future__ import annotations

from flask import Flask

from gridmap.config import STATIC_DIR, Settings
from gridmap.db import Database


def create_app(settings: Settings | None = None) -> Flask:
    """Assemble the app: settings, database, error handling, blueprints, CLI."""
    settings = settings or Settings()
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config.update(settings.to_flask())
    app.config["GRIDMAP"] = settings
    app.json.ensure_ascii = False
    app.extensions["gridmap.db"] = Database(settings.database_url,
                                              statement_cache=settings.db_pool_mode == "session",
                                              replica_url=settings.database_replica_url,
                                              replica_max_lag_s=settings.replica_max_lag_s)

    from gridmap import web
    from gridmap.labels import label, labels
    from gridmap.navigation import inbox_badge, navigation
    web.install(app)
    app.add_template_global(navigation, "navigation")
    app.add_template_global(inbox_badge, "inbox_badge")
    app.add_template_filter(label, "label")
    app.add_template_global(labels, "labels")

    from gridmap.api import register_api
    from gridmap.site import register_pages
    register_api(app)
    register_pages(app)

    from gridmap.cli import register_cli
    register_cli(app)
    return app
