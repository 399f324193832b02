"""docs/shard-sim.txt is what ``scripts/gridmap shard-sim`` prints for today's API operations."""

from __future__ import annotations

from pathlib import Path

from gridmap.sharding.cli import shard_sim_command

DOC = Path(__file__).resolve().parents[2] / "docs" / "shard-sim.txt"


def test_stored_simulation_output_is_current(app):
    result = app.test_cli_runner().invoke(shard_sim_command, [])
    assert result.exit_code == 0, result.output
    assert result.output == DOC.read_text(encoding="utf-8"), (
        "the API's operations changed: run `scripts/gridmap shard-sim > docs/shard-sim.txt`")
