"""How evenly a distribution key spreads the province's households over shards and workers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridmap.sharding.citus import hashtext, shard_index, worker_of
from gridmap.sharding.province import Province


@dataclass(frozen=True)
class Spread:
    key_length: int
    keys: int
    shards: int
    workers: int
    shard_households: np.ndarray
    worker_households: np.ndarray

    @property
    def empty_shards(self) -> int:
        return int((self.shard_households == 0).sum())

    @staticmethod
    def _skew(values: np.ndarray) -> float:
        """Largest over mean: 1.0 is perfectly even; the busiest node sets the pace."""
        return float(values.max() / values.mean())

    @property
    def shard_skew(self) -> float:
        return self._skew(self.shard_households)

    @property
    def worker_skew(self) -> float:
        return self._skew(self.worker_households)


def key_shards(keys: np.ndarray, shards: int) -> np.ndarray:
    """The shard of each key, as Citus would route it."""
    return np.array([shard_index(hashtext(str(key)), shards) for key in keys], dtype=np.int64)


def spread(province: Province, key_length: int, shards: int = 32, workers: int = 4) -> Spread:
    keys, per_grid = np.unique(province.codes(key_length), return_inverse=True)
    households = np.bincount(per_grid, weights=province.households, minlength=len(keys))
    shard_of_key = key_shards(keys, shards)
    per_shard = np.bincount(shard_of_key, weights=households, minlength=shards)
    per_worker = np.bincount([worker_of(s, workers) for s in range(shards)], weights=per_shard, minlength=workers)
    return Spread(key_length, len(keys), shards, workers, per_shard, per_worker)


def balanced_worker_skew(shard_households: np.ndarray, workers: int) -> float:
    """Worker skew after Citus's rebalancer places shards by size (largest first on the lightest worker)."""
    load = np.zeros(workers)
    for size in sorted(shard_households, reverse=True):
        load[int(np.argmin(load))] += size
    return float(load.max() / load.mean())
