"""``duty-sweep``: record every 报到 past its deadline in its item's history (run it from cron,
e.g. every 15 minutes; reads compute overdue by themselves)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gridmap.messages import message


@click.command("duty-sweep")
@with_appcontext
def duty_sweep_command() -> None:
    """Escalate departments' overdue 报到 into the items' history (once each)."""
    from gridmap.departments.service import sweep_overdue

    count = sweep_overdue(current_app.extensions["gridmap.db"].session())
    click.echo(message("duty_swept", count=count))
