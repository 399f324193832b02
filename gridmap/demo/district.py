"""The demo district: the urban core of Lishui 莲都区 (331102), pure geometry, no DB.

The polygons are made up but plausible: an irregular outline of ~40 km² around the city
centre (119.92°E, 28.45°N), cut into the six real streets (街道) of 莲都区, each street
into 4–6 communities (社区) and each community into 2–5 grids (网格). Community names
and road names are typical of Lishui; the boundaries are not the official ones.

How the polygons tile without gaps or overlaps: one Voronoi diagram of a jittered
60 m lattice covers the outline; every cell gets a street, a community and a grid label
(nearest seed in a smoothly warped plane, so borders wander like real ones), stray
fragments are merged into a neighbour, and each grid is the union of its cells. The
grids form a coverage, simplified as a coverage (``shapely.coverage_simplify``) so
shared borders stay shared; communities, streets and the district are coverage unions of
their grids. Work is done in CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549,
metres) and the result is transformed to EPSG:4326. Fixed seeds: the output is identical
on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

DISTRICT_CODE = "331102"
DISTRICT_NAME = "莲都区"
CITY_PREFIX = "丽水市莲都区"
CENTRE_LONLAT = (119.92, 28.45)
METRIC_CRS = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
TARGET_AREA_M2 = 40e6
LATTICE_M = 60.0
SIMPLIFY_M = 20.0
SEED = 331102
# The street, community and grid the demo's street/community supervisors and grid worker look after.
FEATURED_STREET = "331102003"  # 万象街道
FEATURED_COMMUNITY = "331102003001"  # 府前社区
FEATURED_GRID = "331102003001001"  # 府前社区第1网格


@dataclass(frozen=True)
class StreetPlan:
    code: str
    name: str
    seed_xy: tuple[float, float]  # metres east/north of the centre
    grid_area_km2: float  # the usual size of one grid here (denser streets: smaller grids)
    communities: tuple[str, ...]
    roads: tuple[str, ...]


STREETS: tuple[StreetPlan, ...] = (
    StreetPlan("331102001", "紫金街道", (1900.0, -1600.0), 0.45,
               ("紫金社区", "下河社区", "花园社区", "灯塔社区", "大洋社区"),
               ("紫金路", "花园路", "灯塔街", "大洋路", "下河街", "囿山路")),
    StreetPlan("331102002", "岩泉街道", (3400.0, 900.0), 0.45,
               ("岩泉社区", "丽青社区", "三岩社区", "中岸社区", "水东社区"),
               ("岩泉街", "丽青路", "三岩寺路", "括苍路", "中东路", "好溪路")),
    StreetPlan("331102003", "万象街道", (-800.0, 300.0), 0.30,
               ("府前社区", "中山社区", "丽阳社区", "天宁社区", "应星社区", "万象社区"),
               ("中山街", "丽阳街", "解放街", "大众街", "府前路", "继光街", "应星街", "人民街")),
    StreetPlan("331102004", "白云街道", (500.0, 2100.0), 0.55,
               ("城北社区", "白云社区", "北苑社区", "万地社区"),
               ("城北街", "北苑路", "白云路", "万地路", "学院路")),
    StreetPlan("331102005", "联城街道", (-3900.0, -200.0), 0.6,
               ("联城社区", "水阁社区", "下沙社区", "新亭社区"),
               ("联城路", "水阁路", "丽沙路", "新亭路", "绿谷大道")),
    StreetPlan("331102006", "南明山街道", (-400.0, -2000.0), 0.55,
               ("南明社区", "沙溪社区", "富岭社区", "厦河社区"),
               ("南明路", "沙溪路", "富岭路", "丽浙路", "滨江路")),
)


@dataclass
class Area:
    """A district, street or community (``admin_unit``)."""

    code: str
    name: str
    level: str
    parent_code: str | None
    geom: BaseGeometry  # MultiPolygon, EPSG:4326
    metric: BaseGeometry  # the same in EPSG:4549 metres (relative to the centre)


@dataclass
class GridArea:
    code: str
    name: str
    community_code: str
    number: int  # 1-based within the community
    geom: BaseGeometry  # MultiPolygon, EPSG:4326
    metric: BaseGeometry


@dataclass
class District:
    areas: list[Area]
    grids: list[GridArea]
    origin: tuple[float, float]  # the centre in EPSG:4549
    streets: dict[str, StreetPlan] = field(default_factory=dict)

    @cached_property
    def by_code(self) -> dict[str, Area]:
        return {area.code: area for area in self.areas}

    @property
    def district(self) -> Area:
        return self.by_code[DISTRICT_CODE]

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Local metres (N×2) → lon/lat (N×2)."""
        return _to_lonlat(xy, self.origin)

    def to_metric(self, lonlat: np.ndarray) -> np.ndarray:
        """Lon/lat (N×2) → local metres (N×2), the inverse of ``to_lonlat``."""
        x, y = _FORWARD.transform(lonlat[:, 0], lonlat[:, 1])
        return np.column_stack([np.asarray(x) - self.origin[0], np.asarray(y) - self.origin[1]])


