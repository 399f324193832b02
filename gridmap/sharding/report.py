"""The simulation's printed report (kept in docs/shard-sim.txt; a test checks it is current)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gridmap.sharding.province import Province
from gridmap.sharding.queries import OperationLike, caller_shares, weighted_single_share
from gridmap.sharding.skew import balanced_worker_skew, spread

KEYS = (("district", 6), ("street", 9), ("community", 12))
WORKER_COUNTS = (2, 4, 8)


def report(province: Province, operations: Iterable[OperationLike], shards: int = 32, seed: int = 0) -> str:
    ops = list(operations)
    levels = {name: len(np.unique(province.codes(length))) for name, length in
              (("cities", 4), ("districts", 6), ("streets", 9), ("communities", 12))}
    lines = [f"Citus hash distribution into {shards} shards, simulated (gridmap.sharding; seed {seed})",
             "province: " + ", ".join(f"{count:,} {name}" for name, count in levels.items())
             + f", {len(province.grid):,} grids, {int(province.households.sum()):,} households", "",
             "households per shard and per worker, busiest / mean (1.00 = even)",
             f"{'key':<16}{'keys':>7}{'shard':>8}" + "".join(f"{f'{w} rr':>8}{f'{w} size':>9}" for w in WORKER_COUNTS)]
    for name, length in KEYS:
        row = f"{f'{name} ({length})':<16}{len(np.unique(province.codes(length))):>7,}"
        first = spread(province, length, shards, WORKER_COUNTS[0])
        row += f"{first.shard_skew:>8.2f}"
        for workers in WORKER_COUNTS:
            placed = spread(province, length, shards, workers)
            row += f"{placed.worker_skew:>8.2f}{balanced_worker_skew(placed.shard_households, workers):>9.2f}"
        lines.append(row)
    lines += ["(rr: shards placed round-robin, as Citus creates them; size: after rebalance_table_shards by size)", ""]
    for name, length in KEYS[:2]:
        shares = caller_shares(ops, province, length, shards)
        lines += [f"API operations ({len(ops)}) by caller, distribution key {name} ({length} digits)",
                  f"{'caller':<22}{'area':>5}{'ops':>5}{'1 shard':>9}{'shards/call':>13}{'requests/day':>14}"]
        for share in shares:
            lines.append(f"{share.caller.name:<22}{share.caller.scope_length:>5}{share.operations:>5}"
                         f"{share.single:>9}{share.mean_shards:>13.2f}{share.caller.requests:>14,}")
        lines += [f"a day's requests that touch at most one shard: {weighted_single_share(shares):.1%}", ""]
    return "\n".join(lines).rstrip() + "\n"
