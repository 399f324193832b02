"""Deterministic synthetic city for benchmarks: a district around Linyi (兰山区) tiled
by grids, with streets, communities and households.

Everything is generated from one numpy seed, vectorised; nothing here touches the
database (see ``benchdb.load_city`` for that).

* Grids: a jittered lattice of seeds -> ``shapely.voronoi_polygons`` clipped to the
  extent (an exact tiling: every point of the extent is in one grid or on a shared
  border), edges densified with ``shapely.segmentize`` to ~40-80 vertices a grid.
* Communities: grids grouped around a subset of the seeds (nearest seed); streets:
  communities grouped the same way. Codes: district 371302, street 9 digits,
  community 12 digits, grid 15 digits (community code + 3 digits).
* Households: clustered around "buildings" (denser toward the city centre); about
  ``outside_share`` of them lie outside the extent (still in China, no grid).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

EXTENT = (118.20, 34.95, 118.55, 35.25)  # lon/lat WGS-84, around Linyi's Lanshan district
CENTRE = (118.35, 35.06)
DISTRICT = ("371302", "兰山区")
STREET_NAMES = [
    "兰山街道", "银雀山街道", "金雀山街道", "柳青街道", "南坊街道", "白沙埠镇", "枣园镇", "义堂镇",
    "李官镇", "方城镇", "汪沟镇", "马厂湖镇", "半程镇", "朱保镇", "柳青苑街道", "临西街道",
    "北城街道", "新华街道", "解放路街道", "沂河街道",
]
COMMUNITY_WORDS = ["和平", "幸福", "东风", "新华", "文化", "滨河", "阳光", "金桥", "育才", "富民",
                   "沂蒙", "兴华", "联合", "福园", "康居", "广场", "涑河", "花园", "北园", "南关"]
ROAD_NAMES = ["解放路", "沂蒙路", "通达路", "蒙山大道", "北京路", "上海路", "涑河北街", "金雀山路",
              "银雀山路", "兰山路", "洗砚池街", "平安路", "工业大道", "水田路", "启阳路", "双岭路"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红建国志文斌辉")
TAG_CHOICES = ["", "独居老人", "低保户", "残疾人", "独居老人;低保户", "退役军人", "留守儿童", "空巢老人、残疾人"]
TAG_WEIGHTS = [0.70, 0.06, 0.06, 0.04, 0.03, 0.05, 0.03, 0.03]
RISK_CHOICES = ["", "低", "中", "高"]
RISK_WEIGHTS = [0.40, 0.45, 0.10, 0.05]
CSV_HEADER = ["户号", "地址", "经度", "纬度", "户主", "电话", "人数", "标签", "风险等级"]


@dataclass
class City:
    district: tuple[str, str]
    streets: pd.DataFrame        # id, code, name
    communities: pd.DataFrame    # id, code, name, street_id
    grids: pd.DataFrame          # id, code, name, community_id
    polygons: np.ndarray         # shapely Polygons, aligned with ``grids``

    @property
    def vertex_counts(self) -> np.ndarray:
        return shapely.get_num_coordinates(self.polygons)


def _nearest(points: np.ndarray, seeds: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Index of the nearest seed for each point (brute force, chunked)."""
    out = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), chunk):
        p = points[start:start + chunk]
        d = ((p[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        out[start:start + chunk] = d.argmin(axis=1)
    return out


def _seeds(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` jittered-lattice points in the extent (grid sizes vary, but not wildly)."""
    x0, y0, x1, y1 = EXTENT
    aspect = (x1 - x0) * np.cos(np.radians((y0 + y1) / 2)) / (y1 - y0)
    ny = int(np.ceil(np.sqrt(n / aspect)))
    nx = int(np.ceil(n / ny))
    while nx * ny < n:
        nx += 1
    gx, gy = np.meshgrid((np.arange(nx) + 0.5) / nx, (np.arange(ny) + 0.5) / ny)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts += rng.uniform(-0.42, 0.42, pts.shape) / np.array([nx, ny])
    pts = pts[rng.permutation(len(pts))[:n]]
    return np.column_stack([x0 + pts[:, 0] * (x1 - x0), y0 + pts[:, 1] * (y1 - y0)])


def make_city(n_grids: int, seed: int, vertices: tuple[int, int] = (40, 80)) -> City:
    rng = np.random.default_rng(seed)
    seeds = _seeds(rng, n_grids)
    extent = shapely.box(*EXTENT)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    polygons = shapely.intersection(np.asarray(shapely.get_parts(cells)), extent)
    # Densify: each grid gets a target vertex count in [lo, hi].
    target = rng.integers(vertices[0], vertices[1] + 1, len(polygons))
    polygons = shapely.segmentize(polygons, shapely.length(polygons) / (target - 4))
    polygons = shapely.set_precision(polygons, 1e-9)  # 0.1 mm: shared edges stay shared
    assert bool(shapely.is_valid(polygons).all()), "generated an invalid grid polygon"

    # Communities (~30 grids each) and streets (~20 communities each) by nearest seed.
    n_comm = max(1, round(n_grids / 30))
    n_street = max(1, min(len(STREET_NAMES), round(n_comm / 20)))
    comm_seeds = seeds[rng.choice(n_grids, n_comm, replace=False)]
    street_seeds = comm_seeds[rng.choice(n_comm, n_street, replace=False)]
    grid_comm = _nearest(seeds, comm_seeds)
    comm_street = _nearest(comm_seeds, street_seeds)

    streets = pd.DataFrame({
        "id": np.arange(2, 2 + n_street),
        "code": [f"{DISTRICT[0]}{i + 1:03d}" for i in range(n_street)],
        "name": STREET_NAMES[:n_street],
    })
    # Number communities within their street, west to east.
    order = np.lexsort((comm_seeds[:, 0], comm_street))
    comm_no = np.empty(n_comm, dtype=np.int64)
    counters: dict[int, int] = {}
    for c in order:
        s = int(comm_street[c])
        counters[s] = counters.get(s, 0) + 1
        comm_no[c] = counters[s]
    first_comm_id = 2 + n_street
    communities = pd.DataFrame({
        "id": np.arange(first_comm_id, first_comm_id + n_comm),
        "code": [f"{streets.code[s]}{k:03d}" for s, k in zip(comm_street, comm_no)],
        "name": [f"{COMMUNITY_WORDS[k % len(COMMUNITY_WORDS)]}{'' if k < len(COMMUNITY_WORDS) else k}社区"
                 for k in comm_no],
        "street_id": streets.id.to_numpy()[comm_street],
    })
    # Grids numbered within their community, north-west first.
    order = np.lexsort((seeds[:, 0], -seeds[:, 1], grid_comm))
    grid_no = np.empty(n_grids, dtype=np.int64)
    counters = {}
    for g in order:
        c = int(grid_comm[g])
        counters[c] = counters.get(c, 0) + 1
        grid_no[g] = counters[c]
    grid_codes = [f"{communities.code[c]}{k:03d}" for c, k in zip(grid_comm, grid_no)]
    grids = pd.DataFrame({
        "id": np.arange(1, n_grids + 1),
        "code": grid_codes,
        "name": [f"{communities.name[c]}第{k}网格" for c, k in zip(grid_comm, grid_no)],
        "community_id": communities.id.to_numpy()[grid_comm],
    })
    return City(DISTRICT, streets, communities, grids, polygons)


HOUSEHOLD_CHUNK = 500_000


def household_chunks(n: int, seed: int, outside_share: float = 0.01,
                     chunk: int = HOUSEHOLD_CHUNK) -> Iterator[pd.DataFrame]:
    """``n`` households with WGS-84 ``lon``/``lat`` plus the CSV's text columns (English
    names), ``chunk`` at a time (a 5,000,000-household city is never in memory whole):
    the buildings are drawn once, each chunk's households from them with its own generator."""
    rng = np.random.default_rng(seed + 1)
    x0, y0, x1, y1 = EXTENT
    n_in = n - round(n * outside_share)
    # Buildings: 60% around the centre (gaussian), 40% spread uniformly; ~30 households each.
    n_build = max(1, n_in // 30)
    n_centre = int(n_build * 0.6)
    centre = rng.normal(CENTRE, (0.05, 0.045), (n_centre * 2, 2))
    keep = (centre[:, 0] > x0) & (centre[:, 0] < x1) & (centre[:, 1] > y0) & (centre[:, 1] < y1)
    centre = centre[keep][:n_centre]
    spread = rng.uniform((x0, y0), (x1, y1), (n_build - len(centre), 2))
    buildings = np.vstack([centre, spread])
    for number, start in enumerate(range(0, n, chunk)):
        size = min(chunk, n - start)
        yield _households(np.random.default_rng((seed + 1, number)), buildings, start, size,
                          round(size * outside_share))


def _households(rng: np.random.Generator, buildings: np.ndarray, start: int, n: int, n_out: int) -> pd.DataFrame:
    x0, y0, x1, y1 = EXTENT
    n_in = n - n_out
    which = rng.integers(0, len(buildings), n_in)
    pts = buildings[which] + rng.normal(0, 0.0002, (n_in, 2))  # ~20 m around the building
    pts[:, 0] = np.clip(pts[:, 0], x0 + 1e-6, x1 - 1e-6)
    pts[:, 1] = np.clip(pts[:, 1], y0 + 1e-6, y1 - 1e-6)

    # Outside the extent: a 0.08-degree ring around it (no grid there).
    out = np.empty((0, 2))
    while len(out) < n_out:
        cand = rng.uniform((x0 - 0.08, y0 - 0.08), (x1 + 0.08, y1 + 0.08), (n_out * 3 + 10, 2))
        inside = (cand[:, 0] >= x0) & (cand[:, 0] <= x1) & (cand[:, 1] >= y0) & (cand[:, 1] <= y1)
        out = np.vstack([out, cand[~inside]])
    pts = np.vstack([pts, out[:n_out]])
    pts = pts[rng.permutation(n)]

    idx = pd.Series(np.arange(start, start + n))
    road = np.array(ROAD_NAMES, dtype=object)[rng.integers(0, len(ROAD_NAMES), n)]
    address = ("兰山区" + pd.Series(road) + rng.integers(1, 900, n).astype(str).astype(object) + "号"
               + rng.integers(1, 30, n).astype(str).astype(object) + "号楼"
               + rng.integers(1, 6, n).astype(str).astype(object) + "单元"
               + (rng.integers(1, 18, n) * 100 + rng.integers(1, 5, n)).astype(str).astype(object))
    surname = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    given = np.array(GIVEN, dtype=object)
    g1 = given[rng.integers(0, len(given), n)]
    g2 = np.where(rng.random(n) < 0.6, given[rng.integers(0, len(given), n)], "")
    phone = np.char.add(np.array(["13", "15", "18", "17"])[rng.integers(0, 4, n)],
                        np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    phone = np.where(rng.random(n) < 0.9, phone, "")
    return pd.DataFrame({
        "code": "371302" + idx.astype(str).str.zfill(10),
        "address": address,
        "lon": pts[:, 0],
        "lat": pts[:, 1],
        "head_name": pd.Series(surname) + g1 + g2,
        "phone": phone.astype(object),
        "size": rng.integers(1, 7, n),
        "tags": np.array(TAG_CHOICES, dtype=object)[rng.choice(len(TAG_CHOICES), n, p=TAG_WEIGHTS)],
        "risk_level": np.array(RISK_CHOICES, dtype=object)[rng.choice(len(RISK_CHOICES), n, p=RISK_WEIGHTS)],
    })


def write_csv(households: pd.DataFrame, path: str, lon: np.ndarray, lat: np.ndarray, append: bool = False) -> None:
    """The households as a Chinese-header CSV (UTF-8), coordinates given (7 decimals);
    ``append``: more rows after earlier ones (no header)."""
    frame = pd.DataFrame({
        "户号": households.code, "地址": households.address,
        "经度": np.char.mod("%.7f", lon), "纬度": np.char.mod("%.7f", lat),
        "户主": households.head_name, "电话": households.phone, "人数": households["size"],
        "标签": households.tags, "风险等级": households.risk_level,
    })
    frame.to_csv(path, index=False, columns=CSV_HEADER, mode="a" if append else "w", header=not append)