_FORWARD = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_INVERSE = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def _to_lonlat(xy: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    lon, lat = _INVERSE.transform(xy[:, 0] + origin[0], xy[:, 1] + origin[1])
    return np.column_stack([lon, lat])


# --- shapes ---------------------------------------------------------------------------

def _outline(rng: np.random.Generator) -> BaseGeometry:
    """An irregular blob elongated along the river valley (WSW–ENE), ``TARGET_AREA_M2``."""
    theta = np.linspace(0.0, 2 * np.pi, 240, endpoint=False)
    radius = np.ones_like(theta)
    for harmonic, amplitude in ((2, 0.12), (3, 0.09), (4, 0.05), (6, 0.045), (9, 0.03), (13, 0.018), (19, 0.01)):
        radius += amplitude * np.sin(harmonic * theta + rng.uniform(0, 2 * np.pi))
    x, y = 1.35 * radius * np.cos(theta), 0.85 * radius * np.sin(theta)
    turn = np.deg2rad(12.0)
    x, y = x * np.cos(turn) - y * np.sin(turn), x * np.sin(turn) + y * np.cos(turn)
    shape = shapely.Polygon(np.column_stack([x, y]))
    scale = np.sqrt(TARGET_AREA_M2 / shape.area)
    return shapely.Polygon(np.column_stack([x * scale, y * scale]))


def _warp(xy: np.ndarray, rng: np.random.Generator, wavelength: float) -> np.ndarray:
    """A smooth displacement field (a homeomorphism: total |A·k| < 1) so that nearest-seed
    regions get wandering but connected borders."""
    out = xy.copy()
    waves = 3
    amplitude = wavelength / 9.0 / waves
    for _ in range(waves):
        a, b, phase = rng.uniform(0, 2 * np.pi, 3)
        k = 2 * np.pi / (wavelength * rng.uniform(0.8, 1.25))
        along = xy @ np.array([np.cos(a), np.sin(a)])
        out += (amplitude * np.sin(k * along + phase))[:, None] * np.array([np.cos(b), np.sin(b)])
    return out


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, rounds: int = 25) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; labels ordered north→south, west→east."""
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(points[rng.choice(len(points), p=d2 / d2.sum())])
    c = np.array(centres)
    for _ in range(rounds):
        labels = np.argmin(((points[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        c = np.array([points[labels == i].mean(axis=0) if np.any(labels == i) else c[i] for i in range(k)])
    labels = np.argmin(((points[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    # Reading order: bands of ~700 m from the north, west to east within a band.
    order = sorted(range(k), key=lambda i: (-np.floor(c[i, 1] / 700.0), c[i, 0]))
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return rank[labels]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components (min-label hooking with pointer jumping)."""
    comp = np.arange(n)
    while True:
        low = np.minimum(comp[a], comp[b])
        new = comp.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, comp):
            return comp
        comp = new


def _merge_fragments(labels: np.ndarray, parents: np.ndarray, edges: tuple[np.ndarray, np.ndarray, np.ndarray],
                     areas: np.ndarray) -> np.ndarray:
    """Give every detached piece of a label to the neighbouring label (same parent) it
    shares most border with, so each label is one connected piece where possible."""
    a, b, shared = edges
    labels = labels.copy()
    for _ in range(8):
        same = labels[a] == labels[b]
        comp = _components(len(labels), a[same], b[same])
        comp_area = np.bincount(comp, weights=areas, minlength=len(labels))
        main: dict[int, int] = {}
        for c in np.unique(comp):
            lab = int(labels[c])
            if lab not in main or comp_area[c] > comp_area[main[lab]]:
                main[lab] = int(c)
        stray = np.array([main[int(lab)] != c for lab, c in zip(labels, comp, strict=True)])
        if not stray.any():
            break
        changed = False
        for c in np.unique(comp[stray]):
            members = comp == c
            border = (members[a] & ~members[b]) | (members[b] & ~members[a])
            inside = np.where(members[a], a, b)[border]
            outside = np.where(members[a], b, a)[border]
            ok = parents[outside] == parents[inside]
            if not ok.any():
                continue
            votes: dict[int, float] = {}
            for lab, w in zip(labels[outside[ok]], shared[border][ok], strict=True):
                votes[int(lab)] = votes.get(int(lab), 0.0) + float(w)
            labels[members] = max(sorted(votes), key=votes.__getitem__)
            changed = True
        if not changed:
            break
    return labels


def _as_multipolygon(geom: BaseGeometry) -> BaseGeometry:
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polygons = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not polygons:  # a GeometryCollection holding a MultiPolygon
        polygons = [p for part in shapely.get_parts(geom) for p in shapely.get_parts(part)
                    if p.geom_type == "Polygon"]
    return shapely.MultiPolygon(polygons)


