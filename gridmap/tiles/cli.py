"""``tile-cache-prune``: the tile cache's upkeep without a tile build (run it daily from cron)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gridmap.messages import message


@click.command("tile-cache-prune")
@with_appcontext
def tile_cache_prune_command() -> None:
    """Drop change-log rows older than a day and the cached tiles that may not have seen them."""
    from gridmap.db import transaction
    from gridmap.tiles.cache import upkeep

    with transaction(current_app.extensions["gridmap.db"].session()) as session:
        gone = upkeep(session)
    click.echo(message("tile_cache_pruned", count=gone))
