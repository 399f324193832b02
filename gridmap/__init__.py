"""gridmap: grid-based community governance (网格化管理) on Flask and PostGIS."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from gridmap.config import Settings
from gridmap.db import Database

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None) -> Flask:
    """Assemble the app: settings, database, error handling, blueprints, CLI."""
    settings = settings or Settings()
    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.update(settings.to_flask())
    app.config["GRIDMAP"] = settings
    app.json.ensure_ascii = False
    app.extensions["gridmap.db"] = Database(settings.database_url)

    from gridmap import web
    from gridmap.labels import label, labels
    web.install(app)
    app.add_template_filter(label, "label")
    app.add_template_global(labels, "labels")

    from gridmap.api import register_api
    from gridmap.pages import register_pages
    register_api(app)
    register_pages(app)

    from gridmap.cli import register_cli
    register_cli(app)
    return app
