"""``shard-sim``: print how a province would spread over a Citus cluster (docs/scaling.md)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("shard-sim")
@with_appcontext
@click.option("--cities", default=16, show_default=True, help="Cities in the synthetic province.")
@click.option("--shards", default=32, show_default=True, help="Shards per distributed table (Citus's default is 32).")
@click.option("--seed", default=20260101, show_default=True, help="Seed of the synthetic province.")
def shard_sim_command(cities: int, shards: int, seed: int) -> None:
    """Simulate Citus's hash placement of a province's codes; print skew and single-shard share of the API."""
    from gridmap.apidoc import OPERATIONS
    from gridmap.sharding.province import synthetic_province
    from gridmap.sharding.report import report

    click.echo(report(synthetic_province(cities, seed), OPERATIONS, shards, seed), nl=False)
