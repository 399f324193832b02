"""A province-sized synthetic tree of area codes with households per grid (deterministic).

Shaped like a large province (Shandong's 16 cities): a city has 5–12 districts, a district a
log-normal number of streets (a dense urban district has many, a rural county few), a street
5–15 communities, a community 1–8 grids of 300–500 households. Codes follow the official
layout (city 4 digits, district 6, street 9, community 12, grid 15).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROVINCE = "37"


@dataclass(frozen=True)
class Province:
    """One row per grid: its codes at every level and its households."""

    grid: np.ndarray
    households: np.ndarray

    def codes(self, length: int) -> np.ndarray:
        """Each grid's area code at a level: 4 city, 6 district, 9 street, 12 community, 15 grid."""
        return self.grid.astype(f"<U{length}")


def synthetic_province(cities: int = 16, seed: int = 20260101) -> Province:
    rng = np.random.default_rng(seed)
    grids: list[str] = []
    for city in range(1, cities + 1):
        city_code = f"{PROVINCE}{city:02d}"
        for district in range(1, int(rng.integers(5, 13)) + 1):
            streets = int(np.clip(rng.lognormal(mean=2.4, sigma=0.55), 4, 60))
            for street in range(1, streets + 1):
                for community in range(1, int(rng.integers(5, 16)) + 1):
                    prefix = f"{city_code}{district:02d}{street:03d}{community:03d}"
                    grids.extend(f"{prefix}{grid:03d}" for grid in range(1, int(rng.integers(1, 9)) + 1))
    codes = np.array(grids)
    return Province(grid=codes, households=rng.integers(300, 501, size=len(codes)))