def build_district(seed: int = SEED) -> District:
    rng = np.random.default_rng(seed)
    outline = _outline(rng)

    # A jittered lattice and its Voronoi cells, clipped to the outline.
    minx, miny, maxx, maxy = outline.buffer(LATTICE_M).bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, LATTICE_M), np.arange(miny, maxy, LATTICE_M))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts += rng.uniform(-0.35, 0.35, pts.shape) * LATTICE_M
    pts = pts[shapely.contains_xy(outline.buffer(LATTICE_M), pts[:, 0], pts[:, 1])]
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=outline.buffer(4 * LATTICE_M), ordered=True))
    cells = shapely.intersection(cells, outline)
    keep = shapely.area(cells) > 1.0
    cells, pts = cells[keep], pts[keep]
    areas = shapely.area(cells)

    tree = shapely.STRtree(cells)
    pair = tree.query(cells, predicate="intersects")
    pair = pair[:, pair[0] < pair[1]]
    shared = shapely.length(shapely.intersection(cells[pair[0]], cells[pair[1]]))
    touch = shared > 1.0
    edges = (pair[0][touch], pair[1][touch], shared[touch])
    nothing = np.zeros(len(cells), dtype=int)

    # Streets: the nearest street seed in a gently warped plane.
    warped = _warp(_warp(pts, rng, 2600.0), rng, 900.0)
    seeds = np.array([s.seed_xy for s in STREETS])
    street = np.argmin(((warped[:, None, :] - seeds[None]) ** 2).sum(-1), axis=1)
    street = _merge_fragments(street, nothing, edges, areas)

    # Communities: k-means inside each street.
    warped = _warp(_warp(pts, rng, 1300.0), rng, 500.0)
    community = np.zeros(len(cells), dtype=int)
    for s, plan in enumerate(STREETS):
        idx = np.flatnonzero(street == s)
        community[idx] = s * 100 + _kmeans(warped[idx], len(plan.communities), rng)
    community = _merge_fragments(community, street, edges, areas)

    # Grids: k-means inside each community, 2–5 grids of about the street's usual size.
    warped = _warp(pts, rng, 700.0)
    grid = np.zeros(len(cells), dtype=int)
    for c in np.unique(community):
        idx = np.flatnonzero(community == c)
        plan = STREETS[c // 100]
        k = int(np.clip(round(areas[idx].sum() / 1e6 / plan.grid_area_km2), 2, 5))
        grid[idx] = c * 100 + _kmeans(warped[idx], k, rng)
    grid = _merge_fragments(grid, community, edges, areas)

    # Polygons: grids as unions of cells, simplified together as a coverage.
    grid_labels = np.unique(grid)
    grid_metric = np.array([shapely.union_all(cells[grid == g]) for g in grid_labels])
    grid_metric = shapely.coverage_simplify(grid_metric, SIMPLIFY_M)
    grid_metric = np.array([_as_multipolygon(g) for g in grid_metric])

    origin = _FORWARD.transform(*CENTRE_LONLAT)

    def lonlat(geoms: np.ndarray) -> list[BaseGeometry]:
        out = shapely.transform(geoms, lambda xy: _to_lonlat(xy, origin))
        return [_as_multipolygon(g) for g in out]

    areas_out: list[Area] = []
    grids_out: list[GridArea] = []
    community_metric: list[BaseGeometry] = []
    community_rows: list[tuple[str, str, str]] = []
    street_metric: list[BaseGeometry] = []
    grid_lonlat = lonlat(grid_metric)
    labels_by_community: dict[int, list[int]] = {}
    for i, g in enumerate(grid_labels):
        labels_by_community.setdefault(int(g) // 100, []).append(i)
    for s, plan in enumerate(STREETS):
        parts = []
        for local in range(len(plan.communities)):
            c = s * 100 + local
            members = labels_by_community.get(c)
            if not members:
                raise RuntimeError(f"demo community {plan.name}/{local} got no cells")
            code = f"{plan.code}{local + 1:03d}"
            name = plan.communities[local]
            merged = _as_multipolygon(shapely.coverage_union_all(grid_metric[members]))
            community_metric.append(merged)
            community_rows.append((code, name, plan.code))
            parts.append(merged)
            for number, i in enumerate(members, start=1):
                grids_out.append(GridArea(code=f"{code}{number:03d}", name=f"{name}第{number}网格",
                                          community_code=code, number=number, geom=grid_lonlat[i],
                                          metric=grid_metric[i]))
        street_metric.append(_as_multipolygon(shapely.coverage_union_all(parts)))
    district_metric = _as_multipolygon(shapely.coverage_union_all(street_metric))

    district_ll, = lonlat(np.array([district_metric]))
    areas_out.append(Area(DISTRICT_CODE, DISTRICT_NAME, "district", None, district_ll, district_metric))
    for plan, metric, geom in zip(STREETS, street_metric, lonlat(np.array(street_metric)), strict=True):
        areas_out.append(Area(plan.code, plan.name, "street", DISTRICT_CODE, geom, metric))
    for (code, name, parent), metric, geom in zip(community_rows, community_metric,
                                                  lonlat(np.array(community_metric)), strict=True):
        areas_out.append(Area(code, name, "community", parent, geom, metric))
    return District(areas=areas_out, grids=grids_out, origin=origin,
                    streets={plan.code: plan for plan in STREETS})
