"""Households and party members for the demo district, pure data, no DB.

Households sit in residential compounds (小区): a few per grid, each a lattice of
buildings (多层 / 小高层 / 高层) or, in the older parts of 联城 and 南明山, private houses
(私房). Every flat is one household at its building's unit entrance (±3 m), with an
address like ``丽水市莲都区丽阳街128号丽景花园3幢2单元301``. Most grids hold 300–500
households; a few are deliberately under or over the target so the overview map shows
every colour, and about twenty households lie just outside the demo area (no grid).

Tags and risk levels follow the rates in ``TAG_RATES`` and ``RISK_RATES`` (the Shuifu
figures: 164 high and 267 medium among 39,783 households). Names and phones come from
Faker ``zh_CN``. Everything is seeded, so every run produces the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from faker import Faker

from gridmap.demo.district import CITY_PREFIX, FEATURED_GRID, SEED, District, GridArea

TAG_RATES = {
    "孤寡老人": 0.02,
    "留守儿童": 0.01,
    "残疾人": 0.02,
    "困难家庭": 0.015,  # plus a quarter of the disabled and the unemployed, ~2% in all
    "社区矫正": 0.001,
    "出租房": 0.065,  # 25% of private houses: ~8% in all
    "老党员": 0.02,
    "失业": 0.015,
    "重点精神障碍": 0.002,
}
RISK_RATES = {"high": 0.004, "medium": 0.007}
SIZE_WEIGHTS = (0.16, 0.28, 0.29, 0.15, 0.08, 0.04)  # 1..6 people

EMPTY = (0,)  # a newly built-up grid nobody lives in yet
UNDER = (150, 190, 240, 280)  # households in the deliberately small grids
OVER = (530, 580, 620, 660)  # and in the crowded ones
OUTSIDE = 20

CN_NUMBERS = "一二三四五六七八九十"
COMPOUND_WORDS = ("金色", "阳光", "丽景", "碧水", "锦绣", "绿城", "江滨", "书香", "幸福", "康乐", "和平", "翠竹",
                  "桂花", "枫林", "云景", "春江", "瓯江", "处州", "南城", "香樟", "玉兰", "怡和", "嘉禾", "清风")
COMPOUND_ENDINGS = ("花园", "家园", "小区", "公寓", "新村", "苑", "雅苑", "名邸", "华庭", "新城", "佳园")

# Building types: (floors range, units range, flats per floor)
BUILDINGS = {
    "多层": ((5, 7), (2, 4), 2),
    "小高层": ((11, 11), (2, 2), 2),
    "高层": ((18, 26), (1, 2), 4),
}
# Mix of compound types by street; the rest are private houses (私房).
MIX = {
    "331102003": {"多层": 0.7, "小高层": 0.2, "高层": 0.1},
    "331102005": {"多层": 0.35, "小高层": 0.15, "高层": 0.2},
    "331102006": {"多层": 0.35, "小高层": 0.15, "高层": 0.2},
}
DEFAULT_MIX = {"多层": 0.4, "小高层": 0.3, "高层": 0.3}


@dataclass
class Households:
    code: list[str] = field(default_factory=list)
    address: list[str] = field(default_factory=list)
    xy: list[np.ndarray] = field(default_factory=list)  # metres, local; see District.to_lonlat
    grid_code: list[str | None] = field(default_factory=list)
    private_house: list[bool] = field(default_factory=list)
    size: np.ndarray | None = None
    tags: list[list[str]] = field(default_factory=list)
    risk_level: list[str | None] = field(default_factory=list)
    head_name: list[str] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    lonlat: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.code)


@dataclass
class PartyMembers:
    household_code: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    branch: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.name)


@dataclass
class Residents:
    households: Households
    party_members: PartyMembers
    target: dict[str, int]  # households planned per grid code


def _sample_in(polygon, n: int, rng: np.random.Generator, centre=None, sigma: float | None = None) -> np.ndarray:
    """``n`` random points inside ``polygon`` (uniform, or Gaussian around ``centre``)."""
    minx, miny, maxx, maxy = polygon.bounds
    out = np.empty((0, 2))
    for _ in range(200):
        if centre is None:
            cand = np.column_stack([rng.uniform(minx, maxx, 4 * n + 8), rng.uniform(miny, maxy, 4 * n + 8)])
        else:
            cand = centre + rng.normal(0.0, sigma, (4 * n + 8, 2))
        out = np.vstack([out, cand[shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])]])
        if len(out) >= n:
            return out[:n]
    raise RuntimeError("could not place points inside a demo grid")


def _compound_name(rng: np.random.Generator, used: set[str]) -> str:
    for _ in range(100):
        name = str(rng.choice(COMPOUND_WORDS)) + str(rng.choice(COMPOUND_ENDINGS))
        if name not in used:
            used.add(name)
            return name
    name = f"{rng.choice(COMPOUND_WORDS)}{len(used)}号{rng.choice(COMPOUND_ENDINGS)}"
    used.add(name)
    return name


def _place_compound(out: Households, grid: GridArea, inner, kind: str, wanted: int, road: str, number: int,
                    compound: str, rng: np.random.Generator) -> None:
    centre = _sample_in(inner, 1, rng)[0]
    if kind == "私房":
        houses = int(np.ceil(wanted / 1.8))
        spots = _sample_in(inner, houses, rng, centre=centre, sigma=90.0)
        flats: list[tuple[str, np.ndarray]] = []
        for h, spot in enumerate(spots):
            door = f"{CITY_PREFIX}{road}{number + 2 * h}号"
            floors = int(rng.integers(1, 4))
            flats += [(door if floors == 1 else f"{door}{f}楼", spot) for f in range(1, floors + 1)]
    else:
        (fmin, fmax), (umin, umax), per_floor = BUILDINGS[kind]
        angle = np.deg2rad(rng.normal(0.0, 12.0))  # long side roughly east–west, facing south
        axis = np.array([np.cos(angle), np.sin(angle)])
        across = np.array([-np.sin(angle), np.cos(angle)])
        flats = []
        b = 0
        while len(flats) < wanted * 1.08 + 1:  # a few flats stand empty
            b += 1
            floors, units = int(rng.integers(fmin, fmax + 1)), int(rng.integers(umin, umax + 1))
            row, col = divmod(b - 1, 3)
            spot = centre + axis * (col - 1) * 75.0 - across * row * 40.0
            if not shapely.contains_xy(inner, *spot):
                spot = _sample_in(inner, 1, rng, centre=centre, sigma=120.0)[0]
            for u in range(1, units + 1):
                entrance = spot + axis * (u - (units + 1) / 2) * 14.0
                for f in range(1, floors + 1):
                    for r in range(1, per_floor + 1):
                        flats.append((f"{CITY_PREFIX}{road}{number}号{compound}{b}幢{u}单元{f}{r:02d}", entrance))
    chosen = np.sort(rng.choice(len(flats), size=min(wanted, len(flats)), replace=False))
    for i in chosen:
        address, spot = flats[i]
        out.address.append(address)
        out.xy.append(spot + rng.uniform(-3.0, 3.0, 2))
        out.grid_code.append(grid.code)
        out.private_house.append(kind == "私房")


def _targets(district: District, rng: np.random.Generator) -> dict[str, int]:
    codes = [g.code for g in district.grids]
    target = {code: int(rng.integers(310, 491)) for code in codes}
    odd = EMPTY + UNDER + OVER
    candidates = [c for c in codes if c != FEATURED_GRID]  # the demo grid worker's grid stays typical
    for i, n in zip(rng.choice(len(candidates), size=len(odd), replace=False), odd, strict=True):
        target[candidates[i]] = n
    return target


def build_residents(district: District, seed: int = SEED) -> Residents:
    rng = np.random.default_rng(seed + 1)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    target = _targets(district, rng)
    out = Households()
    used_names: set[str] = set()
    door_numbers: dict[str, int] = {}  # next free house number per road, so addresses are unique

    for grid in district.grids:
        street = district.streets[grid.code[:9]]
        inner = grid.metric.buffer(-30.0)
        if inner.area < 20_000:
            inner = grid.metric.buffer(-8.0)
        mix = MIX.get(street.code, DEFAULT_MIX)
        kinds = [*mix, "私房"]
        weights = np.array([*mix.values(), max(0.0, 1.0 - sum(mix.values()))])
        n = target[grid.code]
        if n == 0:
            continue
        compounds = int(np.clip(round(n / 160 + rng.uniform(-0.5, 0.5)), 1, 4))
        split = rng.multinomial(n - 40 * compounds, [1 / compounds] * compounds) + 40
        start = len(out.address)
        for wanted in split:
            kind = str(rng.choice(kinds, p=weights / weights.sum()))
            road = str(rng.choice(street.roads))
            number = door_numbers.get(road, int(rng.integers(1, 30)))
            door_numbers[road] = number + 2 * int(np.ceil(wanted / 1.8)) + 2 * int(rng.integers(1, 6))
            _place_compound(out, grid, inner, kind, int(wanted), road, number,
                            _compound_name(rng, used_names), rng)
        for i in range(start, len(out.address)):
            out.code.append(f"{grid.code}{i - start + 1:04d}")

    # A handful just outside the demo area: in no grid, coded under the nearest community.
    communities = [a for a in district.areas if a.level == "community"]
    ring = district.district.metric.buffer(250.0).difference(district.district.metric.buffer(50.0))
    spots = _sample_in(ring, OUTSIDE, rng)
    seq: dict[str, int] = {}
    for spot in spots:
        point = shapely.Point(spot)
        nearest = min(communities, key=lambda a: a.metric.distance(point))
        seq[nearest.code] = seq.get(nearest.code, 0) + 1
        road = str(rng.choice(district.streets[nearest.code[:9]].roads))
        out.code.append(f"{nearest.code}000{seq[nearest.code]:04d}")
        number = door_numbers.get(road, 1)
        door_numbers[road] = number + 2 * int(rng.integers(1, 6))
        out.address.append(f"{CITY_PREFIX}{road}{number}号")
        out.xy.append(spot)
        out.grid_code.append(None)
        out.private_house.append(True)

    _describe(out, rng, fake)
    out.lonlat = district.to_lonlat(np.array(out.xy))
    party = _party_members(district, out, rng, fake)
    return Residents(households=out, party_members=party, target=target)


def _describe(out: Households, rng: np.random.Generator, fake: Faker) -> None:
    """Sizes, tags, risk levels, names and phones."""
    n = len(out.code)
    has = {tag: rng.random(n) < rate for tag, rate in TAG_RATES.items()}
    private = np.array(out.private_house)
    has["出租房"] |= private & (rng.random(n) < 0.25)
    has["困难家庭"] |= (has["残疾人"] | has["失业"]) & (rng.random(n) < 0.25)
    has["留守儿童"] &= ~has["孤寡老人"]

    size = rng.choice(np.arange(1, 7), size=n, p=SIZE_WEIGHTS)
    size[has["孤寡老人"]] = 1
    size[has["留守儿童"]] = rng.integers(2, 4, int(has["留守儿童"].sum()))
    out.size = size

    special = has["社区矫正"] | has["重点精神障碍"]
    strained = has["困难家庭"] | has["失业"]
    p_high = 0.0025 + 0.35 * special + 0.01 * strained
    p_medium = 0.005 + 0.3 * special + 0.02 * strained
    draw = rng.random(n)
    risk = np.where(draw < p_high, "high", np.where(draw < p_high + p_medium, "medium", ""))
    out.risk_level = [r or None for r in risk.tolist()]

    names = list(TAG_RATES)
    matrix = np.column_stack([has[t] for t in names])
    out.tags = [[names[j] for j in np.flatnonzero(row)] for row in matrix]
    out.head_name = [fake.name() for _ in range(n)]
    out.phone = [fake.phone_number() for _ in range(n)]


def _party_members(district: District, out: Households, rng: np.random.Generator, fake: Faker) -> PartyMembers:
    """About one party member per ten households, living in the grid; elderly party
    members (老党员) first, their household head being the member."""
    party = PartyMembers()
    community_name = {a.code: a.name for a in district.areas if a.level == "community"}
    by_grid: dict[str, list[int]] = {}
    for i, code in enumerate(out.grid_code):
        if code is not None:
            by_grid.setdefault(code, []).append(i)
    for grid in district.grids:
        members = np.array(by_grid.get(grid.code, []))
        if len(members) == 0:
            continue
        count = max(1, round(len(members) / 10 * rng.uniform(0.85, 1.15)))
        elders = [i for i in members if "老党员" in out.tags[i]]
        others = [int(i) for i in rng.permutation(members) if "老党员" not in out.tags[i]]
        branch = f"{community_name[grid.community_code]}第{CN_NUMBERS[grid.number - 1]}党支部"
        for i in (elders + others)[:count]:
            party.household_code.append(out.code[i])
            if "老党员" in out.tags[i]:
                party.name.append(out.head_name[i])
                party.phone.append(out.phone[i])
            else:
                party.name.append(fake.name())
                party.phone.append(fake.phone_number())
            party.branch.append(branch)
    return party
