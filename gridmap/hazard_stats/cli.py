"""``hazard-heatmap-refresh``: rebuild the heatmap's aggregates after a bulk load or for a repair."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gridmap.messages import message


@click.command("hazard-heatmap-refresh")
@with_appcontext
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=message("cli_help_since_day"))
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help=message("cli_help_until_day"))
def heatmap_refresh_command(since, until) -> None:
    """Rebuild the heatmap's daily cells and zoom pyramid for [SINCE, UNTIL) from the hazards (after bulk loads)."""
    from gridmap.hazard_stats.refresh import refresh_daily, refresh_rollup

    session = current_app.extensions["gridmap.db"].session()
    first, end = (since.date() if since else None), (until.date() if until else None)
    try:
        daily = refresh_daily(session, first, end)
        pyramid = refresh_rollup(session, first, end)
    finally:
        session.close()
    click.echo(message("heatmap_refreshed", cells=daily["cells"], deleted=daily["deleted"], rows=pyramid["rows"]))
